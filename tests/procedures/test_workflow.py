"""The default four-step split of a procedure's legal time."""

import pytest

from services.procedures.schemas import ProcessingTime, TimeUnit
from services.procedures.workflow import SINGLE_STEP, default_steps, guaranteed_hours


def budgets(unit: TimeUnit, value: int | None = None) -> list[float]:
    steps = default_steps(ProcessingTime(unit=unit, value=value))
    return [step.budget_hours for step in steps]


def test_working_days_are_split_in_whole_half_hours() -> None:
    assert budgets(TimeUnit.WORKING_DAYS, 3) == [2.0, 14.0, 4.5, 2.0]  # of 24 h


def test_a_same_day_procedure_fits_in_one_working_day() -> None:
    assert budgets(TimeUnit.SAME_DAY) == [0.5, 4.5, 1.5, 0.5]


@pytest.mark.parametrize(("days", "weekdays"), [(1, 1), (7, 5), (10, 6), (15, 9), (20, 14)])
def test_calendar_days_count_only_the_weekdays_they_surely_hold(days: int, weekdays: int) -> None:
    time = ProcessingTime(unit=TimeUnit.CALENDAR_DAYS, value=days)
    assert guaranteed_hours(time) == weekdays * 8


def test_a_few_working_hours_are_one_desk_step() -> None:
    [step] = default_steps(ProcessingTime(unit=TimeUnit.WORKING_HOURS, value=2))
    assert (step.name, step.budget_hours) == (SINGLE_STEP, 2)


def test_an_unknown_legal_time_has_no_steps() -> None:
    assert default_steps(None) == []
