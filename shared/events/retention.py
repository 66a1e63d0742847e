"""Pruning what the event flow leaves behind: published outbox rows and the inbox's
records of applied events, once older than the retention (``ONESTOP_EVENT_RETENTION_DAYS``).

Both only matter for a while: an outbox row until the relay has published it, an inbox
record while its event may still be delivered again (a redelivery comes within minutes;
the streams keep the last events only). Deleted in batches, so that no statement holds
a table for long. The audit trail is not an event table: it is kept forever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, tuple_

from shared.db import Database
from shared.events.outbox import InboxMixin, OutboxMixin

BATCH = 5000


async def prune(
    db: Database,
    *,
    outbox: type[OutboxMixin] | None,
    inboxes: tuple[type[InboxMixin], ...],
    older_than: datetime,
    batch: int = BATCH,
) -> int:
    """Delete published outbox rows and inbox records from before ``older_than``; how many.
    Unpublished rows are never touched, however old."""
    removed = 0
    if outbox is not None:
        while True:
            chosen = (
                select(outbox.id)
                .where(outbox.published_at.is_not(None), outbox.published_at < older_than)
                .limit(batch)
            )
            async with db.session() as session:
                result = await session.execute(
                    delete(outbox).where(outbox.id.in_(chosen.scalar_subquery()))
                )
            count = int(getattr(result, "rowcount", 0) or 0)
            removed += count
            if count < batch:
                break
    for inbox in inboxes:
        while True:
            chosen_keys = (
                select(inbox.consumer_group, inbox.event_id)
                .where(inbox.processed_at < older_than)
                .limit(batch)
            )
            key = tuple_(inbox.consumer_group, inbox.event_id)
            async with db.session() as session:
                result = await session.execute(delete(inbox).where(key.in_(chosen_keys)))
            count = int(getattr(result, "rowcount", 0) or 0)
            removed += count
            if count < batch:
                break
    return removed


def cutoff(days: float, *, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)
