"""The notice beside each event of a dossier (``shared.contracts.notices``): what the
notifications service needs to tell the applicant and the officers, as it stood then.

Added in the transaction of the transition, like the event itself: a notice is never
announced for a change that rolled back, nor lost for one that committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import Dossier
from services.intake.state import PaymentRequest, SupplementRequest
from shared.contracts.notices import DOSSIER_NOTICE, Contact, DossierNotice
from shared.events import Outbox


def walk_in_contact(dossier: Dossier) -> Contact | None:
    """The e-form's contact of an applicant without an account, if they gave one."""
    if dossier.applicant is not None:
        return None  # an account's own contacts are the notifications service's
    block = dossier.applicant_data.get("applicant")
    if not isinstance(block, dict):
        return None
    email, phone = block.get("email"), block.get("phone")
    contact = Contact(
        email=email if isinstance(email, str) and email else None,
        phone=phone if isinstance(phone, str) and phone else None,
    )
    return contact if contact.email or contact.phone else None


def notice_of(
    dossier: Dossier,
    event: str,
    *,
    at: datetime,
    action: str | None = None,
    reason: str | None = None,
    previous_appointment_at: datetime | None = None,
) -> DossierNotice:
    request = dossier.pending_request
    extra: dict[str, Any] = {}
    if isinstance(request, SupplementRequest):
        extra.update(missing=request.missing, note=request.note)
    elif isinstance(request, PaymentRequest):
        extra.update(amount_vnd=request.amount_vnd, payment_id=request.payment_id,
                     note=request.note)  # fmt: skip
    return DossierNotice(
        event=event,
        action=action,
        at=at,
        code=dossier.code,
        status=dossier.status,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        agency_code=dossier.agency_code,
        receiving_agency_code=dossier.receiving_agency_code,
        channel=dossier.channel,  # type: ignore[arg-type]
        account=dossier.applicant,
        applicant_name=dossier.applicant_name,
        contact=walk_in_contact(dossier),
        holder=dossier.assignee,
        appointment_at=dossier.appointment_at or dossier.due_at,
        finished=dossier.finished_at is not None,
        previous_appointment_at=previous_appointment_at,
        reason=reason if reason is not None else dossier.reason,
        electronic_result=bool(dossier.result_documents) and dossier.applicant is not None,
        **extra,
    )


def announce(
    session: AsyncSession, outbox: Outbox, notice: DossierNotice, *, sequence: int
) -> None:
    outbox.add(
        session,
        DOSSIER_NOTICE,
        notice.model_dump(mode="json"),
        subject=notice.code,
        sequence=sequence,
    )
