"""A dossier's clock with pauses, and the timeliness classes at their boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.worktime import CalendarSpec, WorkingTime
from shared.worktime.clock import (
    Pause,
    ResumePolicy,
    Timeliness,
    classify_finished,
    classify_open,
    run,
)

ICT = timezone(timedelta(hours=7))
TIME = WorkingTime(CalendarSpec(code="plain", first=date(2026, 1, 1), last=date(2026, 12, 31)))
THREE_DAYS = 3 * 480


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ICT)


START = at(16, 9)  # Monday; due Thursday 19, 09:00 without pauses


class TestPauses:
    def test_without_pauses_the_due_date_is_the_engines(self) -> None:
        state = run(TIME, start=START, minutes=THREE_DAYS, at=at(17, 9))
        assert state.due_at == at(19, 9)
        assert state.used_minutes == 480
        assert not state.paused

    def test_while_paused_there_is_no_due_date_and_the_time_stands_still(self) -> None:
        pauses = [Pause(at(17, 9), None, "bổ sung")]
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(25, 9))
        assert state.paused
        assert state.due_at is None
        assert state.used_minutes == 480  # Monday 09:00 to Tuesday 09:00

    def test_pause_policy_resumes_with_the_time_left(self) -> None:
        # 480 used before the pause; 960 left from Monday 23, 09:00: Wednesday 25, 09:00.
        pauses = [Pause(at(17, 9), at(23, 9))]
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(24, 9))
        assert state.due_at == at(25, 9)

    def test_restart_policy_counts_the_whole_time_again(self) -> None:
        pauses = [Pause(at(17, 9), at(23, 9))]
        state = run(
            TIME,
            start=START,
            minutes=THREE_DAYS,
            pauses=pauses,
            policy=ResumePolicy.RESTART,
            at=at(24, 9),
        )
        assert state.due_at == at(26, 9)

    def test_two_pauses_add_up(self) -> None:
        pauses = [Pause(at(17, 9), at(18, 9)), Pause(at(18, 13), at(19, 13))]
        # Used: Mon 9 → Tue 9 (480) + Wed 9 → 13 (150): 630; 810 left from Thu 13:00.
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(19, 14))
        assert state.used_minutes == 630 + 60
        assert state.due_at == at(23, 9)  # Thu 240, Fri 480, Mon 07:30 + 90

    def test_a_pause_after_the_time_ran_out_keeps_the_dossier_late(self) -> None:
        pauses = [Pause(at(19, 10), at(20, 9))]  # due Thursday 09:00, paused at 10:00
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(20, 10))
        assert state.breached_at == at(19, 9)
        assert state.due_at == at(19, 9)
        assert classify_open(TIME, state) is Timeliness.OVERDUE

    def test_pauses_not_yet_begun_are_ignored(self) -> None:
        pauses = [Pause(at(18, 9), at(19, 9))]
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(17, 9))
        assert state.due_at == at(19, 9)

    def test_pauses_out_of_order_are_refused(self) -> None:
        pauses = [Pause(at(18, 9), at(19, 9)), Pause(at(17, 9), at(17, 10))]
        with pytest.raises(ValueError, match="order"):
            run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(20, 9))


class TestOpen:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (at(16, 9), Timeliness.ON_TRACK),
            (at(18, 8, 59), Timeliness.ON_TRACK),  # 481 working minutes left
            (at(18, 9), Timeliness.DUE_SOON),  # exactly one working day left
            (at(19, 9), Timeliness.DUE_SOON),  # at the due instant: not yet late
            (at(19, 9, 1), Timeliness.OVERDUE),
        ],
    )
    def test_boundaries(self, now: datetime, expected: Timeliness) -> None:
        state = run(TIME, start=START, minutes=THREE_DAYS, at=now)
        assert classify_open(TIME, state) is expected

    def test_a_paused_dossier_is_paused_even_near_its_due_date(self) -> None:
        pauses = [Pause(at(19, 8), None)]
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(27, 9))
        assert classify_open(TIME, state) is Timeliness.PAUSED


class TestFinished:
    @pytest.mark.parametrize(
        ("finished", "expected"),
        [
            (at(18, 16), Timeliness.EARLY),  # the day before the due date
            (at(19, 7, 30), Timeliness.ON_TIME),  # the due date's own day, before it
            (at(19, 9), Timeliness.ON_TIME),  # at the due instant
            (at(19, 9, 0) + timedelta(seconds=1), Timeliness.LATE),
        ],
    )
    def test_boundaries(self, finished: datetime, expected: Timeliness) -> None:
        state = run(TIME, start=START, minutes=THREE_DAYS, at=finished)
        assert classify_finished(TIME, state) is expected

    def test_finished_while_waiting_is_measured_by_the_time_left(self) -> None:
        pauses = [Pause(at(17, 9), None)]  # 960 minutes left when it stopped
        state = run(TIME, start=START, minutes=THREE_DAYS, pauses=pauses, at=at(30, 9))
        assert classify_finished(TIME, state) is Timeliness.EARLY
