"""The envelope every event travels in, on Redis Streams or the in-process bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

STREAM_PREFIX = "onestop.events"


class EventEnvelope(BaseModel):
    """One fact that happened in a service, for others to learn.

    ``type`` is ``<topic>.<what happened>`` (``dossier.received``); the topic names the
    stream. ``subject`` is the aggregate the event is about (a dossier code) and
    ``sequence`` its position in that aggregate's history, so a consumer can order
    events that arrive out of order. Consumers drop an ``id`` they have already applied.
    """

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)
    source: str
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    sequence: int | None = None
    request_id: str | None = None
    # The W3C trace context of the request that caused it: its consumers continue it.
    traceparent: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)

    @property
    def topic(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def stream(self) -> str:
        return stream_name(self.topic)


def stream_name(topic: str) -> str:
    return f"{STREAM_PREFIX}.{topic}"
