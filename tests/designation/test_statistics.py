"""Designation statistics (DOMAIN §8): oversight sees every organ's counts, an organ's head and ESI
managers their own; screen and API share the policy `designation.statistics`. Counts only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from hozen.access.policy import PolicyDenied
from hozen.designation import queries, services
from tests import factories

pytestmark = pytest.mark.django_db

PROVISION = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二"],
             "provided_on": dt.date(2026, 6, 1)}


@pytest.fixture
def registry(make_designation, meti, orgs, draft_fields):
    """METI: three designations (one extended, one cancelled), a draft, provisions to an organ, abroad
    and a court, two correction requests of which one is answered."""
    a, b, c = make_designation(), make_designation(), make_designation()
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    services.extend(actor=meti["head"], designation=a, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する")
    services.cancel(actor=meti["head"], designation=b, reason="要件(c)を満たさなくなったため解除する")
    services.record_provision(actor=meti["manager"], designation=a, recipient_kind="organ", recipient=orgs["MIC"],
                              **PROVISION)
    services.record_provision(actor=meti["manager"], designation=a, recipient_kind="foreign",
                              recipient_name="Government of Australia",
                              equivalence_finding="情報保護協定に基づき同等の保護措置を確認した。", **PROVISION)
    services.record_provision(actor=meti["manager"], designation=c, recipient_kind="diet_or_court",
                              recipient_name="東京地方裁判所", **PROVISION)
    first = services.request_correction(actor=meti["oversight"], designation=a, kind="cancel",
                                        request="指定の要件を満たしているか疑義があるため解除を求める。")
    services.request_correction(actor=meti["oversight"], designation=c, kind="amend",
                                request="管理簿の記載を訂正することを求める。")
    services.answer_correction(actor=meti["head"], correction=first, answer="要件を再確認し、指定を維持する旨回答する。")
    return a, b, c


def test_statistics_count_states_categories_decisions_provisions_and_corrections(registry, meti):
    stats = queries.statistics(meti["oversight"])
    assert stats["organisation"] is None
    assert stats["by_state"] == {"designated": 2, "expired": 0, "cancelled": 1, "moved_to_sds": 0, "transferred": 0}
    assert stats["in_force_by_category"] == {"1": 2}
    assert (stats["designated"], stats["extended"], stats["cancelled"]) == (3, 1, 1)
    assert stats["provisions_by_recipient_kind"] == {"organ": 1, "business": 0, "foreign": 1, "diet_or_court": 1}
    assert (stats["correction_requests"], stats["corrections_answered"], stats["corrections_open"]) == (2, 1, 1)
    assert queries.statistics(meti["oversight"], year=2025)["correction_requests"] == 0


def test_an_organ_sees_its_own_statistics_only(registry, meti, orgs):
    own = queries.statistics(meti["manager"], organisation=orgs["METI"])
    assert own["organisation"] == "METI" and own["by_state"]["designated"] == 2
    mic = queries.statistics(meti["head_mic"], organisation=orgs["MIC"])
    assert mic["by_state"]["designated"] == 0 and mic["correction_requests"] == 0


@pytest.mark.parametrize("who", ["manager", "head", "security", "business", "sysadmin", "auditor"])
def test_statistics_of_every_organ_are_refused_to_all_but_oversight(registry, meti, who):
    with pytest.raises(PolicyDenied):
        queries.statistics(meti[who])


def test_another_organs_statistics_are_refused(registry, meti, orgs):
    with pytest.raises(PolicyDenied):
        queries.statistics(meti["head_mic"], organisation=orgs["METI"])
    with pytest.raises(PolicyDenied):
        queries.statistics(meti["security"], organisation=orgs["METI"])


def test_statistics_screen_for_oversight_and_the_organ(registry, people, signed_in):
    page = signed_in(people["oversight"]).get("/designations/statistics/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="n-answered">1<' in text and 'id="n-open">1<' in text and 'id="n-extended">1<' in text
    assert 'id="state-cancelled">1<' in text and 'id="recipients-diet_or_court">1<' in text
    manager = signed_in(people["esi_manager"])
    own = manager.get("/designations/statistics/?year=2026").content.decode()
    assert "METI" in own and 'id="n-cancelled">1<' in own
    clients = {who: signed_in(people[who]) for who in ("business_officer", "sysadmin", "auditor", "security_officer")}
    for who, client in clients.items():
        assert client.get("/designations/statistics/").status_code == 403, who
    # The way in: from the ledger, for those who may see statistics only.
    assert 'id="statistics-link"' in manager.get("/designations/ledger/METI/").content.decode()
    assert 'id="statistics-link"' not in clients["security_officer"].get("/designations/ledger/METI/").content.decode()


def test_statistics_api_under_the_same_policy(registry, people):
    def get(who, query=""):
        auth = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people[who])}"}
        return Client().get(f"/api/v1/designations/statistics{query}", **auth)

    body = get("oversight").json()
    assert body["organisation"] is None and body["corrections_open"] == 1
    assert body["provisions_by_recipient_kind"]["diet_or_court"] == 1
    assert get("organ_head", "?year=2026").json()["organisation"] == "METI"
    assert get("oversight", "?year=1999").status_code == 422
    for who in ("business_officer", "sysadmin", "auditor"):
        response = get(who)
        assert response.status_code == 403 and response.json()["code"], who
