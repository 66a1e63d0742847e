from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class AgencyLevel(StrEnum):
    MINISTRY = "ministry"
    PROVINCE = "province"
    COMMUNE = "commune"
    # Districts were abolished on 1 July 2025; kept only to read older records.
    DISTRICT_LEGACY = "district_legacy"


class Agency(Base):
    """A public agency, identified by its national code (QCVN 102:2016/BTTTT)."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[AgencyLevel] = mapped_column(
        Enum(
            AgencyLevel,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
