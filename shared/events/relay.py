"""The outbox relay: publishes unpublished outbox rows to the bus, then marks them sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from shared.db import Database
from shared.events.bus import EventBus
from shared.events.outbox import Outbox

logger = logging.getLogger("onestop.events.relay")


class OutboxRelay:
    """Moves one service's outbox to the bus, at least once and in outbox order.

    Rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several relays of
    one service can run side by side without publishing the same row twice in the
    ordinary case. A relay that dies after publishing but before its transaction
    commits leaves the rows unpublished: they are published again and consumers drop
    the duplicates by event id. While the bus is down, rows simply wait in the outbox.
    """

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        bus: EventBus,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.5,
        linger: float = 0.05,
        # A try costs one query or one connection attempt: a short cap keeps the events
        # that waited out an outage from waiting long after it (tests/chaos).
        max_backoff: float = 5.0,
        after_publish: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._bus = bus
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._linger = linger
        self._max_backoff = max_backoff
        # A test hook: runs between publishing and marking as sent.
        self._after_publish = after_publish

    async def run_once(self) -> int:
        """Publish one batch; return how many events went out."""
        model = self._outbox.model
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(model.id, model.topic, model.envelope)
                    .where(model.published_at.is_(None))
                    .order_by(model.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            ids = [row.id for row in rows]
            await self._bus.publish([(row.topic, row.envelope) for row in rows])
            if self._after_publish is not None:
                await self._after_publish(len(rows))
            await session.execute(
                update(model).where(model.id.in_(ids)).values(published_at=datetime.now(UTC))
            )
        return len(rows)

    async def drain(self) -> int:
        """Publish until the outbox is empty; return the total."""
        total = 0
        while published := await self.run_once():
            total += published
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, backing off while the bus or database is down."""
        failures = 0
        while not stop.is_set():
            # Cleared before draining: a commit during the drain wakes the next wait at once.
            self._outbox.committed_in_process.clear()
            try:
                published = await self.run_once()
                if failures:
                    logger.info("relay recovered", extra={"source": self._outbox.source})
                failures = 0
            except Exception as exc:
                failures += 1
                delay = min(self._max_backoff, 0.2 * 2**failures) * random.uniform(0.5, 1.0)
                logger.warning(
                    "relay cannot publish, retrying",
                    extra={
                        "source": self._outbox.source,
                        "error": type(exc).__name__,
                        "retry_in_s": round(delay, 2),
                    },
                )
                await _sleep_until(stop, delay)
                continue
            if published == self._batch_size:
                continue  # more are waiting
            if published:
                # Under load, going straight back would publish one event per batch, at
                # five round trips each (bench/intake.py): let the next batch gather.
                await _sleep_until(stop, self._linger)
            else:
                wake = asyncio.ensure_future(self._outbox.committed_in_process.wait())
                await _sleep_until(stop, self._poll_interval, also=wake)


async def _sleep_until(
    stop: asyncio.Event, seconds: float, *, also: asyncio.Future[Any] | None = None
) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set or ``also`` completes."""
    waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
    if also is not None:
        waiters.add(also)
    _done, pending = await asyncio.wait(waiters, timeout=seconds, return_when="FIRST_COMPLETED")
    for future in pending:
        future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await future
