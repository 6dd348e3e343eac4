"""Rules of issue 5 §2/§3 each with its refusal proved to write nothing and to speak both languages;
drafts across a new version of the same rules pack. Time is frozen at 2026-06-01 (conftest)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.designation import services
from hozen.designation.models import Designation, Event, Extension, Holder, Notification, Provision, State
from hozen.operators import services as operators
from hozen.operators.models import Certification
from hozen.rules import services as rules_services
from hozen.rules.storage import PACKS_DIR
from tests import factories

pytestmark = pytest.mark.django_db

PROVISION = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二"],
             "provided_on": dt.date(2026, 6, 1)}
REASON = "要件を引き続き満たすため延長する"


def writes() -> tuple:
    return (list(Designation.objects.order_by("pk").values_list("state", "term_end", "title", "rules_pack_id",
                                                                  "sub_item_id")),
            Event.objects.count(), Extension.objects.count(), Notification.objects.count(), Provision.objects.count(),
            Holder.objects.count(), AuditEntry.objects.filter(outcome="success").count())


def both_languages(violation: RuleViolation) -> None:
    ja, en = violation.message("ja"), violation.message("en")
    assert ja and en and ja != en
    assert any(ord(ch) > 0x3000 for ch in ja) and en.isascii()


# --- editing an expired designation ---------------------------------------------------------------

def test_editing_an_expired_designation_is_refused_and_writes_nothing(make_designation, meti, orgs, _frozen_today):
    d = make_designation(term_end=dt.date(2026, 12, 31))
    _frozen_today.move_to(dt.datetime(2027, 1, 2, 3, 0, tzinfo=dt.UTC))
    services.expire_due(actor=Actor.job("designation.expire_and_review"))
    d = Designation.objects.get(pk=d.pk)
    assert d.state == State.EXPIRED
    before = writes()
    attempts = [
        lambda: services.update_draft(actor=meti["manager"], designation=d, version=d.version, title="変更後の件名"),
        lambda: services.extend(actor=meti["head"], designation=d, new_end=dt.date(2031, 12, 31), reason=REASON),
        lambda: services.cancel(actor=meti["head"], designation=d, reason="要件を満たさなくなったため解除"),
        lambda: services.review(actor=meti["manager"], designation=d, requirements_met=True),
        lambda: services.record_refused_cabinet_approval(actor=meti["head"], designation=d,
                                                         requested_end=dt.date(2061, 5, 31), refusal_ref="閣議-1"),
    ]
    for attempt in attempts:
        with pytest.raises(RuleViolation) as info:
            attempt()
        assert info.value.code == "designation_not_editable"
        both_languages(info.value)
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="organ",
                                  recipient=orgs["MIC"], **PROVISION)
    assert info.value.code == "not_designated"
    assert writes() == before


# --- the cumulative-period rules: nothing written, both languages ---------------------------------

def test_over_threshold_without_cabinet_approval_writes_nothing_and_speaks_both_languages(make_designation, meti):
    d = make_designation()
    end = d.term_end
    while end < dt.date(2056, 5, 31):
        end = end.replace(year=end.year + 5)
        services.extend(actor=meti["head"], designation=d, new_end=end, reason=REASON)
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2061, 5, 31), reason=REASON)
    assert info.value.code == "over_threshold_without_cabinet_approval"
    assert info.value.field == "cabinet_approval_ref"
    both_languages(info.value)
    assert "30" in info.value.message("ja") and "30" in info.value.message("en")
    assert writes() == before


def test_over_absolute_cap_writes_nothing_and_speaks_both_languages_with_the_to_verify_flag(make_designation, meti):
    d = make_designation()
    end = d.term_end
    while end < dt.date(2086, 5, 31):
        end = end.replace(year=end.year + 5)
        services.extend(actor=meti["head"], designation=d, new_end=end, reason=REASON, cabinet_approval_ref="閣議決定")
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2091, 5, 31), reason=REASON,
                        cabinet_approval_ref="閣議決定")
    assert info.value.code == "over_absolute_cap"
    both_languages(info.value)
    assert "照合待ち" in info.value.message("ja") and "awaiting confirmation" in info.value.message("en")
    assert writes() == before


# --- provisions ---------------------------------------------------------------------------------------

@pytest.fixture
def certification(orgs):
    return operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))


@pytest.mark.parametrize("field", ["suspended_on", "revoked_on"])
def test_a_provision_to_a_business_whose_certification_is_suspended_or_revoked_is_refused(
        make_designation, meti, orgs, certification, field):
    contract = operators.record_contract(actor=factories.operator(), certification=certification,
                                         reference="METI-C-2026-01", form="receives",
                                         authorised_departments=["防衛事業部"], valid_from=dt.date(2026, 1, 10),
                                         valid_until=dt.date(2028, 3, 31))
    d = make_designation()
    # Until the certification issue lands there is no service to suspend or revoke: set the date as
    # that service will (the model field the contract's `is_active` reads).
    Certification.objects.filter(pk=certification.pk).update(**{field: dt.date(2026, 5, 1)})
    contract.refresh_from_db()
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="business",
                                  recipient=orgs["TOWA"], contract=contract, **PROVISION)
    assert info.value.code == "contract_not_active" and info.value.field == "contract"
    both_languages(info.value)
    assert writes() == before


def test_a_provision_to_the_diet_or_a_court_is_recorded(make_designation, meti, orgs):
    d = make_designation()
    p = services.record_provision(actor=meti["manager"], designation=d, recipient_kind="diet_or_court",
                                  recipient_name="衆議院情報監視審査会（秘密会）", **PROVISION)
    assert (p.recipient_kind, p.recipient_id, p.recipient_name) == ("diet_or_court", None, "衆議院情報監視審査会(秘密会)")  # NFKC
    assert p.handler_list == ["山本 浩二"] and p.basis == "法第10条第1項"
    assert list(Holder.objects.filter(designation=d).values_list("organisation__code", flat=True)) == ["METI"]
    entry = json.loads(AuditEntry.objects.filter(action="provision.recorded").latest("id").data)
    assert entry["details"] == {"designation": d.pk, "kind": "diet_or_court"}
    with pytest.raises(RuleViolation) as info:
        services.record_provision(actor=meti["manager"], designation=d, recipient_kind="diet_or_court",
                                  recipient_name=" ", **PROVISION)
    assert info.value.code == "recipient_name_required"


# --- a new version of the same pack -----------------------------------------------------------------

def _publish(text_edit=lambda t: t, effective_from="2026-05-01"):
    import re

    text = (PACKS_DIR / "jp-esi-2025.yaml").read_bytes().decode("utf-8")
    text = re.sub(r"(?m)^version: \d+$", "version: 2", text, count=1)
    text = re.sub(r"(?m)^effective_from: \S+$", f"effective_from: {effective_from}", text, count=1)
    return rules_services.publish_pack(actor=factories.operator(), source_text=text_edit(text), filename="v2.yaml")


def test_a_sub_item_from_an_older_version_of_the_same_pack_is_refused(meti, orgs, draft_fields, esi_pack):
    v2 = _publish()
    assert v2.code == esi_pack.code and v2.version == 2
    before = writes()
    with pytest.raises(RuleViolation) as info:  # draft_fields hold v1's category and sub-item
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    assert info.value.code == "sub_item_from_another_pack" and info.value.field == "sub_item"
    both_languages(info.value)
    assert "v2" in info.value.message("en")
    assert writes() == before


def test_a_draft_made_under_an_older_version_follows_the_new_one_when_approved(meti, orgs, draft_fields, esi_pack):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    assert draft.rules_pack == esi_pack
    v2 = _publish()
    # Until edited or approved, the draft keeps the version it was made under.
    assert Designation.objects.get(pk=draft.pk).rules_pack == esi_pack
    d = services.approve(actor=meti["head"], designation=Designation.objects.get(pk=draft.pk))
    d.refresh_from_db()
    assert d.rules_pack == v2 and d.sub_item.pack == v2 and d.category.pack == v2
    assert d.sub_item.code == draft_fields["sub_item"].code
    entry = json.loads(AuditEntry.objects.filter(action="designation.designated").latest("id").data)
    assert entry["details"]["rules"] == str(v2) and entry["details"]["remapped_from"] == str(esi_pack)


def test_editing_a_draft_made_under_an_older_version_re_maps_it_and_the_form_offers_the_same_sub_item(
        meti, orgs, draft_fields, people, signed_in):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    v2 = _publish()
    same_in_v2 = v2.sub_items.get(code=draft_fields["sub_item"].code)
    page = signed_in(people["esi_manager"]).get(f"/designations/{draft.pk}/edit/").content.decode()
    assert f'value="{same_in_v2.pk}" selected' in page
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=Designation.objects.get(pk=draft.pk).version,
                          title="新しい件名")
    d = Designation.objects.get(pk=draft.pk)
    assert d.rules_pack == v2 and d.sub_item == same_in_v2 and d.title == "新しい件名"


def test_a_draft_whose_sub_item_left_the_new_version_must_choose_again(meti, orgs, draft_fields):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                  **{**draft_fields})
    _publish(lambda t: t.replace("    - code: A-1\n", "    - code: A-1X\n", 1))
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.approve(actor=meti["head"], designation=Designation.objects.get(pk=draft.pk))
    assert info.value.code == "sub_item_not_in_current_version" and info.value.field == "sub_item"
    both_languages(info.value)
    assert writes() == before
