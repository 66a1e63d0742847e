"""Idempotent consumers: apply each event once, however often it is delivered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import tracing
from shared.contracts.events import EventEnvelope
from shared.db import Database
from shared.errors import is_store_away
from shared.events.bus import Delivery, EventBus
from shared.events.outbox import InboxMixin

logger = logging.getLogger("onestop.events.consumer")

EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


class _AlreadyApplied(Exception):
    pass


class Consumer:
    """Reads a consumer group's messages and applies them through ``handler``.

    The handler's effects and the inbox row for the event commit in one transaction,
    and the message is acknowledged only after that commit. So a crash before the
    commit redelivers the message (another consumer claims it once it has been idle
    for ``claim_idle_ms``), and a crash after the commit but before the
    acknowledgement redelivers a message the inbox then drops. A message that fails
    ``max_deliveries`` times goes to the dead-letter stream with the reason; one that
    fails because the database or Redis is away is held and tried again every second
    by this consumer, however long the outage, and never dead-lettered for it.
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        db: Database,
        inbox_model: type[InboxMixin],
        group: str,
        name: str,
        topics: Sequence[str],
        handler: EventHandler,
        types: frozenset[str] | None = None,
        batch_size: int = 50,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 10,
    ) -> None:
        self._bus = bus
        self._db = db
        self._inbox = inbox_model
        self.group = group
        self.name = name
        self._topics = list(topics)
        self._handler = handler
        self._types = types
        self._batch_size = batch_size
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._max_deliveries = max_deliveries
        self._held: list[Delivery] = []

    async def start(self) -> None:
        for topic in self._topics:
            await self._bus.ensure_group(topic, self.group)

    async def run_once(self, *, block_ms: int | None = None) -> int:
        """Handle stale messages of crashed consumers, then new ones; return how many."""
        return await self._deliver(await self._receive(block_ms))

    async def _receive(self, block_ms: int | None = None) -> list[Delivery]:
        if self._held:  # what a store's outage interrupted goes first, in its order
            held, self._held = self._held, []
            return held
        deliveries = await self._bus.claim_stale(
            self.group,
            self.name,
            self._topics,
            min_idle_ms=self._claim_idle_ms,
            count=self._batch_size,
        )
        deliveries += await self._bus.read(
            self.group,
            self.name,
            self._topics,
            count=self._batch_size,
            block_ms=self._block_ms if block_ms is None else block_ms,
        )
        return deliveries

    async def _deliver(self, deliveries: list[Delivery]) -> int:
        unwanted = []
        for index, delivery in enumerate(deliveries):
            try:
                envelope = await self._envelope(delivery)
                if envelope is None:
                    continue
                if self._types is not None and envelope.type not in self._types:
                    unwanted.append(delivery)
                else:
                    await self._handle(delivery, envelope)
            except Exception as exc:
                if not is_store_away(exc):
                    raise
                # The database or Redis is away: this event and those after it are held
                # and delivered again by this consumer once the run loop's pause is over,
                # not left pending until another claims them (``claim_idle_ms``) nor
                # counted against ``max_deliveries``: an outage is not the event's fault.
                self._held = [*unwanted, *deliveries[index:]]
                raise
        if unwanted:
            # Events of the topic this group does not apply (intake's due changes read
            # the dossier topic, where every submission is an event): acknowledged in one
            # call, without a transaction or an inbox row each (bench/intake.py).
            try:
                await self._bus.ack(self.group, *unwanted)
            except Exception as exc:
                if is_store_away(exc):
                    self._held = unwanted
                raise
        return len(deliveries)

    async def _envelope(self, delivery: Delivery) -> EventEnvelope | None:
        try:
            return EventEnvelope.model_validate_json(delivery.data)
        except ValidationError:
            await self._bus.dead_letter(self.group, delivery, "malformed envelope")
            return None

    async def _handle(self, delivery: Delivery, envelope: EventEnvelope) -> None:
        # The trace of the request that caused the event goes on here.
        parent = {tracing.TRACEPARENT: envelope.traceparent} if envelope.traceparent else None
        try:
            with tracing.span(f"consume {envelope.type}", parent=parent, kind=SpanKind.CONSUMER,
                              group=self.group, event_id=str(envelope.id)):  # fmt: skip
                await self._apply(envelope)
        except Exception as exc:
            if is_store_away(exc):
                raise  # held and delivered again (``_deliver``)
            if delivery.deliveries >= self._max_deliveries:
                await self._bus.dead_letter(self.group, delivery, f"{type(exc).__name__}: {exc}")
                logger.error(
                    "event dead-lettered",
                    extra={
                        "group": self.group,
                        "event_id": str(envelope.id),
                        "type": envelope.type,
                    },
                )
                return
            # Not acknowledged: it stays pending and is claimed again after the idle time.
            logger.warning(
                "event handler failed; will be redelivered",
                extra={"group": self.group, "event_id": str(envelope.id), "type": envelope.type},
                exc_info=True,
            )
            return
        await self._bus.ack(self.group, delivery)

    async def _apply(self, envelope: EventEnvelope) -> None:
        inbox = self._inbox
        try:
            async with self._db.session() as session:
                seen = await session.scalar(
                    select(inbox.event_id).where(
                        inbox.consumer_group == self.group, inbox.event_id == envelope.id
                    )
                )
                if seen is not None:
                    return
                session.add(inbox(consumer_group=self.group, event_id=envelope.id))  # type: ignore[call-arg]
                try:
                    await session.flush()
                except IntegrityError:
                    raise _AlreadyApplied from None
                await self._handler(session, envelope)
        except _AlreadyApplied:
            # Another consumer of the group applied the same event at the same moment.
            logger.info("duplicate event dropped", extra={"event_id": str(envelope.id)})

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set. A read waiting for events is abandoned at once
        then (what it was about to deliver stays pending, and is claimed again), so that
        shutting down does not wait out ``block_ms``; handling is never cut short."""
        await self.start()
        stopping = asyncio.ensure_future(stop.wait())
        receiving: asyncio.Future[list[Delivery]] | None = None
        try:
            while not stop.is_set():
                try:
                    receiving = asyncio.ensure_future(self._receive())
                    await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not receiving.done():
                        break
                    await self._deliver(receiving.result())
                except Exception as exc:
                    logger.warning(
                        "consumer cannot read or apply, retrying",
                        extra={"group": self.group, "error": type(exc).__name__,
                               "held": len(self._held)},
                        exc_info=not is_store_away(exc),  # a bug's traceback
                    )  # fmt: skip
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(stopping), 1.0)
        finally:
            for pending in (receiving, stopping):
                if pending is not None and not pending.done():
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pending
