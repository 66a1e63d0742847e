from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    Enum,
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


class Base(DeclarativeBase):
    pass


# Indexes that only PostgreSQL has (an expression SQLite cannot index): the migrations
# create them there, and model/database comparisons leave them out.
Base.metadata.info["postgresql_only_indexes"] = {"ix_procedure_versions_name_fts"}


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


NATIONAL_CALENDAR = "national"


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
    level: Mapped[AgencyLevel] = mapped_column(_enum(AgencyLevel))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    # The working calendar the agency follows; the tracking service resolves the code.
    calendar_code: Mapped[str] = mapped_column(String(40), default=NATIONAL_CALENDAR)


class AgencyProcedure(Base):
    """A procedure an agency's one-stop desk offers (receives and returns results for).

    Since NĐ 118/2025 a desk may receive a dossier whatever the applicant's address;
    the competent agency that decides is in the procedure's own text.
    """

    __tablename__ = "agency_procedures"

    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(
        ForeignKey("procedures.code"), primary_key=True, index=True
    )


class OnlineLevel(StrEnum):
    FULL = "full"  # dịch vụ công trực tuyến toàn trình (NĐ 42/2022, Điều 11.1.a)
    PARTIAL = "partial"  # một phần (Điều 11.1.b)
    NONE = "none"


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"  # immutable from here on
    RETIRED = "retired"  # replaced by a later version; still readable


class Field(Base):
    """A field (lĩnh vực) of administrative procedures."""

    __tablename__ = "fields"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Procedure(Base):
    """A procedure's identity; what it says lives in its versions."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The version now in force; null until the first publication.
    current_version: Mapped[int | None] = mapped_column(Integer)


class ProcedureVersion(Base):
    """One version of a procedure. Published versions never change: a dossier pins one."""

    __tablename__ = "procedure_versions"
    __table_args__ = (
        UniqueConstraint("procedure_code", "version"),
        # Search reads only the published (= current) versions.
        Index("ix_procedure_versions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus))
    effective_date: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Denormalised from ``content`` for search and filters.
    name: Mapped[str] = mapped_column(String(500))
    name_search: Mapped[str] = mapped_column(String(500))
    field_code: Mapped[str] = mapped_column(ForeignKey("fields.code"), index=True)
    level: Mapped[AgencyLevel] = mapped_column(_enum(AgencyLevel))
    online_level: Mapped[OnlineLevel] = mapped_column(_enum(OnlineLevel))
    processing_time: Mapped[str | None] = mapped_column(Text)  # ProcessingTime as JSON
    # The whole version as the API shows it (ProcedureContent), as JSON.
    content: Mapped[str] = mapped_column(Text)


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
