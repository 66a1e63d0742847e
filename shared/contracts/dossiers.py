"""Events about dossiers: intake publishes them, tracking keeps each dossier's clock.

Every event is ``dossier.<what>``, its envelope's ``subject`` the dossier code and its
``sequence`` the dossier's transition number, so a consumer puts late or repeated
events back in order. The payload says what the clock needs and nothing personal.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DOSSIER_TOPIC = "dossier"


class Timeliness(StrEnum):
    """How a dossier stands against its due date (DESIGN §5): the first three once it
    is finished, the others while it is open."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    PAUSED = "paused"
    OVERDUE = "overdue"


# How people read each (pages, slips, the API's ``timeliness_label``).
TIMELINESS_LABELS: dict[Timeliness, str] = {
    Timeliness.EARLY: "Trước hạn",
    Timeliness.ON_TIME: "Đúng hạn",
    Timeliness.LATE: "Trễ hạn",
    Timeliness.ON_TRACK: "Trong hạn",
    Timeliness.DUE_SOON: "Sắp đến hạn",
    Timeliness.PAUSED: "Tạm dừng",
    Timeliness.OVERDUE: "Quá hạn",
}


class DossierEvent(StrEnum):
    SUBMITTED = "dossier.submitted"  # filed (online, at a desk, by post): DossierDocuments
    RECEIVED = "dossier.received"  # the clock starts
    ASSIGNED = "dossier.assigned"  # an officer holds it (processing)
    SUPPLEMENT_REQUESTED = "dossier.supplement_requested"  # pauses
    SUPPLEMENTED = "dossier.supplemented"  # resumes (or restarts, per the procedure)
    PAYMENT_REQUESTED = "dossier.payment_requested"  # pauses
    PAID = "dossier.paid"  # resumes
    FORWARDED = "dossier.forwarded"  # an inter-agency step; the deadline does not move
    STEP_COMPLETED = "dossier.step_completed"  # the agency of the step answered it
    REAPPOINTED = "dossier.reappointed"  # apology and a new date; stays late
    RESOLVED = "dossier.resolved"  # the result is ready: the clock stops
    RETURNED = "dossier.returned"
    REFUSED = "dossier.refused"
    WITHDRAWAL_REQUESTED = "dossier.withdrawal_requested"  # the citizen asks to withdraw
    STOPPED = "dossier.stopped"  # withdrawn or cancelled
    # More documents for the dossier (a supplement): DossierDocuments, like SUBMITTED.
    DOCUMENTS_ADDED = "dossier.documents_added"
    # The results a resolution gave the applicant's account (DossierDocuments, the owner
    # being the applicant): documents puts them in that citizen's wallet then, not
    # when the officer stored them.
    RESULTS_ISSUED = "dossier.results_issued"
    # Published by tracking.
    DUE_SOON = "dossier.due_soon"
    OVERDUE = "dossier.overdue"
    DUE_CHANGED = "dossier.due_changed"
    # Published by intake when it has applied a due change: its record changed (the
    # portal sync sends the new appointment). The payload is the DueChanged applied.
    DUE_APPLIED = "dossier.due_applied"
    # The citizen rated the service once the result was returned (tracking counts it in
    # the satisfaction indicator, 5.c). Payload: Rated.
    RATED = "dossier.rated"


class Rated(BaseModel):
    """A citizen's rating of a returned dossier: 1 (very dissatisfied) to 5."""

    score: int = Field(ge=1, le=5)
    at: AwareDatetime


# A rating at or under this is dissatisfaction (the 5.c indicator counts the dossier).
DISSATISFIED_AT_MOST = 2


class TimeLimit(BaseModel):
    """The procedure's legal time, as the catalogue gives it (ProcessingTime)."""

    unit: Literal["working_days", "working_hours", "calendar_days", "same_day"]
    value: int | None = Field(default=None, gt=0, le=365)
    cutoff_hour: int | None = Field(default=None, ge=0, le=23)


class ClockFacts(BaseModel):
    """What any dossier event carries for the clock. Unused fields stay empty."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime  # when it happened
    agency_code: str  # the agency handling the dossier: its calendar counts
    # The due date intake computed after the transition (None while paused): tracking
    # answers with dossier.due_changed if its own calendar gives another.
    due_at: AwareDatetime | None = None
    procedure_code: str
    field_code: str | None = None
    # dossier.received
    time_limit: TimeLimit | None = None
    supplement_policy: Literal["pause", "restart"] = "pause"
    channel: Literal["counter", "online", "post"] | None = None
    reused_documents: int = 0
    documents: int = 0
    # Components only on paper (neither filed online nor digitised at the counter).
    paper_documents: int = 0
    applicant_verified: bool = False  # an online applicant VNeID verified
    # dossier.paid
    paid_online: bool | None = None
    # dossier.resolved
    electronic_result: bool | None = None
    # dossier.reappointed
    new_due_at: AwareDatetime | None = None
    reason: str | None = None
    # dossier.forwarded (and dossier.step_completed: the step's agency and due date)
    to_agency_code: str | None = None
    step_minutes: int | None = None
    step_due_at: AwareDatetime | None = None
    # dossier.step_completed: answered after the step's due date
    step_late: bool | None = None


class DossierDocuments(BaseModel):
    """``dossier.submitted``: the documents a dossier uses and the agencies handling it
    (the competent one and the receiving desk), who may then read them."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    owner: str  # the applicant's subject
    documents: list[uuid.UUID]
    agency_codes: list[str] = Field(min_length=1)


class DueChanged(BaseModel):
    """``dossier.due_changed`` (tracking): a calendar change moved an open dossier's due
    date. Intake applies it to the dossier and audits it."""

    model_config = ConfigDict(frozen=True)

    agency_code: str
    old_due_at: AwareDatetime | None
    new_due_at: AwareDatetime | None
    # When at most the due-soon threshold of working time is left before the new date.
    new_due_soon_at: AwareDatetime | None = None
    # The last transition of the dossier tracking's clock has seen: intake applies the
    # change only to a dossier that has not moved on since.
    sequence: int | None = None
    reason: str
    calendar_code: str
    calendar_version: int
