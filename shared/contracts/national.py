"""What intake tells the portal sync about a dossier: its record and its history.

The sync (in the gateway) turns a ``NationalRecord`` into the national portal's
``DongBoHoSoMC`` and each of its ``steps`` into a ``CapNhatTienDoHoSoMC``. ``version``
is the dossier's audit sequence: it grows with every recorded change (a transition, a
due date moved by a calendar change), so the portal keeps the newest and ignores a
repeat. Read by admins only: it carries the applicant's name.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# The internal statuses (DESIGN §4) and the national code each maps to (TrangThaiHoSo,
# regulation-facts §2). Intake shows it on a dossier; the sync sends it.
NATIONAL_STATUS: dict[str, int] = {
    "submitted": 1,
    "received": 2,
    "refused": 3,
    "processing": 4,
    "supplement_requested": 5,
    "awaiting_payment": 6,
    "withdrawal_requested": 7,
    "stopped": 8,
    "resolved": 9,
    "returned": 10,
}
# KenhThucHien: 1 trực tiếp, 2 trực tuyến, 3 bưu chính công ích.
NATIONAL_CHANNEL: dict[str, int] = {"counter": 1, "online": 2, "post": 3}


class NationalStep(BaseModel):
    """One entry of the dossier's audit trail: who did what, when, and where it led."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    at: AwareDatetime
    action: str  # receive, request-supplement … or due_changed (a calendar change)
    status: str  # the status after it
    actor: str  # the account's subject, or "system"
    actor_role: str
    details: dict[str, Any] = Field(default_factory=dict)


class NationalRecord(BaseModel):
    """A dossier as the national portal wants it, with every step so far."""

    model_config = ConfigDict(frozen=True)

    code: str
    version: int
    status: str
    procedure_code: str
    procedure_name: str
    field_code: str
    agency_code: str
    channel: str
    applicant_name: str
    submitted_at: AwareDatetime
    received_at: AwareDatetime | None
    due_at: AwareDatetime | None  # the appointment (a re-appointment's date once made)
    finished_at: AwareDatetime | None
    documents: list[dict[str, Any]]
    fees: list[dict[str, Any]]
    steps: list[NationalStep]


class NationalVersion(BaseModel):
    """A dossier's code and version, for reconciling with what the portal holds."""

    model_config = ConfigDict(frozen=True)

    code: str
    version: int


class NationalVersions(BaseModel):
    items: list[NationalVersion]
    next_after: str | None  # the last code of this page, when there may be more
