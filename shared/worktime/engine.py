"""Working-time arithmetic over a calendar, in O(log n) per question.

The calendar is unrolled once into its working intervals (about 500 a year) with the
working time before each; a position in working time and back is then a binary search.
Instants are integer microseconds since the epoch, so sums are exact and a due date is
reproducible to the microsecond.

``due_at(start, minutes)`` is the *earliest* instant at which ``minutes`` of working
time have elapsed since ``start`` (DESIGN §5): Monday 09:00 + 3 working days is Thursday
09:00; a duration that ends exactly at a session's end is due at that end, not at the
next session's start.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.worktime.calendar import CalendarSpec, MakeUpDay

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_MINUTE = 60_000_000
MINUTES_PER_WORKING_DAY = 480  # DESIGN §5: N working days are N × 480 working minutes
WEEKEND_NAMES = {5: "Thứ Bảy", 6: "Chủ nhật"}


class OutsideCalendar(ValueError):
    """The question reaches a date the calendar does not cover."""


class NaiveInstant(ValueError):
    """An instant without a UTC offset: ambiguous, so refused."""


@dataclass(frozen=True, slots=True)
class SkippedDay:
    """A day without working time the clock passed over, and why."""

    day: date
    reason: str
    kind: str  # a DayOffKind, or "weekly" for an ordinary weekend
    source: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    start: datetime
    effective_start: datetime
    due_at: datetime
    working_minutes: float
    skipped_days: tuple[SkippedDay, ...]
    make_up_days: tuple[MakeUpDay, ...]  # worked Saturdays the clock counted


ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(instant: datetime) -> int:
    try:
        return (instant - EPOCH) // ONE_MICROSECOND
    except TypeError:  # an aware minus a naive datetime
        raise NaiveInstant("an instant needs a UTC offset") from None


class WorkingTime:
    """Answers working-time questions for one calendar."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._before: list[int] = []  # working time before each interval
        self._through: list[int] = []  # working time up to each interval's end
        self._day_of: list[date] = []
        self._skipped: list[SkippedDay] = []
        self._make_up: list[MakeUpDay] = []
        total = 0
        for day in spec.days():
            sessions = spec.sessions_on(day)
            if not sessions:
                self._skipped.append(self._why_off(day))
            elif day in spec.make_up_days:
                self._make_up.append(spec.make_up_days[day])
            for session in sessions:
                start = self._local(day, session.start)
                end = self._local(day, session.end)
                self._starts.append(start)
                self._ends.append(end)
                self._before.append(total)
                total += end - start
                self._through.append(total)
                self._day_of.append(day)
        self._skipped_days = [skipped.day for skipped in self._skipped]
        self._make_up_days = [made.day for made in self._make_up]
        self.first_instant = self._local(spec.first, time(0))
        self.last_instant = self._local(spec.last + timedelta(days=1), time(0))
        # Vietnam has kept +07:00 since 1975: answers can then be made with that fixed
        # offset, several times faster than a zone lookup; a zone with DST keeps the lookup.
        offsets = {
            datetime.combine(day, time(12), tzinfo=self.zone).utcoffset() for day in spec.days()
        }
        self._local_epoch: datetime | None = None
        if len(offsets) == 1:
            [offset] = offsets
            assert offset is not None
            self._local_epoch = EPOCH.astimezone(timezone(offset))

    def _local(self, day: date, at: time) -> int:
        return to_micros(datetime.combine(day, at, tzinfo=self.zone))

    def _instant(self, micros: int) -> datetime:
        if self._local_epoch is not None:  # one offset all along: no zone lookup needed
            return self._local_epoch + ONE_MICROSECOND * micros
        return (EPOCH + ONE_MICROSECOND * micros).astimezone(self.zone)

    def _why_off(self, day: date) -> SkippedDay:
        off = self.spec.days_off.get(day)
        if off is not None:
            return SkippedDay(day, off.name, off.kind, off.source)
        if day.weekday() in WEEKEND_NAMES:
            return SkippedDay(day, WEEKEND_NAMES[day.weekday()], "weekly", None)
        return SkippedDay(day, "Không có buổi làm việc", "weekly", None)

    def _check(self, micros: int) -> None:
        if not self.first_instant <= micros < self.last_instant:
            raise OutsideCalendar(
                f"Lịch {self.spec.code} chỉ có dữ liệu từ {self.spec.first:%d/%m/%Y} "
                f"đến {self.spec.last:%d/%m/%Y}."
            )

    def _position(self, micros: int) -> int:
        """Working time from the calendar's first instant to ``micros``."""
        index = bisect_right(self._starts, micros) - 1
        if index < 0:
            return 0
        return self._before[index] + min(micros, self._ends[index]) - self._starts[index]

    def _instant_at(self, position: int) -> int:
        """The earliest instant at which ``position`` of working time has elapsed."""
        if position == 0:
            return self._starts[0] if self._starts else self.first_instant
        index = bisect_left(self._through, position)
        if index == len(self._through):
            raise OutsideCalendar(
                f"Thời hạn vượt quá dữ liệu của lịch {self.spec.code} "
                f"(đến {self.spec.last:%d/%m/%Y})."
            )
        return self._starts[index] + position - self._before[index]

    # -- questions --------------------------------------------------------------------

    def effective_start(self, start: datetime) -> datetime:
        """When the clock starts ticking: ``start`` in a session, else the next session."""
        micros = to_micros(start)
        self._check(micros)
        index = bisect_right(self._ends, micros)
        if index == len(self._starts):
            raise OutsideCalendar(f"Không còn ngày làm việc nào trong lịch {self.spec.code}.")
        return self._instant(max(micros, self._starts[index]))

    def due_at(self, start: datetime, minutes: float) -> datetime:
        # The hot path of every due date: to_micros, _position, _instant_at and _instant
        # are written out here (each call saved is a tenth of the time on this path).
        if minutes < 0:
            raise ValueError("a duration cannot be negative")
        try:
            micros = (start - EPOCH) // ONE_MICROSECOND
        except TypeError:
            raise NaiveInstant("an instant needs a UTC offset") from None
        if not self.first_instant <= micros < self.last_instant:
            self._check(micros)
        if minutes == 0:
            return self._instant(micros)
        starts = self._starts
        index = bisect_right(starts, micros) - 1
        position = (
            self._before[index] + min(micros, self._ends[index]) - starts[index]
            if index >= 0
            else 0
        )
        target = position + round(minutes * MICROS_PER_MINUTE)
        found = bisect_left(self._through, target)
        if found == len(starts):
            self._instant_at(target)  # raises OutsideCalendar with the reason
        due = starts[found] + target - self._before[found]
        if self._local_epoch is not None:
            return self._local_epoch + ONE_MICROSECOND * due
        return self._instant(due)

    def working_minutes(self, start: datetime, end: datetime) -> float:
        """Working time between two instants (negative if ``end`` comes first)."""
        a, b = to_micros(start), to_micros(end)
        self._check(a)
        self._check(b)
        return (self._position(b) - self._position(a)) / MICROS_PER_MINUTE

    def same_day_due(self, start: datetime, cutoff: time | None) -> datetime:
        """Same-day procedures: the end of the working day the clock starts on, or of the
        next working day when it starts at or after the cut-off hour.

        A dossier received outside working time starts the next session (before any
        cut-off), so it is due the end of that day.
        """
        effective = self.effective_start(start)
        index = bisect_right(self._ends, to_micros(effective))
        day = self._day_of[index]
        if cutoff is not None and effective.time() >= cutoff:
            index = bisect_right(self._day_of, day, lo=index)  # the next working day
            if index == len(self._day_of):
                raise OutsideCalendar(f"Không còn ngày làm việc nào trong lịch {self.spec.code}.")
            day = self._day_of[index]
        last = bisect_right(self._day_of, day, lo=index) - 1
        return self._instant(self._ends[last])

    def before(self, instant: datetime, minutes: float) -> datetime:
        """The earliest instant with ``minutes`` of working time left until ``instant``
        (e.g. when a dossier becomes due soon); the calendar's first session at most."""
        micros = to_micros(instant)
        self._check(micros)
        target = self._position(micros) - round(minutes * MICROS_PER_MINUTE)
        if target <= 0:
            return self._instant(self._starts[0])
        return self._instant(self._instant_at(target))

    def end_of_working_day(self, day: date) -> datetime:
        """The end of the last session of ``day``, or of the next working day after it
        (a period whose last day is a day off ends with the next working day)."""
        index = bisect_left(self._day_of, day)
        if index == len(self._day_of):
            raise OutsideCalendar(f"Không còn ngày làm việc nào trong lịch {self.spec.code}.")
        last = bisect_right(self._day_of, self._day_of[index], lo=index) - 1
        return self._instant(self._ends[last])

    def is_working_day(self, day: date) -> bool:
        return bool(self.spec.sessions_on(day))

    def skipped_between(self, first: date, last: date) -> tuple[SkippedDay, ...]:
        low = bisect_left(self._skipped_days, first)
        high = bisect_right(self._skipped_days, last)
        return tuple(self._skipped[low:high])

    def make_up_between(self, first: date, last: date) -> tuple[MakeUpDay, ...]:
        low = bisect_left(self._make_up_days, first)
        high = bisect_right(self._make_up_days, last)
        return tuple(self._make_up[low:high])

    def explain(self, start: datetime, minutes: float) -> Explanation:
        effective = self.effective_start(start)
        due = self.due_at(start, minutes)
        first = start.astimezone(self.zone).date()
        last = due.date()
        return Explanation(
            start=start,
            effective_start=effective,
            due_at=due,
            working_minutes=minutes,
            skipped_days=self.skipped_between(first, last),
            make_up_days=self.make_up_between(first, last),
        )
