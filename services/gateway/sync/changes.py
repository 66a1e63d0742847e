"""What the sync owes the portal: intake's events about a dossier mark it owed, in
the consumer's transaction with its inbox row (a redelivered event changes nothing more)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import PortalSync, ProcessedEvent
from shared.contracts.actions import DOSSIER_CHANGES
from shared.contracts.dossiers import DOSSIER_TOPIC
from shared.contracts.events import EventEnvelope
from shared.db import dialect_insert
from shared.runtime import ConsumerSpec, Runtime

# The events by which intake says a dossier changed (an allow-list: tracking's warnings
# and proposals change nothing intake holds, and an event nobody declared is not sent).
SYNCED_EVENTS = DOSSIER_CHANGES


async def mark_owed(
    session: AsyncSession,
    codes: Iterable[str],
    *,
    at: datetime,
    now: datetime | None = None,
    traceparent: str | None = None,
) -> None:
    """Something about these dossiers changed at ``at`` (in the trace ``traceparent``):
    the portal is owed it. A dead-lettered dossier that changes is tried again with a
    fresh budget."""
    now = now or datetime.now(UTC)
    fresh = {"changes": 1, "owed": True, "owed_since": at, "sent_version": 0, "sent_steps": 0,
             "attempts": 0, "next_attempt_at": now, "traceparent": traceparent}  # fmt: skip
    rows = [{"code": code, **fresh} for code in dict.fromkeys(codes)]
    if not rows:
        return
    statement = dialect_insert(session)(PortalSync).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["code"],
            set_={
                "changes": PortalSync.changes + 1,
                "owed": True,
                "owed_since": func.coalesce(PortalSync.owed_since, statement.excluded.owed_since),
                "attempts": case((PortalSync.dead_at.is_not(None), 0), else_=PortalSync.attempts),
                "next_attempt_at": case(
                    (PortalSync.dead_at.is_not(None), statement.excluded.next_attempt_at),
                    else_=PortalSync.next_attempt_at,
                ),
                "dead_at": None,
                "traceparent": statement.excluded.traceparent,
            },
        )
    )


async def note_change(runtime: Runtime, session: AsyncSession, envelope: EventEnvelope) -> None:
    """The consumer's handler: intake changed a dossier."""
    if envelope.type in SYNCED_EVENTS and envelope.subject is not None:
        await mark_owed(session, [envelope.subject], at=envelope.occurred_at,
                        traceparent=envelope.traceparent)  # fmt: skip


CHANGES = ConsumerSpec(
    group="gateway.portal_sync",
    topics=(DOSSIER_TOPIC,),
    handler=note_change,
    inbox_model=ProcessedEvent,
    types=frozenset(SYNCED_EVENTS),
)
