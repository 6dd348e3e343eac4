"""Provisions (提供) of designated information, DOMAIN §3 (issue 5 §3)."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.core.errors import RuleViolation
from hozen.designation import queries, services
from hozen.designation.models import Holder, Provision
from hozen.operators import services as operators
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract(orgs):
    cert = operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    return operators.record_contract(actor=factories.operator(), certification=cert, reference="METI-C-2026-01",
                                     form="receives", authorised_departments=["防衛事業部"],
                                     valid_from=dt.date(2026, 1, 10), valid_until=dt.date(2028, 3, 31))


BASE = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二", "中村 陽菜"],
        "provided_on": dt.date(2026, 6, 1)}


def test_provision_to_another_organ_records_basis_recipient_items_date_and_handler_list(make_designation, meti, orgs):
    d = make_designation()
    p = services.record_provision(actor=meti["manager"], designation=d, recipient_kind="organ",
                                  recipient=orgs["MIC"], **BASE)
    assert p.handler_list == ["山本 浩二", "中村 陽菜"] and p.recipient_name == "総務省"
    assert Holder.objects.filter(designation=d, organisation=orgs["MIC"]).exists()


def test_provision_to_a_business_needs_an_active_certification_and_contract(make_designation, meti, orgs, contract):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business",
                                  recipient=orgs["TOWA"], **BASE)
    assert info.value.code == "contract_required"
    p = services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business",
                                  recipient=orgs["TOWA"], contract=contract, **BASE)
    assert p.contract == contract


def test_provision_under_an_expired_contract_is_refused(make_designation, meti, orgs, contract):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business",
                                  recipient=orgs["TOWA"], contract=contract,
                                  **{**BASE, "provided_on": dt.date(2028, 4, 1)})
    assert info.value.code == "contract_not_active"
    assert not Provision.objects.exists()


def test_provision_abroad_needs_the_equivalence_finding(make_designation, meti):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="foreign",
                                  recipient_name="Government of Australia", **BASE)
    assert info.value.code == "equivalence_finding_required"
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="foreign",
                              recipient_name="Government of Australia",
                              equivalence_finding="情報保護協定（2026年）に基づき同等の保護措置を確認した。", **BASE)


def test_provision_needs_the_recipients_handler_list(make_designation, meti):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="diet_or_court",
                                  recipient_name="衆議院情報監視審査会", **{**BASE, "handler_list": []})
    assert info.value.field == "handler_list"


def test_provisions_are_visible_to_the_provider_the_recipient_and_oversight(make_designation, meti, orgs, people):
    from .conftest import actor_of

    d = make_designation()
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="organ", recipient=orgs["MIC"],
                              **BASE)
    mic_head = meti["head_mic"]
    assert queries.provisions_for(meti["security"]).count() == 1
    assert queries.provisions_for(mic_head).count() == 1
    assert queries.provisions_for(meti["oversight"]).count() == 1
    assert queries.provisions_for(actor_of(people["business_officer"])).count() == 0
    # The recipient now holds the designation and can see it.
    assert queries.designation_for(mic_head, d.pk) == d


def test_only_the_holding_organs_esi_manager_or_head_records_provisions(make_designation, meti, orgs):
    d = make_designation()
    with pytest.raises(PolicyDenied):
        services.record_provision(actor=meti["security"], designation=d, recipient_kind="organ",
                                  recipient=orgs["MIC"], **BASE)


def test_provisions_and_designation_events_are_counted_in_statistics(make_designation, meti, orgs):
    d = make_designation()
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="organ", recipient=orgs["MIC"],
                              **BASE)
    services.record_provision(actor=meti["manager"], designation=d, recipient_kind="foreign",
                              recipient_name="Government of Australia",
                              equivalence_finding="情報保護協定に基づき同等の保護措置を確認した。", **BASE)
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する")
    stats = queries.statistics(meti["oversight"], year=2026)
    assert stats["provisions_by_recipient_kind"] == {"organ": 1, "business": 0, "foreign": 1, "diet_or_court": 0}
    assert (stats["designated"], stats["extended"], stats["cancelled"]) == (1, 1, 0)
    assert stats["in_force_by_organ_and_category"][0]["organisation"] == "METI"
    with pytest.raises(PolicyDenied):
        queries.statistics(meti["head"])
