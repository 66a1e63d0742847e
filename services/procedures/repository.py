"""Every query of the procedures service."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures.models import Agency, AgencyLevel


async def list_agencies(
    session: AsyncSession, *, level: AgencyLevel | None = None, parent_code: str | None = None
) -> Sequence[Agency]:
    query = select(Agency).order_by(Agency.code)
    if level is not None:
        query = query.where(Agency.level == level)
    if parent_code is not None:
        query = query.where(Agency.parent_code == parent_code)
    return (await session.scalars(query)).all()


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def existing_agency_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Agency.code))).all())
