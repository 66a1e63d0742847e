"""A dossier's clock: working time with pauses, and how timely the dossier is.

The clock starts at receipt and pauses while the citizen is asked to supplement or to
pay (DESIGN §5). On resume it either goes on with the time left (``pause``, the default
of NĐ 61/2018) or counts the whole time again (``restart``, where a sector law says so).
A budget used up before a pause stays used up: the dossier was late before it waited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from shared.worktime.engine import MINUTES_PER_WORKING_DAY, WorkingTime


class ResumePolicy(StrEnum):
    PAUSE = "pause"
    RESTART = "restart"


class Timeliness(StrEnum):
    # Finished dossiers.
    EARLY = "early"  # finished on an earlier calendar day than the due date
    ON_TIME = "on_time"
    LATE = "late"
    # Open dossiers.
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    PAUSED = "paused"  # waiting for the citizen; the clock stands still
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Pause:
    start: datetime
    end: datetime | None  # None: still waiting
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClockState:
    """The clock as it stands at ``at``."""

    at: datetime
    budget_minutes: float
    used_minutes: float  # working time counted against the budget, up to ``at``
    paused: bool
    # When the budget runs out; None while paused with time left.
    due_at: datetime | None
    # The first instant any budget ran out, if one did before a pause (already late).
    breached_at: datetime | None

    @property
    def remaining_minutes(self) -> float:
        return self.budget_minutes - self.used_minutes


TimeUnit = Literal["working_days", "working_hours", "calendar_days", "same_day"]


def budget_minutes(
    engine: WorkingTime,
    start: datetime,
    *,
    unit: TimeUnit,
    value: int | None,
    cutoff_hour: int | None = None,
) -> float:
    """A legal time (the catalogue's unit and value) as working minutes from ``start``.

    Intake (the appointment on the receipt) and tracking (the clock ledger) both count
    with this one function, so their due dates agree to the minute.
    """
    if unit == "working_days":
        assert value is not None
        return float(value * MINUTES_PER_WORKING_DAY)
    if unit == "working_hours":
        assert value is not None
        return float(value * 60)
    if unit == "same_day":
        cutoff = time(cutoff_hour) if cutoff_hour is not None else None
        due = engine.same_day_due(start, cutoff)
    else:  # calendar days: to the end of the last day, or of the next working day
        assert value is not None
        last_day = start.astimezone(engine.zone).date() + timedelta(days=value)
        due = engine.end_of_working_day(last_day)
    return engine.working_minutes(start, due)


def run(
    time: WorkingTime,
    *,
    start: datetime,
    minutes: float,
    pauses: Sequence[Pause] = (),
    policy: ResumePolicy = ResumePolicy.PAUSE,
    at: datetime,
) -> ClockState:
    """The clock of a dossier received at ``start`` with ``minutes`` of working time.

    ``pauses`` are in order, and only those begun by ``at`` count.
    """
    # The running stretches: [begin, end), the last one open (end None) unless paused.
    segments: list[tuple[datetime, datetime | None]] = []
    running_from: datetime | None = start
    for pause in pauses:
        if running_from is None or pause.start > at:
            break
        if pause.start < running_from:
            raise ValueError("pauses must be in order and after the start")
        segments.append((running_from, pause.start))
        running_from = pause.end if pause.end is not None and pause.end <= at else None
    if running_from is not None:
        segments.append((running_from, None))

    used = 0.0
    due: datetime | None = None
    breached: datetime | None = None
    for begin, end in segments:
        if policy is ResumePolicy.RESTART:
            used = 0.0
        left = max(minutes - used, 0.0)
        if end is None:  # running now
            keep = breached is not None and policy is ResumePolicy.PAUSE
            due = breached if keep else time.due_at(begin, left)
            used += time.working_minutes(begin, at)
        else:
            ran_out = time.due_at(begin, left)
            if ran_out < end and breached is None:
                breached = ran_out
            used += time.working_minutes(begin, end)
    return ClockState(
        at=at,
        budget_minutes=minutes,
        used_minutes=used,
        paused=running_from is None,
        due_at=due,
        breached_at=breached,
    )


def classify_open(
    time: WorkingTime, state: ClockState, *, due_soon_minutes: float = MINUTES_PER_WORKING_DAY
) -> Timeliness:
    """Overdue, paused, due soon (at most ``due_soon_minutes`` of working time left)."""
    if state.breached_at is not None or (state.due_at is not None and state.at > state.due_at):
        return Timeliness.OVERDUE
    if state.paused:
        return Timeliness.PAUSED
    assert state.due_at is not None  # a running clock has a due date
    if time.working_minutes(state.at, state.due_at) <= due_soon_minutes:
        return Timeliness.DUE_SOON
    return Timeliness.ON_TRACK


def classify_finished(time: WorkingTime, state: ClockState) -> Timeliness:
    """Late if finished after the due date; early if on an earlier calendar day."""
    if state.breached_at is not None:
        return Timeliness.LATE
    # Finished while waiting for the citizen: measured against the date the time left
    # would have given had the clock resumed then.
    due = state.due_at or time.due_at(state.at, max(state.remaining_minutes, 0.0))
    if state.at > due:
        return Timeliness.LATE
    if state.at.astimezone(time.zone).date() < due.astimezone(time.zone).date():
        return Timeliness.EARLY
    return Timeliness.ON_TIME
