"""The parts of a dossier's state kept as JSON, typed: the open request to the citizen
(one of three kinds), the clock's pauses, the documents, fees, legal time and forwarded
steps. ``models.Dossier`` stores them through ``shared.db.ModelJSON``: validated when
read, plain JSON in the database. (The applicant's e-form data stays free JSON: its
shape is each procedure's JSON Schema, checked at submission.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, model_validator

from shared.contracts.dossiers import TimeLimit

# Written as Python's isoformat (``+00:00``), as these columns always held them.
Instant = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: Instant


class SupplementRequest(_Request):
    """The one complete list of what the citizen must add; the clock is paused."""

    kind: Literal["supplement"] = "supplement"
    missing: list[str]
    note: str | None = None
    by: str


class PaymentRequest(_Request):
    """An amount to pay; ``payment_id`` is what the provider's notice names."""

    kind: Literal["payment"] = "payment"
    amount_vnd: int
    payment_id: str
    note: str | None = None
    by: str


class WithdrawalRequest(_Request):
    """The citizen asks to withdraw; ``from_status`` is where the dossier goes back to
    if the desk does not agree."""

    kind: Literal["withdrawal"] = "withdrawal"
    reason: str | None
    from_status: str


PendingRequest = Annotated[
    SupplementRequest | PaymentRequest | WithdrawalRequest, Field(discriminator="kind")
]
PENDING_REQUEST: TypeAdapter[PendingRequest] = TypeAdapter(PendingRequest)


class PauseRecord(BaseModel):
    """A time the clock waited for the citizen; ``end`` is None while it waits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: Instant
    end: Instant | None
    reason: str

    @model_validator(mode="before")
    @classmethod
    def _from_triple(cls, value: Any) -> Any:
        """Rows written before the type held ``[start, end, reason]``."""
        if isinstance(value, list | tuple) and len(value) == 3:
            start, end, reason = value
            return {"start": start, "end": end, "reason": reason or ""}
        return value


PAUSES: TypeAdapter[list[PauseRecord]] = TypeAdapter(list[PauseRecord])


class DossierDocument(BaseModel):
    """A document of the dossier, for one of the procedure's required documents."""

    model_config = ConfigDict(frozen=True)

    requirement: int
    id: uuid.UUID | None  # None: received on paper at the desk
    reused: bool = False  # given before (the national index counts reuse)
    digitised: bool = False  # scanned at the counter from the citizen's paper


class FeeItem(BaseModel):
    """A fee of the procedure that applies to the dossier's channel."""

    model_config = ConfigDict(frozen=True)

    name: str
    amount_vnd: int | None  # None: the province's rate, set by the officer
    unit: str | None
    collected: Literal["on_submission", "on_result"]
    condition: str | None


class ForwardStep(BaseModel):
    """An inter-agency step (forwarded) with its own budget."""

    model_config = ConfigDict(frozen=True)

    agency_code: str
    budget_hours: float
    note: str | None
    forwarded_at: Instant
    forwarded_by: str
    # The step's own due date: its budget in the step agency's working time (None for a
    # step forwarded before steps had one).
    due_at: Instant | None = None
    completed_at: Instant | None = None
    completed_by: str | None = None
    reply: str | None = None
    late: bool | None = None  # answered after its due date (None while open or undated)


def open_step(steps: list[ForwardStep]) -> tuple[int, ForwardStep] | None:
    """The step the dossier waits for, with its number (1-based), if any: steps are
    answered one at a time, so only the last can be open."""
    if steps and steps[-1].completed_at is None:
        return len(steps), steps[-1]
    return None


DOCUMENTS: TypeAdapter[list[DossierDocument]] = TypeAdapter(list[DossierDocument])
FEES: TypeAdapter[list[FeeItem]] = TypeAdapter(list[FeeItem])
STEPS: TypeAdapter[list[ForwardStep]] = TypeAdapter(list[ForwardStep])
TIME_LIMIT: TypeAdapter[TimeLimit] = TypeAdapter(TimeLimit)


def pending_out(request: PendingRequest | None) -> dict[str, Any] | None:
    """The request as the API shows it (the same JSON the column holds)."""
    return None if request is None else PENDING_REQUEST.dump_python(request, mode="json")
