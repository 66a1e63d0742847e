"""The outbox (events to publish) and inbox (events applied) tables, as mixins.

Each service declares ``class OutboxRecord(OutboxMixin, Base)`` and
``class ProcessedEvent(InboxMixin, Base)`` on its own declarative base, so the tables
live in the service's own database and migrations.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, Uuid, event, func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared import tracing
from shared.contracts.events import EventEnvelope
from shared.db import UtcDateTime
from shared.logging import current_request_id

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxMixin:
    """An event waiting to be published (``published_at`` is null) or already published."""

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    topic: Mapped[str] = mapped_column(String(50))
    # The serialised envelope: the relay publishes it as it is, without re-encoding.
    envelope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        unpublished = text("published_at IS NULL")
        # Only unpublished rows are indexed, so the relay's scan stays small forever.
        return (
            Index(
                "ix_outbox_unpublished",
                "id",
                postgresql_where=unpublished,
                sqlite_where=unpublished,
            ),
        )


class InboxMixin:
    """An event a consumer group has applied; the key makes a second application impossible."""

    consumer_group: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


_LISTENING = "onestop.outbox.listening"


class Outbox:
    """Writes events into a service's outbox within the caller's transaction."""

    def __init__(self, model: type[OutboxMixin], *, source: str) -> None:
        self.model = model
        self.source = source
        # Set after a transaction that wrote events commits, to wake a relay running in
        # this process (embedded mode) at once. It cannot reach another process: there
        # (``onestop worker relay``) the relay finds the rows at its next poll.
        self.committed_in_process = asyncio.Event()

    def envelope(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        subject: str | None = None,
        sequence: int | None = None,
    ) -> EventEnvelope:
        """An event of this service, not written yet."""
        return EventEnvelope(
            type=event_type,
            source=self.source,
            subject=subject,
            sequence=sequence,
            request_id=current_request_id(),
            traceparent=tracing.outgoing().get(tracing.TRACEPARENT),
            payload=payload,
        )

    @staticmethod
    def row(envelope: EventEnvelope) -> dict[str, Any]:
        """The outbox row of ``envelope``, as column values."""
        return {
            "event_id": envelope.id,
            "topic": envelope.topic,
            "envelope": envelope.model_dump_json(),
        }

    def add(
        self,
        session: AsyncSession,
        event_type: str,
        payload: dict[str, Any],
        *,
        subject: str | None = None,
        sequence: int | None = None,
    ) -> EventEnvelope:
        envelope = self.envelope(event_type, payload, subject=subject, sequence=sequence)
        session.add(self.model(**self.row(envelope)))
        self.wake_after_commit(session)
        return envelope

    def wake_after_commit(self, session: AsyncSession) -> None:
        """Wake this process's relay when ``session`` commits (``add`` does; a row written by a
        statement of the caller's own says so with this)."""
        if not session.info.get(_LISTENING):
            session.info[_LISTENING] = True
            event.listen(session.sync_session, "after_commit", self._on_commit, once=True)

    def _on_commit(self, sync_session: Any) -> None:
        sync_session.info.pop(_LISTENING, None)
        self.committed_in_process.set()
