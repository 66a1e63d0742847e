"""Business rules of the documents service: store, list, authorise, download, reuse.

Who may read a document: its owner (the citizen it belongs to), or an officer of an
agency handling a dossier that uses it. Everyone else is told it does not exist (404),
so ids cannot be probed. Every link handed out is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeVar

import anyio.to_thread
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import receiving, repository
from services.documents.config import DocumentsSettings
from services.documents.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    DocumentUse,
    DownloadAudit,
)
from services.documents.scanning import ClamAV, Infected, ScannerUnavailable
from services.documents.schemas import (
    DirectUploadOut,
    DocumentOut,
    DownloadOut,
    ResultFields,
    UploadFields,
)
from shared.auth import Principal, Role
from shared.contracts.documents import DocumentEvent, DocumentReady
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UpstreamUnavailable,
    json_pointer,
)
from shared.events import Outbox
from shared.logging import current_request_id
from shared.storage import (
    DirectUploadUnsupported,
    ObjectNotFound,
    ObjectStorage,
    StorageUnavailable,
)

logger = logging.getLogger("onestop.documents")


UNAVAILABLE = "Kho lưu trữ tệp tạm thời không sẵn sàng; vui lòng gửi lại sau."
FieldsT = TypeVar("FieldsT", bound=BaseModel)
# What each refusal of a form field says (pydantic's own words are English).
FIELD_PROBLEMS = {
    "missing": "Bắt buộc.",
    "string_too_short": "Bắt buộc.",
    "string_too_long": "Quá dài.",
    "string_pattern_mismatch": "Chỉ gồm chữ thường không dấu, chữ số và dấu gạch nối, "
    "bắt đầu bằng chữ.",
}


class StoreUnavailable(UpstreamUnavailable):
    """The object store (or the scanner) cannot take the file now: try again later."""


def new_key() -> str:
    # Random, and nothing about the person or the file: keys end up in logs and URLs.
    return f"d/{uuid.uuid4().hex}"


def out(document: Document, uses: int = 0) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        kind=document.kind,
        label=document.label,
        status=document.status,
        name=document.original_name,
        size=document.size,
        content_type=document.content_type,
        sha256=document.sha256,
        created_at=document.created_at,
        issued_by=document.issued_by,
        owner=document.owner,
        uses=uses,
    )


async def _scan(scanner: ClamAV, spool: BinaryIO) -> None:
    try:
        await scanner.scan(spool)
    except Infected as exc:
        raise Unprocessable(
            "Tệp bị từ chối: phát hiện mã độc.",
            errors=[{"pointer": "#/file", "message": exc.signature}],
        ) from exc
    except ScannerUnavailable as exc:
        raise StoreUnavailable("Chưa kiểm tra được mã độc; vui lòng gửi lại sau.") from exc


async def _put(storage: ObjectStorage, received: receiving.Received, key: str) -> None:
    try:
        await storage.put(
            key, received.spool, length=received.size, content_type=received.content_type
        )
    except StorageUnavailable as exc:
        raise StoreUnavailable(UNAVAILABLE) from exc


async def _store_and_keep(
    session: AsyncSession,
    storage: ObjectStorage,
    scanner: ClamAV | None,
    received: receiving.Received,
    document: Document,
) -> Document:
    """Scan (when configured), then put the file and write its record at once: they take
    about as long as each other. The record commits only with the request, so a failed
    put leaves no record; a record that cannot be written takes the object away again."""
    if scanner is not None:
        await _scan(scanner, received.spool)
    session.add(document)
    put = asyncio.create_task(_put(storage, received, document.storage_key))
    try:
        await session.flush()
    except BaseException:
        with contextlib.suppress(Exception):
            await put
        with contextlib.suppress(StorageUnavailable, ObjectNotFound):
            await storage.delete(document.storage_key)
        raise
    await put
    return document


def _ready(
    received: receiving.Received,
    key: str,
    *,
    owner: str,
    kind: DocumentKind,
    label: str | None,
    issued_by: str | None = None,
) -> Document:
    return Document(
        id=uuid.uuid4(),  # set here: a row may be written without the ORM (repository)
        owner=owner,
        kind=kind,
        label=label,
        status=DocumentStatus.READY,
        storage_key=key,
        original_name=received.name,
        size=received.size,
        content_type=received.content_type,
        sha256=received.sha256,
        created_at=datetime.now(UTC),
        issued_by=issued_by,
    )


def _ready_event(document: Document, uses: int = 0) -> dict[str, Any]:
    ready = DocumentReady(
        id=document.id,
        owner=document.owner,
        kind=document.kind.value,
        content_type=document.content_type,
        uses=uses,
    )
    return ready.model_dump(mode="json")


def _announce(session: AsyncSession, outbox: Outbox, document: Document, uses: int = 0) -> None:
    """Say, in the transaction that makes it usable, that the document is ready: intake
    keeps these facts to check a submission without asking again."""
    event = _ready_event(document, uses)
    outbox.add(session, DocumentEvent.READY, event, subject=str(document.id))


async def _store_then_record(
    session: AsyncSession,
    outbox: Outbox,
    storage: ObjectStorage,
    scanner: ClamAV | None,
    received: receiving.Received,
    document: Document,
) -> Document:
    """Scan (when configured), put the file, then write its record and its ready event
    together (one statement on PostgreSQL). A failed put writes nothing; a record that
    cannot be written takes the object away again."""
    if scanner is not None:
        await _scan(scanner, received.spool)
    await _put(storage, received, document.storage_key)
    envelope = outbox.envelope(
        DocumentEvent.READY, _ready_event(document), subject=str(document.id)
    )
    try:
        await repository.add_with_event(session, document, outbox.row(envelope))
    except Exception:
        # The statement failed, so no record names the object. Not on a cancellation:
        # without a transaction, the statement may have committed as the request was
        # cancelled, and a record without its object is worse than an object no record
        # names (which nobody can reach).
        with contextlib.suppress(StorageUnavailable, ObjectNotFound):
            await storage.delete(document.storage_key)
        raise
    outbox.wake_after_commit(session)
    return document


async def upload(
    session: AsyncSession,
    outbox: Outbox,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    scanner: ClamAV | None,
    *,
    principal: Principal,
    content_type: str,
    body: AsyncIterator[bytes],
    office_formats: bool,
) -> DocumentOut:
    """A citizen gives a document for their wallet."""
    if principal.role is not Role.CITIZEN:
        raise Forbidden("Chỉ công dân tải giấy tờ vào kho của mình.")
    allowed = receiving.ALWAYS | (receiving.OFFICE if office_formats else frozenset())
    received = await receiving.receive(
        content_type, body, max_bytes=settings.max_upload_bytes, allowed=allowed
    )
    try:
        fields = form_fields(UploadFields, received)
    except Unprocessable:
        received.close()
        raise
    document = _ready(
        received, new_key(), owner=principal.subject, kind=DocumentKind.UPLOAD, label=fields.kind
    )
    try:
        stored = await _store_then_record(session, outbox, storage, scanner, received, document)
    finally:
        received.close()
    return out(stored)


NOT_THE_AGENCY = "Chỉ cán bộ của cơ quan giải quyết được trả kết quả."


def form_fields(model: type[FieldsT], received: receiving.Received) -> FieldsT:
    """The text fields sent beside a file, checked against their declared shape (the
    document's multipart schema is made from the same model). A blank field, as a
    browser sends an empty input, is an absent one; one of the model's sent twice is
    refused, since which was meant cannot be known. Other fields are ignored."""
    twice = sorted(received.repeated & model.model_fields.keys())
    if twice:
        raise Unprocessable(
            "Một trường được gửi nhiều lần.",
            errors=[{"pointer": f"#/{name}", "message": "Chỉ gửi một lần."} for name in twice],
        )
    fields = received.fields
    try:
        return model.model_validate({name: value for name, value in fields.items() if value})
    except ValidationError as exc:
        raise Unprocessable(
            "Thông tin gửi kèm tệp chưa hợp lệ.",
            errors=[
                {
                    "pointer": json_pointer(error["loc"]),
                    "message": FIELD_PROBLEMS.get(error["type"], error["msg"]),
                }
                for error in exc.errors()
            ],
        ) from None


async def issue_result(
    session: AsyncSession,
    outbox: Outbox,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    scanner: ClamAV | None,
    *,
    principal: Principal,
    content_type: str,
    body: AsyncIterator[bytes],
) -> DocumentOut:
    """An officer stores a dossier's result (an e-certificate) for its citizen."""
    if principal.role is not Role.OFFICER:  # refused before a byte of the file is read
        raise Forbidden(NOT_THE_AGENCY)
    received = await receiving.receive(
        content_type,
        body,
        max_bytes=settings.max_upload_bytes,
        allowed=receiving.ALWAYS | receiving.OFFICE,
    )
    try:
        fields = form_fields(ResultFields, received)
        if not principal.is_member_of(fields.agency_code):
            raise Forbidden(NOT_THE_AGENCY)
        result = _ready(
            received,
            new_key(),
            owner=fields.owner,
            kind=DocumentKind.RESULT,
            label=fields.kind,
            issued_by=fields.agency_code,
        )
        document = await _store_and_keep(session, storage, scanner, received, result)
    finally:
        received.close()
    session.add(
        DocumentUse(
            document_id=document.id,
            dossier_code=fields.dossier_code,
            agency_code=fields.agency_code,
            used_at=document.created_at,
        )
    )
    _announce(session, outbox, document, uses=1)
    return out(document, uses=1)


async def start_direct_upload(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    *,
    principal: Principal,
    name: str,
    label: str | None,
) -> DirectUploadOut:
    """A presigned upload straight to the store (large files, distributed mode); the
    document is usable only after ``confirm`` checked what arrived."""
    if principal.role is not Role.CITIZEN:
        raise Forbidden("Chỉ công dân tải giấy tờ vào kho của mình.")
    key = new_key()
    ttl = timedelta(seconds=settings.upload_ttl_seconds)
    try:
        url, fields = await storage.presigned_post(
            key, max_bytes=settings.max_upload_bytes, expires=ttl
        )
    except DirectUploadUnsupported as exc:
        raise Conflict("Tải trực tiếp chỉ có ở chế độ phân tán; hãy tải qua dịch vụ.") from exc
    except StorageUnavailable as exc:
        raise StoreUnavailable(UNAVAILABLE) from exc
    now = datetime.now(UTC)
    document = Document(
        owner=principal.subject,
        kind=DocumentKind.UPLOAD,
        label=label,
        status=DocumentStatus.AWAITING_UPLOAD,
        storage_key=key,
        original_name=receiving.clean_name(name),
        size=0,
        content_type="application/octet-stream",
        created_at=now,
    )
    session.add(document)
    await session.flush()
    return DirectUploadOut(
        id=document.id, url=url, fields=fields, max_bytes=settings.max_upload_bytes,
        expires_at=now + ttl,
    )  # fmt: skip


async def confirm(
    session: AsyncSession,
    outbox: Outbox,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    scanner: ClamAV | None,
    *,
    principal: Principal,
    document_id: uuid.UUID,
    office_formats: bool,
) -> DocumentOut:
    """Check a presigned upload as if it had come through the service: size, type from
    its bytes, checksum, scan. A file that fails is deleted and the document rejected."""
    document = await repository.get(session, document_id)
    if document is None or document.owner != principal.subject:
        raise NotFound("Không có tài liệu này.")
    if document.status is not DocumentStatus.AWAITING_UPLOAD:
        raise Conflict("Tài liệu này đã được xác nhận hoặc đã bị từ chối.")
    sink = receiving.CheckingSink()
    try:
        try:
            info = await storage.stat(document.storage_key)
            if info.size > settings.max_upload_bytes:
                raise PayloadTooLarge(f"Tệp vượt quá {settings.max_upload_bytes} byte.")
            await storage.copy_to(document.storage_key, sink)
        except ObjectNotFound as exc:
            raise Unprocessable(
                "Chưa nhận được tệp: hãy tải lên trước khi xác nhận.",
                errors=[{"pointer": "#/file", "message": "Chưa có tệp."}],
            ) from exc
        except StorageUnavailable as exc:
            raise StoreUnavailable(UNAVAILABLE) from exc
        allowed = receiving.ALWAYS | (receiving.OFFICE if office_formats else frozenset())
        try:
            content_type = receiving.detect(bytes(sink.header), allowed)
            if content_type in receiving.OFFICE:
                await anyio.to_thread.run_sync(receiving.check_archive, sink.spool)
            if scanner is not None:
                await _scan(scanner, sink.spool)
        except (receiving.UnsupportedMediaType, Unprocessable):
            await _reject(storage, document)
            raise
    except PayloadTooLarge:
        await _reject(storage, document)
        raise
    finally:
        sink.spool.close()
    document.size = sink.size
    document.sha256 = sink.digest.hexdigest()
    document.content_type = content_type
    document.status = DocumentStatus.READY
    _announce(session, outbox, document)
    return out(document)


async def _reject(storage: ObjectStorage, document: Document) -> None:
    document.status = DocumentStatus.REJECTED
    with contextlib.suppress(StorageUnavailable, ObjectNotFound):
        await storage.delete(document.storage_key)


async def readable(
    session: AsyncSession, *, document_id: uuid.UUID, principal: Principal
) -> tuple[Document, str | None]:
    """The document and the caller's ground to read it (an agency for officers); 404
    for anyone else, exactly as for an id that does not exist."""
    document = await repository.get(session, document_id)
    if document is not None and document.status is DocumentStatus.READY:
        if (
            principal.role is Role.CITIZEN
            and document.owner == principal.subject
            and document.in_wallet
        ):
            return document, None
        if principal.role is Role.OFFICER:
            mine = {membership.agency_code for membership in principal.agencies}
            for agency in await repository.agencies_using(session, document.id):
                if agency in mine:
                    return document, agency
    raise NotFound("Không có tài liệu này.")


async def detail(
    session: AsyncSession, *, document_id: uuid.UUID, principal: Principal
) -> DocumentOut:
    document, _ = await readable(session, document_id=document_id, principal=principal)
    return out(document, uses=await repository.use_count(session, document.id))


async def wallet(
    session: AsyncSession,
    *,
    principal: Principal,
    dossier_code: str | None,
    ids: list[uuid.UUID] | None = None,
) -> list[DocumentOut]:
    """A citizen's documents (uploads and results), or those of ``ids`` they own; an
    officer's view of one dossier's."""
    if principal.role is Role.CITIZEN:
        rows = await repository.owned(session, principal.subject, ids)
        return [out(document, uses) for document, uses in rows]
    if principal.role is not Role.OFFICER:
        raise Forbidden("Chỉ công dân và cán bộ xem được tài liệu.")
    if dossier_code:
        agencies = [membership.agency_code for membership in principal.agencies]
        rows = await repository.of_dossier(session, dossier_code, agencies)
        return [out(document, uses) for document, uses in rows]
    raise Unprocessable(
        "Cán bộ xem tài liệu theo từng hồ sơ.",
        errors=[{"pointer": "#/query/dossier", "message": "Cần mã hồ sơ."}],
    )


async def download(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    *,
    document_id: uuid.UUID,
    principal: Principal,
) -> DownloadOut:
    document, agency = await readable(session, document_id=document_id, principal=principal)
    ttl = timedelta(seconds=settings.download_ttl_seconds)
    try:
        url = await storage.presigned_get_url(
            document.storage_key, expires=ttl, filename=document.original_name
        )
    except StorageUnavailable as exc:
        raise StoreUnavailable(UNAVAILABLE) from exc
    now = datetime.now(UTC)
    session.add(
        DownloadAudit(
            document_id=document.id,
            subject=principal.subject,
            role=principal.role,
            agency_code=agency,
            request_id=current_request_id(),
            at=now,
        )
    )
    return DownloadOut(url=url, expires_at=now + ttl)


async def issue_to_wallet(
    session: AsyncSession,
    *,
    dossier_code: str,
    owner: str,
    document_ids: list[uuid.UUID],
    at: datetime,
) -> int:
    """A dossier's resolution gave these results to its applicant: they appear in the
    wallet now. Only results stored for that dossier and that owner count (intake
    checked the same; an id that is not is ignored and logged)."""
    issued = await repository.issue_results(
        session, dossier_code=dossier_code, owner=owner, document_ids=document_ids, at=at
    )
    if issued < len(set(document_ids)):
        logger.warning(
            "resolution names results it cannot issue",
            extra={"dossier": dossier_code, "issued": issued, "named": len(document_ids)},
        )
    return issued


async def record_uses(
    session: AsyncSession,
    *,
    dossier_code: str,
    owner: str,
    document_ids: list[uuid.UUID],
    agency_codes: list[str],
    at: datetime,
) -> int:
    """A dossier uses these documents; its agencies may now read them. Only the owner's
    ready documents count: an id that is someone else's is ignored (and logged)."""
    added = 0
    for document_id in document_ids:
        document = await repository.get(session, document_id)
        if (
            document is None
            or document.owner != owner
            or document.status is not DocumentStatus.READY
        ):
            logger.warning(
                "dossier names a document it cannot use",
                extra={"dossier": dossier_code, "document": str(document_id)},
            )
            continue
        for agency in dict.fromkeys(agency_codes):
            if not await repository.has_use(session, document_id, dossier_code, agency):
                session.add(
                    DocumentUse(
                        document_id=document_id,
                        dossier_code=dossier_code,
                        agency_code=agency,
                        used_at=at,
                    )
                )
                added += 1
    return added
