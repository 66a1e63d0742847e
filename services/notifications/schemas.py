from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.notifications.kinds import Kind
from services.notifications.models import AddressKind, Channel, State

EMAIL_PATTERN = r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(\.[A-Za-z0-9\-]{1,63})+$"
PHONE_PATTERN = r"^(0|\+84)[0-9]{9,10}$"


class InboxItem(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    dossier_code: str | None
    created_at: datetime
    read_at: datetime | None


class Inbox(BaseModel):
    items: list[InboxItem]
    unread: int
    # Pass as ``before`` for the next (older) page; None on the last page.
    next_before: datetime | None


class ContactOut(BaseModel):
    kind: AddressKind
    address: str
    verified: bool
    # A code was sent and can still be entered.
    code_pending: bool


class KindChoice(BaseModel):
    kind: str
    label: str
    # Channel -> on; only the channels the kind may take.
    channels: dict[Channel, bool]


class SettingsOut(BaseModel):
    contacts: list[ContactOut]
    # Whole channels on or off (the inbox is always on).
    channels: dict[Channel, bool]
    kinds: list[KindChoice]


class EmailIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(max_length=254, pattern=EMAIL_PATTERN)


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(pattern=PHONE_PATTERN, description="0xxxxxxxxx or +84xxxxxxxxx")


class Switchable(StrEnum):
    """The channels one can turn on and off (the inbox is always on)."""

    EMAIL = "email"
    SMS = "sms"
    ZALO = "zalo"


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$")


class ChannelsIn(BaseModel):
    """Turn channels, or one kind on one channel, on or off. Absent: unchanged."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[Switchable, StrictBool] = Field(default_factory=dict)
    kinds: dict[Kind, dict[Switchable, StrictBool]] = Field(default_factory=dict)


class Unsubscribed(BaseModel):
    kind: str
    label: str
    channel: Channel


class MessageOut(BaseModel):
    """A message as an admin sees it (addresses masked)."""

    id: uuid.UUID
    event_id: uuid.UUID
    recipient: str
    channel: Channel
    kind: str
    template: str
    address: str | None
    subject: str | None
    dossier_code: str | None
    state: State
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None


class MessagesOut(BaseModel):
    items: list[MessageOut]
    next_before: datetime | None


class DeliveryStatus(BaseModel):
    """The delivery's health: messages by channel and state, what is owed and since
    when, and the dead letters."""

    by_channel: dict[Channel, dict[State, int]]
    queued: int
    # How long the oldest message owed now (not waiting for the morning) has waited.
    oldest_owed_seconds: float | None
    waiting_for_morning: int
    dead_letters: int
