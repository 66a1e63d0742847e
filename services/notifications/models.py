"""The notifications service's tables: contacts and preferences, what it knows of the
dossiers and officers (from the notices), and every message with its delivery state."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Enum, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Channel(StrEnum):
    INBOX = "inbox"  # in the platform: always on, for accounts
    EMAIL = "email"
    SMS = "sms"
    ZALO = "zalo"


class State(StrEnum):
    QUEUED = "queued"  # owed (again, after a failed attempt: see attempts, last_error)
    SENT = "sent"  # the server or provider accepted it
    DELIVERED = "delivered"  # the provider's receipt said so; in the inbox at once
    FAILED = "failed"  # given up on: the dead letters an admin can resend


class AddressKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"  # SMS and Zalo


class Contact(Base):
    """An account's e-mail or phone, verified with a code sent to it before anything
    else goes there."""

    __tablename__ = "contacts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[AddressKind] = mapped_column(_enum(AddressKind), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The code being asked for (a hash), until when, and the wrong tries left.
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    code_tries_left: Mapped[int] = mapped_column(Integer, default=0)
    code_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Preference(Base):
    """A channel turned off for a recipient (``kind`` "*") or one kind of message on it
    (the e-mail's stop link). No row: the default (every channel with a verified
    address on, Zalo off)."""

    __tablename__ = "preferences"

    recipient: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownDossier(Base):
    """A dossier as its last notice left it: whom the deadline alerts go to (its holder)
    and what the leaders' digest lists (the open ones, due soon or overdue)."""

    __tablename__ = "dossiers"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(30))
    procedure_name: Mapped[str] = mapped_column(String(500))
    holder: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30))
    finished: Mapped[bool] = mapped_column(Boolean)
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sequence: Mapped[int] = mapped_column(Integer)  # of the notice it reflects
    # Tracking's last alert about it (due_soon, overdue), for the due date it named.
    alert: Mapped[str | None] = mapped_column(String(20))
    alert_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_dossiers_open_alerts", "agency_code", "finished", "alert"),)


class Officer(Base):
    """An officer as the gateway last announced them."""

    __tablename__ = "officers"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)


class OfficerPosition(Base):
    __tablename__ = "officer_positions"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    position: Mapped[str] = mapped_column(String(20))

    __table_args__ = (Index("ix_officer_positions_agency", "agency_code", "position"),)


class Message(Base):
    """One message for one recipient on one channel, made once per event: the unique
    key is what makes a redelivered event send nothing twice."""

    __tablename__ = "messages"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # An account's subject, or "walk-in:<dossier code>" for the contact of a walk-in.
    recipient: Mapped[str] = mapped_column(String(80))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    kind: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(String(60))  # kind@version
    address: Mapped[str | None] = mapped_column(String(254))  # None in the inbox
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    dossier_code: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[State] = mapped_column(_enum(State))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it may be sent (a claim moves it past its lease; the night rule to 07:00).
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel", name="uq_messages_once"),
        Index("ix_messages_owed", "state", "next_attempt_at"),
        Index("ix_messages_inbox", "recipient", "channel", "created_at"),
    )


class ProviderCursor(Base):
    """How far the provider's delivery receipts were read."""

    __tablename__ = "provider_cursors"

    provider: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor: Mapped[int] = mapped_column(Integer)


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
