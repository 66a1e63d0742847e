"""The status machine: every legal transition by hand, every other one refused."""

from __future__ import annotations

import itertools

import pytest

from services.intake.machine import PORTAL_CODE, Action, Dossier, Status, check
from shared.auth import AgencyMembership, Position, Principal, Role
from shared.errors import Conflict, Forbidden

S, A = Status, Action
CENTRE, OTHER = "000.00.15.H49", "000.00.07.H49"
APPLICANT = Principal(subject="c-1", username="001099000001", role=Role.CITIZEN)


def officer(position: Position, agency: str = CENTRE, subject: str | None = None) -> Principal:
    return Principal(
        subject=subject or f"{position}-{agency}",
        username=position,
        role=Role.OFFICER,
        agencies=(AgencyMembership(agency_code=agency, position=position),),
    )


DESK, SPECIALIST, LEADER = (officer(p) for p in Position)
# Every legal move, written out from DESIGN §4 (not read from the rules under test):
# (from, action) -> (to, who may do it).
LEGAL: dict[tuple[Status, Action], tuple[Status, tuple[Principal, ...]]] = {
    (S.SUBMITTED, A.RECEIVE): (S.RECEIVED, (DESK,)),
    (S.SUBMITTED, A.REFUSE): (S.REFUSED, (DESK, SPECIALIST, LEADER)),
    (S.RECEIVED, A.REFUSE): (S.REFUSED, (DESK, SPECIALIST, LEADER)),
    (S.PROCESSING, A.REFUSE): (S.REFUSED, (DESK, SPECIALIST, LEADER)),
    (S.RECEIVED, A.ASSIGN): (S.PROCESSING, (DESK, SPECIALIST, LEADER)),
    (S.PROCESSING, A.ASSIGN): (S.PROCESSING, (DESK, SPECIALIST, LEADER)),
    (S.RECEIVED, A.REQUEST_SUPPLEMENT): (S.SUPPLEMENT_REQUESTED, (DESK, SPECIALIST, LEADER)),
    (S.PROCESSING, A.REQUEST_SUPPLEMENT): (S.SUPPLEMENT_REQUESTED, (DESK, SPECIALIST, LEADER)),
    (S.SUPPLEMENT_REQUESTED, A.SUPPLEMENT): (S.PROCESSING, (APPLICANT,)),
    (S.PROCESSING, A.REQUEST_PAYMENT): (S.AWAITING_PAYMENT, (DESK, SPECIALIST, LEADER)),
    # The applicant through the provider's notice; the desk for cash at the counter.
    (S.AWAITING_PAYMENT, A.PAY): (S.PROCESSING, (APPLICANT, DESK)),
    (S.PROCESSING, A.FORWARD): (S.PROCESSING, (SPECIALIST, LEADER)),
    (S.PROCESSING, A.RESOLVE): (S.RESOLVED, (SPECIALIST, LEADER)),
    (S.RESOLVED, A.RETURN): (S.RETURNED, (DESK,)),
    **{
        (status, A.APOLOGIZE): (status, (DESK, SPECIALIST, LEADER))
        for status in (S.RECEIVED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.AWAITING_PAYMENT)
    },
    **{
        (status, A.REQUEST_WITHDRAWAL): (S.WITHDRAWAL_REQUESTED, (APPLICANT,))
        for status in (
            S.SUBMITTED,
            S.RECEIVED,
            S.PROCESSING,
            S.SUPPLEMENT_REQUESTED,
            S.AWAITING_PAYMENT,
        )
    },
    (S.WITHDRAWAL_REQUESTED, A.WITHDRAW): (S.STOPPED, (DESK, SPECIALIST, LEADER)),
    **{
        (status, A.STOP): (S.STOPPED, (LEADER,))
        for status in (
            S.SUBMITTED,
            S.RECEIVED,
            S.PROCESSING,
            S.SUPPLEMENT_REQUESTED,
            S.AWAITING_PAYMENT,
            S.WITHDRAWAL_REQUESTED,
        )
    },
}
EVERYONE = (APPLICANT, DESK, SPECIALIST, LEADER)


def dossier(status: Status, assignee: str | None) -> Dossier:
    return Dossier(status=status, applicant="c-1", agencies=frozenset({CENTRE}), assignee=assignee)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(Status, Action)))
def test_every_status_and_action(status: Status, action: Action) -> None:
    legal = LEGAL.get((status, action))
    for actor in EVERYONE:
        # The actor holds the dossier, so holding is not what decides here.
        case = dossier(status, assignee=actor.subject if actor.role is Role.OFFICER else None)
        if legal is not None and actor in legal[1]:
            assert check(case, action, actor) is legal[0]
        elif legal is not None:
            with pytest.raises(Forbidden):
                check(case, action, actor)
        else:
            with pytest.raises((Conflict, Forbidden)):
                check(case, action, actor)


@pytest.mark.parametrize("action", [A.RESOLVE, A.FORWARD, A.REQUEST_PAYMENT, A.REQUEST_SUPPLEMENT])
def test_only_the_officer_holding_the_dossier_processes_it(action: Action) -> None:
    other = officer(Position.SPECIALIST, subject="someone-else")
    with pytest.raises(Conflict):
        check(dossier(S.PROCESSING, assignee=None), action, SPECIALIST)
    with pytest.raises(Conflict):
        check(dossier(S.PROCESSING, assignee=other.subject), action, SPECIALIST)


@pytest.mark.parametrize(
    "stranger",
    [
        officer(Position.LEADER, agency=OTHER),  # an officer of another agency
        Principal(subject="c-2", username="001099000002", role=Role.CITIZEN),
        Principal(subject="a", username="admin", role=Role.ADMIN),
    ],
)
def test_strangers_are_forbidden_whatever_the_state(stranger: Principal) -> None:
    for status, action in itertools.product(Status, Action):
        with pytest.raises(Forbidden):
            check(dossier(status, assignee=stranger.subject), action, stranger)


def test_an_open_step_is_answered_by_its_agency_alone_and_holds_the_resolution() -> None:
    waiting = Dossier(status=S.PROCESSING, applicant="c-1", agencies=frozenset({CENTRE}),
                      assignee=SPECIALIST.subject, step_agency=OTHER)  # fmt: skip
    answering = officer(Position.SPECIALIST, agency=OTHER)
    assert check(waiting, A.COMPLETE_STEP, answering) is S.PROCESSING
    assert check(waiting, A.COMPLETE_STEP, officer(Position.LEADER, agency=OTHER))
    for handler in (DESK, SPECIALIST, LEADER):  # the dossier's own agency: not their step
        with pytest.raises(Forbidden):
            check(waiting, A.COMPLETE_STEP, handler)
    for action in (A.RESOLVE, A.FORWARD):  # the dossier waits for the step
        with pytest.raises(Conflict):
            check(waiting, action, SPECIALIST)
    # The step's agency has nothing else to do with the dossier.
    for action in (A.RESOLVE, A.REQUEST_SUPPLEMENT, A.ASSIGN, A.REFUSE):
        with pytest.raises(Forbidden):
            check(waiting, action, answering)
    # Without an open step there is nothing to answer; processing goes on.
    answered = dossier(S.PROCESSING, assignee=SPECIALIST.subject)
    with pytest.raises(Conflict):
        check(answered, A.COMPLETE_STEP, SPECIALIST)
    with pytest.raises(Forbidden):
        check(answered, A.COMPLETE_STEP, answering)
    assert check(answered, A.RESOLVE, SPECIALIST) is S.RESOLVED


def test_a_citizen_cannot_act_as_an_officer() -> None:
    with pytest.raises(Forbidden):
        check(dossier(S.SUBMITTED, assignee=None), A.RECEIVE, APPLICANT)


def test_the_portal_codes_follow_design() -> None:
    # DESIGN §4's table, status by status.
    assert [PORTAL_CODE[status] for status in (
        S.SUBMITTED, S.RECEIVED, S.REFUSED, S.PROCESSING, S.SUPPLEMENT_REQUESTED,
        S.AWAITING_PAYMENT, S.WITHDRAWAL_REQUESTED, S.STOPPED, S.RESOLVED, S.RETURNED,
    )] == list(range(1, 11))  # fmt: skip
