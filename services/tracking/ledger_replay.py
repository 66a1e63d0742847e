"""Tracking's clock of a dossier, rebuilt from the ledger of its events: replay them in
order, then compute with ``shared.worktime.clock``. Pure: no database here (``ledger``
stores and loads; intake keeps its own copy on the dossier, ``intake/due_dates``).

The rules (DESIGN §4–5, regulation-facts §4.3):
- the clock starts at receipt; a request to supplement or to pay pauses it, the answer
  resumes it (with the time left, or from the start where the procedure says
  ``restart``);
- it stops when the result is ready (resolved), or the dossier is refused or stopped;
- a finished dossier is late if it finished after its due date, early if on an earlier
  calendar day; asked to supplement more than once, or apologised for with a new date,
  it counts as late whatever the dates say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts.actions import ClockEffect, events_with
from shared.contracts.dossiers import ClockFacts, DossierEvent, TimeLimit
from shared.worktime import WorkingTime
from shared.worktime.clock import (
    Pause,
    ResumePolicy,
    Timeliness,
    classify_finished,
    run,
)
from shared.worktime.clock import (
    budget_minutes as clock_budget,
)

# What each event does to the clock: the declarations of the actions that publish them.
PAUSING = events_with(ClockEffect.PAUSES)
RESUMING = events_with(ClockEffect.RESUMES)
FINISHING = events_with(ClockEffect.FINISHES)
OUTCOMES = {
    DossierEvent.RESOLVED: "resolved",
    DossierEvent.RETURNED: "returned",
    DossierEvent.REFUSED: "refused",
    DossierEvent.STOPPED: "stopped",
}


@dataclass(frozen=True)
class Entry:
    sequence: int
    event: DossierEvent
    facts: ClockFacts


@dataclass
class Replay:
    """What the ledger says, in transition order."""

    received: ClockFacts | None = None
    pauses: list[Pause] = field(default_factory=list)
    supplement_requests: int = 0
    reappointed_due_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    paid_online: bool | None = None
    electronic_result: bool | None = None
    last_sequence: int = 0
    last_at: datetime | None = None  # the latest event's time

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None


def replay(entries: list[Entry]) -> Replay:
    state = Replay()
    for entry in sorted(entries, key=lambda e: e.sequence):
        state.last_sequence = max(state.last_sequence, entry.sequence)
        facts, event = entry.facts, entry.event
        state.last_at = max(state.last_at, facts.at) if state.last_at else facts.at
        if event is DossierEvent.RECEIVED:
            state.received = facts
        elif state.received is None:
            continue  # before receipt (a refusal at the desk): no clock runs
        elif state.finished_at is not None:
            if event is DossierEvent.RETURNED:
                state.outcome = OUTCOMES[event]
            continue  # the clock has stopped
        elif event in PAUSING:
            if event is DossierEvent.SUPPLEMENT_REQUESTED:
                state.supplement_requests += 1
            if not state.paused:
                state.pauses.append(Pause(facts.at, None, event.value))
        elif event in RESUMING:
            if event is DossierEvent.PAID:
                state.paid_online = facts.paid_online
            if state.paused:
                state.pauses[-1] = Pause(state.pauses[-1].start, facts.at, state.pauses[-1].reason)
        elif event is DossierEvent.REAPPOINTED:
            state.reappointed_due_at = facts.new_due_at
        elif event in FINISHING or event is DossierEvent.RETURNED:
            # A result returned without a recorded resolution finishes the clock too.
            state.finished_at = facts.at
            state.outcome = OUTCOMES[event]
            if event is DossierEvent.RESOLVED:
                state.electronic_result = facts.electronic_result
            if state.paused:  # stopped while waiting: the wait ends with it
                state.pauses[-1] = Pause(state.pauses[-1].start, facts.at, state.pauses[-1].reason)
    return state


def budget_minutes(time_limit: TimeLimit, engine: WorkingTime, start: datetime) -> float:
    """The legal time as working minutes from ``start`` (every unit becomes one)."""
    return clock_budget(
        engine,
        start,
        unit=time_limit.unit,
        value=time_limit.value,
        cutoff_hour=time_limit.cutoff_hour,
    )


@dataclass(frozen=True)
class Computed:
    """The clock's values that do not depend on when they are read."""

    budget_minutes: float | None
    paused: bool
    due_at: datetime | None
    due_soon_at: datetime | None
    breached_at: datetime | None
    appointment_at: datetime | None
    timeliness: Timeliness | None  # finished dossiers only
    used_minutes: float | None


def compute(
    state: Replay, engine: WorkingTime, *, now: datetime, due_soon_minutes: float
) -> Computed:
    received = state.received
    assert received is not None  # callers compute only received dossiers
    if received.time_limit is None:  # the procedure's legal time is not known
        return Computed(None, state.paused, None, None, None, state.reappointed_due_at,
                        None, None)  # fmt: skip
    start = received.at
    minutes = budget_minutes(received.time_limit, engine, start)
    policy = ResumePolicy(received.supplement_policy)
    # Every pause the ledger holds counts, even one stamped after ``now`` (clocks differ).
    assert state.last_at is not None
    at = state.finished_at or max(now, state.last_at)
    clock = run(engine, start=start, minutes=minutes, pauses=state.pauses, policy=policy, at=at)
    due_soon_at = (
        engine.before(clock.due_at, due_soon_minutes) if clock.due_at is not None else None
    )
    timeliness = None
    if state.finished_at is not None:
        timeliness = classify_finished(engine, clock)
        if state.supplement_requests > 1 or state.reappointed_due_at is not None:
            timeliness = Timeliness.LATE
    return Computed(
        budget_minutes=minutes,
        paused=clock.paused,
        due_at=clock.due_at,
        due_soon_at=due_soon_at,
        breached_at=clock.breached_at,
        appointment_at=state.reappointed_due_at or clock.due_at,
        timeliness=timeliness,
        used_minutes=clock.used_minutes if state.finished_at is not None else None,
    )
