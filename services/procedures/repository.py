"""Every query of the procedures service."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures.models import (
    Agency,
    AgencyLevel,
    AgencyProcedure,
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
    # At most one version of a procedure is published: the one in force.
    return select(ProcedureVersion).where(ProcedureVersion.status == VersionStatus.PUBLISHED)


# What a search result shows, as columns of the version row.
SUMMARY_COLUMNS = (
    ProcedureVersion.procedure_code,
    ProcedureVersion.version,
    ProcedureVersion.name,
    ProcedureVersion.field_code,
    ProcedureVersion.level,
    ProcedureVersion.online_level,
    ProcedureVersion.processing_time,
)


def _has_words(session: AsyncSession, words: Sequence[str]) -> list[ColumnElement[bool]]:
    """Every word is a word of the folded name, in any order; the last may be a prefix
    (the one being typed).

    PostgreSQL: full-text search on the folded name (GIN index, migration 0003).
    SQLite: the same meaning with LIKE on word boundaries.
    """
    if not words:
        return []
    *whole, typing = words
    if session.get_bind().dialect.name == "postgresql":
        simple: ColumnElement[str] = literal_column("'simple'::regconfig")
        query = " & ".join([*whole, f"{typing}:*"])
        vector = func.to_tsvector(simple, ProcedureVersion.name_search)
        return [vector.op("@@")(func.to_tsquery(simple, query))]
    padded = literal(" ") + ProcedureVersion.name_search + literal(" ")
    return [
        *(padded.contains(f" {word} ", autoescape=True) for word in whole),
        padded.contains(f" {typing}", autoescape=True),
    ]


async def search_current(
    session: AsyncSession,
    *,
    query: str,
    field_code: str | None,
    level: AgencyLevel | None,
    agency_code: str | None = None,
    online_levels: Sequence[OnlineLevel],
    offset: int,
    limit: int,
) -> tuple[Sequence[Row[Any]], int]:
    """Current versions whose folded name has every word of ``query``, best first.

    Rows of ``SUMMARY_COLUMNS`` only: the content (the e-form) is never read here.

    Rank: the exact name; then the same words in another order (every word present and
    the same length); then the name starting with the query; then the query as a phrase
    inside a longer name; then the rest. Shorter names first within a rank.
    """
    words = query.split()
    statement = (
        select(*SUMMARY_COLUMNS)
        .where(ProcedureVersion.status == VersionStatus.PUBLISHED)
        .where(*_has_words(session, words))
    )
    if field_code is not None:
        statement = statement.where(ProcedureVersion.field_code == field_code)
    if level is not None:
        statement = statement.where(ProcedureVersion.level == level)
    if online_levels:
        statement = statement.where(ProcedureVersion.online_level.in_(online_levels))
    if agency_code is not None:
        offered = select(AgencyProcedure.procedure_code).where(
            AgencyProcedure.agency_code == agency_code
        )
        statement = statement.where(ProcedureVersion.procedure_code.in_(offered))
    name = ProcedureVersion.name_search
    rank = case(
        (name == query, 0),
        (func.length(name) == len(query), 1),
        (name.startswith(query, autoescape=True), 2),
        (name.contains(query, autoescape=True), 3),
        else_=4,
    )
    # The total rides along with each row: one scan instead of a count and a page.
    total = func.count().over().label("total")
    ordered = statement.add_columns(total).order_by(
        *((rank,) if words else ()), func.length(name), ProcedureVersion.procedure_code
    )
    rows = (await session.execute(ordered.offset(offset).limit(limit))).all()
    if not rows and offset:
        # Past the last page the window has no row to carry the total: count it.
        count = await session.scalar(select(func.count()).select_from(statement.subquery()))
        return [], int(count or 0)
    return rows, int(rows[0].total) if rows else 0


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


async def versions(session: AsyncSession, code: str) -> Sequence[ProcedureVersion]:
    """Every version of the procedure, the newest first."""
    return (
        await session.scalars(
            select(ProcedureVersion)
            .where(ProcedureVersion.procedure_code == code)
            .order_by(ProcedureVersion.version.desc())
        )
    ).all()


async def latest_version_number(session: AsyncSession, code: str) -> int:
    latest = await session.scalar(
        select(func.max(ProcedureVersion.version)).where(ProcedureVersion.procedure_code == code)
    )
    return int(latest or 0)


async def all_procedures(session: AsyncSession) -> Sequence[Procedure]:
    return (await session.scalars(select(Procedure).order_by(Procedure.code))).all()


async def all_versions(session: AsyncSession) -> Sequence[ProcedureVersion]:
    return (
        await session.scalars(
            select(ProcedureVersion).order_by(
                ProcedureVersion.procedure_code, ProcedureVersion.version
            )
        )
    ).all()


async def retire_published_except(
    session: AsyncSession, code: str, current_version: int | None
) -> None:
    statement = update(ProcedureVersion).where(
        ProcedureVersion.procedure_code == code,
        ProcedureVersion.status == VersionStatus.PUBLISHED,
    )
    if current_version is not None:
        statement = statement.where(ProcedureVersion.version != current_version)
    await session.execute(statement.values(status=VersionStatus.RETIRED))


async def offers(session: AsyncSession) -> dict[str, list[str]]:
    """Procedure code -> the agencies whose desks offer it."""
    rows = await session.execute(
        select(AgencyProcedure.procedure_code, AgencyProcedure.agency_code).order_by(
            AgencyProcedure.procedure_code, AgencyProcedure.agency_code
        )
    )
    offered: dict[str, list[str]] = {}
    for procedure_code, agency_code in rows:
        offered.setdefault(procedure_code, []).append(agency_code)
    return offered


async def offered_codes(session: AsyncSession, agency_code: str) -> list[str]:
    """The procedures the agency's desk offers, in force or not, by code."""
    rows = await session.scalars(
        select(AgencyProcedure.procedure_code)
        .where(AgencyProcedure.agency_code == agency_code)
        .order_by(AgencyProcedure.procedure_code)
    )
    return list(rows)


async def procedure_codes_among(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` that are procedures of the catalogue."""
    if not codes:
        return set()
    rows = await session.scalars(select(Procedure.code).where(Procedure.code.in_(list(codes))))
    return set(rows)


async def replace_offered(session: AsyncSession, agency_code: str, codes: Sequence[str]) -> None:
    await session.execute(delete(AgencyProcedure).where(AgencyProcedure.agency_code == agency_code))
    session.add_all(AgencyProcedure(agency_code=agency_code, procedure_code=c) for c in codes)
    await session.flush()


async def offered_by(session: AsyncSession, procedure_code: str) -> list[str]:
    """The agencies whose desks offer the procedure."""
    rows = await session.scalars(
        select(AgencyProcedure.agency_code)
        .where(AgencyProcedure.procedure_code == procedure_code)
        .order_by(AgencyProcedure.agency_code)
    )
    return list(rows)


async def online_offers(
    session: AsyncSession, *, agency_code: str | None, online: OnlineLevel | None
) -> Sequence[Row[Agency, ProcedureVersion]]:
    """The procedures in force each agency offers online (fully or partly), by agency
    then procedure code."""
    query = (
        select(Agency, ProcedureVersion)
        .join(AgencyProcedure, AgencyProcedure.agency_code == Agency.code)
        .join(ProcedureVersion, ProcedureVersion.procedure_code == AgencyProcedure.procedure_code)
        .where(ProcedureVersion.status == VersionStatus.PUBLISHED)
        .order_by(Agency.code, ProcedureVersion.procedure_code)
    )
    if online is None:
        query = query.where(ProcedureVersion.online_level != OnlineLevel.NONE)
    else:
        query = query.where(ProcedureVersion.online_level == online)
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    return (await session.execute(query)).all()
