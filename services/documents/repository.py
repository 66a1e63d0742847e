"""Every query of the documents service."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.models import (
    Document,
    DocumentKind,
    DocumentStatus,
    DocumentUse,
    DownloadAudit,
    OutboxRecord,
)
from shared.auth import Role

_DOCUMENTS = cast(Table, Document.__table__)
_OUTBOX = cast(Table, OutboxRecord.__table__)
_EVENT_COLUMNS = ("event_id", "topic", "envelope")
# A document's row and the event announcing it, in one statement (PostgreSQL): atomic
# without a transaction. Through the ORM (BEGIN, two INSERTs by the unit of work, COMMIT)
# the database's part was 43 % of the service's GIL-held samples under bench/documents.py;
# this way it is 28 %.
_NEW_DOCUMENT = (
    insert(_OUTBOX)
    .values({name: bindparam(f"o_{name}") for name in _EVENT_COLUMNS})
    .add_cte(
        insert(_DOCUMENTS)
        .values({column.name: bindparam(f"d_{column.name}") for column in _DOCUMENTS.columns})
        .cte("new_document")
    )
)


async def add_with_event(session: AsyncSession, document: Document, event: dict[str, Any]) -> None:
    """Write a new document (every column set, its id too) and its event's outbox row:
    one statement on PostgreSQL, two in the caller's transaction elsewhere."""
    values = {column.name: getattr(document, column.name) for column in _DOCUMENTS.columns}
    if session.get_bind().dialect.name == "postgresql":
        parameters = {f"d_{name}": value for name, value in values.items()}
        parameters.update({f"o_{name}": event[name] for name in _EVENT_COLUMNS})
        await session.execute(_NEW_DOCUMENT, parameters)
    else:
        await session.execute(insert(_DOCUMENTS), values)
        await session.execute(insert(_OUTBOX), event)


async def get(session: AsyncSession, document_id: uuid.UUID) -> Document | None:
    return await session.get(Document, document_id)


async def agencies_using(session: AsyncSession, document_id: uuid.UUID) -> Sequence[str]:
    return (
        await session.scalars(
            select(DocumentUse.agency_code).where(DocumentUse.document_id == document_id).distinct()
        )
    ).all()


async def use_count(session: AsyncSession, document_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count(func.distinct(DocumentUse.dossier_code))).where(
            DocumentUse.document_id == document_id
        )
    )
    return int(count or 0)


def _with_uses() -> tuple[object, ...]:
    uses = (
        select(func.count(func.distinct(DocumentUse.dossier_code)))
        .where(DocumentUse.document_id == Document.id)
        .scalar_subquery()
    )
    return (Document, uses)


# Built once with bound parameters: intake asks for a dossier's documents on every
# submission, and building the statement (an IN over literal ids) cost a fifth of the
# request's CPU (bench/intake.py).
_OWNED = select(*_with_uses()).where(Document.owner == bindparam("owner"), Document.in_wallet)  # type: ignore[call-overload]
_OWNED_READY = _OWNED.where(Document.status == DocumentStatus.READY).order_by(
    Document.created_at.desc()
)
_OWNED_AMONG = _OWNED.where(Document.id.in_(bindparam("ids", expanding=True))).order_by(
    Document.created_at.desc()
)


async def dossiers_of(
    session: AsyncSession, document_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The dossiers each document was used in, oldest use first."""
    if not document_ids:
        return {}
    rows = await session.execute(
        select(DocumentUse.document_id, DocumentUse.dossier_code, func.min(DocumentUse.used_at))
        .where(DocumentUse.document_id.in_(document_ids))
        .group_by(DocumentUse.document_id, DocumentUse.dossier_code)
        .order_by(func.min(DocumentUse.used_at))
    )
    found: dict[uuid.UUID, list[str]] = {}
    for document_id, dossier_code, _ in rows:
        found.setdefault(document_id, []).append(dossier_code)
    return found


async def officer_downloads(
    session: AsyncSession, *, owner: str, dossier_code: str
) -> Sequence[tuple[DownloadAudit, Document]]:
    """Officers' downloads of ``owner``'s documents used in the dossier, oldest first."""
    used = select(DocumentUse.document_id).where(DocumentUse.dossier_code == dossier_code)
    rows = await session.execute(
        select(DownloadAudit, Document)
        .join(Document, Document.id == DownloadAudit.document_id)
        .where(
            Document.owner == owner,
            Document.id.in_(used),
            DownloadAudit.role == Role.OFFICER,
        )
        .order_by(DownloadAudit.at)
    )
    return [(audit, document) for audit, document in rows]


async def owned(
    session: AsyncSession, owner: str, ids: Sequence[uuid.UUID] | None = None
) -> Sequence[tuple[Document, int]]:
    """The owner's ready documents, newest first, each with how many dossiers used it;
    with ``ids``, those of them the owner has whatever their state."""
    if ids is None:
        rows = await session.execute(_OWNED_READY, {"owner": owner})
    else:
        rows = await session.execute(_OWNED_AMONG, {"owner": owner, "ids": list(ids)})
    return [(document, int(uses or 0)) for document, uses in rows]


async def issue_results(
    session: AsyncSession,
    *,
    dossier_code: str,
    owner: str,
    document_ids: Sequence[uuid.UUID],
    at: datetime,
) -> int:
    """Mark issued those of the ids that are results stored for the dossier and the
    owner (already issued ones keep their first instant); how many there were."""
    for_dossier = select(DocumentUse.document_id).where(DocumentUse.dossier_code == dossier_code)
    result = await session.execute(
        update(Document)
        .where(
            Document.id.in_(list(document_ids)),
            Document.id.in_(for_dossier),
            Document.owner == owner,
            Document.kind == DocumentKind.RESULT,
            Document.status == DocumentStatus.READY,
        )
        .values(issued_at=func.coalesce(Document.issued_at, at))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def of_dossier(
    session: AsyncSession, dossier_code: str, agencies: Sequence[str]
) -> Sequence[tuple[Document, int]]:
    used = select(DocumentUse.document_id).where(
        DocumentUse.dossier_code == dossier_code, DocumentUse.agency_code.in_(agencies)
    )
    rows = await session.execute(
        select(*_with_uses())  # type: ignore[call-overload]
        .where(Document.id.in_(used), Document.status == DocumentStatus.READY)
        .order_by(Document.created_at)
    )
    return [(document, int(uses or 0)) for document, uses in rows]


async def has_use(
    session: AsyncSession, document_id: uuid.UUID, dossier_code: str, agency_code: str
) -> bool:
    found = await session.scalar(
        select(DocumentUse.id).where(
            DocumentUse.document_id == document_id,
            DocumentUse.dossier_code == dossier_code,
            DocumentUse.agency_code == agency_code,
        )
    )
    return found is not None
