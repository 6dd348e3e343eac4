"""The state table is the one source of what may happen when (issue 6 §1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hozen.access import policy
from hozen.assessment import services, states
from hozen.assessment.states import BEFORE_NOTIFICATION, TERMINAL, TRANSITIONS, State
from hozen.core.errors import RuleViolation

from .conftest import REASONS, fresh, nominate, to_consented, to_investigation_complete

DOCS = Path(__file__).resolve().parents[2] / "docs" / "assessment.md"
#: Actions the table names that another service makes (report_event, decide_complaint).
INTERNAL = {"assessment.discontinue", "assessment.reexamine"}


def test_a_transition_not_in_the_table_is_refused_with_the_current_stage_named():
    with pytest.raises(RuleViolation) as info:
        states.transition(State.NOMINATED, "assessment.consent")
    assert info.value.code == "transition_not_allowed"
    assert "Nominated" in info.value.message_en and "assessment.consent" in info.value.message_en


def test_every_action_of_the_table_has_a_policy_rule():
    registered = set(policy.registered_actions())
    for t in TRANSITIONS:
        assert t.action in registered or t.action in INTERNAL, t.action


def test_every_state_is_reachable_and_only_terminal_states_have_no_way_out():
    reached = {State.NOMINATED} | {t.target for t in TRANSITIONS}
    assert reached == set(State.values)
    leaving = {t.source for t in TRANSITIONS if not t.keeps_state}
    assert set(State.values) - leaving == set(TERMINAL)


def test_withdrawal_is_allowed_from_every_state_before_notification_and_ends_as_not_consented():
    for state in BEFORE_NOTIFICATION:
        assert states.transition(state, "assessment.withdraw_consent").target == State.NOT_CONSENTED
    for state in (State.NOTIFIED, State.UNDER_REEXAMINATION, *TERMINAL):
        with pytest.raises(RuleViolation):
            states.transition(state, "assessment.withdraw_consent")


def test_an_unfavourable_decision_is_notified_only_after_concurrence():
    assert {t.source for t in TRANSITIONS if t.action == "assessment.notify_result"} == {
        State.ADJUDICATED_FAVOURABLE, State.ADJUDICATED_UNFAVOURABLE}


def test_the_documented_diagram_is_drawn_from_the_table():
    assert states.mermaid() in DOCS.read_text(encoding="utf-8")


def test_consent_before_the_notice_is_refused_by_the_table(world):
    case = nominate(world)
    with pytest.raises(RuleViolation) as info:
        services.consent(actor=world.subject_actor(case.person), case=case)
    assert info.value.code == "transition_not_allowed"
    assert fresh(case).state == State.NOMINATED


def test_notice_twice_is_refused_by_the_table(world):
    case = to_consented(world, nominate(world))
    with pytest.raises(RuleViolation) as info:
        services.give_notice(actor=world["security"], case=case)
    assert info.value.code == "transition_not_allowed"


def test_an_unfavourable_decision_awaiting_concurrence_cannot_be_notified(world):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="unfavourable", reasons=REASONS)
    with pytest.raises(RuleViolation) as info:
        services.notify_result(actor=world["security"], case=case)
    assert info.value.code == "transition_not_allowed"
    assert fresh(case).state == State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE
    assert not hasattr(fresh(case), "clearance") or fresh(case).clearance is None


def test_each_state_change_restarts_the_stage_clock_from_the_cases_pack(world, _frozen_today):
    import datetime as dt

    case = nominate(world)
    assert case.stage_due_on == dt.date(2026, 6, 15)
    _frozen_today.move_to(dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC))
    services.give_notice(actor=world["security"], case=case)
    case = fresh(case)
    assert case.state == State.NOTICE_GIVEN and case.stage_due_on == dt.date(2026, 7, 10)  # consent: 30 days
