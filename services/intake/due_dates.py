"""Intake's copy of a dossier's clock, kept on the dossier's row: the due date set at
receipt, the pauses while the citizen is asked for something, the timeliness when it
finishes. (The clock itself, with pauses over working time, is ``shared.worktime.clock``;
tracking rebuilds the same clock from its events in ``ledger_replay``.)

Counted with the shared engine and ``shared.worktime.clock`` over the agency calendar
read from tracking: the same functions and data as tracking's ledger, so both give the
same due date to the minute (a test replays one history through both).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.intake.models import Dossier
from services.intake.state import PauseRecord
from shared.worktime import WorkingTime
from shared.worktime.clock import (
    ClockState,
    Pause,
    ResumePolicy,
    Timeliness,
    budget_minutes,
    classify_finished,
    run,
)

PAUSED_STATUSES = frozenset({"supplement_requested", "awaiting_payment"})
# The open statuses a queue does not count by the dates: not received yet, waiting for
# the citizen, and resolved (the clock stopped; the desk has the result to hand over).
NOT_DATED = frozenset({"submitted", *PAUSED_STATUSES, "resolved"})


class Dated(Protocol):
    """What an open dossier's timeliness is read from: a ``Dossier``, or a queue row
    that selected these columns only."""

    @property
    def status(self) -> str: ...
    @property
    def received_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def due_soon_at(self) -> datetime | None: ...


def pauses_of(dossier: Dossier) -> list[Pause]:
    return [Pause(pause.start, pause.end, pause.reason) for pause in dossier.pauses]


def _state(dossier: Dossier, engine: WorkingTime, at: datetime) -> ClockState | None:
    if dossier.received_at is None or dossier.budget_minutes is None:
        return None
    return run(
        engine,
        start=dossier.received_at,
        minutes=dossier.budget_minutes,
        pauses=pauses_of(dossier),
        policy=ResumePolicy(dossier.supplement_policy),
        at=max(at, dossier.received_at),
    )


def start(dossier: Dossier, engine: WorkingTime, *, at: datetime, due_soon_minutes: float) -> None:
    """Receipt: the legal time pinned at submission becomes a budget and a due date."""
    dossier.received_at = at
    limit = dossier.time_limit
    if limit is not None:
        dossier.budget_minutes = budget_minutes(
            engine,
            at,
            unit=limit.unit,
            value=limit.value,
            cutoff_hour=limit.cutoff_hour,
        )
    refresh(dossier, engine, at=at, due_soon_minutes=due_soon_minutes)


def refresh(
    dossier: Dossier, engine: WorkingTime, *, at: datetime, due_soon_minutes: float
) -> None:
    """The due date after the dossier's pauses up to ``at`` (None while paused)."""
    state = _state(dossier, engine, at)
    if state is None:
        return
    # As tracking's ledger: a budget spent before a pause keeps the dossier due at once.
    dossier.due_at = state.due_at
    dossier.due_soon_at = (
        engine.before(dossier.due_at, due_soon_minutes) if dossier.due_at is not None else None
    )


def pause(dossier: Dossier, *, at: datetime, reason: str) -> None:
    if dossier.pauses and dossier.pauses[-1].end is None:
        return  # already waiting for the citizen
    dossier.pauses = [*dossier.pauses, PauseRecord(start=at, end=None, reason=reason)]
    dossier.due_at = dossier.due_soon_at = None


def resume(dossier: Dossier, engine: WorkingTime, *, at: datetime, due_soon_minutes: float) -> None:
    if dossier.pauses and dossier.pauses[-1].end is None:
        dossier.pauses = [*dossier.pauses[:-1], dossier.pauses[-1].model_copy(update={"end": at})]
    refresh(dossier, engine, at=at, due_soon_minutes=due_soon_minutes)


def remaining_minutes(dossier: Dossier, engine: WorkingTime, at: datetime) -> float | None:
    state = _state(dossier, engine, at)
    return state.remaining_minutes if state is not None else None


def finish(dossier: Dossier, engine: WorkingTime, *, at: datetime) -> None:
    """The clock stops (resolved, refused, stopped): early, on time or late (DESIGN §5)."""
    resume(dossier, engine, at=at, due_soon_minutes=0)  # a wait ends with the dossier
    dossier.finished_at = at
    state = _state(dossier, engine, at)
    if state is None:
        return  # refused before receipt, or no legal time known
    timeliness = classify_finished(engine, state)
    if dossier.counted_late is not None:
        timeliness = Timeliness.LATE
    dossier.timeliness = timeliness.value


def open_timeliness(dossier: Dated, now: datetime) -> str | None:
    """An open dossier's bucket, from the stored dates (what queues filter on)."""
    if dossier.received_at is None:
        return None
    if dossier.status in PAUSED_STATUSES:
        return Timeliness.PAUSED.value
    if dossier.due_at is None:
        return None
    if now > dossier.due_at:
        return Timeliness.OVERDUE.value
    if dossier.due_soon_at is not None and now >= dossier.due_soon_at:
        return Timeliness.DUE_SOON.value
    return Timeliness.ON_TRACK.value
