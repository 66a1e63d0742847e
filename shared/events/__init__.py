"""Events between services: a transactional outbox, a relay, buses and idempotent consumers.

A service writes an event to its outbox table in the same transaction as the state
change (``Outbox.add``). A relay publishes outbox rows to the bus and marks them sent;
a crash between the two publishes the row again, so delivery is at least once. A
consumer records each applied event id in its inbox table in the same transaction as
its effects, so a repeated delivery changes nothing.

Two buses share one interface: Redis Streams (consumer groups, acknowledgement,
redelivery of messages a crashed consumer never acknowledged) in distributed mode, and
an in-process bus with the same semantics in embedded mode.
"""

from shared.events.bus import Delivery, EventBus, InProcessBus
from shared.events.consumer import Consumer, EventHandler
from shared.events.outbox import InboxMixin, Outbox, OutboxMixin
from shared.events.redis_bus import RedisStreamBus
from shared.events.relay import OutboxRelay

__all__ = [
    "Consumer",
    "Delivery",
    "EventBus",
    "EventHandler",
    "InProcessBus",
    "InboxMixin",
    "Outbox",
    "OutboxMixin",
    "OutboxRelay",
    "RedisStreamBus",
]
