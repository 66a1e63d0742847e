"""Request and response models of the intake service (DESIGN §10)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.db import INT32_MAX

CODE_PATTERN = r"^[A-Za-z0-9.\-]{1,60}$"
AGENCY_PATTERN = r"^[A-Za-z0-9.\-]{1,30}$"
Channel = Literal["online", "counter", "post"]


class DocumentRef(BaseModel):
    """A document given for one of the procedure's required documents (by its index)."""

    model_config = ConfigDict(extra="forbid")

    requirement: int = Field(ge=0, le=200)
    id: uuid.UUID


class DossierDocumentOut(BaseModel):
    requirement: int
    id: uuid.UUID | None  # None: received on paper at the desk
    reused: bool = False  # given before, taken from the wallet
    digitised: bool = False  # scanned at the counter from the citizen's paper


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(pattern=r"^[A-Za-z0-9.\-]{1,40}$")
    # Optional: when given it must be the version in force (the e-form was drawn from it).
    procedure_version: int | None = Field(default=None, ge=1, le=INT32_MAX)
    # The one-stop desk it is submitted to: any desk of the province (NĐ 118/2025).
    agency_code: str = Field(pattern=AGENCY_PATTERN)
    # The agency that handles it; by default the desk itself if it offers the procedure.
    handling_agency_code: str | None = Field(default=None, pattern=AGENCY_PATTERN)
    channel: Channel = "online"
    applicant: dict[str, Any] = Field(description="the e-form's data (its JSON Schema)")
    documents: list[DocumentRef] = Field(default_factory=list, max_length=100)
    # At the counter or by post: the required documents (by index) the desk received on
    # paper and checked against the list.
    received_on_paper: list[int] = Field(default_factory=list, max_length=100)
    # At the counter: the citizen's account, if they have one (they then follow it online).
    applicant_account: str | None = Field(default=None, max_length=64)


class FeeOut(BaseModel):
    name: str
    amount_vnd: int | None  # None: set by the officer (the province's rate, the case)
    unit: str | None
    collected: Literal["on_submission", "on_result"]
    condition: str | None


class StepOut(BaseModel):
    """An inter-agency step (forwarded) with its own budget."""

    agency_code: str
    budget_hours: float
    note: str | None
    forwarded_at: AwareDatetime
    forwarded_by: str
    due_at: AwareDatetime | None = None  # the step's own, in its agency's working time
    completed_at: AwareDatetime | None = None
    completed_by: str | None = None
    reply: str | None = None  # the step agency's answer
    late: bool | None = None  # answered after the step's due date


class RatingIn(BaseModel):
    """The citizen's rating of the service, once the result is returned."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5, description="1 rất không hài lòng … 5 rất hài lòng")
    comment: str | None = Field(default=None, max_length=1000)


class RatingOut(BaseModel):
    score: int
    comment: str | None
    at: AwareDatetime


class AllowedActionOut(BaseModel):
    """An action the caller may take on the dossier now, from the status machine."""

    action: str
    label: str  # how a person reads it
    requires: list[str]  # the body's fields it cannot do without
    # Taking it counts the dossier late in the service-quality index (a second
    # supplement request, an apology): the body must then carry confirm_counted_late.
    counts_late: bool = False


class DossierOut(BaseModel):
    code: str
    status: str
    status_label: str
    portal_status: int  # TrangThaiHoSo on the national portal
    sequence: int
    procedure_code: str
    procedure_version: int
    procedure_name: str
    agency_code: str
    receiving_agency_code: str
    channel: Channel
    applicant_account: str | None  # the citizen's account (a result is issued to it)
    applicant: dict[str, Any]
    documents: list[DossierDocumentOut]
    fees: list[FeeOut]
    fee_total_vnd: int | None
    assignee: str | None
    submitted_at: AwareDatetime
    received_at: AwareDatetime | None
    due_at: AwareDatetime | None
    appointment_at: AwareDatetime | None  # the date the citizen was given, re-appointed
    remaining_minutes: float | None  # working time left while paused
    timeliness: str | None
    timeliness_label: str | None  # how people read it (Trước hạn, Quá hạn...)
    counted_late: str | None
    supplement_requests: int
    pending_request: dict[str, Any] | None
    steps: list[StepOut]
    result_documents: list[str]
    reason: str | None
    calendar_code: str | None
    calendar_version: int | None
    finished_at: AwareDatetime | None
    rating: RatingOut | None = None  # the citizen's, once returned
    # What the caller may do now (reads and actions answer it; empty elsewhere).
    allowed_actions: list[AllowedActionOut] = []


class DossierSummary(BaseModel):
    """A row of a queue or of a citizen's list: nothing of the e-form."""

    code: str
    applicant_name: str | None  # the e-form's applicant.full_name
    status: str
    status_label: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    assignee: str | None
    submitted_at: AwareDatetime
    due_at: AwareDatetime | None
    appointment_at: AwareDatetime | None  # the date the citizen was given
    timeliness: str | None
    timeliness_label: str | None  # how people read it (Trước hạn, Quá hạn...)
    # Working time to the due date (negative: overdue by), in an agency's queue while
    # the clock runs; None elsewhere.
    remaining_minutes: float | None = None


class QueuePage(BaseModel):
    items: list[DossierSummary]
    next_cursor: str | None
    # Open dossiers of the queue per timeliness bucket (filters other than timeliness
    # applied): on_track, due_soon, overdue, paused, not_received.
    counts: dict[str, int]


class OfficerLoad(BaseModel):
    """An officer's dossiers of an agency: open now, and finished in the period."""

    assignee: str  # the officer's account (GET /api/v1/agencies/{code}/officers names it)
    open: int
    due_soon: int
    overdue: int
    finished: int
    finished_late: int


class WaitingStep(BaseModel):
    """A dossier forwarded to the agency, waiting for its step: the step's due date
    beside the dossier's own appointment."""

    code: str
    status: str
    status_label: str
    procedure_code: str
    procedure_name: str
    agency_code: str  # the agency handling the dossier, which forwarded it
    applicant_name: str | None
    appointment_at: AwareDatetime | None
    step: int  # its number among the dossier's steps
    forwarded_at: AwareDatetime
    step_due_at: AwareDatetime | None  # None: forwarded before steps had a due date
    # Working time to the step's due date by the agency's calendar (negative: overdue).
    remaining_minutes: float | None
    timeliness: str | None  # on_track, due_soon, overdue (None: no due date)
    timeliness_label: str | None


class StepQueue(BaseModel):
    """The dossiers forwarded to an agency and waiting for it, and how it answered."""

    items: list[WaitingStep]
    counts: dict[str, int]  # open steps: on_track, due_soon, overdue, undated
    answered: int  # steps it answered since ``since``
    answered_late: int  # of which after their due date
    since: AwareDatetime


class HistoryStepOut(BaseModel):
    """A step of the dossier's life, from its audit trail."""

    at: AwareDatetime
    action: str
    label: str  # how a person reads it
    from_status: str | None
    from_status_label: str | None
    to_status: str
    to_status_label: str
    role: str  # citizen, officer, system
    position: str | None = None  # the officer's, on this dossier
    position_label: str | None = None
    agency_code: str | None = None
    actor: str | None = None  # the account: shown to officers only
    reason: str | None = None
    note: str | None = None
    missing: list[str] | None = None
    new_due_at: str | None = None


class ViewOut(BaseModel):
    """An officer opened the dossier."""

    at: AwareDatetime
    position: str | None
    position_label: str | None
    agency_code: str | None
    actor: str | None = None  # shown to officers only


class HistoryOut(BaseModel):
    steps: list[HistoryStepOut]
    views: list[ViewOut]


class PauseOut(BaseModel):
    start: AwareDatetime
    end: AwareDatetime | None
    reason: str  # supplement, payment
    reason_label: str


class ReappointmentOut(BaseModel):
    at: AwareDatetime
    new_due_at: str
    reason: str


class SkippedDayOut(BaseModel):
    day: date
    reason: str
    kind: str  # weekly, holiday, tet, swapped…: the calendar's kind of day off


class AppointmentOut(BaseModel):
    """How the appointment was reached: the working time from receipt, the days the
    clock skipped and why, the pauses, the re-appointments."""

    received_at: AwareDatetime | None
    effective_start: AwareDatetime | None = None  # received outside hours: the next start
    due_at: AwareDatetime | None
    appointment_at: AwareDatetime | None
    working_minutes: float | None
    calendar_code: str | None
    calendar_version: int | None
    skipped_days: list[SkippedDayOut] = Field(default_factory=list)
    pauses: list[PauseOut]
    reappointments: list[ReappointmentOut]


class LookupOut(BaseModel):
    """The public lookup: nothing personal."""

    code: str
    procedure_name: str
    agency_code: str
    status: str
    status_label: str
    submitted_at: AwareDatetime
    appointment_at: AwareDatetime | None
    timeliness: str | None
    timeliness_label: str | None  # how people read it (Trước hạn, Quá hạn...)


class ActionIn(BaseModel):
    """The body of ``POST /dossiers/{code}/actions/{action}``. Which fields an action
    cannot do without is its declaration's ``requires`` (``shared.contracts.actions``,
    listed in the operation's description); the others are optional (``note``; ``assignee``
    defaults to the caller; ``confirm_counted_late`` for a second supplement request;
    ``amount_vnd`` when the procedure sets no fee)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=3, max_length=2000)
    note: str | None = Field(default=None, max_length=2000)
    assignee: str | None = Field(default=None, max_length=64)
    missing: list[str] | None = Field(default=None, max_length=50)
    confirm_counted_late: bool = False
    documents: list[DocumentRef] | None = Field(default=None, max_length=100)
    amount_vnd: int | None = Field(default=None, gt=0, le=10_000_000_000)
    payment_reference: str | None = Field(default=None, min_length=1, max_length=100)
    to_agency_code: str | None = Field(default=None, pattern=AGENCY_PATTERN)
    budget_hours: float | None = Field(default=None, gt=0, le=2000)
    result_documents: list[uuid.UUID] | None = Field(default=None, max_length=50)
    new_due_at: AwareDatetime | None = None
