"""Integrity under concurrency for designations (issue 11): parallel requests over the API, each
thread with its own connection; exactly the allowed number succeed, the others get a clear 409 or
422 (never a 5xx), one audit entry per success, no reference burnt or given twice, and the rows
agree with the log afterwards."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.designation import services
from hozen.designation.models import Designation, State
from hozen.rules.queries import current_pack
from tests import factories
from tests.designation.conftest import actor_of, sub_item

from .harness import (
    assert_no_server_errors,
    assert_reconciled,
    assert_refusals_are_clear,
    audit_count,
    bearer,
    patch,
    post,
    race,
    statuses,
)

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/api/v1/designations"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def metis(db):
    orgs = factories.organisations()
    people = {
        "manager": factories.account(role="esi_manager", organisation=orgs["METI"]),
        "head": factories.account(role="organ_head", organisation=orgs["METI"]),
        "head2": factories.account(role="organ_head", organisation=orgs["METI"]),
    }
    tokens = {name: bearer(factories.api_token(account)) for name, account in people.items()}
    return orgs, people, tokens


def make_draft(orgs, people, **overrides) -> Designation:
    item = sub_item(current_pack("esi", TODAY))
    fields = {
        "title": "発電設備の防護計画に関する情報", "summary": "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）",
        "category": item.category, "sub_item": item,
        "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        "justification_not_public": "公表されておらず、関係者以外に知られていない。",
        "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        "designated_on": TODAY, "term_end": dt.date(2031, 5, 31), "protective_measure": "marking", **overrides,
    }
    return services.create_draft(actor=actor_of(people["manager"]), organisation=orgs["METI"], **fields)


def designate(orgs, people) -> Designation:
    return services.approve(actor=actor_of(people["head"]), designation=make_draft(orgs, people).pk)


def test_twenty_parallel_approvals_of_one_draft_designate_it_once_with_one_reference(metis):
    orgs, people, tokens = metis
    draft = make_draft(orgs, people)
    seen = f'"{draft.version}"'
    outcomes = race(*[post(f"{BASE}/{draft.pk}/approve", {}, {**tokens["head" if i % 2 else "head2"], "HTTP_IF_MATCH": seen})
                      for i in range(20)])
    assert_refusals_are_clear(outcomes)
    assert statuses(outcomes)[200] == 1, statuses(outcomes)
    assert {o.json()["code"] for o in outcomes if o.status != 200} == {"not_a_draft"}
    d = Designation.objects.get(pk=draft.pk)
    assert d.state == State.DESIGNATED and d.reference == "METI-2026-0001"
    assert audit_count("designation.designated") == 1
    assert_reconciled()


def test_an_approval_and_an_edit_at_once_never_undo_the_approval(metis):
    """The head approves the version they read while the manager saves an edit of that same version:
    exactly one wins. Either the draft is designated as read (the edit, made on the draft before the
    approval, is refused as stale), or it is edited and stays a draft (the approval names a version
    that is gone: the head must read the edit first). Never an approval undone, never an approval of
    text nobody read."""
    orgs, people, tokens = metis
    approved = 0
    for _ in range(6):
        draft = make_draft(orgs, people)
        seen = f'"{draft.version}"'
        approve, edit = race(
            post(f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": seen}),
            patch(f"{BASE}/{draft.pk}", {"title": "同時に保存した件名"}, {**tokens["manager"], "HTTP_IF_MATCH": seen}))
        assert_refusals_are_clear([approve, edit])
        assert sorted([approve.status, edit.status]) == [200, 409]
        d = Designation.objects.get(pk=draft.pk)
        if approve.status == 200:
            approved += 1
            assert edit.json()["code"] == "stale_edit"
            assert d.state == State.DESIGNATED and d.reference and d.approved_by_id == people["head"].pk
            assert d.title == draft.title
        else:
            assert approve.json()["code"] == "stale_edit"
            assert d.state == State.DRAFT and d.reference is None and d.title == "同時に保存した件名"
    references = list(Designation.objects.exclude(reference=None).order_by("serial").values_list("reference", flat=True))
    assert references == [f"METI-2026-{n:04d}" for n in range(1, approved + 1)]
    assert audit_count("designation.designated") == approved
    assert_reconciled()


def test_two_edits_of_the_same_version_one_wins_the_other_is_told(metis):
    orgs, people, tokens = metis
    draft = make_draft(orgs, people)
    seen = {**tokens["manager"], "HTTP_IF_MATCH": f'"{draft.version}"'}
    outcomes = race(patch(f"{BASE}/{draft.pk}", {"title": "一人目の件名"}, seen),
                    patch(f"{BASE}/{draft.pk}", {"title": "二人目の件名"}, seen))
    assert_refusals_are_clear(outcomes)
    assert sorted(o.status for o in outcomes) == [200, 409]
    winner = next(o for o in outcomes if o.status == 200).json()["title"]
    assert Designation.objects.get(pk=draft.pk).title == winner
    assert audit_count("designation.draft_updated") == 1
    assert_reconciled()


def test_parallel_approvals_of_many_drafts_number_them_without_gaps_or_repeats(metis):
    orgs, people, tokens = metis
    drafts = [make_draft(orgs, people) for _ in range(10)]
    outcomes = race(*[post(f"{BASE}/{d.pk}/approve", {}, {**tokens["head" if i % 2 else "head2"],
                                                          "HTTP_IF_MATCH": f'"{d.version}"'})
                      for i, d in enumerate(drafts)])
    assert_no_server_errors(outcomes)
    assert statuses(outcomes) == {200: 10}
    references = sorted(Designation.objects.values_list("reference", flat=True))
    assert references == [f"METI-2026-{n:04d}" for n in range(1, 11)]
    assert sorted(o.json()["reference"] for o in outcomes) == references
    assert_reconciled()


def test_a_refused_approval_burns_no_reference(metis):
    orgs, people, tokens = metis
    ended = make_draft(orgs, people, designated_on=dt.date(2025, 6, 1), term_end=dt.date(2026, 5, 31))
    good = make_draft(orgs, people)
    refused, approved = race(post(f"{BASE}/{ended.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": '"1"'}),
                             post(f"{BASE}/{good.pk}/approve", {}, {**tokens["head2"], "HTTP_IF_MATCH": '"1"'}))
    assert refused.status == 422 and refused.json()["code"] == "term_ended"
    assert approved.status == 200 and approved.json()["reference"] == "METI-2026-0001"
    assert Designation.objects.get(pk=ended.pk).reference is None
    assert_reconciled()


def test_an_extension_and_a_cancellation_at_once_are_applied_in_one_order(metis):
    orgs, people, tokens = metis
    for _ in range(4):
        d = designate(orgs, people)
        extend, cancel = race(
            post(f"{BASE}/{d.pk}/extend", {"new_end": "2034-05-31", "reason": "延長の理由をここに十分に書く"}, tokens["head"]),
            post(f"{BASE}/{d.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"}, tokens["head2"]))
        assert_refusals_are_clear([extend, cancel])
        assert cancel.status == 200
        row = Designation.objects.get(pk=d.pk)
        assert row.state == State.CANCELLED
        if extend.status == 200:  # extended first, then cancelled
            assert row.term_end == dt.date(2034, 5, 31)
        else:
            assert extend.json()["code"] == "designation_not_editable" and row.term_end == dt.date(2031, 5, 31)
    assert audit_count("designation.cancelled") == 4
    assert_reconciled()


def test_a_cancellation_and_a_move_to_sds_at_once_end_the_designation_once(metis):
    orgs, people, tokens = metis
    sds = current_pack("sds", TODAY)
    item = sds.sub_items.first()
    move_body = {"reason": "特定秘密に該当するため移行する", "sub_item": item.code, "term_end": "2031-05-31",
                 "justification_harm": "漏えいすれば安全保障に著しい支障を与えるおそれがある。"}
    for _ in range(4):
        d = designate(orgs, people)
        cancel, move = race(post(f"{BASE}/{d.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"}, tokens["head"]),
                            post(f"{BASE}/{d.pk}/move-to-sds", move_body, tokens["head2"]))
        assert_refusals_are_clear([cancel, move])
        assert sorted(o.status for o in (cancel, move)) in ([200, 422], [201, 422])
        row = Designation.objects.get(pk=d.pk)
        assert row.state in (State.CANCELLED, State.MOVED_TO_SDS)
        assert (row.successor_id is not None) == (row.state == State.MOVED_TO_SDS)
    assert audit_count("designation.cancelled") + audit_count("designation.moved_to_sds") == 4
    assert_reconciled()



def test_an_approval_and_a_role_given_to_the_approver_at_once_both_succeed(metis):
    """Across apps: the approval locks the draft and the organ's row and then points the designation at
    the head's account; giving the head a role locks the account and inserts a row pointing at the
    organ (see tests/concurrency/test_row_locks.py for the deterministic interleaving)."""
    from hozen.core import services as core_services
    from hozen.core.actor import Actor

    orgs, people, tokens = metis
    roles = ["esi_manager", "security_officer", "adjudicator", "complaint_handler"]
    for role in roles:
        draft = make_draft(orgs, people)
        approve, assign = race(
            post(f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version}"'}),
            lambda role=role: core_services.assign_role(actor=Actor.operator("tests"), account=people["head"].pk,
                                                        role=role, organisation=orgs["METI"]))
        assert_no_server_errors([approve])
        assert approve.status == 200, approve.value.content
        assert assign.error is None, assign.error
    assert people["head"].active_assignments().count() == 1 + len(roles)
    assert_reconciled("designation")


@pytest.fixture
def oversight_and_mic(metis):
    orgs, people, tokens = metis
    oversight = factories.account(role="oversight", organisation=orgs["IPRMS"])
    mic_manager = factories.account(role="esi_manager", organisation=orgs["MIC"])
    return {"oversight": bearer(factories.api_token(oversight)), "mic": bearer(factories.api_token(mic_manager))}


def test_a_review_and_a_cancellation_at_once_record_one_ending(metis):
    orgs, people, tokens = metis
    for _ in range(3):
        d = designate(orgs, people)
        review, cancel = race(
            post(f"{BASE}/{d.pk}/review", {"requirements_met": False, "note": "非公知性の要件を満たさなくなったため"},
                 tokens["manager"]),
            post(f"{BASE}/{d.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"}, tokens["head"]))
        assert_refusals_are_clear([review, cancel])
        assert sorted([review.status, cancel.status]) == [200, 422]
        assert Designation.objects.get(pk=d.pk).state == State.CANCELLED
    assert audit_count("designation.cancelled") + audit_count("designation.reviewed") == 3
    assert_reconciled()


def test_a_provision_and_a_cancellation_at_once_never_provide_after_the_end(metis):
    from hozen.designation.models import Provision

    orgs, people, tokens = metis
    body = {"recipient_kind": "organ", "recipient": "MIC", "basis": "法第10条第1項", "provided_on": "2026-06-01",
            "items": "計画書一式", "handler_list": ["総務 花子"]}
    for _ in range(3):
        d = designate(orgs, people)
        provide, cancel = race(post(f"{BASE}/{d.pk}/provisions", body, tokens["manager"]),
                               post(f"{BASE}/{d.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"}, tokens["head"]))
        assert_refusals_are_clear([provide, cancel])
        assert cancel.status == 200
        ended_at = AuditEntry.objects.get(action="designation.cancelled", target_id=str(d.pk)).pk
        if provide.status == 201:  # provided first: its entry is before the cancellation's
            assert AuditEntry.objects.get(action="provision.recorded",
                                          target_id=str(provide.json()["id"])).pk < ended_at
        else:
            assert provide.json()["code"] == "not_designated"
            assert not Provision.objects.filter(designation=d).exists()
    assert_reconciled()


def test_a_correction_answered_twice_at_once_is_answered_once(metis, oversight_and_mic):
    orgs, people, tokens = metis
    d = designate(orgs, people)
    asked = post(f"{BASE}/{d.pk}/corrections", {"kind": "amend", "request": "記録の記載に誤りがあるため是正を求める。"},
                 oversight_and_mic["oversight"])()
    assert asked.status_code == 201, asked.content
    correction = asked.json()["id"]
    answers = race(*[post(f"{BASE}/{d.pk}/corrections/{correction}/answer", {"answer": f"記録を訂正した（{i}）。"},
                          tokens["head" if i % 2 else "head2"]) for i in range(4)])
    assert_refusals_are_clear(answers)
    assert sorted(o.status for o in answers) == [200, 422, 422, 422]
    assert {o.json()["code"] for o in answers if o.status == 422} == {"already_answered"}
    assert audit_count("designation.correction_answered") == 1


def test_a_notice_acknowledged_twice_at_once_is_acknowledged_once(metis):
    from hozen.designation.models import Notification

    orgs, people, tokens = metis
    d = designate(orgs, people)
    services.cancel(actor=actor_of(people["head"]), designation=d.pk, reason="非公知性の要件を満たさなくなったため")
    notice = Notification.objects.get(designation=d, recipient=orgs["METI"])
    outcomes = race(*[post(f"/api/v1/designations/notifications/{notice.pk}/acknowledge", {},
                           tokens["manager" if i % 2 else "head"]) for i in range(4)])
    assert_refusals_are_clear(outcomes)
    assert sorted(o.status for o in outcomes) == [200, 422, 422, 422]
    assert audit_count("designation.notification_acknowledged") == 1
    assert Notification.objects.get(pk=notice.pk).acknowledged_at is not None


def test_an_approval_and_a_send_back_of_one_draft_at_once_one_wins(metis):
    """Issue 15: the organ head approves while another head sends the same draft back. Exactly one
    wins with its one audit entry; the other is told why (already designated, or sent back)."""
    orgs, people, tokens = metis
    for _ in range(3):  # either may win; each round must end with exactly one
        draft = make_draft(orgs, people)
        seen = f'"{draft.version}"'
        outcomes = race(post(f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": seen}),
                        post(f"{BASE}/{draft.pk}/return", {"comment": "要件2の理由を具体的に書いてください。"},
                             {**tokens["head2"], "HTTP_IF_MATCH": seen}))
        assert_refusals_are_clear(outcomes, allowed=(422,))
        assert statuses(outcomes)[200] == 1, statuses(outcomes)
        approved, returned = outcomes
        d = Designation.objects.get(pk=draft.pk)
        designated = audit_count("designation.designated", target_id=str(draft.pk))
        sent_back = audit_count("designation.draft_returned", target_id=str(draft.pk))
        if approved.status == 200:
            assert returned.json()["code"] == "not_a_draft"
            assert d.state == State.DESIGNATED and d.returned_at is None and (designated, sent_back) == (1, 0)
        else:
            assert approved.json()["code"] == "draft_returned"
            assert d.state == State.DRAFT and d.returned_at is not None and (designated, sent_back) == (0, 1)
    assert_reconciled()


def test_two_send_backs_of_one_draft_at_once_record_one_return(metis):
    orgs, people, tokens = metis
    draft = make_draft(orgs, people)
    seen = f'"{draft.version}"'
    outcomes = race(*[post(f"{BASE}/{draft.pk}/return", {"comment": f"修正してください（{i}）"},
                           {**tokens["head" if i % 2 else "head2"], "HTTP_IF_MATCH": seen}) for i in range(6)])
    assert_refusals_are_clear(outcomes)
    assert statuses(outcomes)[200] == 1, statuses(outcomes)
    assert {o.json()["code"] for o in outcomes if o.status != 200} == {"draft_returned"}
    assert audit_count("designation.draft_returned") == 1
    assert_reconciled()
