from datetime import date, datetime

from sqlalchemy import JSON, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class DossierCounter(Base):
    """The last dossier number a receiving agency gave on a local day (DESIGN §6).

    One row per agency and day, incremented in the submitting transaction: the row lock
    serialises concurrent submissions to one agency, and a rolled-back submission rolls
    its number back too, so the numbers that exist are 1..n without gaps or repeats.
    """

    __tablename__ = "dossier_counters"

    agency_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One action on a dossier: who, when, what, before and after. Append-only, and
    chained per dossier: each entry's hash covers its content and the previous hash, so
    editing or deleting a row breaks the chain (``services/intake/audit.py``)."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("dossier_code", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    sequence: Mapped[int] = mapped_column(Integer)  # the dossier's transition number
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
