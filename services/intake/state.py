"""The parts of a dossier's state kept as JSON, typed: the open request to the citizen
(one of three kinds) and the clock's pauses. ``models.Dossier`` stores them through
``shared.db.ModelJSON``: validated when read, plain JSON in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, model_validator

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


def pending_out(request: PendingRequest | None) -> dict[str, Any] | None:
    """The request as the API shows it (the same JSON the column holds)."""
    return None if request is None else PENDING_REQUEST.dump_python(request, mode="json")
