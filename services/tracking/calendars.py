"""Working calendars: which one an agency follows, deadlines over it, and edits to it.

The national calendar is the root. An agency follows the calendar its record names
(``national`` unless told); the first edit of an agency's calendar gives it a layer of
its own over that one, holding only the agency's additions. Every edit is one version
with who made it, when, and the decision it rests on.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking import repository
from services.tracking.models import Calendar, CalendarChange, CalendarDay, DayStatus
from services.tracking.schemas import (
    CalendarEdit,
    CalendarOut,
    ChangeOut,
    ChangeReport,
    DayEdit,
    DayOut,
    DeadlineOut,
    ExplanationOut,
    MakeUpDayOut,
    RecomputationOut,
    SessionModel,
    SkippedDayOut,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import Outbox
from shared.worktime import (
    MINUTES_PER_WORKING_DAY,
    STANDARD_SESSIONS,
    CalendarError,
    CalendarSpec,
    OutsideCalendar,
    Session,
    WorkingTime,
    assemble,
)

CALENDAR_CHANGED = "calendar.changed"
# Ancestors a calendar may have: national <- a shared calendar <- an agency's layer.
MAX_DEPTH = 5
OUTSIDE_TITLE = "Ngoài phạm vi lịch làm việc"


@dataclass(frozen=True)
class Resolved:
    """A calendar with its ancestors (itself first), and the agency it was asked for."""

    chain: tuple[Calendar, ...]
    agency_code: str | None

    @property
    def calendar(self) -> Calendar:
        return self.chain[0]

    @property
    def root(self) -> Calendar:
        return self.chain[-1]

    @property
    def versions(self) -> tuple[tuple[str, int], ...]:
        return tuple((calendar.code, calendar.version) for calendar in self.chain)


async def resolve(session: AsyncSession, key: str) -> Resolved:
    """``key`` is an agency code (its layer, or the calendar it follows) or a calendar code."""
    agency = await repository.get_agency(session, key)
    if agency is not None:
        calendar = await repository.get_calendar(session, agency.code)
        calendar = calendar or await repository.get_calendar(session, agency.calendar_code)
        if calendar is None:
            raise NotFound(f"Lịch {agency.calendar_code} của cơ quan {key} không tồn tại.")
    else:
        calendar = await repository.get_calendar(session, key)
        if calendar is None:
            raise NotFound(f"Không có cơ quan hay lịch làm việc mã {key}.")
    chain = [calendar]
    while chain[-1].parent_code is not None and len(chain) < MAX_DEPTH:
        parent = await repository.get_calendar(session, chain[-1].parent_code)
        if parent is None:
            raise NotFound(f"Lịch {chain[-1].parent_code} không tồn tại.")
        chain.append(parent)
    return Resolved(tuple(chain), agency.code if agency is not None else None)


def _sessions(raw: Sequence[Sequence[str]]) -> tuple[Session, ...]:
    return tuple(Session(time.fromisoformat(start), time.fromisoformat(end)) for start, end in raw)


def _week_of(resolved: Resolved) -> dict[int, tuple[Session, ...]]:
    for calendar in resolved.chain:
        if calendar.week is not None:
            return {int(day): _sessions(raw) for day, raw in calendar.week.items()}
    return dict.fromkeys(range(5), STANDARD_SESSIONS)


def serialise_week(week: dict[int, list[SessionModel]]) -> dict[str, list[list[str]]]:
    return {
        str(day): [[s.start.strftime("%H:%M"), s.end.strftime("%H:%M")] for s in sessions]
        for day, sessions in sorted(week.items())
    }


async def effective_days(session: AsyncSession, resolved: Resolved) -> dict[date, CalendarDay]:
    """Each day the chain says something about; a layer's own day wins over its parent's."""
    rank = {calendar.code: depth for depth, calendar in enumerate(resolved.chain)}
    days: dict[date, CalendarDay] = {}
    rows = await repository.days_of(session, list(rank))
    for row in sorted(rows, key=lambda row: -rank[row.calendar_code]):
        days[row.day] = row
    return days


def build_spec(resolved: Resolved, days: Iterable[CalendarDay]) -> CalendarSpec:
    return assemble(
        code=resolved.calendar.code,
        first=resolved.root.first_day,
        last=resolved.root.last_day,
        timezone=resolved.calendar.timezone,
        week=_week_of(resolved),
        days=[day for day in days if day.status is DayStatus.ACTIVE],
    )


class Engines:
    """Built working-time engines, by calendar chain and versions (a change is a new key)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._built: OrderedDict[tuple[object, ...], WorkingTime] = OrderedDict()

    async def get(self, session: AsyncSession, resolved: Resolved) -> WorkingTime:
        # The database is part of the key: one process may serve several (tests do).
        key = (str(session.get_bind().engine.url), *resolved.versions)
        engine = self._built.get(key)
        if engine is not None:
            self._built.move_to_end(key)
            return engine
        days = await effective_days(session, resolved)
        engine = WorkingTime(build_spec(resolved, days.values()))
        self._built[key] = engine
        if len(self._built) > self._size:
            self._built.popitem(last=False)
        return engine


# One per process: the API and the consumers share what they built.
ENGINES = Engines()
# A preview's engines, built from a version it rolls back: kept for that request alone.
_UNCOMMITTED: ContextVar[Engines | None] = ContextVar("uncommitted_engines", default=None)


def engines() -> Engines:
    """Where engines are kept: the process's, or a preview's own."""
    return _UNCOMMITTED.get() or ENGINES


@contextlib.contextmanager
def uncommitted() -> Iterator[None]:
    """Engines built meanwhile are forgotten after (``previews``): the version they were
    built from is rolled back, and the real change may make that version differently."""
    token = _UNCOMMITTED.set(Engines())
    try:
        yield
    finally:
        _UNCOMMITTED.reset(token)


# -- reading -----------------------------------------------------------------------------


async def read(session: AsyncSession, *, key: str, year: int | None) -> CalendarOut:
    resolved = await resolve(session, key)
    days = await effective_days(session, resolved)
    shown = [day for day in days.values() if year is None or day.day.year == year]
    return CalendarOut(
        code=resolved.calendar.code,
        name=resolved.calendar.name,
        agency_code=resolved.agency_code,
        parent_code=resolved.calendar.parent_code,
        timezone=resolved.calendar.timezone,
        week={
            day: [SessionModel(start=s.start, end=s.end) for s in sessions]
            for day, sessions in sorted(_week_of(resolved).items())
        },
        first_day=resolved.root.first_day,
        last_day=resolved.root.last_day,
        version=resolved.calendar.version,
        days=[DayOut.model_validate(day) for day in sorted(shown, key=lambda d: d.day)],
    )


async def history(session: AsyncSession, *, key: str) -> list[ChangeOut]:
    resolved = await resolve(session, key)
    changes: list[ChangeOut] = []
    for calendar in resolved.chain:
        rows = await repository.changes_of(session, calendar.code)
        changes.extend(ChangeOut.model_validate(row) for row in rows)
    return sorted(changes, key=lambda change: change.changed_at, reverse=True)


async def change_report(session: AsyncSession, *, key: str, version: int) -> ChangeReport:
    """The dossiers whose due date a calendar version moved (empty until recomputed)."""
    calendar = (await resolve(session, key)).calendar
    if version > calendar.version:
        raise NotFound(f"Lịch {calendar.code} không có phiên bản {version}.")
    rows = await repository.recomputations(session, calendar.code, version)
    return ChangeReport(
        calendar_code=calendar.code,
        version=version,
        moved=[RecomputationOut.model_validate(row) for row in rows],
    )


async def deadline(
    session: AsyncSession,
    engines: Engines,
    *,
    key: str,
    start: datetime,
    working_days: int | None,
    working_hours: int | None,
) -> DeadlineOut:
    resolved = await resolve(session, key)
    engine = await engines.get(session, resolved)
    if working_days is not None:
        minutes = working_days * MINUTES_PER_WORKING_DAY
    else:
        assert working_hours is not None  # the router asks for exactly one
        minutes = working_hours * 60
    try:
        explained = engine.explain(start, minutes)
    except OutsideCalendar as exc:
        raise Unprocessable(str(exc), title=OUTSIDE_TITLE) from exc
    return DeadlineOut(
        due_at=explained.due_at,
        effective_start=explained.effective_start,
        explanation=ExplanationOut(
            calendar_code=resolved.calendar.code,
            calendar_version=resolved.calendar.version,
            start=start,
            working_minutes=minutes,
            skipped_days=[
                SkippedDayOut(day=s.day, reason=s.reason, kind=s.kind, source=s.source)
                for s in explained.skipped_days
            ],
            make_up_days=[
                MakeUpDayOut(day=m.day, note=m.note, source=m.source)
                for m in explained.make_up_days
            ],
        ),
    )


# -- editing -----------------------------------------------------------------------------


def _describe(day: CalendarDay | None) -> dict[str, object] | None:
    if day is None:
        return None
    return {
        "working": day.working,
        "name": day.name,
        "kind": day.kind,
        "status": day.status,
        "calendar_code": day.calendar_code,
    }


async def _own_layer(session: AsyncSession, resolved: Resolved) -> Resolved:
    """The calendar an edit writes to: an agency's own layer, made on its first edit."""
    if resolved.agency_code is None or resolved.calendar.code == resolved.agency_code:
        return resolved
    agency = await repository.get_agency(session, resolved.agency_code)
    assert agency is not None  # resolve() found it
    base = resolved.calendar
    layer = Calendar(
        code=agency.code,
        name=f"Lịch làm việc của {agency.name}",
        parent_code=base.code,
        timezone=base.timezone,
        week=None,
        first_day=resolved.root.first_day,
        last_day=resolved.root.last_day,
        version=0,
    )
    session.add(layer)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another first edit of the same agency made the layer in the meantime.
        raise Conflict("Lịch của cơ quan vừa được thay đổi cùng lúc; hãy gửi lại.") from exc
    return Resolved((layer, *resolved.chain), agency.code)


async def _apply_day(
    session: AsyncSession,
    target: Calendar,
    edit: DayEdit,
    index: int,
    *,
    own: dict[date, CalendarDay],
    effective: dict[date, CalendarDay],
    decision: str,
) -> tuple[dict[str, object] | None, list[dict[str, str]]]:
    """Apply one day's edit; return what the day became, or the problems."""
    pointer = f"#/days/{index}"
    before = effective.get(edit.day)
    mine = own.get(edit.day)
    if edit.action == "remove":
        if mine is None:
            return None, [{"pointer": pointer, "message": "Lịch này không có mục riêng ngày đó."}]
        await session.delete(mine)
        return None, []
    if edit.action == "enable":
        if before is None or before.status is not DayStatus.PENDING:
            return None, [{"pointer": pointer, "message": "Ngày này không ở trạng thái chờ."}]
        if mine is None:
            mine = CalendarDay(
                calendar_code=target.code,
                day=edit.day,
                working=before.working,
                name=before.name,
                kind=before.kind,
                source=before.source,
            )
            session.add(mine)
        mine.status = DayStatus.ACTIVE
        mine.source = f"{mine.source} — áp dụng theo: {decision}"
        return _describe(mine), []
    assert edit.working is not None
    assert edit.name is not None
    if mine is None:
        mine = CalendarDay(calendar_code=target.code, day=edit.day)
        session.add(mine)
    mine.working = edit.working
    mine.name = edit.name
    mine.kind = edit.kind
    mine.source = decision
    mine.status = DayStatus.ACTIVE
    return _describe(mine), []


async def change(
    session: AsyncSession,
    outbox: Outbox,
    *,
    key: str,
    edit: CalendarEdit,
    by: str,
) -> ChangeOut:
    """Apply one edit as one new version; nothing is written if any part is refused."""
    resolved = await _own_layer(session, await resolve(session, key))
    target = await repository.get_calendar(session, resolved.calendar.code, for_update=True)
    assert target is not None
    first, last = resolved.root.first_day, resolved.root.last_day
    _refuse_if_any(_outside(edit, first, last))
    changes, problems = await _apply_days(session, resolved, target, edit)
    touched_years = {day_edit.day.year for day_edit in edit.days}
    if edit.week is not None:
        problems += _apply_week(target, edit.week, first, last, changes)
        touched_years = set(range(first.year, last.year + 1))
    _refuse_if_any(problems)
    await session.flush()
    await _keep_working_days(session, resolved, touched_years, edit)
    record = _record(session, outbox, target, edit, changes, by=by)
    await session.flush()
    return ChangeOut.model_validate(record)


Problems = list[dict[str, str]]


def _refuse_if_any(problems: Problems) -> None:
    if problems:
        raise Unprocessable("Thay đổi lịch không hợp lệ.", errors=problems)


def _outside(edit: CalendarEdit, first: date, last: date) -> Problems:
    """The edited days outside the calendar's years."""
    return [
        {
            "pointer": f"#/days/{index}/day",
            "message": f"Ngày nằm ngoài lịch ({first:%d/%m/%Y}–{last:%d/%m/%Y}).",
        }
        for index, day_edit in enumerate(edit.days)
        if not first <= day_edit.day <= last
    ]


async def _apply_days(
    session: AsyncSession, resolved: Resolved, target: Calendar, edit: CalendarEdit
) -> tuple[list[dict[str, object]], Problems]:
    """Each day's edit on the calendar's own layer: what changed, and what was refused."""
    effective = await effective_days(session, resolved)
    own = {day.day: day for day in effective.values() if day.calendar_code == target.code}
    changes: list[dict[str, object]] = []
    problems: Problems = []
    for index, day_edit in enumerate(edit.days):
        after, found = await _apply_day(
            session, target, day_edit, index, own=own, effective=effective, decision=edit.decision
        )
        problems.extend(found)
        changes.append(
            {
                "day": day_edit.day.isoformat(),
                "action": day_edit.action,
                "before": _describe(effective.get(day_edit.day)),
                "after": after,
            }
        )
    return changes, problems


def _apply_week(
    target: Calendar,
    week: dict[int, list[SessionModel]],
    first: date,
    last: date,
    changes: list[dict[str, object]],
) -> Problems:
    """The sessions of each weekday, replaced (refused if the engine cannot use them)."""
    problems: Problems = []
    try:
        CalendarSpec(code=target.code, first=first, last=last, week=_parse(week))
    except CalendarError as exc:
        problems.append({"pointer": "#/week", "message": f"Buổi làm việc không hợp lệ: {exc}"})
    changes.append({"week": {"before": target.week, "after": serialise_week(week)}})
    target.week = serialise_week(week)
    return problems


async def _keep_working_days(
    session: AsyncSession, resolved: Resolved, years: set[int], edit: CalendarEdit
) -> None:
    """Refuse a change that would leave one of ``years`` without a working day."""
    spec = build_spec(resolved, (await effective_days(session, resolved)).values())
    for year in sorted(years):
        if spec.working_days_in(year) == 0:
            raise Unprocessable(
                f"Sau thay đổi, năm {year} không còn ngày làm việc nào.",
                errors=[
                    {
                        "pointer": "#/days" if edit.week is None else "#/week",
                        "message": f"Năm {year} không còn ngày làm việc.",
                    }
                ],
            )


def _record(
    session: AsyncSession,
    outbox: Outbox,
    target: Calendar,
    edit: CalendarEdit,
    changes: list[dict[str, object]],
    *,
    by: str,
) -> CalendarChange:
    """The new version, its record, and its event (tracking recomputes the open clocks)."""
    target.version += 1
    record = CalendarChange(
        calendar_code=target.code,
        version=target.version,
        changed_by=by,
        changed_at=datetime.now(UTC),
        decision=edit.decision,
        changes=changes,
    )
    session.add(record)
    outbox.add(
        session,
        CALENDAR_CHANGED,
        {
            "calendar_code": target.code,
            "version": target.version,
            "days": sorted({day_edit.day.isoformat() for day_edit in edit.days}),
            "week_changed": edit.week is not None,
            "decision": edit.decision,
        },
        subject=target.code,
        sequence=target.version,
    )
    return record


def _parse(week: dict[int, list[SessionModel]]) -> dict[int, tuple[Session, ...]]:
    return {day: tuple(Session(s.start, s.end) for s in sessions) for day, sessions in week.items()}
