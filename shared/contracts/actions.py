"""The dossier's statuses and the actions on it, each declared once (DESIGN §4).

An action's declaration says everything the services need to agree on: the statuses it
goes from and to, who may take it, what its body must carry, the event it publishes,
what it does to the clock, and how a person reads it (the label on slips and the
national portal's progress text). Intake enforces it (``machine``, ``actions``),
tracking keeps the clock from its events, the gateway tells the national portal; each
reads what it needs from here. Adding an action is its declaration here, its handler in
intake's ``actions.HANDLERS`` and its tests (``tests/shared/test_actions_declared.py``
fails until all three agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Position
from shared.contracts.dossiers import DossierEvent


class Status(StrEnum):
    SUBMITTED = "submitted"  # 1 Mới đăng ký (chờ tiếp nhận)
    RECEIVED = "received"  # 2 Đã tiếp nhận
    REFUSED = "refused"  # 3 Không được tiếp nhận / từ chối
    PROCESSING = "processing"  # 4 Đang xử lý
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 5 Yêu cầu bổ sung
    AWAITING_PAYMENT = "awaiting_payment"  # 6 Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWAL_REQUESTED = "withdrawal_requested"  # 7 Công dân yêu cầu rút hồ sơ
    STOPPED = "stopped"  # 8 Dừng xử lý
    RESOLVED = "resolved"  # 9 Đã xử lý xong
    RETURNED = "returned"  # 10 Đã trả kết quả


# How people read each status (DESIGN §4): pages, slips and the API's ``status_label``.
STATUS_LABELS: dict[Status, str] = {
    Status.SUBMITTED: "Mới đăng ký (chờ tiếp nhận)",
    Status.RECEIVED: "Đã tiếp nhận",
    Status.REFUSED: "Không được tiếp nhận",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung",
    Status.AWAITING_PAYMENT: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng xử lý",
    Status.RESOLVED: "Đã xử lý xong",
    Status.RETURNED: "Đã trả kết quả",
}

FINAL = frozenset({Status.REFUSED, Status.STOPPED, Status.RETURNED})
# While the clock runs (received and not finished): where supplements, payments,
# forwarding and apologies can happen.
IN_PROGRESS = frozenset({Status.RECEIVED, Status.PROCESSING})


class Action(StrEnum):
    RECEIVE = "receive"
    REFUSE = "refuse"
    ASSIGN = "assign"
    REQUEST_SUPPLEMENT = "request-supplement"
    SUPPLEMENT = "supplement"
    REQUEST_PAYMENT = "request-payment"
    PAY = "pay"
    FORWARD = "forward"
    RESOLVE = "resolve"
    RETURN = "return"
    APOLOGIZE = "apologize"
    REQUEST_WITHDRAWAL = "request-withdrawal"
    WITHDRAW = "withdraw"
    STOP = "stop"
    COMPLETE_STEP = "complete-step"


class ClockEffect(StrEnum):
    """What an action's event does to the dossier's clock (tracking replays them)."""

    STARTS = "starts"  # receipt: the legal time begins
    PAUSES = "pauses"  # waiting for the citizen
    RESUMES = "resumes"  # the citizen answered (with the time left, or from the start)
    REAPPOINTS = "reappoints"  # an apology with a new date; counted late
    FINISHES = "finishes"  # the result is ready, or the dossier is refused or stopped
    RETURNS = "returns"  # the result handed over (finishes a clock not finished yet)
    NONE = "none"  # recorded, but the time does not change


ANY_OFFICER = frozenset(Position)
DESK = frozenset({Position.DESK})
# The positions that process a dossier (a desk officer receives and returns it).
PROCESSING_POSITIONS = frozenset({Position.SPECIALIST, Position.LEADER})


@dataclass(frozen=True)
class Declared:
    """One action, declared once."""

    sources: frozenset[Status]
    target: Status | None  # None: the status does not change (forward, apologize)
    event: DossierEvent
    clock: ClockEffect
    label: str  # what a person reads on slips and pages
    progress: str  # the national portal's progress text (CapNhatTienDoHoSoMC)
    citizen: bool = False  # the applicant acts (otherwise an officer of the agency)
    positions: frozenset[Position] = frozenset()
    holder_only: bool = False  # only the officer holding the assigned dossier
    # The desk may record it for the applicant (a fee paid in cash at the counter), not
    # only for a walk-in without an account.
    desk_records: bool = False
    requires: tuple[str, ...] = ()  # the body's fields it cannot do without
    # Taken by the agency of the open inter-agency step (its positions there count),
    # not by the agencies handling the dossier.
    on_step: bool = False
    # Refused while an inter-agency step is open: the dossier waits for that agency.
    waits_for_step: bool = False


_ALL_BUT_FINISHED = frozenset(Status) - FINAL - {Status.RESOLVED}

ACTIONS: dict[Action, Declared] = {
    Action.RECEIVE: Declared(
        frozenset({Status.SUBMITTED}), Status.RECEIVED, DossierEvent.RECEIVED,
        ClockEffect.STARTS, "Tiếp nhận", "Tiếp nhận hồ sơ", positions=DESK,
    ),
    # At the desk before receipt, or later by whoever handles it (with a reason).
    Action.REFUSE: Declared(
        frozenset({Status.SUBMITTED, *IN_PROGRESS}), Status.REFUSED, DossierEvent.REFUSED,
        ClockEffect.FINISHES, "Từ chối", "Từ chối tiếp nhận hồ sơ", positions=ANY_OFFICER,
        requires=("reason",),
    ),
    Action.ASSIGN: Declared(
        IN_PROGRESS, Status.PROCESSING, DossierEvent.ASSIGNED, ClockEffect.NONE,
        "Giao xử lý", "Phân công xử lý hồ sơ", positions=ANY_OFFICER,
    ),
    Action.REQUEST_SUPPLEMENT: Declared(
        IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, DossierEvent.SUPPLEMENT_REQUESTED,
        ClockEffect.PAUSES, "Yêu cầu bổ sung", "Yêu cầu bổ sung hồ sơ",
        positions=ANY_OFFICER, holder_only=True, requires=("missing",),
    ),
    Action.SUPPLEMENT: Declared(
        frozenset({Status.SUPPLEMENT_REQUESTED}), Status.PROCESSING, DossierEvent.SUPPLEMENTED,
        ClockEffect.RESUMES, "Bổ sung hồ sơ", "Bổ sung hồ sơ", citizen=True,
        requires=("documents",),
    ),
    Action.REQUEST_PAYMENT: Declared(
        frozenset({Status.PROCESSING}), Status.AWAITING_PAYMENT, DossierEvent.PAYMENT_REQUESTED,
        ClockEffect.PAUSES, "Yêu cầu thực hiện nghĩa vụ tài chính",
        "Yêu cầu thực hiện nghĩa vụ tài chính", positions=ANY_OFFICER, holder_only=True,
    ),
    # Online, only the payment provider's verified notice records it (intake's payments).
    Action.PAY: Declared(
        frozenset({Status.AWAITING_PAYMENT}), Status.PROCESSING, DossierEvent.PAID,
        ClockEffect.RESUMES, "Thực hiện nghĩa vụ tài chính", "Thực hiện nghĩa vụ tài chính",
        citizen=True, desk_records=True, requires=("payment_reference",),
    ),
    Action.FORWARD: Declared(
        frozenset({Status.PROCESSING}), None, DossierEvent.FORWARDED, ClockEffect.NONE,
        "Chuyển cơ quan phối hợp", "Chuyển cơ quan phối hợp xử lý",
        positions=PROCESSING_POSITIONS, holder_only=True, waits_for_step=True,
        requires=("to_agency_code", "budget_hours"),
    ),
    Action.RESOLVE: Declared(
        frozenset({Status.PROCESSING}), Status.RESOLVED, DossierEvent.RESOLVED,
        ClockEffect.FINISHES, "Giải quyết xong", "Đã xử lý xong, có kết quả",
        positions=PROCESSING_POSITIONS, holder_only=True, waits_for_step=True,
        requires=("result_documents",),
    ),
    Action.RETURN: Declared(
        frozenset({Status.RESOLVED}), Status.RETURNED, DossierEvent.RETURNED,
        ClockEffect.RETURNS, "Trả kết quả", "Trả kết quả", positions=DESK,
    ),
    Action.APOLOGIZE: Declared(
        frozenset({*IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT}), None,
        DossierEvent.REAPPOINTED, ClockEffect.REAPPOINTS, "Xin lỗi, hẹn lại",
        "Xin lỗi và hẹn lại ngày trả kết quả", positions=ANY_OFFICER,
        requires=("new_due_at", "reason"),
    ),
    Action.REQUEST_WITHDRAWAL: Declared(
        frozenset(
            {Status.SUBMITTED, *IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT}
        ),
        Status.WITHDRAWAL_REQUESTED, DossierEvent.WITHDRAWAL_REQUESTED, ClockEffect.NONE,
        "Đề nghị rút hồ sơ", "Công dân yêu cầu rút hồ sơ", citizen=True, requires=("reason",),
    ),
    Action.WITHDRAW: Declared(
        frozenset({Status.WITHDRAWAL_REQUESTED}), Status.STOPPED, DossierEvent.STOPPED,
        ClockEffect.FINISHES, "Rút hồ sơ", "Rút hồ sơ", positions=ANY_OFFICER,
        requires=("reason",),
    ),
    Action.STOP: Declared(
        _ALL_BUT_FINISHED, Status.STOPPED, DossierEvent.STOPPED, ClockEffect.FINISHES,
        "Dừng xử lý", "Dừng xử lý hồ sơ", positions=frozenset({Position.LEADER}),
        requires=("reason",),
    ),
    # The agency a dossier was forwarded to answers its step (the clock does not move:
    # the step has its own due date, and its lateness is the step's).
    Action.COMPLETE_STEP: Declared(
        frozenset({Status.PROCESSING, Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT}),
        None, DossierEvent.STEP_COMPLETED, ClockEffect.NONE, "Hoàn thành bước liên thông",
        "Cơ quan phối hợp hoàn thành xử lý", positions=PROCESSING_POSITIONS, on_step=True,
        requires=("note",),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    """A step of a dossier's history that is not an officer's action."""

    label: str
    progress: str


# Filing (the first entry of every audit trail) and a due date moved by a calendar.
RECORDED: dict[str, Recorded] = {
    "submit": Recorded("Nộp hồ sơ", "Nộp hồ sơ"),
    "due_changed": Recorded(
        "Hạn giải quyết tính lại", "Điều chỉnh ngày hẹn trả do thay đổi lịch làm việc"
    ),
}


def _step(step: str) -> Declared | Recorded | None:
    if step in RECORDED:
        return RECORDED[step]
    return next((d for a, d in ACTIONS.items() if a.value == step), None)


def label(step: str) -> str:
    """How a person reads a step of the audit trail (the step's name if unknown)."""
    found = _step(step)
    return found.label if found else step


def progress_text(step: str) -> str:
    """The national portal's text for a step of the audit trail."""
    found = _step(step)
    return found.progress if found else step


def events_with(*effects: ClockEffect) -> frozenset[DossierEvent]:
    return frozenset(d.event for d in ACTIONS.values() if d.clock in effects)


# The events of the actions: each carries ``ClockFacts`` and tracking's ledger records
# every one (their sequence numbers are how the two sides know they agree).
ACTION_EVENTS = frozenset(declared.event for declared in ACTIONS.values())
# Every event by which intake says a dossier changed (what the national portal sync
# follows): the actions', filing, files added or issued, a due date it applied.
DOSSIER_CHANGES = ACTION_EVENTS | {
    DossierEvent.SUBMITTED,
    DossierEvent.DOCUMENTS_ADDED,
    DossierEvent.RESULTS_ISSUED,
    DossierEvent.DUE_APPLIED,
}
