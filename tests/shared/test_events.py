"""The outbox → relay → bus → consumer path on PostgreSQL, with Redis Streams and in-process.

Effects of the consumer are events written to the consuming service's own outbox, in
the consumer's transaction: counting them counts how many times an event was applied.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import OutboxRecord as IntakeOutbox
from services.tracking.models import OutboxRecord as TrackingOutbox
from services.tracking.models import ProcessedEvent as TrackingInbox
from shared.contracts.events import EventEnvelope, stream_name
from shared.db import Database
from shared.events import Consumer, EventBus, InProcessBus, Outbox, OutboxRelay, RedisStreamBus
from tests.conftest import PgDatabase
from tests.infra import RedisServer


@dataclass
class Pipeline:
    producer_db: Database
    producer: Outbox
    consumer_db: Database
    effects: Outbox
    bus: EventBus
    topic: str
    outage: int = 0  # handler calls still to fail as if the database were away

    async def emit(self, count: int) -> list[EventEnvelope]:
        async with self.producer_db.session() as session:
            return [
                self.producer.add(
                    session, f"{self.topic}.happened", {"n": n}, subject="X", sequence=n
                )
                for n in range(count)
            ]

    def relay(self, **options: object) -> OutboxRelay:
        return OutboxRelay(self.producer_db, self.producer, self.bus, **options)  # type: ignore[arg-type]

    def consumer(self, name: str = "c1", **options: object) -> Consumer:
        async def apply(session: AsyncSession, event: EventEnvelope) -> None:
            if event.payload.get("poison"):
                raise ValueError("cannot apply this event")
            if self.outage:  # the database goes away under the handler
                self.outage -= 1
                raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
            self.effects.add(session, f"{self.topic}fx.applied", {"of": str(event.id)})

        return Consumer(
            bus=self.bus,
            db=self.consumer_db,
            inbox_model=TrackingInbox,
            group="tracking",
            name=name,
            topics=[self.topic],
            handler=apply,
            block_ms=50,
            **options,  # type: ignore[arg-type]
        )

    async def applied(self) -> list[str]:
        """The event ids the consumer applied, once per application."""
        async with self.consumer_db.session() as session:
            rows = await session.scalars(
                select(TrackingOutbox.envelope).where(TrackingOutbox.topic == f"{self.topic}fx")
            )
            return [json.loads(row)["payload"]["of"] for row in rows]

    async def all_published(self, seconds: float = 5.0) -> None:
        """Wait until a running relay has published every event."""
        for _ in range(int(seconds / 0.05)):
            if await self.unpublished() == 0:
                return
            await asyncio.sleep(0.05)
        assert await self.unpublished() == 0

    async def unpublished(self) -> int:
        async with self.producer_db.session() as session:
            count = await session.scalar(
                select(func.count()).where(IntakeOutbox.published_at.is_(None))
            )
            return int(count or 0)


@pytest.fixture(params=["redis", "in-process"])
async def pipeline(
    request: pytest.FixtureRequest, pg_database: PgDatabase, redis: Redis, topic: str
) -> AsyncIterator[Pipeline]:
    producer_db = Database(await pg_database("intake"))
    consumer_db = Database(await pg_database("tracking"))
    bus: EventBus = RedisStreamBus(redis) if request.param == "redis" else InProcessBus()
    try:
        yield Pipeline(
            producer_db,
            Outbox(IntakeOutbox, source="intake"),
            consumer_db,
            Outbox(TrackingOutbox, source="tracking"),
            bus,
            topic,
        )
    finally:
        await producer_db.dispose()
        await consumer_db.dispose()


class TestOutbox:
    async def test_an_event_is_written_only_if_the_callers_transaction_commits(
        self, pipeline: Pipeline
    ) -> None:
        async def failing_change() -> None:
            async with pipeline.producer_db.session() as session:
                pipeline.producer.add(session, f"{pipeline.topic}.happened", {})
                raise RuntimeError("the state change failed")

        with pytest.raises(RuntimeError):
            await failing_change()
        assert await pipeline.unpublished() == 0
        await pipeline.emit(1)
        assert await pipeline.unpublished() == 1

    async def test_events_reach_the_consumer_once_in_order(self, pipeline: Pipeline) -> None:
        sent = await pipeline.emit(5)
        assert await pipeline.relay().drain() == 5
        assert await pipeline.unpublished() == 0
        consumer = pipeline.consumer()
        await consumer.start()
        await consumer.run_once()
        assert await pipeline.applied() == [str(e.id) for e in sent]

    async def test_events_of_types_the_group_does_not_apply_are_acknowledged_unapplied(
        self, pipeline: Pipeline
    ) -> None:
        async with pipeline.producer_db.session() as session:
            events = [
                pipeline.producer.add(session, f"{pipeline.topic}.{kind}", {})
                for kind in ("noise", "wanted", "noise", "noise")
            ]
        await pipeline.relay().drain()
        consumer = pipeline.consumer(claim_idle_ms=0, types=frozenset({f"{pipeline.topic}.wanted"}))
        await consumer.start()
        assert await consumer.run_once(block_ms=0) == 4
        assert await pipeline.applied() == [str(events[1].id)]
        async with pipeline.consumer_db.session() as session:  # no inbox row for the rest
            inbox = await session.scalar(select(func.count()).select_from(TrackingInbox))
        assert inbox == 1
        assert await consumer.run_once(block_ms=0) == 0  # every one acknowledged

    async def test_a_commit_wakes_the_running_relay_without_waiting_for_its_poll(
        self, pipeline: Pipeline
    ) -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(pipeline.relay(poll_interval=30).run(stop))
        try:
            await asyncio.sleep(0.1)
            await pipeline.emit(2)
            await pipeline.all_published()
        finally:
            stop.set()
            await running

    async def test_under_a_stream_of_commits_the_relay_publishes_in_batches(
        self, pipeline: Pipeline
    ) -> None:
        batches: list[int] = []

        async def count(published: int) -> None:
            batches.append(published)

        stop = asyncio.Event()
        relay = pipeline.relay(poll_interval=30, linger=0.3, after_publish=count)
        running = asyncio.create_task(relay.run(stop))
        try:
            await pipeline.emit(1)
            for _ in range(50):
                if batches:
                    break
                await asyncio.sleep(0.02)
            for _ in range(10):  # one commit each, as requests do, while it lingers
                await pipeline.emit(1)
            await pipeline.all_published()
        finally:
            stop.set()
            await running
        # Going straight back after each batch published these one or two at a time.
        assert batches[0] == 1
        assert sum(batches) == 11
        assert len(batches) <= 3


class TestCrashes:
    async def test_relay_killed_between_publish_and_mark_causes_a_duplicate_consumers_drop(
        self, pipeline: Pipeline
    ) -> None:
        sent = await pipeline.emit(3)

        async def die(_published: int) -> None:
            raise SystemExit("relay killed after publishing")

        with pytest.raises(SystemExit):
            await pipeline.relay(after_publish=die).run_once()
        assert await pipeline.unpublished() == 3  # not marked: it will be published again
        assert await pipeline.relay().drain() == 3

        consumer = pipeline.consumer()
        await consumer.start()
        handled = 0
        while delivered := await consumer.run_once(block_ms=0):
            handled += delivered
        assert handled == 6  # every event was delivered twice...
        assert sorted(await pipeline.applied()) == sorted(
            str(e.id) for e in sent
        )  # ...applied once

    async def test_a_consumer_that_crashes_before_acknowledging_loses_nothing(
        self, pipeline: Pipeline
    ) -> None:
        sent = await pipeline.emit(4)
        await pipeline.relay().drain()
        crashed = pipeline.consumer("crashed")
        await crashed.start()
        # It received the messages, then died before applying or acknowledging them.
        taken = await pipeline.bus.read(
            "tracking", "crashed", [pipeline.topic], count=10, block_ms=0
        )
        assert len(taken) == 4

        survivor = pipeline.consumer("survivor", claim_idle_ms=0)
        await survivor.run_once(block_ms=0)
        assert sorted(await pipeline.applied()) == sorted(str(e.id) for e in sent)
        assert await survivor.run_once(block_ms=0) == 0  # acknowledged: nothing pending

    async def test_a_consumer_that_crashes_after_commit_but_before_ack_applies_nothing_twice(
        self, pipeline: Pipeline
    ) -> None:
        sent = await pipeline.emit(2)
        await pipeline.relay().drain()
        consumer = pipeline.consumer("first")
        await consumer.start()
        taken = await pipeline.bus.read("tracking", "first", [pipeline.topic], count=10, block_ms=0)
        for delivery in taken:  # applied and committed, but the process died before XACK
            await consumer._apply(EventEnvelope.model_validate_json(delivery.data))

        restarted = pipeline.consumer("restarted", claim_idle_ms=0)
        assert await restarted.run_once(block_ms=0) == 2  # redelivered...
        assert sorted(await pipeline.applied()) == sorted(str(e.id) for e in sent)  # ...dropped

    async def test_a_message_that_keeps_failing_is_dead_lettered_after_the_limit(
        self, pipeline: Pipeline
    ) -> None:
        async with pipeline.producer_db.session() as session:
            pipeline.producer.add(session, f"{pipeline.topic}.happened", {"poison": True})
        await pipeline.emit(1)
        await pipeline.relay().drain()
        consumer = pipeline.consumer(claim_idle_ms=0, max_deliveries=3)
        await consumer.start()
        for _ in range(4):
            await consumer.run_once(block_ms=0)
        assert len(await pipeline.applied()) == 1  # the good event went through
        assert await consumer.run_once(block_ms=0) == 0  # the poison one no longer circulates

    async def test_an_event_met_by_a_database_outage_is_held_not_dead_lettered(
        self, pipeline: Pipeline
    ) -> None:
        """However long the outage, the consumer holds what it read and tries it again
        itself, in order: not left pending for another consumer's claim (30 s idle), not
        counted as a failed delivery (``max_deliveries`` 1 would dead-letter it)."""
        sent = await pipeline.emit(3)
        await pipeline.relay().drain()
        consumer = pipeline.consumer(max_deliveries=1)
        await consumer.start()
        pipeline.outage = 5
        for _ in range(5):
            with pytest.raises(ConnectionRefusedError):
                await consumer.run_once(block_ms=0)
        assert await pipeline.applied() == []
        assert await consumer.run_once(block_ms=0) == 3  # the held three, in their order
        assert await pipeline.applied() == [str(event.id) for event in sent]
        assert await consumer.run_once(block_ms=0) == 0  # acknowledged: none pending


class TestRedisOutage:
    async def test_writes_succeed_while_redis_is_down_and_the_relay_catches_up(
        self, pg_database: PgDatabase, topic: str
    ) -> None:
        server = RedisServer()
        await anyio.to_thread.run_sync(server.start)  # it polls: keep it off the loop
        client = Redis.from_url(server.url, decode_responses=True, socket_connect_timeout=0.5)
        db = Database(await pg_database("intake"))
        outbox = Outbox(IntakeOutbox, source="intake")
        relay = OutboxRelay(db, outbox, RedisStreamBus(client), poll_interval=0.05, max_backoff=0.3)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            await anyio.to_thread.run_sync(server.stop)
            async with db.session() as session:  # the request that writes an event succeeds
                for n in range(3):
                    outbox.add(session, f"{topic}.happened", {"n": n})
            await asyncio.sleep(0.5)
            async with db.session() as session:
                waiting = await session.scalar(
                    select(func.count()).where(IntakeOutbox.published_at.is_(None))
                )
            assert waiting == 3

            await anyio.to_thread.run_sync(
                server.start
            )  # Redis is back, empty: the relay publishes what waited
            for _ in range(100):
                if await client.xlen(stream_name(topic)) == 3:
                    break
                await asyncio.sleep(0.05)
            assert await client.xlen(stream_name(topic)) == 3
        finally:
            stop.set()
            await running
            await client.aclose()
            await db.dispose()
            await anyio.to_thread.run_sync(server.stop)


async def test_readers_of_the_in_process_bus_end_when_cancelled_whatever_the_timing() -> None:
    """Consumers stopped (a platform shutting down) while each waits for a message and
    messages keep arriving: every read ends. With an asyncio.Condition under wait_for,
    a cancelled reader had to take the condition's lock back first, and reads could
    hang (or fail with "Lock is not acquired"): the platform then never stopped."""
    for seed in range(10):
        rnd = random.Random(seed)
        bus = InProcessBus()
        stop = asyncio.Event()

        async def publisher(bus: InProcessBus = bus, stop: asyncio.Event = stop,
                            rnd: random.Random = rnd) -> None:  # fmt: skip
            while not stop.is_set():
                await bus.publish([("dossier.received", "{}")])
                await asyncio.sleep(rnd.random() / 500)

        publishing = asyncio.ensure_future(publisher())
        for _ in range(20):
            reads = [
                asyncio.ensure_future(bus.read(f"g{i % 3}", f"c{i}", ["dossier.received"],
                                               count=5, block_ms=rnd.choice([1, 2, 5, 50])))
                for i in range(8)
            ]  # fmt: skip
            await asyncio.sleep(rnd.random() / 200)
            for read in reads:
                read.cancel()
            _, pending = await asyncio.wait(reads, timeout=2)
            assert not pending, f"seed {seed}: {len(pending)} reads never ended"
            for read in reads:
                if not read.cancelled():
                    assert isinstance(read.result(), list)  # ended with what it found
        stop.set()
        await publishing
    # And a reader still finds what is published after it began to wait.
    bus = InProcessBus()
    waiting = asyncio.ensure_future(
        bus.read("group-0", "late", ["dossier.received"], count=10, block_ms=5_000)
    )
    await asyncio.sleep(0.01)
    await bus.publish([("dossier.received", "{}")])
    assert len(await asyncio.wait_for(waiting, 2)) == 1
