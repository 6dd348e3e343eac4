"""Which pack applies on a date (DOMAIN §9): by effective date; older versions stay for old decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.core.errors import NotFound, RuleViolation
from hozen.rules import services
from hozen.rules.queries import current_pack, pack_for, packs_for

from .conftest import variant

pytestmark = pytest.mark.django_db


def test_current_pack_is_the_shipped_one_after_the_regime_started(packs):
    assert current_pack("esi", dt.date(2025, 5, 16)) == packs["esi"]
    assert current_pack("esi", dt.date(2026, 6, 1)) == packs["esi"]
    assert current_pack("sds", dt.date(2026, 6, 1)) == packs["sds"]


def test_no_esi_pack_applies_before_the_regime_started(packs):
    with pytest.raises(RuleViolation) as info:
        current_pack("esi", dt.date(2025, 5, 15))
    assert info.value.code == "no_rules_pack"
    assert "2025-05-15" in info.value.message_en and "2025-05-15" in info.value.message_ja
    assert info.value.message_ja != info.value.message_en


def test_current_pack_takes_an_aware_datetime_as_its_tokyo_date(packs):
    # 2025-05-15 15:30 UTC is already 16 May in Tokyo.
    moment = dt.datetime(2025, 5, 15, 15, 30, tzinfo=dt.UTC)
    assert current_pack("esi", moment) == packs["esi"]


def test_current_pack_refuses_an_unknown_tier(packs):
    with pytest.raises(RuleViolation) as info:
        current_pack("top-secret", dt.date(2026, 1, 1))
    assert info.value.code == "invalid_tier"


def test_a_new_version_applies_from_its_effective_date_and_the_old_stays_for_earlier_decisions(packs, operator):
    v2 = services.publish_pack(actor=operator, source_text=variant(version=2, effective_from="2027-04-01"),
                               filename="jp-esi-2025-v2.yaml")
    assert str(v2) == "jp-esi-2025 v2"
    assert current_pack("esi", dt.date(2027, 3, 31)) == packs["esi"]
    assert current_pack("esi", dt.date(2027, 4, 1)) == v2
    # The old version and its taxonomy are untouched; its sub-items are distinguishable by pack.
    old_item = packs["esi"].sub_item("A-1")
    new_item = v2.sub_item("A-1")
    assert old_item.pk != new_item.pk and old_item.pack_id != v2.pk and new_item.pack_id == v2.pk
    assert packs["esi"].sub_items.count() == 19 and v2.sub_items.count() == 19
    assert pack_for("jp-esi-2025", 1) == packs["esi"]
    assert pack_for("jp-esi-2025") == v2


def test_a_same_day_correction_replaces_the_version_in_force(packs, operator):
    v2 = services.publish_pack(actor=operator, source_text=variant(version=2, effective_from="2025-05-16"),
                               filename="jp-esi-2025.yaml")
    assert current_pack("esi", dt.date(2025, 5, 16)) == v2


def test_pack_for_an_unknown_version_is_not_found(packs):
    with pytest.raises(NotFound):
        pack_for("jp-esi-2025", 9)
    with pytest.raises(NotFound):
        pack_for("jp-nope")


def test_every_role_holder_may_read_packs_but_an_account_without_role_may_not(packs, people):
    from hozen.access import policy
    from hozen.core.actor import Actor
    from hozen.rules.models import RulesPack

    for account in people.values():
        actor = Actor.for_account(account, account.active_assignments().first(), channel="web")
        assert set(packs_for(actor)) == set(RulesPack.objects.all())
        for pack in RulesPack.objects.all():
            assert policy.decide(actor, "rules_pack.view", pack).allowed
    nobody = Actor.for_account(people["subject"], None, channel="web")
    assert not packs_for(nobody).exists()
    assert policy.decide(nobody, "rules_pack.view", packs["esi"]).code == "no_active_role"
