from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
