"""The working-time engine against a deliberately naive day-by-day walk, and by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.worktime import (
    CalendarError,
    CalendarSpec,
    DayOff,
    DayOffKind,
    MakeUpDay,
    NaiveInstant,
    OutsideCalendar,
    Session,
    WorkingTime,
)

ICT = timezone(timedelta(hours=7))
FIRST, LAST = date(2026, 1, 1), date(2026, 12, 31)
PLAIN = WorkingTime(CalendarSpec(code="plain", first=FIRST, last=LAST))


def at(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ICT)


# -- the naive walk: day by day, session by session ---------------------------------------


def naive_sessions(spec: CalendarSpec, day: date) -> tuple[Session, ...]:
    if day in spec.days_off:
        return ()
    if day in spec.make_up_days:
        return spec.make_up_sessions
    return spec.week.get(day.weekday(), ())


def naive_due(spec: CalendarSpec, start: datetime, minutes: int) -> datetime | None:
    """Walk the days from the start's own day; None when the calendar runs out."""
    zone = ZoneInfo(spec.timezone)
    if minutes == 0:
        return start
    left = timedelta(minutes=minutes)
    day = start.astimezone(zone).date()
    while day <= spec.last:
        for session in naive_sessions(spec, day):
            begin = datetime.combine(day, session.start, tzinfo=zone)
            end = datetime.combine(day, session.end, tzinfo=zone)
            begin = max(begin, start)
            if begin >= end:
                continue
            if end - begin >= left:
                return begin + left
            left -= end - begin
        day += timedelta(days=1)
    return None


def naive_session_ends(spec: CalendarSpec, start: datetime) -> list[tuple[datetime, timedelta]]:
    """Every session end after ``start``, with the working time from ``start`` to it."""
    zone = ZoneInfo(spec.timezone)
    elapsed = timedelta()
    ends = []
    day = start.astimezone(zone).date()
    while day <= spec.last:
        for session in naive_sessions(spec, day):
            begin = max(datetime.combine(day, session.start, tzinfo=zone), start)
            end = datetime.combine(day, session.end, tzinfo=zone)
            if begin < end:
                elapsed += end - begin
                ends.append((end, elapsed))
        day += timedelta(days=1)
    return ends


# -- random calendars ---------------------------------------------------------------------

# Half-hour marks most of the time, so durations often end exactly on a session's edge.
MINUTE_OF_DAY = st.one_of(
    st.integers(min_value=0, max_value=47).map(lambda n: n * 30),
    st.integers(min_value=0, max_value=24 * 60 - 1),
)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[Session, ...]:
    marks = sorted(set(draw(st.lists(MINUTE_OF_DAY, min_size=0, max_size=6))))
    pairs = list(zip(marks[::2], marks[1::2], strict=False))
    return tuple(Session(time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in pairs)


@st.composite
def calendars(draw: st.DrawFn) -> CalendarSpec:
    first = date(2026, 1, 1)
    last = first + timedelta(days=draw(st.integers(min_value=20, max_value=120)))
    week = {day: draw(sessions()) for day in range(7)}
    span = (last - first).days
    offsets = draw(st.sets(st.integers(min_value=0, max_value=span), max_size=30))
    days = [first + timedelta(days=n) for n in sorted(offsets)]
    split = draw(st.integers(min_value=0, max_value=len(days)))
    days_off = {d: DayOff(d, "Nghỉ", DayOffKind.HOLIDAY, "test") for d in days[:split]}
    make_up = {d: MakeUpDay(d, "Làm bù", "test") for d in days[split:]}
    return CalendarSpec(
        code="random",
        first=first,
        last=last,
        timezone=draw(st.sampled_from(["Asia/Ho_Chi_Minh", "UTC"])),
        week=week,
        days_off=days_off,
        make_up_days=make_up,
        make_up_sessions=draw(sessions()),
    )


@settings(max_examples=300, deadline=None)
@given(
    spec=calendars(),
    start_minute=st.one_of(
        st.integers(min_value=0, max_value=20 * 48).map(lambda n: n * 30),
        st.integers(min_value=0, max_value=20 * 24 * 60),
    ),
    seconds=st.sampled_from([0, 0, 0, 1, 59]),
    minutes=st.one_of(
        st.integers(min_value=0, max_value=30 * 16).map(lambda n: n * 30),
        st.integers(min_value=0, max_value=30 * 480),
    ),
)
def test_due_at_matches_the_naive_walk(
    spec: CalendarSpec, start_minute: int, seconds: int, minutes: int
) -> None:
    zone = ZoneInfo(spec.timezone)
    start = datetime.combine(spec.first, time(0), tzinfo=zone) + timedelta(
        minutes=start_minute, seconds=seconds
    )
    engine = WorkingTime(spec)
    expected = naive_due(spec, start, minutes)
    if expected is None:
        with pytest.raises(OutsideCalendar):
            engine.due_at(start, minutes)
        return
    due = engine.due_at(start, minutes)
    assert due == expected
    assert engine.working_minutes(start, due) == minutes


@settings(max_examples=200, deadline=None)
@given(
    spec=calendars(),
    start_minute=st.integers(min_value=0, max_value=20 * 24 * 60),
    pick=st.integers(min_value=0, max_value=10_000),
)
def test_a_duration_ending_on_a_session_end_is_due_at_that_end(
    spec: CalendarSpec, start_minute: int, pick: int
) -> None:
    start = datetime.combine(spec.first, time(0), tzinfo=ZoneInfo(spec.timezone))
    start += timedelta(minutes=start_minute)
    ends = naive_session_ends(spec, start)
    if not ends:
        return
    end, elapsed = ends[pick % len(ends)]
    assert WorkingTime(spec).due_at(start, elapsed / timedelta(minutes=1)) == end


# -- by hand ------------------------------------------------------------------------------


class TestDueAt:
    def test_three_working_days_from_monday_morning_end_thursday_morning(self) -> None:
        assert PLAIN.due_at(at(16, 11, 9), 3 * 480) == at(19, 11, 9)

    @pytest.mark.parametrize("start", [at(21, 11, 9), at(20, 11, 18)])
    def test_a_weekend_or_evening_start_gets_three_full_days(self, start: datetime) -> None:
        assert PLAIN.due_at(start, 3 * 480) == at(25, 11, 17)

    def test_the_lunch_break_counts_from_one_oclock(self) -> None:
        assert PLAIN.effective_start(at(16, 11, 12)) == at(16, 11, 13)
        assert PLAIN.due_at(at(16, 11, 12), 60) == at(16, 11, 14)

    def test_a_duration_ending_with_a_session_is_due_at_its_end(self) -> None:
        assert PLAIN.due_at(at(16, 11, 7, 30), 240) == at(16, 11, 11, 30)
        assert PLAIN.due_at(at(16, 11, 7, 30), 480) == at(16, 11, 17)

    def test_any_offset_gives_the_same_instant(self) -> None:
        utc = at(16, 11, 9).astimezone(UTC)
        assert PLAIN.due_at(utc, 480) == at(17, 11, 9)

    def test_an_instant_without_offset_is_refused(self) -> None:
        with pytest.raises(NaiveInstant):
            PLAIN.due_at(datetime(2026, 11, 16, 9), 480)

    def test_a_negative_duration_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            PLAIN.due_at(at(16, 11, 9), -1)

    def test_beyond_the_calendar_is_refused_not_guessed(self) -> None:
        with pytest.raises(OutsideCalendar):
            PLAIN.due_at(at(30, 12, 9), 5 * 480)
        with pytest.raises(OutsideCalendar):
            PLAIN.due_at(datetime(2025, 12, 31, 9, tzinfo=ICT), 480)


class TestSameDay:
    CUTOFF = time(15)

    def test_before_the_cutoff_the_result_is_due_the_same_day(self) -> None:
        assert PLAIN.same_day_due(at(16, 11, 14, 59), self.CUTOFF) == at(16, 11, 17)

    def test_from_the_cutoff_on_it_is_due_the_next_working_day(self) -> None:
        assert PLAIN.same_day_due(at(20, 11, 15), self.CUTOFF) == at(23, 11, 17)

    def test_received_outside_working_time_it_is_due_the_day_the_clock_starts(self) -> None:
        assert PLAIN.same_day_due(at(21, 11, 10), self.CUTOFF) == at(23, 11, 17)
        assert PLAIN.same_day_due(at(16, 11, 18), self.CUTOFF) == at(17, 11, 17)


class TestExplanation:
    def test_skipped_days_and_make_up_days_carry_their_reasons(self) -> None:
        spec = CalendarSpec(
            code="t",
            first=FIRST,
            last=LAST,
            days_off={
                date(2026, 8, 31): DayOff(
                    date(2026, 8, 31), "Nghỉ hoán đổi", DayOffKind.SWAPPED, "quyết định X"
                )
            },
            make_up_days={date(2026, 8, 22): MakeUpDay(date(2026, 8, 22), "Làm bù", "X")},
        )
        explained = WorkingTime(spec).explain(at(21, 8, 9), 3 * 480)
        assert explained.due_at == at(25, 8, 9)  # Sat 22 worked, Sun 23 not
        assert [(d.day.day, d.kind) for d in explained.skipped_days] == [(23, "weekly")]
        assert [d.day for d in explained.make_up_days] == [date(2026, 8, 22)]
        assert explained.effective_start == at(21, 8, 9)


class TestCalendarData:
    def test_a_day_cannot_be_both_off_and_worked(self) -> None:
        day = date(2026, 8, 22)
        with pytest.raises(CalendarError):
            CalendarSpec(
                code="t",
                first=FIRST,
                last=LAST,
                days_off={day: DayOff(day, "x", DayOffKind.AGENCY, "x")},
                make_up_days={day: MakeUpDay(day, "x", "x")},
            )

    def test_sessions_must_not_overlap(self) -> None:
        with pytest.raises(CalendarError):
            CalendarSpec(
                code="t",
                first=FIRST,
                last=LAST,
                week={0: (Session(time(8), time(12)), Session(time(11), time(17)))},
            )
