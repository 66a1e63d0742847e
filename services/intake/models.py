import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.intake.state import (
    DOCUMENTS,
    FEES,
    PAUSES,
    PENDING_REQUEST,
    STEPS,
    TIME_LIMIT,
    DossierDocument,
    FeeItem,
    ForwardStep,
    PauseRecord,
    PendingRequest,
)
from shared.contracts.dossiers import TimeLimit
from shared.db import ModelJSON, UtcDateTime
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


class QueueTally(Base):
    """How many of an agency's dossiers are in each status, and on which UTC day their
    due date and their due-soon instant fall: a queue's counts per timeliness add these
    up (``queues.py``) instead of counting every open dossier.

    Triggers on ``dossiers`` keep them (migration 0005), in the statement that changes
    a dossier, so they move with the rows whichever code writes them and roll back with
    them. ``kind`` is ``status`` (one row per status, ``day`` unused), ``due`` (by
    ``due_at``) or ``soon`` (by ``due_soon_at``).
    """

    __tablename__ = "queue_tallies"

    agency_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dossiers: Mapped[int] = mapped_column(Integer)


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


class DossierView(Base):
    """An officer opened a dossier (the citizen sees when, by position and agency).
    Append-only; one row per officer per dossier per VIEW_EVERY at most."""

    __tablename__ = "dossier_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(60), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    position: Mapped[str | None] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class StepRecord(Base):
    """An inter-agency step as its agency's queue finds it. The dossier's ``steps`` hold
    the step itself; this row, written in the same transaction, indexes it by agency
    and due date, which a JSON list cannot be on both engines."""

    __tablename__ = "forward_steps"
    __table_args__ = (
        UniqueConstraint("dossier_code", "number"),
        # The open steps of an agency by due date (its queue of forwarded dossiers).
        Index(
            "ix_forward_steps_open",
            "agency_code",
            "due_at",
            postgresql_where=text("completed_at IS NULL"),
            sqlite_where=text("completed_at IS NULL"),
        ),
        # The steps it answered in a period, and how many late.
        Index("ix_forward_steps_completed", "agency_code", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(60))
    number: Mapped[int] = mapped_column(Integer)  # 1-based, as in the dossier's steps
    agency_code: Mapped[str] = mapped_column(String(30))
    forwarded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    late: Mapped[bool | None] = mapped_column(Boolean)


class Dossier(Base):
    """A dossier: what was filed, where it stands, and its clock as intake keeps it.

    Intake is the only writer. ``sequence`` counts transitions (the audit entry and the
    event of each carry it) and ``head_hash`` is the last audit entry's hash, so the
    next entry chains to it without reading the trail. Timestamps are UTC.
    """

    __tablename__ = "dossiers"
    __table_args__ = (
        # Officer queues: an agency's open dossiers by due date then code (keyset).
        Index("ix_dossiers_queue", "agency_code", "due_at", "code"),
        # A queue filtered by status; with the due-soon instant beside it, a timeliness
        # filter and today's part of the counts (``queues.tallied``) read no table row.
        Index(
            "ix_dossiers_queue_status",
            "agency_code",
            "status",
            "due_at",
            "code",
            postgresql_include=["due_soon_at"],
        ),
        # The dossiers whose due-soon instant falls later today: the exact part of the
        # "on track" count beside the tallies. Partial: a new dossier has no due date
        # yet, so submitting does not touch it.
        Index(
            "ix_dossiers_due_soon",
            "agency_code",
            "due_soon_at",
            postgresql_include=["status"],
            postgresql_where=text("due_soon_at IS NOT NULL"),
            sqlite_where=text("due_soon_at IS NOT NULL"),
        ),
        Index("ix_dossiers_receiving", "receiving_agency_code", "due_at", "code"),
        Index("ix_dossiers_applicant", "applicant", "submitted_at"),
    )

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    status: Mapped[str] = mapped_column(String(30))
    sequence: Mapped[int] = mapped_column(Integer)
    # The audit trail's last entry: transitions and other recorded changes (a due date
    # moved by a calendar change) each add one.
    audit_sequence: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    # What it is and who handles it.
    procedure_code: Mapped[str] = mapped_column(String(40))
    procedure_version: Mapped[int] = mapped_column(Integer)
    procedure_name: Mapped[str] = mapped_column(String(500))
    field_code: Mapped[str] = mapped_column(String(40))
    agency_code: Mapped[str] = mapped_column(String(30))  # the agency handling it
    receiving_agency_code: Mapped[str] = mapped_column(String(30))  # the desk it came in at
    channel: Mapped[str] = mapped_column(String(10))  # online, counter, post
    # Who: the citizen's account (None for a walk-in without one) and who filed it.
    applicant: Mapped[str | None] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(64))
    # Filed online by an account whose identity VNeID verified (index indicator 4.5).
    applicant_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The citizen's rating once the result was returned (once: 1 to 5, and a comment).
    rating_score: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(1000))
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    applicant_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The e-form's applicant.full_name, for queue rows (they do not read the e-form).
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    documents: Mapped[list[DossierDocument]] = mapped_column(ModelJSON(DOCUMENTS))
    fees: Mapped[list[FeeItem]] = mapped_column(ModelJSON(FEES))
    fee_total_vnd: Mapped[int | None] = mapped_column(Integer)  # None: an amount is open
    assignee: Mapped[str | None] = mapped_column(String(64))
    # The clock (DESIGN §5): the legal time pinned at submission, the pauses as they
    # happened, and the due date the engine gives for them.
    time_limit: Mapped[TimeLimit | None] = mapped_column(ModelJSON(TIME_LIMIT))
    supplement_policy: Mapped[str] = mapped_column(String(10))
    budget_minutes: Mapped[float | None] = mapped_column(Float)
    pauses: Mapped[list[PauseRecord]] = mapped_column(ModelJSON(PAUSES), default=list)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When at most one working day is left (queues filter "due soon" on it).
    due_soon_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    calendar_code: Mapped[str | None] = mapped_column(String(40))
    calendar_version: Mapped[int | None] = mapped_column(Integer)
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # re-appointed
    supplement_requests: Mapped[int] = mapped_column(Integer, default=0)
    # Counted late in the national index whatever the dates (a second supplement
    # request, an apology): the reason, else None.
    counted_late: Mapped[str | None] = mapped_column(String(40))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    timeliness: Mapped[str | None] = mapped_column(String(10))  # once finished
    # The open request to the citizen (missing items, an amount), the forwarded steps,
    # the result documents, refusal or stop reason.
    pending_request: Mapped[PendingRequest | None] = mapped_column(ModelJSON(PENDING_REQUEST))
    steps: Mapped[list[ForwardStep]] = mapped_column(ModelJSON(STEPS), default=list)
    result_documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyRecord(Base):
    """An ``Idempotency-Key`` a caller used (DESIGN §10): the request's fingerprint and,
    once done, the response to replay. Kept at least 24 hours."""

    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # While running: None. Done: the status and body that were answered.
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime())


class KnownDocument(Base):
    """A ready document, as documents announced it (``document.ready``) or answered when
    a dossier named it first. Its facts never change once ready; ``uses`` starts at
    documents' count and goes up with each of intake's dossiers that attach it, in that
    dossier's transaction (the national index counts reused documents)."""

    __tablename__ = "known_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    uses: Mapped[int] = mapped_column(Integer)


class OutboxRecord(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(InboxMixin, Base):
    __tablename__ = "processed_events"
