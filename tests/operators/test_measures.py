"""DOMAIN §4: the organ suspends, restores and revokes a certification, and amends or terminates a
contract; only the certifying organ's head decides, a revocation is final, bad input changes nothing
and says why, each measure keeps its reason and writes one audit entry."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied, decide
from hozen.core.errors import RuleViolation, StaleEdit, VersionRequired
from hozen.operators import services
from hozen.operators.models import Certification, CertificationChange, Contract
from tests import factories
from tests.handling_factories import actor_for

from .conftest import TODAY, audit_entries

REASON = "保全措置の重大な不備が報告されたため。"
MEASURES = ("certification.suspend", "certification.restore", "certification.revoke", "contract.amend",
            "contract.terminate")


def _state(cert: Certification) -> tuple:
    cert.refresh_from_db()
    return cert.suspended_on, cert.revoked_on, cert.version, CertificationChange.objects.count()


@pytest.mark.parametrize("role", ["esi_manager", "security_officer", "business_officer", "oversight", "auditor",
                                  "sysadmin", "adjudicator"])
def test_only_the_certifying_organs_head_takes_a_measure(people, certification, contract, role):
    actor = actor_for(people[role])
    for action in MEASURES:
        target = contract if action.startswith("contract.") else certification
        decision = decide(actor, action, target)
        assert (decision.allowed, decision.code) == (False, "wrong_role"), action
    before = _state(certification)
    with pytest.raises(PolicyDenied):
        services.suspend_certification(actor=actor, certification=certification.pk, on=TODAY, reason=REASON)
    assert _state(certification) == before


def test_another_organs_head_is_refused(orgs, certification):
    other = actor_for(factories.account(role="organ_head", organisation=orgs["MIC"]))
    assert decide(other, "certification.revoke", certification).code == "other_organisation"
    with pytest.raises(PolicyDenied):
        services.revoke_certification(actor=other, certification=certification.pk, on=TODAY, reason=REASON)
    assert Certification.objects.get(pk=certification.pk).revoked_on is None


def test_suspension_is_recorded_with_its_reason_and_one_audit_entry(head, certification):
    cert = services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON,
                                          version=certification.version)
    assert cert.suspended_on == TODAY and cert.version == certification.version + 1
    change = CertificationChange.objects.get()
    assert (change.kind, change.effective_on, change.reason, change.decided_by) == (
        "suspended", TODAY, REASON, head.account.person.full_name)
    [entry] = audit_entries("certification.suspended")
    assert entry["details"]["suspended_on"] == "2026-06-01"
    assert REASON not in str(entry)  # free text stays out of the log


def test_suspension_then_restoration(head, certification):
    services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    cert = services.restore_certification(actor=head, certification=certification.pk, reason="是正措置を確認したため。")
    assert cert.suspended_on is None and cert.is_active(TODAY)
    assert list(CertificationChange.objects.order_by("id").values_list("kind", flat=True)) == ["suspended", "restored"]


def test_a_revoked_certification_cannot_be_restored_or_suspended(head, certification):
    services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    services.revoke_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    before = _state(certification)
    for call in (services.restore_certification, services.suspend_certification, services.revoke_certification):
        with pytest.raises(RuleViolation) as exc:
            call(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
        assert exc.value.code == "certification_revoked"
        assert "final" in exc.value.message_en and "取り消されています" in exc.value.message_ja
    assert _state(certification) == before


def test_a_revocation_scheduled_for_later_is_final_too(head, certification):
    services.revoke_certification(actor=head, certification=certification.pk, on=TODAY + dt.timedelta(days=30),
                                  reason=REASON)
    assert Certification.objects.get(pk=certification.pk).is_active(TODAY)  # dates decide: not yet
    assert not Certification.objects.get(pk=certification.pk).is_active(TODAY + dt.timedelta(days=30))
    with pytest.raises(RuleViolation, match="final"):
        services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)


@pytest.mark.parametrize(("kwargs", "code", "field"), [
    ({"reason": ""}, "text_required", "reason"),
    ({"reason": "不備"}, "text_too_short", "reason"),
    ({"on": TODAY - dt.timedelta(days=1)}, "measure_backdated", "on"),
    ({"on": "2026-06-01"}, "invalid_date", "on"),
    ({"version": 99}, "stale_edit", "version"),
])
def test_bad_input_to_a_suspension_changes_nothing_and_says_why(head, certification, kwargs, code, field):
    before = _state(certification)
    args = {"on": TODAY, "reason": REASON, **kwargs}
    with pytest.raises(RuleViolation) as exc:
        services.suspend_certification(actor=head, certification=certification.pk, **args)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert exc.value.message_ja and exc.value.message_en
    assert _state(certification) == before
    assert audit_entries("certification.suspended") == []


def test_reason_minimum_is_stated_in_the_message(head, certification):
    with pytest.raises(RuleViolation) as exc:
        services.revoke_certification(actor=head, certification=certification.pk, on=TODAY, reason="短い理由")
    assert str(services.REASON_MIN_VISIBLE) in exc.value.message_en
    assert str(services.REASON_MIN_VISIBLE) in exc.value.message_ja


def test_suspending_twice_and_restoring_an_unsuspended_one_are_refused(head, certification):
    with pytest.raises(RuleViolation, match="not suspended"):
        services.restore_certification(actor=head, certification=certification.pk, reason=REASON)
    services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    with pytest.raises(RuleViolation) as exc:
        services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    assert exc.value.code == "already_suspended"


def test_a_restoration_takes_effect_today_only(head, certification):
    services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    with pytest.raises(RuleViolation) as exc:
        services.restore_certification(actor=head, certification=certification.pk, on=TODAY + dt.timedelta(days=3),
                                       reason=REASON)
    assert exc.value.code == "restoration_today_only"


def test_amendment_adds_and_removes_departments_at_once(head, contract):
    amended = services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"],
                                      departments_removed=["技術部"], reason=REASON, version=contract.version)
    assert amended.authorised_departments == ["研究開発部"]
    [entry] = audit_entries("contract.amended")
    assert entry["details"]["authorised_departments"] == ["研究開発部"]
    change = CertificationChange.objects.get()
    assert (change.kind, change.departments_added, change.departments_removed) == ("amended", ["研究開発部"], ["技術部"])


@pytest.mark.parametrize(("added", "removed", "code"), [
    ([], [], "nothing_to_amend"),
    (["技術部"], [], "department_already_allowed"),
    ([], ["営業部"], "department_not_in_contract"),
    ([], ["技術部"], "no_departments_left"),
    (["営業部"], ["営業部"], "department_added_and_removed"),
    ("技術部", [], "invalid_departments"),
])
def test_bad_amendments_change_nothing(head, contract, added, removed, code):
    with pytest.raises(RuleViolation) as exc:
        services.amend_contract(actor=head, contract=contract.pk, departments_added=added, departments_removed=removed,
                                reason=REASON, version=contract.version)
    assert exc.value.code == code
    row = Contract.objects.get(pk=contract.pk)
    assert (row.authorised_departments, row.version) == (contract.authorised_departments, contract.version)


def test_an_amendment_names_the_version_it_changes(head, contract):
    with pytest.raises(VersionRequired):
        services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"], reason=REASON,
                                version=None)
    services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"], reason=REASON,
                            version=contract.version)
    with pytest.raises(StaleEdit):  # made on the copy opened before the first amendment
        services.amend_contract(actor=head, contract=contract.pk, departments_added=["営業部"], reason=REASON,
                                version=contract.version)
    assert Contract.objects.get(pk=contract.pk).authorised_departments == ["技術部", "研究開発部"]


def test_termination_is_final_and_stays_within_the_term(head, contract):
    with pytest.raises(RuleViolation) as exc:
        services.terminate_contract(actor=head, contract=contract.pk, on=contract.valid_until + dt.timedelta(days=1),
                                    reason=REASON)
    assert exc.value.code == "termination_after_end"
    services.terminate_contract(actor=head, contract=contract.pk, on=TODAY, reason=REASON)
    for call, kwargs in ((services.terminate_contract, {"on": TODAY}),
                         (services.amend_contract, {"departments_added": ["営業部"], "version": contract.version + 1})):
        with pytest.raises(RuleViolation) as exc:
            call(actor=head, contract=contract.pk, reason=REASON, **kwargs)
        assert exc.value.code in ("already_terminated", "contract_terminated")
    assert Contract.objects.get(pk=contract.pk).terminated_on == TODAY


def test_the_business_officer_is_told(head, certification, people, settings):
    from django.core import mail
    from django.utils import timezone

    officer = people["business_officer"]
    officer.email = "officer@towa.example"
    officer.email_verified_at = timezone.now()
    officer.save(update_fields=["email", "email_verified_at"])
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    services.suspend_certification(actor=head, certification=certification.pk, on=TODAY, reason=REASON)
    assert [m.to for m in mail.outbox] == [["officer@towa.example"]]
    assert REASON not in mail.outbox[0].body  # the notice says only that something waits
