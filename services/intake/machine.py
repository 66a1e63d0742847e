"""The dossier's status machine (DESIGN §4): which action, by whom, from which status.

Pure rules, no I/O: the service asks ``check`` before it writes anything, so an illegal
action (409) or an action by the wrong person (403) changes nothing. Officers act only
on dossiers of an agency they belong to, and, once a dossier is assigned, only the
officer holding it acts on its processing (two officers never act at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Position, Principal, Role
from shared.contracts.national import NATIONAL_STATUS
from shared.errors import Conflict, Forbidden


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


# The national portal's TrangThaiHoSo for each status (DESIGN §4): the shared table the
# portal sync sends, so the code a dossier shows is the code the portal gets.
PORTAL_CODE = {status: NATIONAL_STATUS[status.value] for status in Status}
LABELS = {
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


ANY_OFFICER = frozenset(Position)
DESK = frozenset({Position.DESK})
HANDLERS = frozenset({Position.SPECIALIST, Position.LEADER})


@dataclass(frozen=True)
class Rule:
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change (forward, apologize)
    citizen: bool = False  # the applicant acts (otherwise an officer of the agency)
    positions: frozenset[Position] = frozenset()
    holder_only: bool = False  # only the officer holding the assigned dossier
    # The desk may record it for the applicant (a fee paid in cash at the counter), not
    # only for a walk-in without an account.
    desk_records: bool = False


RULES: dict[Action, Rule] = {
    Action.RECEIVE: Rule(frozenset({Status.SUBMITTED}), Status.RECEIVED, positions=DESK),
    # At the desk before receipt, or later by whoever handles it (with a reason).
    Action.REFUSE: Rule(
        frozenset({Status.SUBMITTED, *IN_PROGRESS}), Status.REFUSED, positions=ANY_OFFICER
    ),
    Action.ASSIGN: Rule(IN_PROGRESS, Status.PROCESSING, positions=ANY_OFFICER),
    Action.REQUEST_SUPPLEMENT: Rule(
        IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, positions=ANY_OFFICER, holder_only=True
    ),
    Action.SUPPLEMENT: Rule(
        frozenset({Status.SUPPLEMENT_REQUESTED}), Status.PROCESSING, citizen=True
    ),
    Action.REQUEST_PAYMENT: Rule(
        frozenset({Status.PROCESSING}),
        Status.AWAITING_PAYMENT,
        positions=ANY_OFFICER,
        holder_only=True,
    ),
    # Online, only the payment provider's verified notice records it (payments.py).
    Action.PAY: Rule(
        frozenset({Status.AWAITING_PAYMENT}), Status.PROCESSING, citizen=True, desk_records=True
    ),
    Action.FORWARD: Rule(
        frozenset({Status.PROCESSING}), None, positions=HANDLERS, holder_only=True
    ),
    Action.RESOLVE: Rule(
        frozenset({Status.PROCESSING}), Status.RESOLVED, positions=HANDLERS, holder_only=True
    ),
    Action.RETURN: Rule(frozenset({Status.RESOLVED}), Status.RETURNED, positions=DESK),
    Action.APOLOGIZE: Rule(
        frozenset({*IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT}),
        None,
        positions=ANY_OFFICER,
    ),
    Action.REQUEST_WITHDRAWAL: Rule(
        frozenset(
            {Status.SUBMITTED, *IN_PROGRESS, Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT}
        ),
        Status.WITHDRAWAL_REQUESTED,
        citizen=True,
    ),
    Action.WITHDRAW: Rule(
        frozenset({Status.WITHDRAWAL_REQUESTED}), Status.STOPPED, positions=ANY_OFFICER
    ),
    Action.STOP: Rule(
        frozenset(Status) - FINAL - {Status.RESOLVED},
        Status.STOPPED,
        positions=frozenset({Position.LEADER}),
    ),
}


@dataclass(frozen=True)
class Dossier:
    """What the rules need to know of a dossier."""

    status: Status
    applicant: str | None  # the citizen's subject; None for a walk-in without an account
    agencies: frozenset[str]  # the competent agency and the receiving desk
    assignee: str | None  # the officer holding it


def check(dossier: Dossier, action: Action, actor: Principal) -> Status:
    """The status after ``action``; Forbidden or Conflict (nothing changes) otherwise.

    Who may act is checked first: telling a stranger that the action is illegal in the
    current state would reveal the state.
    """
    rule = RULES[action]
    positions = {
        membership.position
        for membership in actor.agencies
        if membership.agency_code in dossier.agencies
    }
    if rule.citizen:
        # The desk acts for the applicant: always for a walk-in without an account, and
        # for anyone where the rule says the desk records it (cash paid at the counter).
        desk_may = dossier.applicant is None or rule.desk_records
        desk_on_behalf = desk_may and Position.DESK in positions
        applicant = actor.role is Role.CITIZEN and actor.subject == dossier.applicant
        if not (desk_on_behalf or applicant):
            raise Forbidden("Chỉ người nộp hồ sơ thực hiện được thao tác này.")
    else:
        if actor.role is not Role.OFFICER or not positions & rule.positions:
            raise Forbidden("Cán bộ không có quyền thực hiện thao tác này với hồ sơ.")
        held_by_other = dossier.assignee is not None and dossier.assignee != actor.subject
        if rule.holder_only and (dossier.assignee is None or held_by_other):
            raise Conflict("Hồ sơ cần được giao cho cán bộ này trước khi xử lý.")
        # Taking a dossier another officer holds is the leader's call (reassignment).
        if action is Action.ASSIGN and held_by_other and Position.LEADER not in positions:
            raise Conflict("Hồ sơ đang do cán bộ khác xử lý; chỉ lãnh đạo giao lại được.")
    if dossier.status not in rule.sources:
        raise Conflict(
            f"Không thể '{action.value}' khi hồ sơ đang ở trạng thái '{LABELS[dossier.status]}'."
        )
    return rule.target or dossier.status
