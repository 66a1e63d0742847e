"""The dossier's status machine (DESIGN §4): which action, by whom, from which status.

The statuses and actions are declared in ``shared.contracts.actions``; this is how
they are enforced. Pure rules, no I/O: the service asks ``check`` before it writes
anything, so an illegal action (409) or an action by the wrong person (403) changes
nothing. Officers act only on dossiers of an agency they belong to, and, once a
dossier is assigned, only the officer holding it acts on its processing (two officers
never act at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Position, Principal, Role
from shared.contracts.actions import (
    ACTIONS,
    FINAL,
    STATUS_LABELS,
    Action,
    Declared,
    Status,
)
from shared.contracts.national import NATIONAL_STATUS
from shared.errors import Conflict, Forbidden

__all__ = ["FINAL", "RULES", "Action", "Dossier", "Rule", "Status", "allowed", "check"]

# The national portal's TrangThaiHoSo for each status (DESIGN §4): the shared table the
# portal sync sends, so the code a dossier shows is the code the portal gets.
PORTAL_CODE = {status: NATIONAL_STATUS[status.value] for status in Status}
LABELS = STATUS_LABELS
# Who may take each action from which status: the action's declaration.
Rule = Declared
RULES: dict[Action, Rule] = ACTIONS


@dataclass(frozen=True)
class Dossier:
    """What the rules need to know of a dossier."""

    status: Status
    applicant: str | None  # the citizen's subject; None for a walk-in without an account
    agencies: frozenset[str]  # the competent agency and the receiving desk
    assignee: str | None  # the officer holding it
    # The agency of the open inter-agency step, whose answer the dossier waits for.
    step_agency: str | None = None


def check(dossier: Dossier, action: Action, actor: Principal) -> Status:
    """The status after ``action``; Forbidden or Conflict (nothing changes) otherwise.

    Who may act is checked first: telling a stranger that the action is illegal in the
    current state would reveal the state.
    """
    rule = RULES[action]
    # A step's agency acts on the step alone; the dossier's agencies on the rest (and
    # are told there is no step to answer rather than that it is not theirs).
    on_open_step = rule.on_step and dossier.step_agency is not None
    acting_for = {dossier.step_agency} if on_open_step else dossier.agencies
    positions = {
        membership.position for membership in actor.agencies if membership.agency_code in acting_for
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
    if rule.on_step and dossier.step_agency is None:
        raise Conflict("Hồ sơ không có bước liên thông nào đang chờ trả lời.")
    if rule.waits_for_step and dossier.step_agency is not None:
        raise Conflict(f"Hồ sơ đang chờ cơ quan {dossier.step_agency} hoàn thành bước liên thông.")
    return rule.target or dossier.status


def allowed(dossier: Dossier, actor: Principal) -> list[Action]:
    """The actions ``check`` lets ``actor`` take on ``dossier`` now, in declaration
    order: what a page offers (the action itself is checked again when taken)."""
    found = []
    for action in Action:
        try:
            check(dossier, action, actor)
        except (Forbidden, Conflict):
            continue
        found.append(action)
    return found
