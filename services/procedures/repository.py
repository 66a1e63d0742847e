"""Every query of the procedures service."""

from collections.abc import Sequence

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures.models import (
    Agency,
    AgencyLevel,
    Field,
    OnlineLevel,
    Procedure,
    ProcedureVersion,
    VersionStatus,
)


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


def _current() -> Select[ProcedureVersion]:
    return select(ProcedureVersion).join(
        Procedure,
        and_(
            Procedure.code == ProcedureVersion.procedure_code,
            Procedure.current_version == ProcedureVersion.version,
        ),
    )


async def search_current(
    session: AsyncSession,
    *,
    query: str,
    field_code: str | None,
    level: AgencyLevel | None,
    online_levels: Sequence[OnlineLevel],
    offset: int,
    limit: int,
) -> tuple[Sequence[ProcedureVersion], int]:
    """Current versions whose folded name holds every word of ``query``, best first.

    Rank: the exact name; then the same words in another order (every word present and
    the same length); then the name starting with the query; then the query as a phrase
    inside a longer name; then the rest. Shorter names first within a rank.
    """
    statement = _current()
    words = query.split()
    for word in words:
        statement = statement.where(ProcedureVersion.name_search.contains(word, autoescape=True))
    if field_code is not None:
        statement = statement.where(ProcedureVersion.field_code == field_code)
    if level is not None:
        statement = statement.where(ProcedureVersion.level == level)
    if online_levels:
        statement = statement.where(ProcedureVersion.online_level.in_(online_levels))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    name = ProcedureVersion.name_search
    rank = case(
        (name == query, 0),
        (func.length(name) == len(query), 1),
        (name.startswith(query, autoescape=True), 2),
        (name.contains(query, autoescape=True), 3),
        else_=4,
    )
    ordered = statement.order_by(
        *((rank,) if words else ()), func.length(name), ProcedureVersion.procedure_code
    )
    rows = (await session.scalars(ordered.offset(offset).limit(limit))).all()
    return rows, int(total or 0)


async def get_current(session: AsyncSession, code: str) -> ProcedureVersion | None:
    return await session.scalar(_current().where(ProcedureVersion.procedure_code == code))


async def get_version(session: AsyncSession, code: str, version: int) -> ProcedureVersion | None:
    return await session.scalar(
        select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == code,
            ProcedureVersion.version == version,
            ProcedureVersion.status != VersionStatus.DRAFT,
        )
    )


async def list_fields(session: AsyncSession) -> Sequence[Field]:
    return (await session.scalars(select(Field).order_by(Field.name))).all()


async def existing_field_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Field.code))).all())


async def existing_procedure_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Procedure.code))).all())


async def get_procedure(session: AsyncSession, code: str) -> Procedure | None:
    return await session.get(Procedure, code, with_for_update=True)


async def get_draft(session: AsyncSession, code: str) -> ProcedureVersion | None:
    return await session.scalar(
        select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == code,
            ProcedureVersion.status == VersionStatus.DRAFT,
        )
    )


async def get_any_version(
    session: AsyncSession, code: str, version: int
) -> ProcedureVersion | None:
    return await session.scalar(
        select(ProcedureVersion).where(
            ProcedureVersion.procedure_code == code, ProcedureVersion.version == version
        )
    )


async def latest_version_number(session: AsyncSession, code: str) -> int:
    latest = await session.scalar(
        select(func.max(ProcedureVersion.version)).where(ProcedureVersion.procedure_code == code)
    )
    return int(latest or 0)
