from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from services.procedures import admin, agencies, catalogue_io
from services.procedures import service as procedure_service
from services.procedures.caching import CatalogueCacheDep, CatalogueChangeDep
from services.procedures.models import AgencyLevel, OnlineLevel
from services.procedures.schemas import (
    AgencyEdit,
    AgencyIn,
    AgencyOut,
    CatalogueDocument,
    FieldOut,
    ImportReport,
    OfferedIn,
    OnlineServices,
    ProcedureContent,
    ProcedureOut,
    ProcedurePage,
    PublishRequest,
    ValidationReport,
    VersionSummary,
)
from shared.access import Grant, allow
from shared.auth import Principal, Role, require_role
from shared.db import INT32_MAX, SessionDep
from shared.runtime import OutboxDep

router = APIRouter(prefix="/api/v1")

AGENCY_CODE = r"^[A-Z0-9.]{1,30}$"
AgencyCodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9.\-]{1,30}$", max_length=30)]
# The catalogue is public; changing it is the admins'.
PUBLIC = allow(Grant.PUBLIC)
ADMIN = allow(Grant.ADMIN)
AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]


@router.get("/agencies", response_model=list[AgencyOut], tags=["agencies"], **PUBLIC)
async def list_agencies(
    session: SessionDep,
    level: AgencyLevel | None = None,
    parent: Annotated[str | None, Query(pattern=AGENCY_CODE, max_length=30)] = None,
) -> list[AgencyOut]:
    """Agencies with their national codes, optionally by level or parent."""
    agencies = await procedure_service.list_agencies(session, level=level, parent_code=parent)
    return [AgencyOut.model_validate(a) for a in agencies]


@router.get("/agencies/{code}", response_model=AgencyOut, tags=["agencies"], **PUBLIC)
async def get_agency(session: SessionDep, code: str) -> AgencyOut:
    """One agency by its national code."""
    agency = await procedure_service.get_agency_or_raise(session, code=code)
    return AgencyOut.model_validate(agency)


@router.post(
    "/agencies", response_model=AgencyOut, status_code=201, tags=["agencies: admin"], **ADMIN
)
async def create_agency(
    session: SessionDep, outbox: OutboxDep, _admin: AdminDep, body: AgencyIn
) -> AgencyOut:
    """Add an agency by its national code (admin); 409 if the code exists."""
    return AgencyOut.model_validate(await agencies.create(session, outbox, body))


@router.put("/agencies/{code}", response_model=AgencyOut, tags=["agencies: admin"], **ADMIN)
async def update_agency(
    session: SessionDep, outbox: OutboxDep, _admin: AdminDep, code: AgencyCodePath,
    body: AgencyEdit,
) -> AgencyOut:  # fmt: skip
    """Change an agency's name, level, parent, address or calendar (admin)."""
    return AgencyOut.model_validate(await agencies.update(session, outbox, code, body))


@router.get("/agencies/{code}/procedures", response_model=list[str], tags=["agencies"], **PUBLIC)
async def agency_procedures(session: SessionDep, code: AgencyCodePath) -> list[str]:
    """The codes of the procedures the agency's desk offers, in force or withdrawn."""
    return await agencies.offered(session, code)


@router.put(
    "/agencies/{code}/procedures", response_model=list[str], tags=["agencies: admin"], **ADMIN
)
async def set_agency_procedures(
    change: CatalogueChangeDep,  # before the session: it acts after the commit
    session: SessionDep, _admin: AdminDep, code: AgencyCodePath, body: OfferedIn,
) -> list[str]:  # fmt: skip
    """Replace the procedures the agency's desk offers (admin); 422 for an unknown code."""
    offered = await agencies.set_offered(session, code, body.procedures)
    change.changed = True
    return offered


@router.get("/fields", response_model=list[FieldOut], tags=["procedures"], **PUBLIC)
async def list_fields(session: SessionDep) -> list[FieldOut]:
    """Fields (lĩnh vực) of the catalogue."""
    return [FieldOut.model_validate(f) for f in await procedure_service.list_fields(session)]


@router.get("/online-services", response_model=OnlineServices, tags=["procedures"], **PUBLIC)
async def online_services(
    session: SessionDep,
    agency: Annotated[str | None, Query(pattern=AGENCY_CODE, max_length=30)] = None,
    online: Annotated[
        Literal[OnlineLevel.FULL, OnlineLevel.PARTIAL] | None,
        Query(description="full (toàn trình) or partial (một phần); both when omitted"),
    ] = None,
) -> OnlineServices:
    """Public: the procedures offered online, fully or partly, by agency, with their
    processing time and fees."""
    return await procedure_service.online_services(session, agency_code=agency, online=online)


@router.get("/procedures", response_model=ProcedurePage, tags=["procedures"], **PUBLIC)
async def search_procedures(
    session: SessionDep,
    cache: CatalogueCacheDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Tên thủ tục, có dấu hoặc không")
    ] = None,
    field: Annotated[str | None, Query(max_length=40)] = None,
    level: AgencyLevel | None = None,
    agency: Annotated[
        str | None,
        Query(pattern=AGENCY_CODE, max_length=30, description="offered at this agency's desk"),
    ] = None,
    online: Annotated[
        OnlineLevel | Literal["any"] | None,
        Query(description="full, partial, none, or any (full or partial)"),
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProcedurePage:
    """Search the current procedures by name, with or without diacritics, in any word order."""
    return await procedure_service.search_procedures(
        session,
        cache=cache,
        query=q,
        field_code=field,
        level=level,
        agency_code=agency,
        online=online,
        page=page,
        size=size,
    )


@router.get("/procedures/{code}", response_model=ProcedureOut, tags=["procedures"], **PUBLIC)
async def get_procedure(session: SessionDep, cache: CatalogueCacheDep, code: str) -> ProcedureOut:
    """The version of a procedure now in force."""
    return await procedure_service.get_procedure_or_raise(session, code=code, cache=cache)


@router.get(
    "/procedures/{code}/versions/{version}",
    response_model=ProcedureOut,
    tags=["procedures"],
    **PUBLIC,
)
async def get_procedure_version(
    session: SessionDep, code: str, version: Annotated[int, Path(ge=1, le=INT32_MAX)]
) -> ProcedureOut:
    """A published version of a procedure, current or not (dossiers pin the one they used)."""
    return await procedure_service.get_version_or_raise(session, code=code, version=version)


@router.post(
    "/procedures",
    response_model=ProcedureOut,
    status_code=201,
    tags=["procedures: admin"],
    **ADMIN,
)
async def create_procedure(
    session: SessionDep, _admin: AdminDep, content: ProcedureContent
) -> ProcedureOut:
    """Create a procedure with its first draft (admin)."""
    draft = await admin.create_procedure(session, content=content)
    return procedure_service.detail(draft)


@router.get(
    "/procedures/{code}/versions",
    response_model=list[VersionSummary],
    tags=["procedures: admin"],
    **ADMIN,
)
async def list_versions(session: SessionDep, _admin: AdminDep, code: str) -> list[VersionSummary]:
    """Every version of a procedure, the newest first, withdrawn ones too (admin)."""
    return await admin.versions(session, code=code)


@router.get(
    "/procedures/{code}/draft",
    response_model=ProcedureOut,
    tags=["procedures: admin"],
    **ADMIN,
)
async def get_draft(session: SessionDep, _admin: AdminDep, code: str) -> ProcedureOut:
    """The procedure's draft (admin)."""
    return procedure_service.detail(await admin.get_draft_or_raise(session, code=code))


@router.put(
    "/procedures/{code}/draft",
    response_model=ProcedureOut,
    tags=["procedures: admin"],
    **ADMIN,
)
async def save_draft(
    session: SessionDep, _admin: AdminDep, code: str, content: ProcedureContent
) -> ProcedureOut:
    """Write the procedure's draft: the next version, editable until published (admin)."""
    return procedure_service.detail(await admin.save_draft(session, code=code, content=content))


@router.post(
    "/procedures/{code}/draft/validate",
    response_model=ValidationReport,
    tags=["procedures: admin"],
    **ADMIN,
)
async def validate_draft(session: SessionDep, _admin: AdminDep, code: str) -> ValidationReport:
    """Check the draft as publishing would, without publishing it (admin)."""
    return await admin.validate_draft(session, code=code)


@router.post(
    "/procedures/{code}/versions/{version}/publish",
    response_model=ProcedureOut,
    tags=["procedures: admin"],
    **ADMIN,
)
async def publish_version(
    change: CatalogueChangeDep,  # before the session: it acts after the commit
    session: SessionDep,
    _admin: AdminDep,
    code: str,
    version: Annotated[int, Path(ge=1, le=INT32_MAX)],
    request: PublishRequest,
) -> ProcedureOut:
    """Publish a draft as the version in force from its effective date (admin)."""
    published = await admin.publish(
        session, code=code, version=version, effective_date=request.effective_date
    )
    change.changed = True
    return procedure_service.detail(published)


@router.post("/procedures/{code}/unpublish", status_code=204, tags=["procedures: admin"], **ADMIN)
async def unpublish(
    change: CatalogueChangeDep, session: SessionDep, _admin: AdminDep, code: str
) -> None:
    """Withdraw a procedure from the catalogue; its versions stay readable (admin)."""
    await admin.unpublish(session, code=code)
    change.changed = True


@router.get(
    "/catalogue/export",
    response_model=CatalogueDocument,
    tags=["procedures: admin"],
    **ADMIN,
)
async def export_catalogue(session: SessionDep, _admin: AdminDep) -> CatalogueDocument:
    """The whole catalogue, every version, as one JSON document (admin)."""
    return await catalogue_io.export_catalogue(session)


@router.post(
    "/catalogue/import",
    response_model=ImportReport,
    tags=["procedures: admin"],
    **ADMIN,
)
async def import_catalogue(
    change: CatalogueChangeDep,  # before the session: it acts after the commit
    session: SessionDep,
    outbox: OutboxDep,
    _admin: AdminDep,
    document: CatalogueDocument,
) -> ImportReport:
    """Add what a catalogue document holds and this one lacks; all or nothing (admin)."""
    report = await catalogue_io.import_catalogue(session, document=document, outbox=outbox)
    change.changed = True
    return report
