"""Sending a draft back (差戻し, issue 15): whoever may approve a draft may instead return it to its
ESI manager with a comment. The draft stays a draft, the return is audited (never its comment),
the preparer sees the comment on the draft and in their queue, saving again resubmits it, and the
log replays it (reconcile). Time is frozen at 2026-06-01 (conftest)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.audit.reconcile import reconcile
from hozen.core.errors import RuleViolation, StaleEdit
from hozen.designation import services
from hozen.designation.models import Designation, DraftReturn, State
from tests import factories

from .conftest import actor_of

pytestmark = pytest.mark.django_db

COMMENT = "要件2の理由に、公表資料との関係を具体的に書いてください。"


def entries(action: str):
    return AuditEntry.objects.filter(action=action, outcome="success")


@pytest.fixture
def draft(meti, orgs, draft_fields):
    return services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)


def assert_unchanged(draft):
    row = Designation.objects.get(pk=draft.pk)
    assert row.state == State.DRAFT and row.returned_at is None and row.version == draft.version
    assert not DraftReturn.objects.filter(designation=draft).exists()
    assert not entries("designation.draft_returned").exists()


# --- the rule and its refusals --------------------------------------------------------------------

def test_the_organ_head_sends_a_draft_back_with_a_comment_and_it_stays_a_draft(meti, draft):
    returned = services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT,
                                     version=draft.version)
    row = Designation.objects.get(pk=draft.pk)
    assert row.state == State.DRAFT and row.reference is None and row.returned_at is not None
    assert row.version == draft.version + 1
    assert (returned.comment, returned.returned_by_id, returned.version) == (COMMENT, meti["head"].account.pk,
                                                                           draft.version)
    assert returned.addressed_at is None
    entry = entries("designation.draft_returned").get()
    data = json.loads(entry.data)
    assert data["details"] == {"return": returned.pk, "state": "draft", "returned": True, "version": row.version}
    assert COMMENT not in entry.data  # the log names the return, never its comment
    assert reconcile(kinds=["designation"]).ok


def test_the_esi_managers_are_told_by_email_that_a_draft_was_sent_back(meti, draft):
    account = meti["manager"].account
    account.email, account.email_verified_at = "manager@example.org", timezone.now()
    account.save(update_fields=["email", "email_verified_at"])
    DBTaskResult.objects.all().delete()
    services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    queued = [t.args_kwargs["args"] for t in DBTaskResult.objects.all()]
    assert [account.pk, "draft_decision", "designations"] in queued


@pytest.mark.parametrize("who", ["manager", "manager2", "head_mic", "security", "oversight", "sysadmin"])
def test_only_who_may_approve_a_draft_may_send_it_back(meti, draft, who):
    with pytest.raises(PolicyDenied):
        services.return_draft(actor=meti[who], designation=draft.pk, comment=COMMENT)
    assert_unchanged(draft)


def test_the_preparer_cannot_send_back_their_own_draft(meti, orgs, draft_fields):
    from hozen.core import services as core_services

    manager = meti["manager"]
    core_services.assign_role(actor=factories.operator(), account=manager.account, role="organ_head",
                              organisation=orgs["METI"])
    draft = services.create_draft(actor=manager, organisation=orgs["METI"], **draft_fields)
    with pytest.raises(PolicyDenied) as info:
        services.return_draft(actor=actor_of(manager.account, "organ_head"), designation=draft.pk, comment=COMMENT)
    assert info.value.decision.code == "preparer_cannot_approve"
    assert_unchanged(draft)


@pytest.mark.parametrize("comment", ["", "   ", "\n\t", None])
def test_a_draft_is_sent_back_only_with_a_comment(meti, draft, comment):
    with pytest.raises(RuleViolation) as info:
        services.return_draft(actor=meti["head"], designation=draft.pk, comment=comment)
    assert (info.value.code, info.value.field) == ("text_required", "comment")
    assert_unchanged(draft)


def test_a_comment_longer_than_two_thousand_characters_is_refused_saying_the_limit(meti, draft):
    with pytest.raises(RuleViolation) as info:
        services.return_draft(actor=meti["head"], designation=draft.pk, comment="あ" * 2001)
    assert info.value.code == "text_too_long" and "2000" in info.value.message_en
    assert_unchanged(draft)


def test_a_comment_with_a_control_character_is_refused(meti, draft):
    with pytest.raises(RuleViolation) as info:
        services.return_draft(actor=meti["head"], designation=draft.pk, comment="直してください\u202e")
    assert info.value.code == "invalid_character"
    assert_unchanged(draft)


def test_a_designation_approved_already_cannot_be_sent_back(meti, draft):
    services.approve(actor=meti["head"], designation=draft.pk)
    with pytest.raises(RuleViolation) as info:
        services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    assert info.value.code == "not_a_draft"
    assert not DraftReturn.objects.exists() and not entries("designation.draft_returned").exists()


def test_a_stale_return_is_refused(meti, draft):
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=draft.version, title="別の件名")
    with pytest.raises(StaleEdit):
        services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT, version=draft.version)
    assert not DraftReturn.objects.exists()


def test_a_draft_sent_back_is_not_approved_or_sent_back_again_until_its_preparer_saves_it(meti, draft):
    services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    for call in (lambda: services.approve(actor=meti["head"], designation=draft.pk),
                 lambda: services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)):
        with pytest.raises(RuleViolation) as info:
            call()
        assert info.value.code == "draft_returned"
    assert Designation.objects.get(pk=draft.pk).state == State.DRAFT
    assert DraftReturn.objects.count() == 1


def test_saving_a_draft_sent_back_resubmits_it_and_clears_the_marker(meti, draft):
    services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    seen = Designation.objects.get(pk=draft.pk).version
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=seen,
                          justification_not_public="公表資料（白書等）には記載がなく、関係者以外に知られていない。")
    row = Designation.objects.get(pk=draft.pk)
    assert row.returned_at is None
    assert DraftReturn.objects.get().addressed_at is not None
    details = json.loads(entries("designation.draft_updated").last().data)["details"]
    assert details["returned"] is False and details["fields"] == ["justification_not_public"]
    assert reconcile(kinds=["designation"]).ok
    approved = services.approve(actor=meti["head"], designation=draft.pk, version=row.version)
    assert approved.state == State.DESIGNATED and approved.returned_at is None
    assert reconcile(kinds=["designation"]).ok


def test_saving_a_draft_sent_back_unchanged_also_resubmits_it(meti, draft):
    services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    seen = Designation.objects.get(pk=draft.pk).version
    services.update_draft(actor=meti["manager"], designation=draft.pk, version=seen, title=draft.title)
    assert Designation.objects.get(pk=draft.pk).returned_at is None
    assert json.loads(entries("designation.draft_updated").last().data)["details"]["fields"] == []
    assert reconcile(kinds=["designation"]).ok


def test_reconcile_finds_a_return_cleared_behind_the_services_back(meti, draft):
    services.return_draft(actor=meti["head"], designation=draft.pk, comment=COMMENT)
    Designation.objects.filter(pk=draft.pk).update(returned_at=None)
    report = reconcile(kinds=["designation"])
    assert [(d.field, d.logged, d.stored) for d in report.disagreements] == [("returned", True, False)]


# --- the screens ----------------------------------------------------------------------------------

def test_the_approval_page_offers_to_send_the_draft_back(signed_in, people, draft):
    page = signed_in(people["organ_head"]).get(f"/designations/{draft.pk}/approve/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="return-form"' in body
    assert f'action="/designations/{draft.pk}/return/"' in body and 'name="return-comment"' in body


def test_sending_back_on_screen_without_a_comment_shows_the_error_beside_it_and_writes_nothing(
        signed_in, people, draft):
    client = signed_in(people["organ_head"])
    page = client.post(f"/designations/{draft.pk}/return/", {"return-version": draft.version, "return-comment": " "})
    assert page.status_code == 200
    assert page.context["form"].errors["comment"]
    assert_unchanged(draft)


def test_sent_back_on_screen_the_esi_manager_sees_the_comment_on_the_draft_and_in_their_queue(
        signed_in, people, draft):
    head = signed_in(people["organ_head"])
    done = head.post(f"/designations/{draft.pk}/return/", {"return-version": draft.version, "return-comment": COMMENT})
    assert done.status_code == 302 and done["Location"] == f"/designations/{draft.pk}/"
    assert entries("designation.draft_returned").count() == 1

    manager = signed_in(people["esi_manager"])
    detail = manager.get(f"/designations/{draft.pk}/").content.decode()
    assert 'id="open-return"' in detail and COMMENT in detail
    dashboard = manager.get("/dashboard/").content.decode()
    assert f'id="returned-{draft.pk}"' in dashboard
    listing = manager.get("/designations/").content.decode()
    assert f'id="returned-{draft.pk}"' in listing
    # The head's approval page says why it cannot be approved yet and offers no second return.
    approval = head.get(f"/designations/{draft.pk}/approve/").content.decode()
    assert 'id="open-return"' in approval and 'id="return-form"' not in approval

    # Saved again by the preparer: the marker is gone from the draft, the dashboard and the list.
    version = Designation.objects.get(pk=draft.pk).version
    edit = manager.get(f"/designations/{draft.pk}/edit/")
    data = {k: v for k, v in edit.context["form"].initial.items() if v is not None}
    data = {k: (v.pk if hasattr(v, "pk") else v) for k, v in data.items()}
    data["version"] = version
    data["in_advance"] = ""
    saved = manager.post(f"/designations/{draft.pk}/edit/", {k: v for k, v in data.items() if v != ""})
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else saved
    assert Designation.objects.get(pk=draft.pk).returned_at is None
    assert 'id="open-return"' not in manager.get(f"/designations/{draft.pk}/").content.decode()
    assert f'id="returned-{draft.pk}"' not in manager.get("/dashboard/").content.decode()


def test_the_esi_manager_is_refused_the_send_back_page(signed_in, people, draft):
    page = signed_in(people["esi_manager"]).post(f"/designations/{draft.pk}/return/",
                                                 {"return-version": draft.version, "return-comment": COMMENT})
    assert page.status_code == 403
    assert_unchanged(draft)
