"""Business rules of the procedures service."""

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import repository
from services.procedures.models import Agency, AgencyLevel
from services.procedures.schemas import AgencySeed
from shared.errors import NotFound


async def list_agencies(
    session: AsyncSession, *, level: AgencyLevel | None, parent_code: str | None
) -> Sequence[Agency]:
    return await repository.list_agencies(session, level=level, parent_code=parent_code)


async def get_agency_or_raise(session: AsyncSession, *, code: str) -> Agency:
    agency = await repository.get_agency(session, code)
    if agency is None:
        raise NotFound(f"Không có cơ quan mã {code}.")
    return agency


async def seed_agencies(session: AsyncSession, *, agencies: Iterable[AgencySeed]) -> int:
    """Add the agencies that are missing (parents first); never overwrite edits."""
    existing = await repository.existing_agency_codes(session)
    added = 0
    for seed in agencies:
        if seed.code in existing:
            continue
        session.add(
            Agency(
                code=seed.code,
                name=seed.name,
                level=seed.level,
                parent_code=seed.parent_code,
                address=seed.address,
            )
        )
        # Flush each so a child's foreign key finds its parent.
        await session.flush()
        existing.add(seed.code)
        added += 1
    return added
