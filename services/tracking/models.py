from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.events import InboxMixin, OutboxMixin
from shared.worktime import DayOffKind


class Base(DeclarativeBase):
    pass


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


NATIONAL = "national"


class DayStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # announced, not in force until an admin enables it


class Calendar(Base):
    """A working calendar: the national one, or a layer over another (an agency's own).

    A layer inherits its parent's days and sessions; its own days replace the parent's on
    the same date, and its own week (if set) replaces the parent's.
    """

    __tablename__ = "calendars"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("calendars.code"))
    timezone: Mapped[str] = mapped_column(String(60))
    # {"0": [["07:30", "11:30"], ["13:00", "17:00"]], ...}; null: the parent's week.
    week: Mapped[dict[str, list[list[str]]] | None] = mapped_column(JSON)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)


class CalendarDay(Base):
    """A day a calendar says something about: off (with its kind) or worked (make-up)."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("calendar_code", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(ForeignKey("calendars.code"), index=True)
    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[DayOffKind | None] = mapped_column(_enum(DayOffKind))
    source: Mapped[str] = mapped_column(Text)  # the decision the day rests on
    status: Mapped[DayStatus] = mapped_column(_enum(DayStatus))


class CalendarChange(Base):
    """One version of a calendar: who changed what, when, on which decision. Append-only."""

    __tablename__ = "calendar_changes"
    __table_args__ = (UniqueConstraint("calendar_code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(ForeignKey("calendars.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decision: Mapped[str] = mapped_column(Text)
    # What changed, for people: [{"day": ..., "before": ..., "after": ...}] or the week.
    changes: Mapped[list[dict[str, object]]] = mapped_column(JSON)


class Agency(Base):
    """What tracking knows of an agency (from ``agency.upserted``): the calendar it follows."""

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    calendar_code: Mapped[str] = mapped_column(String(40))


class ClockEntry(Base):
    """One dossier event as tracking received it: the append-only ledger of its clock.

    The state is replayed from these in transition order (``sequence``), whatever order
    they arrived in; an event applied twice is dropped by the consumer's inbox.
    """

    __tablename__ = "clock_entries"
    __table_args__ = (UniqueConstraint("dossier_code", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(60), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    facts: Mapped[dict[str, object]] = mapped_column(JSON)  # ClockFacts
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ClockStatus(StrEnum):
    OPEN = "open"
    FINISHED = "finished"


class DossierClock(Base):
    """A dossier's clock as replayed from its ledger, kept for queries and statistics.

    Only what does not depend on the moment of reading is stored; whether an open
    dossier is due soon or overdue is decided at read time from ``due_soon_at`` and
    ``due_at``.
    """

    __tablename__ = "dossier_clocks"
    __table_args__ = (Index("ix_dossier_clocks_status_agency", "status", "agency_code"),)

    dossier_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(30), index=True)
    procedure_code: Mapped[str] = mapped_column(String(40), index=True)
    field_code: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    budget_minutes: Mapped[float | None] = mapped_column(Float)  # None: no legal time known
    time_unit: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[ClockStatus] = mapped_column(_enum(ClockStatus))
    paused: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    due_soon_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    supplement_requests: Mapped[int] = mapped_column(Integer)
    reappointed: Mapped[bool] = mapped_column(Boolean)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    timeliness: Mapped[str | None] = mapped_column(String(20))  # finished dossiers only
    used_minutes: Mapped[float | None] = mapped_column(Float)  # working time until finished
    reused_documents: Mapped[int] = mapped_column(Integer)
    documents: Mapped[int] = mapped_column(Integer)
    # Components only on paper, neither online nor digitised at the counter (4.2).
    paper_documents: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Filed online from an account VNeID verified (indicator 4.5).
    applicant_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_online: Mapped[bool | None] = mapped_column(Boolean)
    electronic_result: Mapped[bool | None] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)  # the citizen's, 1 to 5 (dossier.rated)
    last_sequence: Mapped[int] = mapped_column(Integer)


class ClockAlert(Base):
    """An alert sent (due soon, overdue): once per dossier, threshold and due date."""

    __tablename__ = "clock_alerts"
    __table_args__ = (UniqueConstraint("dossier_code", "kind", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Recomputation(Base):
    """A dossier whose due date a calendar change moved, and why (the change's report)."""

    __tablename__ = "recomputations"
    __table_args__ = (Index("ix_recomputations_change", "calendar_code", "calendar_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_code: Mapped[str] = mapped_column(String(40))
    calendar_version: Mapped[int] = mapped_column(Integer)
    dossier_code: Mapped[str] = mapped_column(String(60))
    agency_code: Mapped[str] = mapped_column(String(30))
    old_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    new_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text)
    recomputed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
