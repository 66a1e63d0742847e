"""The dossier's JSON state as typed models: what the columns write and read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pydantic import ValidationError
from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite

from services.intake.models import Dossier
from services.intake.state import (
    PauseRecord,
    PaymentRequest,
    SupplementRequest,
    WithdrawalRequest,
    open_step,
    pending_out,
)
from shared.db import ModelJSON

# The two databases' dialects (SQLAlchemy's constructors are not typed).
POSTGRESQL: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
SQLITE: Dialect = sqlite.dialect()
AT = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)
# The columns' own types, as the ORM writes and reads them.
PENDING = cast(ModelJSON[Any], Dossier.__table__.c.pending_request.type)
PAUSES = cast(ModelJSON[Any], Dossier.__table__.c.pauses.type)


@pytest.mark.parametrize("dialect", [POSTGRESQL, SQLITE], ids=["pg", "sqlite"])
@pytest.mark.parametrize(
    "request_",
    [
        SupplementRequest(missing=["Tờ khai"], note=None, at=AT, by="canbo1"),
        PaymentRequest(amount_vnd=135_000, payment_id="p-1", note="phí", at=AT, by="canbo1"),
        WithdrawalRequest(reason="Nộp nhầm", at=AT, from_status="received"),
    ],
    ids=lambda r: r.kind,
)
def test_each_kind_of_request_is_written_as_json_and_read_back_as_itself(
    dialect: Dialect, request_: SupplementRequest | PaymentRequest | WithdrawalRequest
) -> None:
    stored = PENDING.process_bind_param(request_, dialect)
    assert stored["kind"] == request_.kind
    assert stored["at"] == "2026-02-13T02:00:00+00:00"  # as the column always held it
    assert PENDING.process_result_value(stored, dialect) == request_
    assert pending_out(request_) == stored  # what the API shows


def test_a_request_of_an_unknown_kind_or_shape_is_refused() -> None:
    dialect = SQLITE
    with pytest.raises(ValidationError):
        PENDING.process_result_value({"kind": "refund", "at": AT.isoformat()}, dialect)
    with pytest.raises(ValidationError):  # a payment without its amount
        PENDING.process_result_value(
            {"kind": "payment", "payment_id": "p", "at": AT.isoformat(), "by": "x"}, dialect
        )


def test_pauses_read_old_triples_and_write_records() -> None:
    dialect = POSTGRESQL
    old = [[AT.isoformat(), "2026-02-20T02:00:00+00:00", "supplement"], [AT.isoformat(), None, ""]]
    pauses = PAUSES.process_result_value(old, dialect)
    assert pauses == [
        PauseRecord(start=AT, end=datetime(2026, 2, 20, 2, 0, tzinfo=UTC), reason="supplement"),
        PauseRecord(start=AT, end=None, reason=""),
    ]
    assert PAUSES.process_bind_param(pauses[1:], dialect) == [
        {"start": "2026-02-13T02:00:00+00:00", "end": None, "reason": ""}
    ]


@pytest.mark.parametrize(
    ("column", "stored"),
    [
        (
            "documents",
            [
                {
                    "requirement": 0,
                    "id": "7f1c0e7a-3c1b-4f4e-9a52-0b8f3f0c2a11",
                    "reused": True,
                    "digitised": False,
                },
                {"requirement": 1, "id": None, "reused": False, "digitised": False},
            ],
        ),
        (
            "fees",
            [
                {
                    "name": "Lệ phí",
                    "amount_vnd": 135000,
                    "unit": "lần",
                    "collected": "on_submission",
                    "condition": None,
                }
            ],
        ),
        ("time_limit", {"unit": "working_days", "value": 5, "cutoff_hour": None}),
        (
            "steps",
            [
                {
                    "agency_code": "000.31.01.H49",
                    "budget_hours": 16.0,
                    "note": None,
                    "forwarded_at": "2026-02-13T02:00:00+00:00",
                    "forwarded_by": "chuyenvien1",
                    "due_at": "2026-02-16T09:00:00+00:00",
                    "completed_at": None,
                    "completed_by": None,
                    "reply": None,
                    "late": None,
                }
            ],
        ),
    ],
)
def test_the_other_json_columns_read_what_was_written_and_write_it_back(
    column: str, stored: Any
) -> None:
    """The JSON these columns held before they were typed reads as models and is
    written back unchanged."""
    kind = cast(ModelJSON[Any], Dossier.__table__.c[column].type)
    for dialect in (POSTGRESQL, SQLITE):
        read = kind.process_result_value(stored, dialect)
        assert read != stored  # models now, not the raw JSON
        assert kind.process_bind_param(read, dialect) == stored


def test_a_step_forwarded_before_steps_had_due_dates_reads_as_open_and_undated() -> None:
    kind = cast(ModelJSON[Any], Dossier.__table__.c["steps"].type)
    old = {"agency_code": "000.31.01.H49", "budget_hours": 16.0, "note": None,
           "forwarded_at": "2026-02-13T02:00:00+00:00", "forwarded_by": "chuyenvien1"}  # fmt: skip
    read = kind.process_result_value([old], SQLITE)
    assert read is not None
    [step] = read
    assert (step.due_at, step.completed_at, step.late) == (None, None, None)
    assert open_step([step]) == (1, step)


def test_a_document_of_an_unknown_shape_is_refused() -> None:
    kind = cast(ModelJSON[Any], Dossier.__table__.c["documents"].type)
    with pytest.raises(ValidationError):
        kind.process_result_value([{"requirement": "first"}], SQLITE)
