"""A dossier's history as its applicant and its officers read it: every step (what,
when, from which status to which, and by whom as a position at an agency), when
officers opened it, and how its appointment was reached (each day the clock skipped and
why, the pauses, the re-appointments).

A citizen never sees an officer's name or account, only their position and agency:
that is enough to know who handled the dossier, and no more than the law requires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import actions, repository
from services.intake.models import AuditEntry, Dossier, DossierView
from services.intake.schemas import (
    AppointmentOut,
    HistoryOut,
    HistoryStepOut,
    PauseOut,
    ReappointmentOut,
    SkippedDayOut,
    ViewOut,
)
from services.intake.upstreams import Upstreams
from services.intake.views import local
from shared.auth import POSITION_LABELS, Position, Principal, Role
from shared.contracts.actions import STATUS_LABELS, Action, Status, label
from shared.errors import AppError

# Why the clock waited, as the citizen reads it (PauseRecord.reason).
PAUSE_REASONS = {
    "supplement": "chờ công dân bổ sung hồ sơ",
    "payment": "chờ công dân thực hiện nghĩa vụ tài chính",
}
# An officer who keeps a dossier open is recorded once in this long, not at every read.
VIEW_EVERY = timedelta(minutes=10)


async def record_view(
    session: AsyncSession, dossier: Dossier, principal: Principal, *, now: datetime
) -> None:
    """An officer opened the dossier: kept for its applicant to see."""
    acting = actions.by(principal, dossier).get("by")
    if acting is None:
        return
    if not await repository.viewed_since(session, dossier.code, principal.subject,
                                         now - VIEW_EVERY):  # fmt: skip
        session.add(DossierView(dossier_code=dossier.code, actor=principal.subject, at=now,
                                **acting))  # fmt: skip


def _status(value: str | None) -> str | None:
    return STATUS_LABELS[Status(value)] if value else None


def _position(value: str | None) -> str | None:
    return POSITION_LABELS[Position(value)] if value else None


def _step(entry: AuditEntry, *, officer: bool) -> HistoryStepOut:
    details: dict[str, Any] = entry.details or {}
    by = details.get("by") or {}
    said = {key: details.get(key) for key in ("reason", "note", "missing", "new_due_at")}
    return HistoryStepOut(
        at=local(entry.at),
        action=entry.action,
        label=label(entry.action),
        from_status=entry.from_status,
        from_status_label=_status(entry.from_status),
        to_status=entry.to_status,
        to_status_label=_status(entry.to_status) or "",
        role=entry.role,
        position=by.get("position"),
        position_label=_position(by.get("position")),
        agency_code=by.get("agency_code"),
        actor=entry.actor if officer else None,
        **{key: value for key, value in said.items() if value is not None},
    )


async def history(session: AsyncSession, dossier: Dossier, principal: Principal) -> HistoryOut:
    officer = principal.role is not Role.CITIZEN
    entries = await repository.audit_trail(session, dossier.code)
    views = await repository.views_of(session, dossier.code)
    return HistoryOut(
        steps=[_step(entry, officer=officer) for entry in entries],
        views=[
            ViewOut(
                at=local(view.at),
                position=view.position,
                position_label=_position(view.position),
                agency_code=view.agency_code,
                actor=view.actor if officer else None,
            )
            for view in views
        ],
    )


async def appointment(
    session: AsyncSession, dossier: Dossier, *, upstreams: Upstreams, now: datetime
) -> AppointmentOut:
    """How the appointment was reached, in the dossier's calendar."""
    pauses = [PauseOut(start=local(p.start), end=local(p.end), reason=p.reason,
                       reason_label=PAUSE_REASONS.get(p.reason, p.reason))
              for p in dossier.pauses]  # fmt: skip
    entries = await repository.audit_trail(session, dossier.code)
    reappointments = [
        ReappointmentOut(
            at=local(entry.at),
            new_due_at=str(entry.details["new_due_at"]),
            reason=str(entry.details.get("reason") or ""),
        )
        for entry in entries
        if entry.action == Action.APOLOGIZE.value and entry.details.get("new_due_at")
    ]
    answer = AppointmentOut(
        received_at=local(dossier.received_at),
        due_at=local(dossier.due_at),
        appointment_at=local(dossier.appointment_at or dossier.due_at),
        working_minutes=dossier.budget_minutes,
        calendar_code=dossier.calendar_code,
        calendar_version=dossier.calendar_version,
        pauses=pauses,
        reappointments=reappointments,
    )
    if dossier.received_at is None:
        return answer
    try:
        calendar = await upstreams.calendar(dossier.agency_code)
    except AppError:
        calendar = None  # tracking unreachable: the dates stand, without their reasons
    if calendar is None:
        return answer
    engine = calendar.engine
    first = dossier.received_at.astimezone(engine.zone).date()
    # Paused, the clock has no due date: the days it skipped up to now.
    last = (dossier.appointment_at or dossier.due_at or now).astimezone(engine.zone).date()
    answer.effective_start = local(engine.effective_start(dossier.received_at))
    answer.skipped_days = [
        SkippedDayOut(day=day.day, reason=day.reason, kind=day.kind)
        for day in engine.skipped_between(first, last)
    ]
    return answer
