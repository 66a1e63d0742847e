import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.auth import Position, Role
from shared.db import UtcDateTime
from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


def _enum(kind: type[Role] | type[Position]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class User(Base):
    """An account: a citizen (username = 12-digit personal ID number), an officer, an admin."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    # When the national digital identity (VNeID) vouched for the citizen; the index
    # counts identity-verified accounts.
    identity_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A one-time password an admin gave: it only lets its owner set their own.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)

    memberships: Mapped[list["OfficerMembership"]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )


class OfficerMembership(Base):
    """An officer's place in an agency, with a position."""

    __tablename__ = "officer_memberships"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    agency_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    position: Mapped[Position] = mapped_column(_enum(Position))


class RefreshToken(Base):
    """A refresh token, by the hash of its secret (the secret itself is never stored).

    Each use replaces it with a new one of the same ``family`` (one login, one device).
    A token used twice means it was copied: the whole family is revoked. A logout
    revokes the family too.
    """

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AccountEvent(Base):
    """What happened to an account that its owner or an auditor must be able to see
    later: a takeover by a verified identity, a lock-out. Append-only."""

    __tablename__ = "account_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PortalSync(Base):
    """One dossier's sync to the national portal (DESIGN §8): what the portal has
    acknowledged, and whether more is owed.

    Every event about the dossier bumps ``changes`` and sets ``owed``; the worker reads
    the dossier from intake, sends what the portal lacks, and clears ``owed`` only if no
    event came in meanwhile (``changes`` unchanged). Failures back off; a dossier whose
    retry budget is spent, or that the portal refuses for good, is dead-lettered with
    the reason (``dead_at``, ``last_error``) until an admin retries it or it changes.
    """

    __tablename__ = "portal_sync"
    __table_args__ = (
        # What the worker claims: owed, alive, by when it is due.
        Index(
            "ix_portal_sync_due",
            "next_attempt_at",
            postgresql_where=text("owed AND dead_at IS NULL"),
            sqlite_where=text("owed AND dead_at IS NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer)
    owed: Mapped[bool] = mapped_column(Boolean)
    # When the oldest change not yet at the portal happened: the sync lag runs from it.
    owed_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What the portal acknowledged: the dossier's version (PhienBan), its progress steps.
    sent_version: Mapped[int] = mapped_column(Integer, default=0)
    sent_steps: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts in a row that moved nothing forward (the retry budget counts them).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Seconds from the change to the portal's acknowledgement, at the last sync.
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    # The trace of the latest change (W3C traceparent), which the sync continues.
    traceparent: Mapped[str | None] = mapped_column(String(64))


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
