from sqlalchemy.orm import DeclarativeBase

from shared.events import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
