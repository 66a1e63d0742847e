"""Storing a file: checked, scanned, put in the object store, recorded and announced
(``document.ready``), with nothing half-done left visible if a step fails."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import receiving, repository
from services.documents.config import DocumentsSettings
from services.documents.models import Document, DocumentKind, DocumentStatus
from services.documents.scanning import ClamAV, Infected, ScannerUnavailable
from services.documents.schemas import DocumentOut
from shared.contracts.documents import DocumentEvent, DocumentReady
from shared.errors import Unprocessable, UpstreamUnavailable, json_pointer
from shared.events import Outbox
from shared.storage import ObjectNotFound, ObjectStorage, StorageUnavailable

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


def out(document: Document, uses: int = 0, dossiers: list[str] | None = None) -> DocumentOut:
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
        dossiers=dossiers or [],
    )


async def scan_spool(scanner: ClamAV, spool: BinaryIO) -> None:
    try:
        await scanner.scan(spool)
    except Infected as exc:
        raise Unprocessable(
            "Tệp bị từ chối: phát hiện mã độc.",
            errors=[{"pointer": "#/file", "message": exc.signature}],
        ) from exc
    except ScannerUnavailable as exc:
        raise StoreUnavailable("Chưa kiểm tra được mã độc; vui lòng gửi lại sau.") from exc


async def put_object(storage: ObjectStorage, received: receiving.Received, key: str) -> None:
    try:
        await storage.put(
            key, received.spool, length=received.size, content_type=received.content_type
        )
    except StorageUnavailable as exc:
        raise StoreUnavailable(UNAVAILABLE) from exc


@dataclass(frozen=True)
class Store:
    """Where a request's files go: its session and outbox, the object store, the
    service's settings and its malware scanner (None when not configured)."""

    session: AsyncSession
    outbox: Outbox
    storage: ObjectStorage
    settings: DocumentsSettings
    scanner: ClamAV | None


async def store_and_keep(
    store: Store, received: receiving.Received, document: Document
) -> Document:
    """Scan (when configured), then put the file and write its record at once: they take
    about as long as each other. The record commits only with the request, so a failed
    put leaves no record; a record that cannot be written takes the object away again."""
    session, storage, scanner = store.session, store.storage, store.scanner
    if scanner is not None:
        await scan_spool(scanner, received.spool)
    session.add(document)
    put = asyncio.create_task(put_object(storage, received, document.storage_key))
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


def ready(
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


def ready_event(document: Document, uses: int = 0) -> dict[str, Any]:
    ready = DocumentReady(
        id=document.id,
        owner=document.owner,
        kind=document.kind.value,
        content_type=document.content_type,
        uses=uses,
    )
    return ready.model_dump(mode="json")


def announce(session: AsyncSession, outbox: Outbox, document: Document, uses: int = 0) -> None:
    """Say, in the transaction that makes it usable, that the document is ready: intake
    keeps these facts to check a submission without asking again."""
    event = ready_event(document, uses)
    outbox.add(session, DocumentEvent.READY, event, subject=str(document.id))


async def store_then_record(
    store: Store, received: receiving.Received, document: Document
) -> Document:
    """Scan (when configured), put the file, then write its record and its ready event
    together (one statement on PostgreSQL). A failed put writes nothing; a record that
    cannot be written takes the object away again."""
    session, outbox, storage, scanner = store.session, store.outbox, store.storage, store.scanner
    if scanner is not None:
        await scan_spool(scanner, received.spool)
    await put_object(storage, received, document.storage_key)
    envelope = outbox.envelope(DocumentEvent.READY, ready_event(document), subject=str(document.id))
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
