"""What callers see of a dossier: the full record, a queue row, the public lookup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, overload
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from services.intake import due_dates
from services.intake.machine import LABELS, PORTAL_CODE, Status
from services.intake.models import Dossier
from services.intake.schemas import (
    AllowedActionOut,
    DossierDocumentOut,
    DossierOut,
    DossierSummary,
    FeeOut,
    LookupOut,
    RatingOut,
    StepOut,
    WaitingStep,
)
from services.intake.state import pending_out
from shared.contracts.dossiers import TIMELINESS_LABELS, Timeliness
from shared.worktime import VIETNAM, WorkingTime
from shared.worktime.engine import OutsideCalendar

ZONE = ZoneInfo(VIETNAM)


@overload
def local(value: datetime) -> datetime: ...
@overload
def local(value: None) -> None: ...
def local(value: datetime | None) -> datetime | None:
    """Answers give instants in Vietnam's time (+07:00), whatever computed or stored them."""
    return value.astimezone(ZONE) if value is not None else None


class Summarised(due_dates.Dated, Protocol):
    """What a queue row shows: a ``Dossier``, or a row of ``queues.SUMMARY_COLUMNS``."""

    @property
    def code(self) -> str: ...
    @property
    def procedure_code(self) -> str: ...
    @property
    def procedure_name(self) -> str: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def appointment_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def timeliness(self) -> str | None: ...
    @property
    def applicant_name(self) -> str | None: ...


def timeliness(dossier: Summarised, now: datetime) -> str | None:
    return dossier.timeliness if dossier.finished_at else due_dates.open_timeliness(dossier, now)


def timeliness_label(value: str | None) -> str | None:
    return TIMELINESS_LABELS[Timeliness(value)] if value is not None else None


def full(
    dossier: Dossier,
    *,
    now: datetime,
    remaining: float | None = None,
    allowed: list[AllowedActionOut] | None = None,
) -> DossierOut:
    status = Status(dossier.status)
    return DossierOut(
        code=dossier.code,
        status=status.value,
        status_label=LABELS[status],
        portal_status=PORTAL_CODE[status],
        sequence=dossier.sequence,
        procedure_code=dossier.procedure_code,
        procedure_version=dossier.procedure_version,
        procedure_name=dossier.procedure_name,
        agency_code=dossier.agency_code,
        receiving_agency_code=dossier.receiving_agency_code,
        channel=dossier.channel,  # type: ignore[arg-type]
        applicant_account=dossier.applicant,
        applicant=dossier.applicant_data,
        documents=[DossierDocumentOut.model_validate(d.model_dump()) for d in dossier.documents],
        fees=[FeeOut.model_validate(f.model_dump()) for f in dossier.fees],
        fee_total_vnd=dossier.fee_total_vnd,
        assignee=dossier.assignee,
        submitted_at=local(dossier.submitted_at),
        received_at=local(dossier.received_at),
        due_at=local(dossier.due_at),
        appointment_at=local(dossier.appointment_at or dossier.due_at),
        remaining_minutes=remaining,
        timeliness=(in_time := timeliness(dossier, now)),
        timeliness_label=timeliness_label(in_time),
        counted_late=dossier.counted_late,
        supplement_requests=dossier.supplement_requests,
        pending_request=pending_out(dossier.pending_request),
        steps=[StepOut.model_validate(step.model_dump()) for step in dossier.steps],
        result_documents=dossier.result_documents,
        reason=dossier.reason,
        calendar_code=dossier.calendar_code,
        calendar_version=dossier.calendar_version,
        finished_at=local(dossier.finished_at),
        rating=rating(dossier),
        allowed_actions=allowed or [],
    )


def rating(dossier: Dossier) -> RatingOut | None:
    if dossier.rating_score is None or dossier.rated_at is None:
        return None
    return RatingOut(score=dossier.rating_score, comment=dossier.rating_comment,
                     at=local(dossier.rated_at))  # fmt: skip


_SUMMARIES = TypeAdapter(list[DossierSummary])
_LABELS = {status.value: label for status, label in LABELS.items()}


def time_left(row: Summarised, engine: WorkingTime | None, now: datetime) -> float | None:
    """Working minutes until an open, running dossier's due date (negative once
    overdue); None when finished, waiting for the citizen, or no calendar answers."""
    if engine is None or row.due_at is None or row.finished_at is not None:
        return None
    if row.status in due_dates.PAUSED_STATUSES:
        return None
    return minutes_until(engine, now, row.due_at)


def minutes_until(engine: WorkingTime, now: datetime, due: datetime) -> float | None:
    """Working minutes from ``now`` to ``due`` (negative once past); None beyond the
    calendar's published years."""
    try:
        return round(engine.working_minutes(now, due), 1)
    except OutsideCalendar:
        return None


def waiting_step(
    row: Any, engine: WorkingTime | None, now: datetime, due_soon_minutes: float
) -> WaitingStep:
    """A row of ``steps.waiting``: the step's time left and timeliness by its due date
    (overdue once past it, due soon within ``due_soon_minutes`` of working time)."""
    left: float | None = None
    if engine is not None and row.step_due_at is not None:
        left = minutes_until(engine, now, row.step_due_at)
    timeliness: Timeliness | None = None
    if row.step_due_at is not None:
        if now > row.step_due_at:
            timeliness = Timeliness.OVERDUE
        elif left is not None and left <= due_soon_minutes:
            timeliness = Timeliness.DUE_SOON
        else:
            timeliness = Timeliness.ON_TRACK
    return WaitingStep(
        code=row.code, status=row.status, status_label=LABELS[Status(row.status)],
        procedure_code=row.procedure_code, procedure_name=row.procedure_name,
        agency_code=row.agency_code, applicant_name=row.applicant_name,
        appointment_at=local(row.appointment_at or row.due_at), step=row.number,
        forwarded_at=local(row.forwarded_at), step_due_at=local(row.step_due_at),
        remaining_minutes=left, timeliness=timeliness,
        timeliness_label=TIMELINESS_LABELS[timeliness] if timeliness else None,
    )  # fmt: skip


def summaries(
    rows: Iterable[Summarised], *, now: datetime, engine: WorkingTime | None = None
) -> list[DossierSummary]:
    """Queue rows, validated in one call: a model built per row cost twice the CPU of a
    page (bench/RESULTS.md, queues). With the agency's ``engine``, each open row's
    working time left."""
    return _SUMMARIES.validate_python(
        [
            {
                "code": row.code,
                "applicant_name": row.applicant_name,
                "remaining_minutes": time_left(row, engine, now),
                "status": row.status,
                "status_label": _LABELS[row.status],
                "procedure_code": row.procedure_code,
                "procedure_name": row.procedure_name,
                "agency_code": row.agency_code,
                "assignee": row.assignee,
                "submitted_at": local(row.submitted_at),
                "due_at": local(row.due_at),
                "appointment_at": local(row.appointment_at or row.due_at),
                "timeliness": (in_time := timeliness(row, now)),
                "timeliness_label": timeliness_label(in_time),
            }
            for row in rows
        ]
    )


def lookup(dossier: Dossier, *, now: datetime) -> LookupOut:
    status = Status(dossier.status)
    return LookupOut(
        code=dossier.code,
        procedure_name=dossier.procedure_name,
        agency_code=dossier.agency_code,
        status=status.value,
        status_label=LABELS[status],
        submitted_at=local(dossier.submitted_at),
        appointment_at=local(dossier.appointment_at or dossier.due_at),
        timeliness=(in_time := timeliness(dossier, now)),
        timeliness_label=timeliness_label(in_time),
    )
