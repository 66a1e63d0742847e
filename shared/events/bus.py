"""The bus interface, and the in-process bus used in embedded mode."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.contracts.events import stream_name


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message handed to one consumer of a group; it stays pending until acknowledged."""

    stream: str
    message_id: str
    data: str  # the serialised EventEnvelope
    deliveries: int = 1  # how many times the group has handed it out, this one included


class EventBus(Protocol):
    """What relays and consumers need from a bus. Both buses implement it."""

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        """Append ``(topic, serialised envelope)`` pairs to their streams, in order."""

    async def ensure_group(self, topic: str, group: str) -> None:
        """Create the consumer group on the topic's stream if it does not exist."""

    async def read(
        self, group: str, consumer: str, topics: Sequence[str], *, count: int, block_ms: int
    ) -> list[Delivery]:
        """New messages for this consumer; waits up to ``block_ms`` when there are none."""

    async def claim_stale(
        self, group: str, consumer: str, topics: Sequence[str], *, min_idle_ms: int, count: int
    ) -> list[Delivery]:
        """Take over messages other consumers received but never acknowledged (they crashed)."""

    async def ack(self, group: str, *deliveries: Delivery) -> None:
        """Mark messages as done for the group (in one round trip where it can)."""

    async def dead_letter(self, group: str, delivery: Delivery, reason: str) -> None:
        """Park a message that keeps failing where an operator can see it, and acknowledge it."""

    async def ping(self) -> None:
        """Raise if the bus cannot be reached."""


@dataclass
class _Group:
    next_index: int = 0
    # message id -> (consumer, delivered at (monotonic), deliveries)
    pending: dict[str, tuple[str, float, int]] = field(default_factory=dict)


@dataclass
class _Stream:
    messages: list[tuple[str, str]] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)


class InProcessBus:
    """Streams and consumer groups in memory, with the Redis semantics the platform relies on.

    Used in embedded mode, where every service runs in one process. Messages are lost
    when the process stops, but nothing is lost to the platform: the outbox tables keep
    every event, and a restarted relay publishes what was not yet marked as sent.
    """

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._ids = itertools.count(1)
        # Set when messages arrive, then replaced: a reader waits on the one in place
        # when it found nothing. (An asyncio.Condition under wait_for deadlocked when
        # several readers were cancelled at once: each must take the lock back first.)
        self._arrival = asyncio.Event()
        self.dead_letters: list[tuple[str, Delivery, str]] = []

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    def _group(self, topic: str, group: str) -> tuple[str, _Stream, _Group]:
        name = stream_name(topic)
        stream = self._stream(name)
        return name, stream, stream.groups.setdefault(group, _Group())

    async def publish(self, messages: Sequence[tuple[str, str]]) -> None:
        for topic, data in messages:
            self._stream(stream_name(topic)).messages.append((f"{next(self._ids)}-0", data))
        arrived, self._arrival = self._arrival, asyncio.Event()
        arrived.set()

    async def ensure_group(self, topic: str, group: str) -> None:
        self._group(topic, group)

    def _take_new(
        self, group: str, consumer: str, topics: Sequence[str], count: int
    ) -> list[Delivery]:
        taken: list[Delivery] = []
        now = time.monotonic()
        for topic in topics:
            name, stream, state = self._group(topic, group)
            while state.next_index < len(stream.messages) and len(taken) < count:
                message_id, data = stream.messages[state.next_index]
                state.next_index += 1
                state.pending[message_id] = (consumer, now, 1)
                taken.append(Delivery(name, message_id, data, 1))
        return taken

    async def read(
        self, group: str, consumer: str, topics: Sequence[str], *, count: int, block_ms: int
    ) -> list[Delivery]:
        arrival = self._arrival  # taken with the look below, nothing awaited between
        taken = self._take_new(group, consumer, topics, count)
        if taken or block_ms <= 0:
            return taken
        try:
            await asyncio.wait_for(arrival.wait(), block_ms / 1000)
        except TimeoutError:
            return []
        return self._take_new(group, consumer, topics, count)

    async def claim_stale(
        self, group: str, consumer: str, topics: Sequence[str], *, min_idle_ms: int, count: int
    ) -> list[Delivery]:
        claimed: list[Delivery] = []
        now = time.monotonic()
        for topic in topics:
            name, stream, state = self._group(topic, group)
            by_id = dict(stream.messages)
            for message_id, (_owner, delivered_at, deliveries) in list(state.pending.items()):
                if len(claimed) >= count:
                    break
                if (now - delivered_at) * 1000 >= min_idle_ms:
                    state.pending[message_id] = (consumer, now, deliveries + 1)
                    claimed.append(Delivery(name, message_id, by_id[message_id], deliveries + 1))
        return claimed

    async def ack(self, group: str, *deliveries: Delivery) -> None:
        for delivery in deliveries:
            self._stream(delivery.stream).groups.setdefault(group, _Group()).pending.pop(
                delivery.message_id, None
            )

    async def dead_letter(self, group: str, delivery: Delivery, reason: str) -> None:
        self.dead_letters.append((group, delivery, reason))
        await self.ack(group, delivery)

    async def ping(self) -> None:
        return None

    def backlog(self) -> int:
        """Messages some group has not taken yet or not acknowledged (a bench waits for
        the platform to go quiet)."""
        return sum(
            len(stream.messages) - group.next_index + len(group.pending)
            for stream in self._streams.values()
            for group in stream.groups.values()
        )
