"""DOMAIN §4 and §5, ARCHITECTURE rule 9 (dates decide): a business's handler reads under an active
certification and a contract covering their department only. A suspension, a revocation, a
termination or a department removed from the contract denies access from its date on, at the very
next decision, with the policy's reason; a restoration gives access back."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import decide
from hozen.handling import conditions
from hozen.operators import services
from hozen.operators.models import Contract
from tests.handling_factories import make_cleared_handler

from .conftest import TODAY

READ = "designation.material.read"
REASON = "保全措置の重大な不備が報告されたため。"


@pytest.fixture
def handler(provided, towa_employee):
    actor = make_cleared_handler(provided, towa_employee)
    assert decide(actor, READ, provided).allowed
    return actor


def _contract_detail(actor, designation) -> str:
    return next(c for c in conditions.evaluate(account_id=actor.account.pk, designation=designation)
                if c.name == "contract").detail


def test_a_suspension_cuts_the_business_handlers_access_at_once_and_a_restoration_gives_it_back(
        head, handler, provided):
    cert = Contract.objects.get(business=handler.organisation).certification
    services.suspend_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON)
    decision = decide(handler, READ, provided)  # the same actor: its cached facts are dropped
    assert (decision.allowed, decision.code) == (False, "no_active_contract")
    assert _contract_detail(handler, provided) == "certification_suspended"
    services.restore_certification(actor=head, certification=cert.pk, reason="是正措置の完了を確認したため。")
    assert decide(handler, READ, provided).allowed


def test_a_suspension_from_a_later_date_denies_from_that_date(head, handler, provided, _frozen_today):
    cert = Contract.objects.get(business=handler.organisation).certification
    services.suspend_certification(actor=head, certification=cert.pk, on=TODAY + dt.timedelta(days=7), reason=REASON)
    assert decide(handler, READ, provided).allowed
    _frozen_today.move_to(dt.datetime(2026, 6, 8, 3, 0, tzinfo=dt.UTC))
    assert decide(handler, READ, provided).code == "no_active_contract"


def test_a_revocation_cuts_access_for_good(head, handler, provided):
    cert = Contract.objects.get(business=handler.organisation).certification
    services.revoke_certification(actor=head, certification=cert.pk, on=TODAY, reason=REASON)
    assert decide(handler, READ, provided).code == "no_active_contract"
    assert _contract_detail(handler, provided) == "certification_revoked"


def test_a_terminated_contract_cuts_access_at_once(head, handler, provided):
    contract = Contract.objects.get(business=handler.organisation)
    services.terminate_contract(actor=head, contract=contract.pk, on=TODAY, reason=REASON)
    assert decide(handler, READ, provided).code == "no_active_contract"
    assert _contract_detail(handler, provided) == "contract_terminated"


def test_a_department_removed_from_the_contract_cuts_its_handlers_access_at_once(head, handler, provided):
    contract = Contract.objects.get(business=handler.organisation)
    services.amend_contract(actor=head, contract=contract.pk, departments_added=["研究開発部"],
                            departments_removed=["技術部"], reason=REASON, version=contract.version)
    assert decide(handler, READ, provided).code == "no_active_contract"
    assert _contract_detail(handler, provided) == "department_not_covered"
