"""What a working calendar says: sessions per weekday, days off, make-up working days.

Pure data, no I/O. The tracking service builds these from the national data and each
agency's additions; the engine (``shared.worktime.engine``) computes with them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

VIETNAM = "Asia/Ho_Chi_Minh"


class DayOffKind(StrEnum):
    HOLIDAY = "holiday"  # ngày lễ, Tết (BLLĐ 2019 Điều 112)
    COMPENSATORY = "compensatory"  # nghỉ bù: a holiday fell on a weekend
    SWAPPED = "swapped"  # nghỉ hoán đổi: swapped for a make-up Saturday
    WEEKEND = "weekend"  # a Saturday or Sunday inside an official break
    AGENCY = "agency"  # an agency's own day off (a local festival, a move)


@dataclass(frozen=True, slots=True)
class Session:
    """A working session of a day, in local time: [start, end)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise CalendarError(f"a session must end after it starts: {self}")

    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


# Monday–Friday 07:30–11:30 and 13:00–17:00: 8 hours (DESIGN §5).
STANDARD_SESSIONS = (Session(time(7, 30), time(11, 30)), Session(time(13, 0), time(17, 0)))
STANDARD_WEEK: Mapping[int, tuple[Session, ...]] = dict.fromkeys(range(5), STANDARD_SESSIONS)


@dataclass(frozen=True, slots=True)
class DayOff:
    day: date
    name: str
    kind: DayOffKind
    source: str  # the decision (or data set) the day rests on


@dataclass(frozen=True, slots=True)
class MakeUpDay:
    """A day off of the week (a Saturday) that is worked, with the standard sessions."""

    day: date
    note: str
    source: str


class CalendarError(ValueError):
    """The calendar's own data is inconsistent."""


@dataclass(frozen=True)
class CalendarSpec:
    """A working calendar over ``[first, last]``; outside that range it says nothing."""

    code: str
    first: date
    last: date
    timezone: str = VIETNAM
    week: Mapping[int, tuple[Session, ...]] = field(default_factory=lambda: dict(STANDARD_WEEK))
    days_off: Mapping[date, DayOff] = field(default_factory=dict)
    make_up_days: Mapping[date, MakeUpDay] = field(default_factory=dict)
    # The sessions of a make-up day: the standard weekday ones (DESIGN §5).
    make_up_sessions: tuple[Session, ...] = STANDARD_SESSIONS

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        if self.first > self.last:
            raise CalendarError("the calendar's range is empty")
        for weekday, sessions in self.week.items():
            if weekday not in range(7):
                raise CalendarError(f"weekday {weekday} is not 0 (Monday) to 6 (Sunday)")
            _check_ordered(sessions)
        _check_ordered(self.make_up_sessions)
        both = set(self.days_off) & set(self.make_up_days)
        if both:
            raise CalendarError(f"days both off and worked: {sorted(both)}")

    def sessions_on(self, day: date) -> tuple[Session, ...]:
        if day in self.days_off:
            return ()
        if day in self.make_up_days:
            return self.make_up_sessions
        return self.week.get(day.weekday(), ())

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def working_days_in(self, year: int) -> int:
        """How many days of ``year`` (within the range) have working time."""
        return sum(1 for day in self.days() if day.year == year and self.sessions_on(day))


class DayFact(Protocol):
    """A day a calendar says something about (a row of tracking's, or its JSON)."""

    @property
    def day(self) -> date: ...
    @property
    def working(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> DayOffKind | None: ...
    @property
    def source(self) -> str: ...


def assemble(
    *,
    code: str,
    first: date,
    last: date,
    timezone: str,
    week: Mapping[int, tuple[Session, ...]],
    days: Iterable[DayFact],
) -> CalendarSpec:
    """A spec from a week and the days in force: off days need a kind, worked ones are
    make-up days with the standard weekday (Monday's) sessions."""
    days = list(days)
    return CalendarSpec(
        code=code,
        first=first,
        last=last,
        timezone=timezone,
        week=week,
        days_off={
            d.day: DayOff(d.day, d.name, d.kind, d.source)
            for d in days
            if not d.working and d.kind is not None
        },
        make_up_days={d.day: MakeUpDay(d.day, d.name, d.source) for d in days if d.working},
        make_up_sessions=week.get(0) or STANDARD_SESSIONS,
    )


def _check_ordered(sessions: tuple[Session, ...]) -> None:
    for before, after in itertools.pairwise(sessions):
        if not before.end <= after.start:
            raise CalendarError(f"sessions overlap or are out of order: {before}, {after}")
