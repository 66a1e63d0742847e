"""The default processing workflow a seeded procedure starts with.

The law fixes a procedure's total time, not how an agency splits it; each agency's ISO
process (quy trình nội bộ) does. Until an admin writes the agency's own steps in a draft,
a procedure gets the common four-step split of the one-stop model (NĐ 61/2018 Đ17–19):
the desk receives and hands over, a specialist examines, a leader signs, the desk returns.
"""

import math

from services.procedures.schemas import ProcessingTime, TimeUnit, WorkflowStep
from shared.auth import Position

HOURS_PER_WORKING_DAY = 8
# Share of the legal time each step may use; they add up to 1, so the steps fit by design.
DEFAULT_SPLIT = (
    ("Tiếp nhận và chuyển hồ sơ", Position.DESK, 0.1),
    ("Thẩm định, xử lý hồ sơ", Position.SPECIALIST, 0.6),
    ("Phê duyệt, ký kết quả", Position.LEADER, 0.2),
    ("Trả kết quả", Position.DESK, 0.1),
)
SMALLEST_BUDGET = 0.5  # hours; budgets are whole half-hours
SINGLE_STEP = "Tiếp nhận, xử lý và trả kết quả"


def guaranteed_hours(time: ProcessingTime) -> float:
    """Working hours the legal time holds for sure (calendar days count weekdays only)."""
    if time.unit is TimeUnit.SAME_DAY:
        return HOURS_PER_WORKING_DAY
    assert time.value is not None  # ProcessingTime guarantees a value for these units
    if time.unit is TimeUnit.WORKING_HOURS:
        return time.value
    if time.unit is TimeUnit.WORKING_DAYS:
        return time.value * HOURS_PER_WORKING_DAY
    # N calendar days hold at least N - 2 * ceil(N / 7) weekdays, before holidays.
    weekdays = max(time.value - 2 * math.ceil(time.value / 7), 1)
    return weekdays * HOURS_PER_WORKING_DAY


def default_steps(time: ProcessingTime | None) -> list[WorkflowStep]:
    """The four-step split of ``time``; none where the legal time is not known."""
    if time is None:
        return []
    total = guaranteed_hours(time)
    budgets = [
        math.floor(total * share / SMALLEST_BUDGET) * SMALLEST_BUDGET
        for _, _, share in DEFAULT_SPLIT
    ]
    if not all(budgets):
        # Too short to split (a few working hours): the desk handles it in one step.
        return [WorkflowStep(name=SINGLE_STEP, position=Position.DESK, budget_hours=total)]
    return [
        WorkflowStep(name=name, position=position, budget_hours=budget)
        for (name, position, _), budget in zip(DEFAULT_SPLIT, budgets, strict=True)
    ]
