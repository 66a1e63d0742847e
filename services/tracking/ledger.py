"""The clock ledger in the database: append an event, replay the dossier, keep its clock.

Also the two jobs that follow from it: the scanner (due soon, overdue: one alert per
dossier, threshold and due date) and the recomputation of open clocks after a calendar
changes, with a report of every due date that moved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import calendars, ledger_replay, repository
from services.tracking.models import (
    ClockAlert,
    ClockEntry,
    ClockStatus,
    DossierClock,
    Recomputation,
)
from shared.contracts.actions import ACTION_EVENTS
from shared.contracts.dossiers import ClockFacts, DossierEvent, DueChanged, Rated
from shared.contracts.events import EventEnvelope
from shared.events import Outbox
from shared.worktime import WorkingTime

logger = logging.getLogger("onestop.tracking.ledger")

# Every action's event (an allow-list: an event nobody declared is not the clock's). Each
# carries the clock's facts; even those that leave the time alone (an assignment) are
# kept, since their sequence numbers are how tracking and intake know they agree.
CLOCK_EVENTS = ACTION_EVENTS


class MalformedEvent(ValueError):
    """An event the ledger cannot place: it goes to the dead-letter stream."""


async def record(
    session: AsyncSession,
    envelope: EventEnvelope,
    *,
    outbox: Outbox | None,
    due_soon_minutes: int,
) -> bool:
    """Append a dossier event to its ledger and refresh the clock; False if it was known.

    With ``outbox``: when intake's due date (in the event) is not the one this ledger
    computes, e.g. intake counted with a calendar that changed meanwhile, the ledger's
    date is announced (``dossier.due_changed``) so that both sides end up agreeing.
    """
    if envelope.subject is None or envelope.sequence is None:
        raise MalformedEvent("a dossier event needs its code (subject) and sequence")
    facts = ClockFacts.model_validate(envelope.payload)
    code, sequence = envelope.subject, envelope.sequence
    taken = await session.scalar(
        select(ClockEntry.event_id).where(
            ClockEntry.dossier_code == code, ClockEntry.sequence == sequence
        )
    )
    if taken is not None:
        # The same transition under another event id: the first one stands.
        logger.warning(
            "transition already recorded",
            extra={"dossier": code, "sequence": sequence, "event_id": str(envelope.id)},
        )
        return False
    session.add(
        ClockEntry(
            dossier_code=code,
            sequence=sequence,
            event_id=str(envelope.id),
            event_type=envelope.type,
            at=facts.at,
            facts=facts.model_dump(mode="json"),
            recorded_at=datetime.now(UTC),
        )
    )
    await session.flush()
    clock = await refresh(session, code, due_soon_minutes=due_soon_minutes)
    if outbox is not None and clock is not None:
        await _correct_intake(session, outbox, clock, facts, sequence)
    return True


async def rate(session: AsyncSession, envelope: EventEnvelope) -> None:
    """The citizen's rating onto the dossier's clock (a returned dossier has one)."""
    if envelope.subject is None:
        raise MalformedEvent("a rating needs its dossier's code (subject)")
    rated = Rated.model_validate(envelope.payload)
    clock = await session.get(DossierClock, envelope.subject)
    if clock is None:
        raise MalformedEvent("a rating of a dossier that was never received")
    clock.rating = rated.score


async def _correct_intake(
    session: AsyncSession, outbox: Outbox, clock: DossierClock, facts: ClockFacts, sequence: int
) -> None:
    disagrees = facts.due_at is not None and clock.due_at != facts.due_at
    current = clock.last_sequence == sequence  # a later event will be checked itself
    if not (disagrees and current and clock.status is ClockStatus.OPEN and not clock.paused):
        return
    resolved = await calendars.resolve(session, clock.agency_code)
    outbox.add(
        session,
        DossierEvent.DUE_CHANGED,
        DueChanged(
            agency_code=clock.agency_code,
            old_due_at=facts.due_at,
            new_due_at=clock.due_at,
            new_due_soon_at=clock.due_soon_at,
            sequence=sequence,
            reason=f"Hạn tính lại theo lịch {resolved.calendar.code} "
            f"phiên bản {resolved.calendar.version} đang áp dụng.",
            calendar_code=resolved.calendar.code,
            calendar_version=resolved.calendar.version,
        ).model_dump(mode="json"),
        subject=clock.dossier_code,
    )


async def entries_of(session: AsyncSession, code: str) -> list[ledger_replay.Entry]:
    rows = (await session.scalars(select(ClockEntry).where(ClockEntry.dossier_code == code))).all()
    return [
        ledger_replay.Entry(
            row.sequence, DossierEvent(row.event_type), ClockFacts.model_validate(row.facts)
        )
        for row in rows
    ]


async def engine_for(session: AsyncSession, agency_code: str) -> WorkingTime:
    resolved = await calendars.resolve(session, agency_code)
    return await calendars.engines().get(session, resolved)


async def refresh(
    session: AsyncSession, code: str, *, due_soon_minutes: int
) -> DossierClock | None:
    """Replay the dossier's ledger and store its clock (none before receipt)."""
    state = ledger_replay.replay(await entries_of(session, code))
    clock = await session.get(DossierClock, code)
    received = state.received
    if received is None:
        if clock is not None:
            await session.delete(clock)
        return None
    engine = await engine_for(session, received.agency_code)
    computed = ledger_replay.compute(
        state, engine, now=datetime.now(UTC), due_soon_minutes=due_soon_minutes
    )
    if clock is None:
        clock = DossierClock(dossier_code=code)
        session.add(clock)
    clock.agency_code = received.agency_code
    clock.procedure_code = received.procedure_code
    clock.field_code = received.field_code
    clock.channel = received.channel
    clock.received_at = received.at
    clock.time_unit = received.time_limit.unit if received.time_limit else None
    clock.budget_minutes = computed.budget_minutes
    clock.status = ClockStatus.FINISHED if state.finished_at else ClockStatus.OPEN
    clock.paused = computed.paused
    clock.due_at = computed.due_at
    clock.due_soon_at = computed.due_soon_at
    clock.breached_at = computed.breached_at
    clock.appointment_at = computed.appointment_at
    clock.supplement_requests = state.supplement_requests
    clock.reappointed = state.reappointed_due_at is not None
    clock.finished_at = state.finished_at
    clock.outcome = state.outcome
    clock.timeliness = computed.timeliness
    clock.used_minutes = computed.used_minutes
    clock.reused_documents = received.reused_documents
    clock.documents = received.documents
    clock.paper_documents = received.paper_documents
    clock.applicant_verified = received.applicant_verified
    clock.paid_online = state.paid_online
    clock.electronic_result = state.electronic_result
    clock.last_sequence = state.last_sequence
    await session.flush()
    return clock


# -- the scanner -------------------------------------------------------------------------


def _not_alerted(kind: str) -> ColumnElement[bool]:
    """No alert of ``kind`` yet for the clock's current due date."""
    return ~exists().where(
        ClockAlert.dossier_code == DossierClock.dossier_code,
        ClockAlert.kind == kind,
        ClockAlert.due_at == func.coalesce(DossierClock.due_at, DossierClock.breached_at),
    )


async def scan(
    session: AsyncSession, outbox: Outbox, *, now: datetime, limit: int = 1000
) -> dict[str, int]:
    """Alert once per dossier, threshold and due date: due soon, then overdue."""
    open_running = and_(DossierClock.status == ClockStatus.OPEN, DossierClock.due_at.is_not(None))
    due_soon = (
        await session.scalars(
            select(DossierClock)
            .where(
                open_running,
                DossierClock.due_soon_at <= now,
                DossierClock.due_at >= now,
                _not_alerted(DossierEvent.DUE_SOON),
            )
            .limit(limit)
        )
    ).all()
    overdue = (
        await session.scalars(
            select(DossierClock)
            .where(
                DossierClock.status == ClockStatus.OPEN,
                or_(DossierClock.breached_at.is_not(None), DossierClock.due_at < now),
                _not_alerted(DossierEvent.OVERDUE),
            )
            .limit(limit)
        )
    ).all()
    for kind, found in ((DossierEvent.DUE_SOON, due_soon), (DossierEvent.OVERDUE, overdue)):
        for clock in found:
            due = clock.due_at or clock.breached_at
            assert due is not None
            session.add(
                ClockAlert(dossier_code=clock.dossier_code, kind=kind, due_at=due, sent_at=now)
            )
            outbox.add(
                session,
                kind,
                {"agency_code": clock.agency_code, "due_at": due.isoformat()},
                subject=clock.dossier_code,
            )
    return {"due_soon": len(due_soon), "overdue": len(overdue)}


# -- recomputation after a calendar change ----------------------------------------------


async def affected_agencies(session: AsyncSession, calendar_code: str) -> list[str]:
    """The agencies whose calendar is, or inherits from, ``calendar_code``."""
    affected = []
    for agency in await repository.all_agencies(session):
        resolved = await calendars.resolve(session, agency.code)
        if calendar_code in {calendar.code for calendar in resolved.chain}:
            affected.append(agency.code)
    return affected


async def recompute(
    session: AsyncSession,
    outbox: Outbox,
    *,
    calendar_code: str,
    version: int,
    reason: str,
    due_soon_minutes: int,
) -> list[Recomputation]:
    """Recompute every open clock the calendar governs; report and announce each move."""
    agencies = await affected_agencies(session, calendar_code)
    moved: list[Recomputation] = []
    codes: Sequence[str] = (
        await session.scalars(
            select(DossierClock.dossier_code).where(
                DossierClock.status == ClockStatus.OPEN, DossierClock.agency_code.in_(agencies)
            )
        )
    ).all()
    now = datetime.now(UTC)
    for code in codes:
        clock = await session.get(DossierClock, code)
        assert clock is not None
        old_due = clock.due_at
        refreshed = await refresh(session, code, due_soon_minutes=due_soon_minutes)
        assert refreshed is not None
        if refreshed.due_at == old_due:
            continue
        report = Recomputation(
            calendar_code=calendar_code,
            calendar_version=version,
            dossier_code=code,
            agency_code=refreshed.agency_code,
            old_due_at=old_due,
            new_due_at=refreshed.due_at,
            reason=reason,
            recomputed_at=now,
        )
        session.add(report)
        moved.append(report)
        outbox.add(
            session,
            DossierEvent.DUE_CHANGED,
            DueChanged(
                agency_code=refreshed.agency_code,
                old_due_at=old_due,
                new_due_at=refreshed.due_at,
                new_due_soon_at=refreshed.due_soon_at,
                sequence=refreshed.last_sequence,
                reason=reason,
                calendar_code=calendar_code,
                calendar_version=version,
            ).model_dump(mode="json"),
            subject=code,
        )
    return moved
