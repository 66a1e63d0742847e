"""Every action is declared once and completely, and every service reads that one
declaration (``shared/contracts/actions.py``)."""

from __future__ import annotations

import pytest

from services.gateway import national as gateway_national
from services.gateway.sync import SYNCED_EVENTS
from services.intake import actions as intake_actions
from services.intake import machine, slips
from services.intake.schemas import ActionIn
from services.tracking import ledger, ledger_replay
from shared.contracts.actions import (
    ACTION_EVENTS,
    ACTIONS,
    RECORDED,
    Action,
    ClockEffect,
    Status,
    events_with,
)
from shared.contracts.dossiers import DossierEvent
from shared.contracts.national import NATIONAL_STATUS


@pytest.mark.parametrize("action", list(Action))
def test_every_action_is_declared_with_everything_the_services_need(action: Action) -> None:
    declared = ACTIONS[action]
    assert declared.sources, "from at least one status"
    assert declared.target is None or declared.target in Status
    assert declared.citizen or declared.positions, "someone may take it"
    assert declared.label.strip()
    assert declared.progress.strip()
    assert not declared.label.isascii(), "a Vietnamese label, with its diacritics"
    assert set(declared.requires) <= set(ActionIn.model_fields), "fields the body has"
    assert action in intake_actions.HANDLERS, "intake carries it out"
    assert machine.RULES[action] is declared, "the status machine reads the declaration"


def test_the_status_table_names_every_status_once() -> None:
    assert set(NATIONAL_STATUS) == {status.value for status in Status}
    assert set(machine.LABELS) == set(Status)


def test_the_readers_take_the_declaration_not_a_copy() -> None:
    for action, declared in ACTIONS.items():
        assert slips.step_label(action.value) == declared.label
        assert gateway_national.step_text(action.value) == declared.progress
        assert intake_actions.event_of(action) is declared.event
    for step, recorded in RECORDED.items():
        assert slips.step_label(step) == recorded.label
        assert gateway_national.step_text(step) == recorded.progress
    assert slips.step_label("unheard-of") == "unheard-of"


def test_the_clock_and_the_sync_follow_allow_lists_built_from_the_declarations() -> None:
    assert ledger.CLOCK_EVENTS == ACTION_EVENTS
    assert events_with(ClockEffect.PAUSES) == ledger_replay.PAUSING
    assert events_with(ClockEffect.RESUMES) == ledger_replay.RESUMING
    assert events_with(ClockEffect.FINISHES) == ledger_replay.FINISHING
    # Tracking's own events are not changes of the dossier the portal holds.
    assert ACTION_EVENTS | {DossierEvent.SUBMITTED} <= SYNCED_EVENTS
    assert not SYNCED_EVENTS & {
        DossierEvent.DUE_SOON,
        DossierEvent.OVERDUE,
        DossierEvent.DUE_CHANGED,
    }


def test_a_new_event_is_followed_by_nobody_until_it_is_declared() -> None:
    """The allow-lists: an event no declaration names reaches neither the clock nor the
    sync (the old exclusion lists took in every new event)."""
    undeclared = set(DossierEvent) - ACTION_EVENTS
    assert undeclared, "tracking's warnings and filing are not actions"
    assert not undeclared & ledger.CLOCK_EVENTS
