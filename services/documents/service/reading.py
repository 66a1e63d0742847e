"""Who may read a document, the wallet, and the audited download links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import repository
from services.documents.config import DocumentsSettings
from services.documents.models import Document, DocumentStatus, DownloadAudit
from services.documents.schemas import AccessOut, DocumentOut, DownloadOut
from services.documents.service.storing import UNAVAILABLE, StoreUnavailable, out
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.logging import current_request_id
from shared.storage import ObjectStorage, StorageUnavailable


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
    officer's view of one dossier's, or those of ``ids`` the officer holds (the scans a
    desk made for a counter dossier, which intake asks about when it files one)."""
    if principal.role is Role.OFFICER and ids and not dossier_code:
        rows = await repository.owned(session, principal.subject, ids)
        return [out(document, uses) for document, uses in rows]
    if principal.role is Role.CITIZEN:
        rows = await repository.owned(session, principal.subject, ids)
        used_in = await repository.dossiers_of(session, [document.id for document, _ in rows])
        return [out(document, uses, used_in.get(document.id)) for document, uses in rows]
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


async def accesses(
    session: AsyncSession, *, principal: Principal, dossier_code: str
) -> list[AccessOut]:
    """When officers took a link to the citizen's documents of one of their dossiers,
    by position and agency (never by name): what the citizen sees of who read them."""
    if principal.role is not Role.CITIZEN:
        raise Forbidden("Công dân xem ai đã tải giấy tờ của mình.")
    rows = await repository.officer_downloads(session, owner=principal.subject,
                                              dossier_code=dossier_code)  # fmt: skip
    return [
        AccessOut(
            document_id=document.id,
            document_name=document.original_name,
            at=audit.at,
            agency_code=audit.agency_code,
            position=audit.position,
        )
        for audit, document in rows
    ]


# The types a browser shows without running anything of the file's (office files are
# downloaded: their viewers are other programs).
SHOWN_INLINE = frozenset({"application/pdf", "image/jpeg", "image/png"})


async def download(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: DocumentsSettings,
    *,
    document_id: uuid.UUID,
    principal: Principal,
    inline: bool = False,
) -> DownloadOut:
    """A short-lived link to the file, audited; with ``inline``, one that shows a PDF or
    an image in the browser (their type was read from their bytes; anything else is
    still downloaded)."""
    document, agency = await readable(session, document_id=document_id, principal=principal)
    ttl = timedelta(seconds=settings.download_ttl_seconds)
    shown = document.content_type if inline and document.content_type in SHOWN_INLINE else None
    try:
        url = await storage.presigned_get_url(
            document.storage_key, expires=ttl, filename=document.original_name, inline=shown
        )
    except StorageUnavailable as exc:
        raise StoreUnavailable(UNAVAILABLE) from exc
    now = datetime.now(UTC)
    membership = principal.membership_among([agency]) if agency else None
    session.add(
        DownloadAudit(
            document_id=document.id,
            subject=principal.subject,
            role=principal.role,
            agency_code=agency,
            position=membership.position.value if membership else None,
            request_id=current_request_id(),
            at=now,
        )
    )
    return DownloadOut(url=url, expires_at=now + ttl)
