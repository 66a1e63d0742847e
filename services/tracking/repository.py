"""Every query of the tracking service."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.models import (
    Agency,
    Calendar,
    CalendarChange,
    CalendarDay,
    ClockStatus,
    DossierClock,
    Recomputation,
)
from shared.contracts.dossiers import DISSATISFIED_AT_MOST


async def get_calendar(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> Calendar | None:
    return await session.get(Calendar, code, with_for_update=for_update)


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def days_of(session: AsyncSession, codes: Sequence[str]) -> Sequence[CalendarDay]:
    return (
        await session.scalars(
            select(CalendarDay)
            .where(CalendarDay.calendar_code.in_(codes))
            .order_by(CalendarDay.day)
        )
    ).all()


async def changes_of(session: AsyncSession, code: str) -> Sequence[CalendarChange]:
    return (
        await session.scalars(
            select(CalendarChange)
            .where(CalendarChange.calendar_code == code)
            .order_by(CalendarChange.version)
        )
    ).all()


async def layers_over(session: AsyncSession, code: str) -> Sequence[Calendar]:
    return (await session.scalars(select(Calendar).where(Calendar.parent_code == code))).all()


async def all_agencies(session: AsyncSession) -> Sequence[Agency]:
    return (await session.scalars(select(Agency).order_by(Agency.code))).all()


async def recomputations(
    session: AsyncSession, calendar_code: str, version: int
) -> Sequence[Recomputation]:
    return (
        await session.scalars(
            select(Recomputation)
            .where(
                Recomputation.calendar_code == calendar_code,
                Recomputation.calendar_version == version,
            )
            .order_by(Recomputation.dossier_code)
        )
    ).all()


# -- statistics --------------------------------------------------------------------------
# One pass over the clocks per question, counting with FILTER (PostgreSQL, SQLite ≥ 3.30).


def _open_classes(now: datetime) -> dict[str, ColumnElement[bool]]:
    """How each open dossier stands at ``now`` (shared.worktime.clock.classify_open)."""
    is_open = DossierClock.status == ClockStatus.OPEN
    breached = DossierClock.breached_at.is_not(None)
    running = and_(is_open, ~breached, DossierClock.paused.is_(False))
    return {
        "overdue": and_(
            is_open, or_(breached, and_(DossierClock.paused.is_(False), DossierClock.due_at < now))
        ),
        "paused": and_(is_open, ~breached, DossierClock.paused.is_(True)),
        "due_soon": and_(running, DossierClock.due_at >= now, DossierClock.due_soon_at <= now),
        "on_track": and_(running, DossierClock.due_soon_at > now),
        "no_deadline": and_(running, DossierClock.due_at.is_(None)),
    }


async def open_counts(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Every open dossier by how it stands at ``now`` (the classes of ``_open_classes``)."""
    classes = _open_classes(now)
    row = (await session.execute(select(*(func.count().filter(c) for c in classes.values())))).one()
    return dict(zip(classes, (int(n) for n in row), strict=True))


GROUPS = {
    "agency": DossierClock.agency_code,
    "procedure": DossierClock.procedure_code,
    "field": DossierClock.field_code,
}


def _scope(
    agencies: Sequence[str] | None, procedure: str | None, field: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if agencies is not None:
        where.append(DossierClock.agency_code.in_(agencies))
    if procedure is not None:
        where.append(DossierClock.procedure_code == procedure)
    if field is not None:
        where.append(DossierClock.field_code == field)
    return where


async def timeliness_counts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    group_by: str | None,
    agencies: Sequence[str] | None,
    procedure: str | None,
    field: str | None,
) -> list[dict[str, Any]]:
    """Per group: received in [start, end); finished in it by timeliness; open now by class."""
    received = (DossierClock.received_at >= start) & (DossierClock.received_at < end)
    finished = (
        (DossierClock.status == ClockStatus.FINISHED)
        & (DossierClock.finished_at >= start)
        & (DossierClock.finished_at < end)
        & DossierClock.timeliness.is_not(None)
    )
    counts: dict[str, ColumnElement[Any]] = {
        "received": func.count().filter(received),
        "finished": func.count().filter(finished),
    }
    for timeliness in ("early", "on_time", "late"):
        counts[timeliness] = func.count().filter(finished & (DossierClock.timeliness == timeliness))
    for name, condition in _open_classes(now).items():
        # Open now, among the dossiers received by the end of the period.
        counts[name] = func.count().filter(condition & (DossierClock.received_at < end))
    columns = [value.label(name) for name, value in counts.items()]
    statement = select(*columns).where(*_scope(agencies, procedure, field))
    if group_by is not None:
        key = GROUPS[group_by].label("key")
        statement = select(key, *columns).where(*_scope(agencies, procedure, field))
        statement = statement.group_by(key).order_by(key)
    rows = (await session.execute(statement)).mappings().all()
    return [dict(row) for row in rows]


async def monthly_timeliness(
    session: AsyncSession, *, months: Sequence[tuple[datetime, datetime]], group_by: str
) -> list[dict[str, Any]]:
    """Per group: the dossiers finished in each month ([start, end) of ``months``), by
    timeliness, as ``<timeliness>_<month index>`` in one pass over the clocks."""
    finished = (DossierClock.status == ClockStatus.FINISHED) & DossierClock.timeliness.is_not(None)
    columns: list[ColumnElement[Any]] = []
    for index, (start, end) in enumerate(months):
        in_month = finished & (DossierClock.finished_at >= start) & (DossierClock.finished_at < end)
        for timeliness in ("early", "on_time", "late"):
            condition = in_month & (DossierClock.timeliness == timeliness)
            columns.append(func.count().filter(condition).label(f"{timeliness}_{index}"))
    key = GROUPS[group_by].label("key")
    window = (DossierClock.finished_at >= months[0][0]) & (DossierClock.finished_at < months[-1][1])
    statement = select(key, *columns).where(finished & window).group_by(key).order_by(key)
    rows = (await session.execute(statement)).mappings().all()
    return [dict(row) for row in rows]


async def resolution_times(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    agencies: Sequence[str] | None,
    procedure: str | None,
    field: str | None,
) -> list[dict[str, Any]]:
    """Average working time to finish, per procedure and unit, over dossiers resolved in
    the period (refused and stopped ones are not resolutions)."""
    statement = (
        select(
            DossierClock.procedure_code.label("procedure_code"),
            DossierClock.time_unit.label("unit"),
            func.count().label("count"),
            func.avg(DossierClock.used_minutes).label("average_minutes"),
        )
        .where(
            *_scope(agencies, procedure, field),
            DossierClock.outcome.in_(("resolved", "returned")),
            DossierClock.finished_at >= start,
            DossierClock.finished_at < end,
            DossierClock.used_minutes.is_not(None),
        )
        .group_by(DossierClock.procedure_code, DossierClock.time_unit)
        .order_by(DossierClock.procedure_code)
    )
    return [dict(row) for row in (await session.execute(statement)).mappings().all()]


async def index_counts(
    session: AsyncSession, *, start: datetime, end: datetime, agencies: Sequence[str] | None
) -> dict[str, int]:
    """The counts behind the Decision 766 indicators the clocks can answer."""
    received = (DossierClock.received_at >= start) & (DossierClock.received_at < end)
    finished = (
        (DossierClock.status == ClockStatus.FINISHED)
        & (DossierClock.finished_at >= start)
        & (DossierClock.finished_at < end)
    )
    resolved = finished & DossierClock.outcome.in_(("resolved", "returned"))
    timed = finished & DossierClock.timeliness.is_not(None)
    dissatisfied = DossierClock.rating <= DISSATISFIED_AT_MOST
    counts = {
        "received": func.count().filter(received),
        "received_online": func.count().filter(received & (DossierClock.channel == "online")),
        "received_online_verified": func.count().filter(
            received & (DossierClock.channel == "online") & DossierClock.applicant_verified
        ),
        "received_reusing": func.count().filter(received & (DossierClock.reused_documents > 0)),
        # 4.2: results given with every component electronic (online or digitised).
        "resolved_digitised": func.count().filter(
            resolved
            & DossierClock.electronic_result.is_(True)
            & (DossierClock.paper_documents == 0)
        ),
        "finished_timed": func.count().filter(timed),
        "finished_in_time": func.count().filter(
            timed & DossierClock.timeliness.in_(("early", "on_time"))
        ),
        "finished_late": func.count().filter(timed & (DossierClock.timeliness == "late")),
        # 5.c: the finished dossiers rated, those whose citizen was dissatisfied, and
        # those late or dissatisfied (each dossier counted once).
        "finished_rated": func.count().filter(timed & DossierClock.rating.is_not(None)),
        "finished_dissatisfied": func.count().filter(timed & dissatisfied),
        "finished_late_or_dissatisfied": func.count().filter(
            timed & ((DossierClock.timeliness == "late") | dissatisfied)
        ),
        "resolved": func.count().filter(resolved),
        "resolved_electronic": func.count().filter(
            resolved & DossierClock.electronic_result.is_(True)
        ),
        "paid": func.count().filter(received & DossierClock.paid_online.is_not(None)),
        "paid_online": func.count().filter(received & DossierClock.paid_online.is_(True)),
    }
    statement = select(*(value.label(name) for name, value in counts.items())).where(
        *_scope(agencies, None, None)
    )
    row = (await session.execute(statement)).mappings().one()
    return {name: int(value or 0) for name, value in row.items()}
