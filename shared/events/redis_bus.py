"""Redis Streams bus: one stream per topic, one consumer group per consuming service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.contracts.events import stream_name
from shared.events.bus import Delivery

# Streams are trimmed (approximately) to this many entries. Far above what consumers
# lag behind in practice; the outbox tables remain the record of every event.
DEFAULT_MAX_LENGTH = 1_000_000


class RedisStreamBus:
    """The ``EventBus`` on Redis Streams, with consumer groups and acknowledgement."""

    def __init__(self, redis: Redis, *, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self._redis = redis
        self._max_length = max_length

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        if not messages:
            return
        # One round trip for the whole batch; order within a stream is kept.
        async with self._redis.pipeline(transaction=False) as pipe:
            for topic, data in messages:
                pipe.xadd(
                    stream_name(topic),
                    {"data": data},
                    maxlen=self._max_length,
                    approximate=True,
                )
            await pipe.execute()

    async def ensure_group(self, topic: str, group: str) -> None:
        try:
            await self._redis.xgroup_create(stream_name(topic), group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(
        self, group: str, consumer: str, topics: Sequence[str], *, count: int, block_ms: int
    ) -> list[Delivery]:
        response = await self._redis.xreadgroup(
            group,
            consumer,
            {stream_name(topic): ">" for topic in topics},
            count=count,
            block=block_ms if block_ms > 0 else None,
        )
        deliveries: list[Delivery] = []
        for stream, entries in _stream_entries(response):
            for message_id, fields in entries:
                deliveries.append(Delivery(stream, message_id, fields["data"], 1))
        return deliveries

    async def claim_stale(
        self, group: str, consumer: str, topics: Sequence[str], *, min_idle_ms: int, count: int
    ) -> list[Delivery]:
        claimed: list[Delivery] = []
        for topic in topics:
            stream = stream_name(topic)
            stale: list[dict[str, Any]] = await self._redis.xpending_range(
                stream, group, min="-", max="+", count=count, idle=min_idle_ms
            )
            if not stale:
                continue
            deliveries = {entry["message_id"]: entry["times_delivered"] for entry in stale}
            # decode_responses=True: ids and fields come back as str.
            entries = cast(
                list[tuple[str, dict[str, str] | None]],
                await self._redis.xclaim(stream, group, consumer, min_idle_ms, list(deliveries)),
            )
            for message_id, fields in entries:
                if fields is None:  # trimmed from the stream meanwhile: nothing to deliver
                    await self._redis.xack(stream, group, message_id)
                    continue
                claimed.append(
                    Delivery(stream, message_id, fields["data"], deliveries[message_id] + 1)
                )
        return claimed

    async def ack(self, group: str, *deliveries: Delivery) -> None:
        by_stream: dict[str, list[str]] = {}
        for delivery in deliveries:
            by_stream.setdefault(delivery.stream, []).append(delivery.message_id)
        if len(by_stream) == 1:
            [(stream, ids)] = by_stream.items()
            await self._redis.xack(stream, group, *ids)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                pipe.xack(stream, group, *ids)
            await pipe.execute()

    async def dead_letter(self, group: str, delivery: Delivery, reason: str) -> None:
        await self._redis.xadd(
            f"{delivery.stream}.dead",
            {
                "data": delivery.data,
                "group": group,
                "message_id": delivery.message_id,
                "reason": reason[:500],
            },
        )
        await self.ack(group, delivery)

    async def ping(self) -> None:
        await self._redis.ping()


def _stream_entries(response: Any) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """XREADGROUP's answer (RESP2, the client's default): ``[[stream, [(id, fields)]]]``."""
    return [(stream, entries) for stream, entries in response or []]
