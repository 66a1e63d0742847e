"""The notifications' figures at each scrape: messages by channel and state, and how long
the oldest one owed now has waited."""

from datetime import UTC, datetime

from prometheus_client import Gauge

from services.notifications import repository
from services.notifications.models import Channel, State
from shared.metrics import age_seconds
from shared.runtime import Runtime

MESSAGES = Gauge(
    "onestop_notifications_messages", "Messages by channel and state", ["channel", "state"]
)
OLDEST_OWED = Gauge(
    "onestop_notifications_oldest_owed_seconds",
    "How long the oldest message owed now has waited (0: none)",
)


async def delivery_probe(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    async with runtime.db.read_session() as session:
        counts = await repository.counts(session)
        oldest = await repository.oldest_owed(session, now=now)
    for channel in Channel:
        for state in State:
            MESSAGES.labels(channel.value, state.value).set(counts.get(channel, {}).get(state, 0))
    OLDEST_OWED.set(age_seconds(oldest, now=now))


PROBES = (delivery_probe,)
