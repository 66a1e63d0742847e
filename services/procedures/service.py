"""Business rules of the procedures service."""

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures import admin, repository
from services.procedures import events as procedure_events
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
from services.procedures.schemas import (
    AgencySeed,
    OnlineAgency,
    OnlineService,
    OnlineServices,
    ProcedureContent,
    ProcedureOut,
    ProcedurePage,
    ProcedureSummary,
    ProcessingTime,
)
from services.procedures.text import fold
from shared.cache import Namespace
from shared.errors import NotFound
from shared.events import Outbox


async def list_agencies(
    session: AsyncSession, *, level: AgencyLevel | None, parent_code: str | None
) -> Sequence[Agency]:
    return await repository.list_agencies(session, level=level, parent_code=parent_code)


async def get_agency_or_raise(session: AsyncSession, *, code: str) -> Agency:
    agency = await repository.get_agency(session, code)
    if agency is None:
        raise NotFound(f"Không có cơ quan mã {code}.")
    return agency


async def seed_agencies(
    session: AsyncSession, *, agencies: Iterable[AgencySeed], outbox: Outbox
) -> int:
    """Add the agencies that are missing (parents first); never overwrite edits."""
    existing = await repository.existing_agency_codes(session)
    added = 0
    for seed in agencies:
        if seed.code in existing:
            continue
        agency = Agency(
            code=seed.code,
            name=seed.name,
            level=seed.level,
            parent_code=seed.parent_code,
            address=seed.address,
        )
        session.add(agency)
        # Flush each so a child's foreign key finds its parent.
        await session.flush()
        procedure_events.agency_upserted(session, outbox, agency)
        existing.add(seed.code)
        added += 1
    return added


# The level-3/4 list of old: procedures offered fully or partly online.
ONLINE_ANY = (OnlineLevel.FULL, OnlineLevel.PARTIAL)


def _summary(row: Row[Any]) -> ProcedureSummary:
    """A search result from the version's columns (repository.SUMMARY_COLUMNS)."""
    time = row.processing_time
    return ProcedureSummary(
        code=row.procedure_code,
        name=row.name,
        field_code=row.field_code,
        level=row.level,
        online_level=row.online_level,
        processing_time=ProcessingTime.model_validate_json(time) if time else None,
        version=row.version,
    )


def detail(version: ProcedureVersion) -> ProcedureOut:
    return ProcedureOut(
        **ProcedureContent.model_validate_json(version.content).model_dump(),
        version=version.version,
        status=version.status,
        effective_date=version.effective_date,
        published_at=version.published_at,
    )


async def search_procedures(
    session: AsyncSession,
    *,
    cache: Namespace | None = None,
    query: str | None,
    field_code: str | None,
    level: AgencyLevel | None,
    agency_code: str | None = None,
    online: OnlineLevel | Literal["any"] | None,
    page: int,
    size: int,
) -> ProcedurePage:
    parts = json.dumps(
        ["search", fold(query or ""), field_code, level, agency_code, online, page, size]
    )
    cached, key = await cache.get(parts) if cache else (None, None)
    if cached is not None:
        return ProcedurePage.model_validate_json(cached)
    online_levels: Sequence[OnlineLevel] = ()
    if online == "any":
        online_levels = ONLINE_ANY
    elif online is not None:
        online_levels = (online,)
    rows, total = await repository.search_current(
        session,
        query=fold(query or ""),
        field_code=field_code,
        level=level,
        agency_code=agency_code,
        online_levels=online_levels,
        offset=(page - 1) * size,
        limit=size,
    )
    result = ProcedurePage(items=[_summary(row) for row in rows], total=total, page=page, size=size)
    if cache is not None:
        await cache.put(key, result.model_dump_json())
    return result


async def get_procedure_or_raise(
    session: AsyncSession, *, code: str, cache: Namespace | None = None
) -> ProcedureOut:
    cached, key = await cache.get(json.dumps(["procedure", code])) if cache else (None, None)
    if cached is not None:
        return ProcedureOut.model_validate_json(cached)
    version = await repository.get_current(session, code)
    if version is None:
        raise NotFound(f"Không có thủ tục mã {code}.")
    result = detail(version)
    result.offered_by = await repository.offered_by(session, code)
    if cache is not None:
        await cache.put(key, result.model_dump_json())
    return result


async def get_version_or_raise(session: AsyncSession, *, code: str, version: int) -> ProcedureOut:
    found = await repository.get_version(session, code, version)
    if found is None:
        raise NotFound(f"Thủ tục {code} không có phiên bản {version}.")
    return detail(found)


async def list_fields(session: AsyncSession) -> Sequence[Field]:
    return await repository.list_fields(session)


def _published_version(
    content: ProcedureContent, *, version: int, effective: date
) -> ProcedureVersion:
    published = admin.new_version(content, version=version)
    published.status = VersionStatus.PUBLISHED
    published.effective_date = effective
    published.published_at = datetime.now(UTC)
    return published


async def seed_catalogue(
    session: AsyncSession,
    *,
    fields: Mapping[str, str],
    procedures: Iterable[ProcedureContent],
    effective: date,
) -> int:
    """Add missing fields, and each missing procedure as its published version 1."""
    known_fields = await repository.existing_field_codes(session)
    for code, name in fields.items():
        if code not in known_fields:
            session.add(Field(code=code, name=name))
    await session.flush()
    known = await repository.existing_procedure_codes(session)
    added = 0
    for content in procedures:
        if content.code in known:
            continue
        session.add(Procedure(code=content.code, current_version=1))
        await session.flush()
        session.add(_published_version(content, version=1, effective=effective))
        added += 1
    await session.flush()
    return added


async def seed_offers(
    session: AsyncSession,
    *,
    agencies: Iterable[AgencySeed],
    procedures: Iterable[ProcedureContent],
) -> int:
    """Link each agency to the procedures of the levels its desk offers; add what is missing."""
    existing = {
        (agency, procedure)
        for procedure, codes in (await repository.offers(session)).items()
        for agency in codes
    }
    procedures = list(procedures)
    added = 0
    for agency in agencies:
        for procedure in procedures:
            link = (agency.code, procedure.code)
            if procedure.level in agency.offers and link not in existing:
                session.add(AgencyProcedure(agency_code=agency.code, procedure_code=procedure.code))
                existing.add(link)
                added += 1
    await session.flush()
    return added


async def online_services(
    session: AsyncSession, *, agency_code: str | None, online: OnlineLevel | None
) -> OnlineServices:
    """Each agency's online services, with their processing time and fees."""
    agencies: dict[str, OnlineAgency] = {}
    for agency, version in await repository.online_offers(
        session, agency_code=agency_code, online=online
    ):
        content = ProcedureContent.model_validate_json(version.content)
        held = agencies.setdefault(
            agency.code, OnlineAgency(code=agency.code, name=agency.name, services=[])
        )
        held.services.append(
            OnlineService(
                code=content.code,
                name=content.name,
                field_code=content.field_code,
                online_level=content.online_level,
                processing_time=content.processing_time,
                processing_time_text=content.processing_time_text,
                fees=content.fees,
                fee_text=content.fee_text,
            )
        )
    services = [s for agency in agencies.values() for s in agency.services]
    return OnlineServices(
        agencies=list(agencies.values()),
        full=sum(s.online_level is OnlineLevel.FULL for s in services),
        partial=sum(s.online_level is OnlineLevel.PARTIAL for s in services),
    )
