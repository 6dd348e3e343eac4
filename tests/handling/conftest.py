"""Handling fixtures: a designation of METI in force, its keeper, a cleared handler maker."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from hozen.audit.models import AuditEntry
from hozen.rules.queries import current_pack
from tests.handling_factories import actor_for, keeper_for

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _packs(db):
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})


def audit_entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


DRAFT = {
    "title": "発電設備の防護計画に関する情報",
    "summary": "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）",
    "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
    "justification_not_public": "公表されておらず、関係者以外に知られていない。",
    "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
    "in_advance": False,
    "advance_reason": "",
    "designated_on": dt.date(2026, 6, 1),
    "term_end": dt.date(2031, 5, 31),
    "protective_measure": "marking",
}


@pytest.fixture
def make_designation(people, orgs):
    from hozen.designation import services

    manager = actor_for(people["esi_manager"])
    head = actor_for(people["organ_head"])

    def make(tier="esi", **overrides):
        pack = current_pack(tier, TODAY)
        item = pack.sub_items.select_related("category").order_by("position").first()
        fields = {**DRAFT, "category": item.category, "sub_item": item, **overrides}
        if tier == "sds":
            fields.setdefault("tier", "sds")
        draft = services.create_draft(actor=manager, organisation=orgs["METI"], **fields)
        return services.approve(actor=head, designation=draft)

    return make


@pytest.fixture
def designation(make_designation):
    return make_designation()


@pytest.fixture
def keeper(people, orgs):
    return keeper_for(orgs["METI"])


@pytest.fixture
def provided(designation, people, orgs):
    """The designation provided to TOWA under an active METI contract (its staff are business staff)."""
    from hozen.designation import services
    from tests.handling_factories import make_contract

    contract = make_contract(orgs["METI"], orgs["TOWA"])
    services.record_provision(actor=actor_for(people["esi_manager"]), designation=designation,
                              recipient_kind="business", recipient=orgs["TOWA"], contract=contract,
                              basis="契約第3条", provided_on=TODAY, items="設計資料一式", handler_list=["技術部"])
    return designation


@pytest.fixture
def towa_employee(orgs):
    from tests import factories

    return factories.account(role="subject", organisation=orgs["TOWA"])
