import uuid
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, Uuid, func
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


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
