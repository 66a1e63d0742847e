"""What dossiers do to documents (intake's events): results into the applicant's
wallet, files marked as used by a dossier and readable by its agencies."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import repository
from services.documents.models import DocumentStatus, DocumentUse

logger = logging.getLogger("onestop.documents")


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
