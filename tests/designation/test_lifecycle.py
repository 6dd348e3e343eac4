"""Designation lifecycle and the rules of DOMAIN §2, each test named after its rule (issue 5 §2)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.designation import queries, services
from hozen.designation.models import Designation, Event, Extension, Notification, State

from .conftest import sub_item

pytestmark = pytest.mark.django_db


def _last_audit(action):
    return json.loads(AuditEntry.objects.filter(action=action).last().data)


def test_draft_then_approval_designates_with_a_reference_per_organ_and_year(make_designation, esi_pack):
    first = make_designation()
    second = make_designation()
    assert first.state == State.DESIGNATED
    assert (first.reference, second.reference) == ("METI-2026-0001", "METI-2026-0002")
    assert first.rules_pack == esi_pack
    assert first.review_due == dt.date(2027, 6, 1)
    assert first.marking == "重要経済安保情報"
    assert [e.kind for e in first.events.all()] == ["drafted", "designated"]
    assert _last_audit("designation.designated")["details"]["reference"] == "METI-2026-0002"


def test_approval_by_the_preparer_is_refused(meti, orgs, draft_fields):
    from hozen.core import services as core_services
    from tests import factories

    # The preparer also holds the organ-head role: still not allowed to approve their own draft.
    manager = meti["manager"]
    core_services.assign_role(actor=factories.operator(), account=manager.account, role="organ_head",
                              organisation=orgs["METI"])
    draft = services.create_draft(actor=manager, organisation=orgs["METI"], **draft_fields)
    from .conftest import actor_of

    with pytest.raises(PolicyDenied) as info:
        services.approve(actor=actor_of(manager.account, "organ_head"), designation=draft)
    assert info.value.decision.code == "preparer_cannot_approve"
    assert Designation.objects.get(pk=draft.pk).state == State.DRAFT


def test_only_the_organ_head_of_the_holding_organ_approves(meti, orgs, draft_fields):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    for who in ("manager2", "head_mic", "sysadmin", "oversight"):
        with pytest.raises(PolicyDenied):
            services.approve(actor=meti[who], designation=draft)
    assert Designation.objects.get(pk=draft.pk).state == State.DRAFT


def test_only_an_esi_manager_of_the_organ_drafts(meti, orgs, draft_fields):
    for who in ("security", "head", "business", "sysadmin"):
        with pytest.raises(PolicyDenied):
            services.create_draft(actor=meti[who], organisation=orgs["METI"], **draft_fields)
    with pytest.raises(PolicyDenied):
        services.create_draft(actor=meti["manager"], organisation=orgs["MIC"], **draft_fields)
    assert not Designation.objects.exists()


def test_term_over_the_packs_maximum_is_refused(meti, orgs, draft_fields):
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "term_end": dt.date(2031, 6, 1)})
    assert info.value.code == "term_over_maximum" and info.value.field == "term_end"
    assert "5" in info.value.message_ja and "5 years" in info.value.message_en
    assert not Designation.objects.exists()


def test_a_shorter_term_than_the_maximum_is_allowed(make_designation):
    assert make_designation(term_end=dt.date(2027, 5, 31)).term_end == dt.date(2027, 5, 31)


def test_designation_effective_before_the_regime_start_is_refused(meti, orgs, draft_fields):
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "designated_on": dt.date(2025, 5, 15),
                                 "term_end": dt.date(2026, 5, 1)})
    assert info.value.code == "before_regime_start"
    assert not Designation.objects.exists()


def test_designation_ahead_of_the_information_needs_a_recorded_reason(meti, orgs, draft_fields):
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **{**draft_fields, "in_advance": True})
    assert info.value.code == "advance_designation_needs_reason"
    d = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "in_advance": True, "advance_reason": "研究成果が来月生じる見込みのため"})
    assert d.in_advance


def test_each_requirement_needs_a_written_justification(meti, orgs, draft_fields):
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "justification_not_public": ""})
    assert info.value.field == "justification_not_public"


def test_a_sub_item_from_another_pack_version_is_refused(meti, orgs, draft_fields, sds_pack):
    other = sub_item(sds_pack, sds_pack_sub_item_code(sds_pack))
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "sub_item": other, "category": draft_fields["category"]})
    assert info.value.code == "sub_item_from_another_pack"


def sds_pack_sub_item_code(pack) -> str:
    return pack_sub_items(pack).first().code


def pack_sub_items(pack):
    from hozen.rules.models import SubItem

    return SubItem.objects.filter(pack=pack).order_by("code")


def test_extension_within_the_cap_re_marks_and_notifies_every_holder(make_designation, meti):
    d = make_designation()
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31), reason="要件を引き続き満たすため延長する")
    d.refresh_from_db()
    assert d.term_end == dt.date(2036, 5, 31)
    ext = Extension.objects.get(designation=d)
    assert ext.previous_end == dt.date(2031, 5, 31) and ext.rules_pack == d.rules_pack
    assert Notification.objects.filter(designation=d, kind="extended").count() == 1
    assert _last_audit("designation.extended")["details"]["notified"] == 1


def test_extension_over_the_packs_maximum_is_refused(make_designation, meti):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 6, 1), reason="要件を引き続き満たすため")
    assert info.value.code == "extension_over_maximum"
    d.refresh_from_db()
    assert d.term_end == dt.date(2031, 5, 31) and not d.extensions.exists()


def test_extension_beyond_thirty_years_needs_cabinet_approval(make_designation, meti):
    d = make_designation()
    end = d.term_end
    for _ in range(5):  # 5 + 5 x 5 = 30 years
        end = end.replace(year=end.year + 5)
        services.extend(actor=meti["head"], designation=d, new_end=end, reason="要件を引き続き満たすため延長する")
        d.refresh_from_db()
    assert d.term_end == dt.date(2056, 5, 31)
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2061, 5, 31), reason="要件を引き続き満たすため")
    assert info.value.code == "over_threshold_without_cabinet_approval"
    services.extend(actor=meti["head"], designation=d, new_end=dt.date(2061, 5, 31), reason="要件を引き続き満たすため",
                    cabinet_approval_ref="閣議決定 2056-04-01 第12号")
    assert d.extensions.last().cabinet_approval_ref == "閣議決定 2056-04-01 第12号"


def test_extension_over_the_absolute_cap_is_refused_and_says_the_cap_is_to_verify(make_designation, meti, esi_pack):
    d = make_designation()
    end = d.term_end
    while end < dt.date(2086, 5, 31):
        end = end.replace(year=end.year + 5)
        services.extend(actor=meti["head"], designation=d, new_end=end, reason="要件を引き続き満たすため延長する",
                        cabinet_approval_ref="閣議決定")
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2091, 5, 31),
                        reason="要件を引き続き満たすため", cabinet_approval_ref="閣議決定")
    assert info.value.code == "over_absolute_cap"
    assert esi_pack.is_to_verify("cumulative.absolute_cap_years")
    assert "照合待ち" in info.value.message_ja and "awaiting confirmation" in info.value.message_en


def test_cancelled_or_expired_designations_cannot_be_edited(make_designation, meti):
    d = make_designation()
    services.cancel(actor=meti["head"], designation=d, reason="非公知性の要件を満たさなくなったため")
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2032, 1, 1), reason="延長の理由をここに書く")
    assert info.value.code == "designation_not_editable"
    with pytest.raises(RuleViolation):
        services.update_draft(actor=meti["manager"], designation=d.pk, version=Designation.objects.get(pk=d.pk).version,
                              title="x")


def test_cancellation_changes_the_marking_and_notifies_holders(make_designation, meti):
    d = make_designation()
    services.cancel(actor=meti["head"], designation=d, reason="非公知性の要件を満たさなくなったため")
    d.refresh_from_db()
    assert d.state == State.CANCELLED and d.ended_on == dt.date(2026, 6, 1)
    assert d.marking == "重要経済安保情報（指定解除）"
    notice = Notification.objects.get(designation=d)
    assert notice.kind == "cancelled" and notice.marking == d.marking


def test_designations_expire_automatically_at_the_end_of_their_term(make_designation, _frozen_today):
    from hozen.core.actor import Actor

    d = make_designation(term_end=dt.date(2026, 12, 31))
    assert services.expire_due(actor=Actor.job("test"), on=dt.date(2026, 12, 31)) == 0
    assert services.expire_due(actor=Actor.job("test"), on=dt.date(2027, 1, 1)) == 1
    d.refresh_from_db()
    assert d.state == State.EXPIRED and d.marking.endswith("（指定の有効期間満了）")
    assert Notification.objects.filter(designation=d, kind="expired").exists()


def test_expiry_is_the_background_jobs_work_only(meti):
    with pytest.raises(PolicyDenied):
        services.expire_due(actor=meti["head"])


def test_review_records_requirements_still_met_and_sets_the_next_due_date(make_designation, meti):
    d = make_designation()
    row = services.review(actor=meti["manager"], designation=d, requirements_met=True)
    assert row.next_due == dt.date(2027, 6, 1) and row.rules_pack == d.rules_pack
    assert Event.objects.filter(designation=d, kind="reviewed").exists()


def test_review_that_finds_a_requirement_failed_cancels(make_designation, meti):
    d = make_designation()
    services.review(actor=meti["manager"], designation=d, requirements_met=False, note="報道により公知となったため")
    d.refresh_from_db()
    assert d.state == State.CANCELLED


def test_due_and_overdue_reviews_are_listed_for_the_organ(make_designation, meti, _frozen_today):
    d = make_designation()
    assert not queries.reviews_due_for(meti["manager"]).exists()
    assert list(queries.reviews_due_for(meti["manager"], on=dt.date(2027, 5, 20))) == [d]
    assert not queries.reviews_due_for(meti["head_mic"], on=dt.date(2027, 6, 20)).exists()


def test_moving_to_sds_cancels_the_esi_designation_and_creates_the_linked_sds_one(make_designation, meti, sds_pack):
    d = make_designation()
    item = pack_sub_items(sds_pack).first()
    category = item.category or sds_pack.categories.first()
    sds = services.move_to_sds(actor=meti["head"], designation=d, reason="著しい支障のおそれがあると判断したため",
                               sds_category=category, sds_sub_item=item, term_end=dt.date(2031, 5, 31),
                               justification_harm="漏えいすれば安全保障に著しい支障を与えるおそれがある。")
    d.refresh_from_db()
    assert d.state == State.MOVED_TO_SDS and d.successor == sds
    assert sds.tier == "sds" and sds.state == State.DESIGNATED and sds.reference == "METI-SDS-2026-0001"
    assert sds.marking == "特定秘密" and d.marking.endswith("特定秘密へ移行）")


def test_oversight_correction_request_and_the_organs_answer_stay_on_the_ledger(make_designation, meti, orgs):
    d = make_designation()
    req = services.request_correction(actor=meti["oversight"], designation=d, kind="cancel",
                                      request="要件(b)を満たしていないため解除を求める。")
    with pytest.raises(PolicyDenied):
        services.request_correction(actor=meti["head"], designation=d, kind="cancel", request="自分で求めることはできない")
    services.answer_correction(actor=meti["head"], correction=req, answer="再検討の上、指定を解除した。")
    rows = queries.ledger_rows(meti["oversight"], orgs["METI"])
    # The request and the answer themselves, not only whether it was answered.
    assert "要件(b)を満たしていないため解除を求める。" in rows[0]["corrections"]
    assert "回答：再検討の上、指定を解除した。" in rows[0]["corrections"]


def test_ledger_is_visible_to_the_organ_and_oversight_only(make_designation, meti, orgs):
    make_designation()
    assert len(queries.ledger_rows(meti["security"], orgs["METI"])) == 1
    for who in ("head_mic", "sysadmin", "auditor", "business"):
        with pytest.raises(PolicyDenied):
            queries.ledger_rows(meti[who], orgs["METI"])


@pytest.mark.parametrize("who", ["manager", "head", "security", "oversight"])
def test_scope_agrees_with_decide_for_designations(make_designation, meti, orgs, draft_fields, who):
    from hozen.access import policy

    make_designation()
    services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    actor = meti[who]
    visible = set(Designation.objects.filter(policy.scope(actor, "designation.view", Designation))
                  .values_list("pk", flat=True))
    for d in Designation.objects.all():
        assert policy.decide(actor, "designation.view", d).allowed == (d.pk in visible)


def test_an_absolute_cap_exemption_must_be_one_the_pack_lists(make_designation, meti):
    d = make_designation()
    with pytest.raises(RuleViolation) as info:
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31),
                        reason="要件を引き続き満たすため延長する", cap_exemption="made-up")
    assert info.value.code == "unknown_cap_exemption" and info.value.field == "cap_exemption"
    assert not d.extensions.exists()


def test_protective_measure_must_be_marking_or_written_notice(meti, orgs, draft_fields):
    with pytest.raises(RuleViolation) as info:
        services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                              **{**draft_fields, "protective_measure": "shred-after-reading"})
    assert info.value.field == "protective_measure"
    assert not Designation.objects.exists()
