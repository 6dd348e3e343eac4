"""Integrity under concurrency for the organ's measures on certified businesses (DOMAIN §4;
ARCHITECTURE rule 8): parallel calls of the services, each thread with its own connection. Every
outcome is one the services allow in some order, the refused call says why (a RuleViolation with a
code, never a database error), one audit entry per success, and the rows agree with the log."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.core.errors import RuleViolation, StaleEdit
from hozen.operators import services
from hozen.operators.models import Certification, CertificationChange, Contract
from tests import factories
from tests.handling_factories import actor_for, make_contract

from .harness import assert_reconciled, audit_count, race

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 6, 1)
REASON = "保全措置の重大な不備が報告されたため。"


@pytest.fixture
def world(transactional_db):
    orgs = factories.organisations()
    people = factories.people(orgs)
    contract = make_contract(orgs["METI"], orgs["TOWA"])
    return {"head": actor_for(people["organ_head"]), "contract": contract, "cert": contract.certification}


def _codes(outcomes) -> list:
    out = []
    for o in outcomes:
        if o.error is None:
            out.append("ok")
        else:
            assert isinstance(o.error, RuleViolation), repr(o.error)
            out.append(o.error.code)
    return out


def test_two_revocations_at_once_revoke_once(world):
    head, cert = world["head"], world["cert"]
    outcomes = race(*[lambda: services.revoke_certification(actor=head, certification=cert.pk, on=TODAY,
                                                            reason=REASON)] * 2)
    assert sorted(_codes(outcomes)) == ["certification_revoked", "ok"]
    assert audit_count("certification.revoked") == 1 and CertificationChange.objects.count() == 1
    assert_reconciled("certification", "contract")


def test_a_suspension_and_a_restoration_at_once_are_applied_in_one_order(world):
    head, cert = world["head"], world["cert"]
    outcomes = race(
        lambda: services.suspend_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON),
        lambda: services.restore_certification(actor=head, certification=cert.pk, reason=REASON))
    codes = _codes(outcomes)
    suspended_on = Certification.objects.get(pk=cert.pk).suspended_on
    # suspend then restore: both succeed and it is active; restore first: refused, then suspended.
    assert (codes, suspended_on) in ((["ok", "ok"], None), (["ok", "not_suspended"], TODAY))
    assert audit_count("certification.suspended") == 1
    assert audit_count("certification.restored") == codes.count("ok") - 1
    assert_reconciled("certification", "contract")


def test_a_suspension_and_a_revocation_at_once_never_leave_a_suspended_revocation_undone(world):
    head, cert = world["head"], world["cert"]
    outcomes = race(
        lambda: services.suspend_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON),
        lambda: services.revoke_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON))
    codes = _codes(outcomes)
    assert codes in (["ok", "ok"], ["certification_revoked", "ok"])
    assert Certification.objects.get(pk=cert.pk).revoked_on == TODAY
    assert_reconciled("certification", "contract")


def test_an_amendment_and_a_termination_at_once_are_applied_in_one_order(world):
    head, contract = world["head"], world["contract"]
    outcomes = race(
        lambda: services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"],
                                        reason=REASON, version=contract.version),
        lambda: services.terminate_contract(actor=head, contract=contract.pk, on=TODAY, reason=REASON))
    codes = _codes(outcomes)
    row = Contract.objects.get(pk=contract.pk)
    assert row.terminated_on == TODAY and codes[1] == "ok"
    if codes[0] == "ok":
        assert row.authorised_departments == ["技術部", "研究開発部"]
    else:  # terminated first: the amendment, made on the copy before it, is refused as stale
        assert codes[0] == "stale_edit" and row.authorised_departments == ["技術部"]
    assert audit_count("contract.amended") == codes.count("ok") - 1
    assert_reconciled("certification", "contract")


def test_two_amendments_of_the_same_version_one_wins_the_other_is_told(world):
    head, contract = world["head"], world["contract"]
    outcomes = race(*[
        (lambda d=d: services.amend_contract(actor=head, contract=contract.pk, departments_added=[d],
                                             reason=REASON, version=contract.version))
        for d in ("研究開発部", "営業部")])
    assert sorted(_codes(outcomes)) == ["ok", "stale_edit"]
    assert isinstance(next(o.error for o in outcomes if o.error), StaleEdit)
    assert len(Contract.objects.get(pk=contract.pk).authorised_departments) == 2
    assert audit_count("contract.amended") == 1
    assert_reconciled("certification", "contract")


def test_two_terminations_at_once_terminate_once(world):
    head, contract = world["head"], world["contract"]
    outcomes = race(*[lambda: services.terminate_contract(actor=head, contract=contract.pk, on=TODAY,
                                                          reason=REASON)] * 2)
    assert sorted(_codes(outcomes)) == ["already_terminated", "ok"]
    assert audit_count("contract.terminated") == 1
    assert_reconciled("certification", "contract")
