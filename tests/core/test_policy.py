"""The one policy decision point (issue 3 §6, ARCHITECTURE rule 1)."""

from __future__ import annotations

import json

import pytest

from hozen.access import policy
from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from hozen.core.models import Account, Organisation

pytestmark = pytest.mark.django_db


def _actor(account):
    return Actor.for_account(account, account.active_assignments().first(), channel="web")


def test_unknown_action_is_denied_by_default(people):
    decision = policy.decide(_actor(people["sysadmin"]), "nuclear.launch", None)
    assert not decision.allowed and decision.code == "no_rule"


def test_decision_has_reasons_in_both_languages(people):
    decision = policy.decide(_actor(people["subject"]), "workspace.view", "auditor")
    assert not decision.allowed
    assert decision.reason("ja") != decision.reason("en")
    assert "監査担当" in decision.reason("ja") and "auditor" in decision.reason("en").lower()


def test_decision_cannot_be_used_as_a_boolean(people):
    decision = policy.decide(_actor(people["subject"]), "dashboard.view", None)
    with pytest.raises(TypeError):
        bool(decision)


def test_decide_needs_an_actor():
    with pytest.raises(ValueError):
        policy.decide(None, "dashboard.view", None)


def test_account_without_an_active_role_is_denied(people):
    actor = Actor.for_account(people["subject"], None, channel="web")
    assert policy.decide(actor, "dashboard.view", None).code == "no_active_role"


@pytest.mark.django_db(transaction=True)
def test_require_audits_a_denial_outside_a_transaction(people):
    actor = _actor(people["subject"])
    with pytest.raises(policy.PolicyDenied) as info:
        policy.require(actor, "account.create")
    assert info.value.audited
    entry = json.loads(AuditEntry.objects.last().data)
    assert entry["action"] == "account.create" and entry["outcome"] == "denied"


def test_denial_inside_a_rolled_back_service_is_still_audited(people, orgs):
    """A service's transaction rolls back on denial; the error handler records the denial afterwards."""
    from hozen.core import services

    actor = _actor(people["subject"])
    before = AuditEntry.objects.filter(outcome="denied").count()
    with pytest.raises(policy.PolicyDenied) as info:
        services.create_organisation(actor=actor, code="EVIL", kind="business", name_ja="x", name_en="x")
    policy.audit_unrecorded_denial(actor, info.value)
    assert AuditEntry.objects.filter(outcome="denied").count() == before + 1
    assert not Organisation.objects.filter(code="EVIL").exists()


@pytest.mark.parametrize("role", ["sysadmin", "security_officer", "auditor", "subject", "oversight"])
def test_scope_agrees_with_decide_row_by_row_for_organisations(people, role):
    actor = _actor(people[role])
    visible = set(Organisation.objects.filter(policy.scope(actor, "organisation.view", Organisation))
                  .values_list("pk", flat=True))
    for org in Organisation.objects.all():
        assert policy.decide(actor, "organisation.view", org).allowed == (org.pk in visible)


@pytest.mark.parametrize("role", ["sysadmin", "security_officer", "auditor", "subject"])
def test_scope_agrees_with_decide_row_by_row_for_accounts(people, role):
    actor = _actor(people[role])
    visible = set(Account.objects.filter(policy.scope(actor, "account.view", Account)).values_list("pk", flat=True))
    for account in Account.objects.all():
        assert policy.decide(actor, "account.view", account).allowed == (account.pk in visible)


def test_scope_without_a_rule_shows_nothing(people):
    actor = _actor(people["sysadmin"])
    assert not Organisation.objects.filter(policy.scope(actor, "organisation.delete", Organisation)).exists()


def test_every_registered_action_is_noun_dot_verb():
    for action in policy.registered_actions():
        noun, _, verb = action.partition(".")
        assert noun and verb, action


def test_a_rule_cannot_be_registered_twice():
    with pytest.raises(RuntimeError):
        policy.rule("dashboard.view")(lambda actor, target: policy.allow())
