"""Designation fixtures: the organ's people, the current packs, a ready-made draft maker."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from hozen.core.actor import Actor
from hozen.rules.queries import current_pack
from tests import factories

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _frozen_today():
    # Designation rules depend on "today" (the pack in force, review dates): freeze it.
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


def actor_of(account, role: str | None = None):
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel="web", second_factor_verified=True)


@pytest.fixture
def esi_pack(db):
    return current_pack("esi", TODAY)


@pytest.fixture
def sds_pack(db):
    return current_pack("sds", TODAY)


@pytest.fixture
def meti(people, orgs):
    """METI's ESI manager, a second ESI manager, the organ head; and another organ's head."""
    return {
        "manager": actor_of(people["esi_manager"]),
        "manager2": actor_of(factories.account(role="esi_manager", organisation=orgs["METI"])),
        "head": actor_of(people["organ_head"]),
        "head_mic": actor_of(factories.account(role="organ_head", organisation=orgs["MIC"])),
        "security": actor_of(people["security_officer"]),
        "oversight": actor_of(people["oversight"]),
        "sysadmin": actor_of(people["sysadmin"]),
        "business": actor_of(people["business_officer"]),
        "auditor": actor_of(people["auditor"]),
    }


def sub_item(pack, code="A-1"):
    return pack.sub_items.select_related("category").get(code=code)


@pytest.fixture
def draft_fields(esi_pack):
    item = sub_item(esi_pack)
    return {
        "title": "発電設備の防護計画に関する情報",
        "summary": "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）",
        "category": item.category,
        "sub_item": item,
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
def make_designation(meti, orgs, draft_fields):
    from hozen.designation import services

    def make(**overrides):
        draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **{**draft_fields, **overrides})
        return services.approve(actor=meti["head"], designation=draft)

    return make
