import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from services.documents import service as document_service
from services.documents.config import DocumentsSettings
from services.documents.scanning import ClamAV
from services.documents.schemas import (
    AccessOut,
    DirectUploadOut,
    DirectUploadRequest,
    DocumentOut,
    DownloadOut,
    ResultFields,
    ScanFields,
    UploadFields,
)
from shared.access import Grant, allow
from shared.auth import CurrentPrincipal
from shared.db import ReadSessionDep, SessionDep, StatementSessionDep
from shared.runtime import OutboxDep
from shared.storage import ObjectStorage

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


async def get_storage(request: Request) -> ObjectStorage:
    storage: ObjectStorage = request.app.state.runtime.storage
    return storage


async def get_settings(request: Request) -> DocumentsSettings:
    settings: DocumentsSettings = request.app.state.runtime.settings
    return settings


async def get_scanner(request: Request) -> ClamAV | None:
    scanner: ClamAV | None = request.app.state.scanner
    return scanner


StorageDep = Annotated[ObjectStorage, Depends(get_storage)]
SettingsDep = Annotated[DocumentsSettings, Depends(get_settings)]
ScannerDep = Annotated[ClamAV | None, Depends(get_scanner)]


def multipart_body(fields: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a streamed upload (the route reads the stream itself,
    so FastAPI cannot describe it): a non-empty ``file`` and the text ``fields``."""
    schema = fields.model_json_schema()
    for name, field in schema["properties"].items():
        # A form cannot send null: an optional field is one left out.
        options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            [only] = options
            schema["properties"][name] = {**field, **only}
    schema["properties"]["file"] = {"type": "string", "format": "binary", "minLength": 1}
    schema["required"] = ["file", *schema.get("required", [])]
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


UPLOAD_BODY = multipart_body(UploadFields)
RESULT_BODY = multipart_body(ResultFields)
SCAN_BODY = multipart_body(ScanFields)


@router.post(
    "",
    response_model=DocumentOut,
    status_code=201,
    **allow(Grant.CITIZEN, openapi_extra=UPLOAD_BODY),
)
async def upload(
    request: Request,
    session: StatementSessionDep,
    outbox: OutboxDep,
    storage: StorageDep,
    settings: SettingsDep,
    scanner: ScannerDep,
    principal: CurrentPrincipal,
    content_type: Annotated[str, Header()] = "",
    office: Annotated[bool, Query(description="accept DOCX and XLSX too")] = False,
) -> DocumentOut:
    """Upload a document to the caller's wallet (citizen): multipart field ``file``,
    optional ``kind``. Checked by content while it streams; a failed check keeps nothing."""
    return await document_service.upload(
        document_service.Store(session, outbox, storage, settings, scanner),
        principal=principal,
        content_type=content_type,
        body=request.stream(),
        office_formats=office,
    )


@router.post(
    "/results",
    response_model=DocumentOut,
    status_code=201,
    **allow(Grant.AGENCY, openapi_extra=RESULT_BODY),
)
async def issue_result(
    request: Request,
    session: SessionDep,
    outbox: OutboxDep,
    storage: StorageDep,
    settings: SettingsDep,
    scanner: ScannerDep,
    principal: CurrentPrincipal,
    content_type: Annotated[str, Header()] = "",
) -> DocumentOut:
    """Store a dossier's result for its citizen (officer of the agency): fields ``file``,
    ``owner``, ``dossier_code``, ``agency_code``. It appears in the citizen's wallet."""
    return await document_service.issue_result(
        document_service.Store(session, outbox, storage, settings, scanner),
        principal=principal,
        content_type=content_type,
        body=request.stream(),
    )


@router.post(
    "/scans",
    response_model=DocumentOut,
    status_code=201,
    **allow(Grant.AGENCY, openapi_extra=SCAN_BODY),
)
async def scan(
    request: Request,
    session: StatementSessionDep,
    outbox: OutboxDep,
    storage: StorageDep,
    settings: SettingsDep,
    scanner: ScannerDep,
    principal: CurrentPrincipal,
    content_type: Annotated[str, Header()] = "",
) -> DocumentOut:
    """A paper document digitised at the counter (desk officer of ``agency_code``):
    fields ``file``, ``agency_code``, optional ``kind``. The officer's until a dossier
    filed at the counter names it."""
    return await document_service.scan(
        document_service.Store(session, outbox, storage, settings, scanner),
        principal=principal,
        content_type=content_type,
        body=request.stream(),
    )


@router.post(
    "/uploads",
    response_model=DirectUploadOut,
    status_code=201,
    **allow(Grant.CITIZEN),
)
async def start_direct_upload(
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    request: DirectUploadRequest,
) -> DirectUploadOut:
    """For a large file (distributed mode): a presigned POST straight to the store, bound
    to one key and to the size cap. Confirm it afterwards; until then it is not usable."""
    return await document_service.start_direct_upload(
        session, storage, settings, principal=principal, name=request.name, label=request.kind
    )


@router.post("/{document_id:uuid}/confirm", response_model=DocumentOut, **allow(Grant.OWN))
async def confirm_direct_upload(
    session: SessionDep,
    outbox: OutboxDep,
    storage: StorageDep,
    settings: SettingsDep,
    scanner: ScannerDep,
    principal: CurrentPrincipal,
    document_id: uuid.UUID,
    office: Annotated[bool, Query(description="accept DOCX and XLSX too")] = False,
) -> DocumentOut:
    """Check what arrived (size, type from its bytes, checksum, scan) and make it usable."""
    return await document_service.confirm(
        document_service.Store(session, outbox, storage, settings, scanner),
        principal=principal,
        document_id=document_id,
        office_formats=office,
    )


@router.get("", response_model=list[DocumentOut], **allow(Grant.CITIZEN, Grant.OFFICER))
async def wallet(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    dossier: Annotated[str | None, Query(max_length=60)] = None,
    id: Annotated[
        list[uuid.UUID] | None, Query(max_length=100, description="only these (any state)")
    ] = None,
) -> list[DocumentOut]:
    """The caller's wallet (citizen), or one dossier's documents (officer); with ``id``,
    those of them the caller holds (a citizen's own, a desk officer's scans)."""
    return await document_service.wallet(session, principal=principal, dossier_code=dossier, ids=id)


@router.get("/accesses", response_model=list[AccessOut], **allow(Grant.CITIZEN))
async def accesses(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    dossier: Annotated[str, Query(max_length=60, pattern=r"^[A-Za-z0-9.\-]{1,60}$")],
) -> list[AccessOut]:
    """When officers downloaded the caller's documents of one of their dossiers, by
    position and agency: who read what the citizen gave."""
    return await document_service.accesses(session, principal=principal, dossier_code=dossier)


@router.get("/{document_id:uuid}", response_model=DocumentOut, **allow(Grant.OWN, Grant.AGENCY))
async def detail(
    session: ReadSessionDep, principal: CurrentPrincipal, document_id: uuid.UUID
) -> DocumentOut:
    return await document_service.detail(session, document_id=document_id, principal=principal)


@router.get(
    "/{document_id:uuid}/download",
    response_model=DownloadOut,
    responses={
        307: {
            "description": "With `redirect=true`: to the file itself (a short-lived link).",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        }
    },
    **allow(Grant.OWN, Grant.AGENCY),
)
async def download(
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    document_id: uuid.UUID,
    redirect: bool = False,
    inline: Annotated[
        bool, Query(description="shown in the browser if a PDF or an image, else downloaded")
    ] = False,
) -> DownloadOut | Response:
    """A short-lived link to the file (or a redirect to it); every link is audited."""
    link = await document_service.download(
        session, storage, settings, document_id=document_id, principal=principal, inline=inline
    )
    if redirect:
        return RedirectResponse(link.url, status_code=307)
    return link
