"""The events intake applies: due dates tracking recomputed after a calendar changed,
and the documents documents made ready (what a submission checks)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import notices, repository
from services.intake.actions import record_audit
from services.intake.due_dates import PAUSED_STATUSES
from services.intake.models import Dossier, ProcessedEvent
from services.intake.notices import notice_of
from services.intake.repository import known_documents
from shared.contracts.documents import DOCUMENT_TOPIC, DocumentEvent, DocumentReady
from shared.contracts.dossiers import DOSSIER_TOPIC, DossierEvent, DueChanged
from shared.contracts.events import EventEnvelope
from shared.runtime import ConsumerSpec, Runtime

logger = logging.getLogger("onestop.intake.consumers")


def _applies(dossier: Dossier, change: DueChanged) -> bool:
    if dossier.finished_at is not None or dossier.status in PAUSED_STATUSES:
        return False  # stopped or waiting: the next resume computes with the new calendar
    # Tracking counted from an older state of the dossier: its next event recomputes.
    return change.sequence is None or change.sequence == dossier.sequence


async def apply_due_change(
    runtime: Runtime, session: AsyncSession, envelope: EventEnvelope
) -> None:
    if envelope.type != DossierEvent.DUE_CHANGED or envelope.subject is None:
        return
    change = DueChanged.model_validate(envelope.payload)
    dossier = await repository.get_for_update(session, envelope.subject)
    if dossier is None or not _applies(dossier, change):
        logger.info("due change not applied", extra={"dossier": envelope.subject})
        return
    if dossier.due_at == change.new_due_at:
        return
    old = dossier.due_at
    dossier.due_at = change.new_due_at
    # The queues rely on a due date always having a due-soon instant at or before it:
    # without one the warning window is empty.
    dossier.due_soon_at = change.new_due_soon_at or change.new_due_at
    dossier.calendar_code = change.calendar_code
    dossier.calendar_version = change.calendar_version
    record_audit(
        session,
        dossier,
        actor="tracking",
        role="system",
        action="due_changed",
        from_status=dossier.status,
        at=envelope.occurred_at,
        details={
            "old_due_at": old.isoformat() if old else None,
            "new_due_at": change.new_due_at.isoformat() if change.new_due_at else None,
            "reason": change.reason,
            "calendar": f"{change.calendar_code}@{change.calendar_version}",
            "event": str(envelope.id),
        },
    )
    runtime.events.add(
        session,
        DossierEvent.DUE_APPLIED,
        change.model_dump(mode="json"),
        subject=dossier.code,
        sequence=dossier.sequence,
    )
    if dossier.appointment_at is None:  # the date the applicant holds moved
        notice = notice_of(dossier, DossierEvent.DUE_APPLIED, at=envelope.occurred_at,
                           reason=change.reason, previous_appointment_at=old)  # fmt: skip
        notices.announce(session, runtime.events, notice, sequence=dossier.sequence)


DUE_CHANGES = ConsumerSpec(
    group="intake.due_changes",
    topics=(DOSSIER_TOPIC,),
    handler=apply_due_change,
    inbox_model=ProcessedEvent,
    types=frozenset({DossierEvent.DUE_CHANGED}),
)


async def learn_document(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    if envelope.type != DocumentEvent.READY:
        return
    await known_documents.learn(session, DocumentReady.model_validate(envelope.payload))


DOCUMENTS = ConsumerSpec(
    group="intake.documents",
    topics=(DOCUMENT_TOPIC,),
    handler=learn_document,
    inbox_model=ProcessedEvent,
    types=frozenset({DocumentEvent.READY}),
)
