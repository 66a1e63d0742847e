"""Uploads through the service: a citizen's file, an officer's result, a desk's scan."""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.documents import receiving
from services.documents.models import DocumentKind, DocumentUse
from services.documents.schemas import DocumentOut, ResultFields, ScanFields, UploadFields
from services.documents.service.storing import (
    Store,
    announce,
    form_fields,
    new_key,
    out,
    ready,
    store_and_keep,
    store_then_record,
)
from shared.auth import Position, Principal, Role
from shared.errors import Forbidden, Unprocessable


async def upload(
    store: Store,
    *,
    principal: Principal,
    content_type: str,
    body: AsyncIterator[bytes],
    office_formats: bool,
) -> DocumentOut:
    """A citizen gives a document for their wallet."""
    settings = store.settings
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
    document = ready(
        received, new_key(), owner=principal.subject, kind=DocumentKind.UPLOAD, label=fields.kind
    )
    try:
        stored = await store_then_record(store, received, document)
    finally:
        received.close()
    return out(stored)


NOT_THE_AGENCY = "Chỉ cán bộ của cơ quan giải quyết được trả kết quả."


async def issue_result(
    store: Store,
    *,
    principal: Principal,
    content_type: str,
    body: AsyncIterator[bytes],
) -> DocumentOut:
    """An officer stores a dossier's result (an e-certificate) for its citizen."""
    session, settings = store.session, store.settings
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
        result = ready(
            received,
            new_key(),
            owner=fields.owner or principal.subject,
            kind=DocumentKind.RESULT,
            label=fields.kind,
            issued_by=fields.agency_code,
        )
        document = await store_and_keep(store, received, result)
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
    announce(session, store.outbox, document, uses=1)
    return out(document, uses=1)


NOT_A_DESK = "Chỉ cán bộ một cửa số hóa giấy tờ nộp tại quầy."


async def scan(
    store: Store,
    *,
    principal: Principal,
    content_type: str,
    body: AsyncIterator[bytes],
) -> DocumentOut:
    """A desk officer digitises a paper document a citizen brought to the counter. It is
    the officer's until the dossier filed with it names it (intake checks it is theirs
    and a scan); the dossier's agencies then read it."""
    if principal.role is not Role.OFFICER:  # refused before a byte of the file is read
        raise Forbidden(NOT_A_DESK)
    received = await receiving.receive(
        content_type, body, max_bytes=store.settings.max_upload_bytes, allowed=receiving.ALWAYS
    )
    try:
        fields = form_fields(ScanFields, received)
        desks = {m.agency_code for m in principal.agencies if m.position is Position.DESK}
        if fields.agency_code not in desks:
            raise Forbidden(NOT_A_DESK)
        document = ready(
            received, new_key(), owner=principal.subject, kind=DocumentKind.SCAN,
            label=fields.kind, issued_by=fields.agency_code,
        )  # fmt: skip
        stored = await store_then_record(store, received, document)
    finally:
        received.close()
    return out(stored)
