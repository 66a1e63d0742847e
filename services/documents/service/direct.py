"""Large files sent straight to the object store (distributed mode): a presigned POST
bound to one key and the size cap, then a confirmation that checks what arrived."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import receiving, repository
from services.documents.config import DocumentsSettings
from services.documents.models import Document, DocumentKind, DocumentStatus
from services.documents.schemas import DirectUploadOut, DocumentOut
from services.documents.service.storing import (
    UNAVAILABLE,
    Store,
    StoreUnavailable,
    announce,
    new_key,
    out,
    scan_spool,
)
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from shared.storage import (
    DirectUploadUnsupported,
    ObjectNotFound,
    ObjectStorage,
    StorageUnavailable,
)


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
    store: Store,
    *,
    principal: Principal,
    document_id: uuid.UUID,
    office_formats: bool,
) -> DocumentOut:
    """Check a presigned upload as if it had come through the service: size, type from
    its bytes, checksum, scan. A file that fails is deleted and the document rejected."""
    session, outbox, storage = store.session, store.outbox, store.storage
    settings, scanner = store.settings, store.scanner
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
                await scan_spool(scanner, sink.spool)
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
    announce(session, outbox, document)
    return out(document)


async def _reject(storage: ObjectStorage, document: Document) -> None:
    document.status = DocumentStatus.REJECTED
    with contextlib.suppress(StorageUnavailable, ObjectNotFound):
        await storage.delete(document.storage_key)
