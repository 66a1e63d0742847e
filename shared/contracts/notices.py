"""What the notifications service learns from the others to tell people what happened.

Intake adds a ``notice.dossier`` beside each event of a dossier, in the same
transaction: what the event's clock facts leave out on purpose (who the applicant is,
how to reach a walk-in, what is missing, how much to pay, why it was refused), as it
stood at that moment. They travel on a topic of their own (``notice``), which only the
notifications service reads: the dossier topic stays free of personal data.

The gateway adds an ``notice.officer`` whenever an officer's account or positions
change, so that the notifications service knows each agency's leaders (its digest).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.auth import AgencyMembership

NOTICE_TOPIC = "notice"
DOSSIER_NOTICE = "notice.dossier"
OFFICER_NOTICE = "notice.officer"


class Contact(BaseModel):
    """How to reach an applicant who has no account (a walk-in at the counter): what
    they wrote in the e-form's applicant block, handed to the desk in person."""

    model_config = ConfigDict(frozen=True)

    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)


class DossierNotice(BaseModel):
    """A dossier as it stood right after ``event`` (a ``dossier.*`` type)."""

    model_config = ConfigDict(frozen=True)

    event: str  # e.g. dossier.supplement_requested; dossier.due_applied for a moved date
    action: str | None = None  # the action that made it (withdraw and stop share an event)
    at: AwareDatetime
    code: str
    status: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    receiving_agency_code: str
    channel: Literal["counter", "online", "post"]
    account: str | None  # the applicant's account (its subject), None for a walk-in
    applicant_name: str | None = None
    contact: Contact | None = None  # only for a walk-in
    holder: str | None = None  # the officer holding it (the assignee)
    # The date the applicant was given (the appointment, or the due date); None paused.
    appointment_at: AwareDatetime | None = None
    finished: bool = False
    # dossier.due_applied: the date before; the decision that moved it
    previous_appointment_at: AwareDatetime | None = None
    # dossier.supplement_requested: the one complete list
    missing: list[str] = Field(default_factory=list)
    note: str | None = None
    # dossier.payment_requested
    amount_vnd: int | None = None
    payment_id: str | None = None
    # dossier.refused, dossier.stopped, dossier.reappointed, dossier.due_applied
    reason: str | None = None
    # dossier.resolved: a result the applicant can download (else only on paper)
    electronic_result: bool | None = None


class OfficerNotice(BaseModel):
    """An officer's account as it now stands (created, positions changed, deactivated)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    full_name: str
    active: bool
    memberships: list[AgencyMembership]
