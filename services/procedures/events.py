"""What the procedures service tells the others, through its outbox."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures.models import Agency
from shared.contracts.agencies import AGENCY_UPSERTED, AgencyUpserted
from shared.events import Outbox


def agency_upserted(session: AsyncSession, outbox: Outbox, agency: Agency) -> None:
    event = AgencyUpserted(
        code=agency.code,
        name=agency.name,
        level=agency.level,
        parent_code=agency.parent_code,
        calendar_code=agency.calendar_code,
    )
    outbox.add(session, AGENCY_UPSERTED, event.model_dump(mode="json"), subject=agency.code)
