"""The events tracking applies: agencies (from procedures), dossiers (from intake), and
its own calendar changes (to recompute open clocks); and the periodic scanner."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import ledger, repository
from services.tracking.calendars import CALENDAR_CHANGED
from services.tracking.config import TrackingSettings
from services.tracking.models import Agency, ProcessedEvent
from shared.contracts.agencies import AGENCY_UPSERTED, AgencyUpserted
from shared.contracts.dossiers import DOSSIER_TOPIC, DossierEvent
from shared.contracts.events import EventEnvelope
from shared.runtime import ConsumerSpec, PeriodicSpec, Runtime

logger = logging.getLogger("onestop.tracking")


def _due_soon_minutes(runtime: Runtime) -> int:
    settings = runtime.settings
    assert isinstance(settings, TrackingSettings), settings
    return settings.due_soon_minutes


async def apply_agency(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    """Keep the calendar each agency follows. An agency's own layer moves with it."""
    if envelope.type != AGENCY_UPSERTED:
        return  # other agency events are not tracking's business
    event = AgencyUpserted.model_validate(envelope.payload)
    agency = await repository.get_agency(session, event.code)
    if agency is None:
        session.add(Agency(code=event.code, name=event.name, calendar_code=event.calendar_code))
        return
    agency.name = event.name
    agency.calendar_code = event.calendar_code
    layer = await repository.get_calendar(session, event.code)
    if layer is not None and layer.parent_code != event.calendar_code:
        layer.parent_code = event.calendar_code
        layer.version += 1


async def apply_dossier(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.type in ledger.CLOCK_EVENTS:
        await ledger.record(
            session,
            envelope,
            outbox=runtime.events,
            due_soon_minutes=_due_soon_minutes(runtime),
        )
    elif envelope.type == DossierEvent.RATED:
        await ledger.rate(session, envelope)


async def apply_calendar_change(
    runtime: Runtime, session: AsyncSession, envelope: EventEnvelope
) -> None:
    if envelope.type != CALENDAR_CHANGED:
        return
    payload = envelope.payload
    moved = await ledger.recompute(
        session,
        runtime.events,
        calendar_code=payload["calendar_code"],
        version=payload["version"],
        reason=f"Lịch {payload['calendar_code']} phiên bản {payload['version']}: "
        f"{payload['decision']}",
        due_soon_minutes=_due_soon_minutes(runtime),
    )
    logger.info(
        "clocks recomputed",
        extra={"calendar": payload["calendar_code"], "moved": len(moved)},
    )


async def scan_clocks(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.session() as session:
        return await ledger.scan(session, runtime.events, now=datetime.now(UTC))


AGENCIES = ConsumerSpec(
    group="tracking.agencies",
    topics=("agency",),
    handler=apply_agency,
    inbox_model=ProcessedEvent,
    types=frozenset({AGENCY_UPSERTED}),
)
DOSSIERS = ConsumerSpec(
    group="tracking.dossiers",
    topics=(DOSSIER_TOPIC,),
    handler=apply_dossier,
    inbox_model=ProcessedEvent,
    types=frozenset({*ledger.CLOCK_EVENTS, DossierEvent.RATED}),
)
CALENDARS = ConsumerSpec(
    group="tracking.calendars",
    topics=("calendar",),
    handler=apply_calendar_change,
    inbox_model=ProcessedEvent,
    types=frozenset({CALENDAR_CHANGED}),
)
SCANNER = PeriodicSpec(name="tracking.scanner", interval_seconds=60, job=scan_clocks)
