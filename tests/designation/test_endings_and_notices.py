"""Endings of a designation and who is told (DOMAIN §2): every holder and every recipient of a
provision, in or outside Hozen, gets a written notification record; a refused Cabinet approval
past the threshold ends the designation with a transfer to the National Archives (flagged "to
verify" for ESI); the daily job expires designations and tells the organ's ESI managers which
reviews are due. Time is frozen at 2026-06-01 (conftest).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import jobs as registry
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.designation import jobs, queries, services
from hozen.designation.models import Designation, Event, Notification, ReviewReminder, State
from hozen.operators import services as operators
from tests import factories

pytestmark = pytest.mark.django_db

PROVISION = {"basis": "法第10条第1項", "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二"],
             "provided_on": dt.date(2026, 6, 1)}
FINDING = "情報保護協定に基づき同等の保護措置を確認した。"


def entries(action: str, outcome: str = "success"):
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome=outcome).order_by("id")]


def writes() -> tuple:
    return (Designation.objects.filter(state=State.DESIGNATED).count(), Event.objects.count(),
            Notification.objects.count(), AuditEntry.objects.count())


@pytest.fixture
def contract(orgs):
    cert = operators.record_certification(actor=factories.operator(), organ=orgs["METI"], business=orgs["TOWA"],
                                          certified_on=dt.date(2026, 1, 10))
    return operators.record_contract(actor=factories.operator(), certification=cert, reference="METI-C-2026-01",
                                     form="receives", authorised_departments=["防衛事業部"],
                                     valid_from=dt.date(2026, 1, 10), valid_until=dt.date(2028, 3, 31))


@pytest.fixture
def provided_to_all_four(make_designation, meti, orgs, contract):
    """A designation provided to an organ, a business, a foreign government and a court."""
    d = make_designation()
    m = meti["manager"]
    services.record_provision(actor=m, designation=d, recipient_kind="organ", recipient=orgs["MIC"], **PROVISION)
    services.record_provision(actor=m, designation=d, recipient_kind="business", recipient=orgs["TOWA"],
                              contract=contract, **PROVISION)
    services.record_provision(actor=m, designation=d, recipient_kind="foreign", recipient_name="Government of Australia",
                              equivalence_finding=FINDING, **PROVISION)
    services.record_provision(actor=m, designation=d, recipient_kind="diet_or_court",
                              recipient_name="東京地方裁判所（非公開審理）", **PROVISION)
    # A second provision to the same foreign body: still one notice to it.
    services.record_provision(actor=m, designation=d, recipient_kind="foreign", recipient_name="Government of Australia",
                              equivalence_finding=FINDING, **{**PROVISION, "items": "追補 1部"})
    return d


def _recipients(d, kind):
    return sorted((n.recipient.code if n.recipient_id else n.recipient_name)
                  for n in Notification.objects.filter(designation=d, kind=kind))


# The court's name as stored: NFKC makes the full-width brackets typed at line 63 ASCII (issue 12 §1).
EVERYONE = sorted(["METI", "MIC", "TOWA", "Government of Australia", "東京地方裁判所(非公開審理)"])


# --- 1. every holder and every recipient, of all four kinds, gets a written notification record ----------

def test_extension_notifies_every_holder_and_every_recipient_of_all_four_kinds(provided_to_all_four, meti):
    services.extend(actor=meti["head"], designation=provided_to_all_four, new_end=dt.date(2036, 5, 31),
                    reason="要件を引き続き満たすため延長する")
    assert _recipients(provided_to_all_four, "extended") == EVERYONE
    outside = Notification.objects.filter(designation=provided_to_all_four, recipient__isnull=True)
    assert {n.provision.recipient_kind for n in outside} == {"foreign", "diet_or_court"}
    assert all(n.sent_by_holding_organ and n.marking == "重要経済安保情報" for n in outside)
    assert entries("designation.extended")[-1]["details"]["notified"] == 5


def test_cancellation_and_expiry_notify_recipients_outside_hozen_too(provided_to_all_four, make_designation, meti,
                                                                    orgs, _frozen_today):
    services.cancel(actor=meti["head"], designation=provided_to_all_four, reason="要件(c)を満たさなくなったため解除する")
    assert _recipients(provided_to_all_four, "cancelled") == EVERYONE
    short = make_designation(term_end=dt.date(2026, 6, 30))
    services.record_provision(actor=meti["manager"], designation=short, recipient_kind="diet_or_court",
                              recipient_name="衆議院情報監視審査会", **PROVISION)
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    services.expire_due(actor=Actor.job("designation.expire_and_review"))
    assert _recipients(short, "expired") == ["METI", "衆議院情報監視審査会"]


def test_notices_outside_hozen_are_on_the_holding_organs_list_to_send_not_on_anyones_inbox(provided_to_all_four,
                                                                                          meti, people, signed_in):
    services.cancel(actor=meti["head"], designation=provided_to_all_four, reason="要件(c)を満たさなくなったため解除する")
    to_send = [n.recipient_name for n in queries.notices_sent_for(meti["head"], unacknowledged=True)
               if n.sent_by_holding_organ]
    assert sorted(to_send) == ["Government of Australia", "東京地方裁判所(非公開審理)"]
    assert not queries.notifications_for(meti["head_mic"]).filter(recipient__isnull=True).exists()
    page = signed_in(people["organ_head"]).get("/designations/notifications/sent/").content.decode()
    assert "Government of Australia" in page and "東京地方裁判所(非公開審理)" in page
    sent = Client().get("/api/v1/designations/notifications/sent",
                        HTTP_AUTHORIZATION=f"Bearer {factories.api_token(people['organ_head'])}").json()
    outside = [n for n in sent["items"] if n["recipient"] is None]
    assert sorted(n["recipient_name"] for n in outside) == ["Government of Australia", "東京地方裁判所(非公開審理)"]


# --- 3. a refused Cabinet approval past the threshold: transfer to the National Archives ---------------

def test_refused_cabinet_approval_past_the_threshold_transfers_to_the_archives(provided_to_all_four, meti):
    d = provided_to_all_four
    services.record_refused_cabinet_approval(actor=meti["head"], designation=d, requested_end=dt.date(2061, 5, 31),
                                             refusal_ref="閣議-2026-不承認-1")
    d.refresh_from_db()
    assert d.state == State.TRANSFERRED and d.ended_on == dt.date(2026, 6, 1)
    assert d.marking == "重要経済安保情報（指定終了・国立公文書館へ移管）"
    event = d.events.get(kind=Event.Kind.TRANSFERRED)
    assert event.details["to_verify"] is True and event.rules_pack_id
    assert _recipients(d, "transferred_to_archives") == EVERYONE
    [entry] = entries("designation.transferred_to_archives")
    assert entry["details"]["to_verify"] is True and entry["details"]["notified"] == 5
    with pytest.raises(RuleViolation) as info:  # ended: no longer editable
        services.extend(actor=meti["head"], designation=d, new_end=dt.date(2036, 5, 31), reason="延長を試みるための理由")
    assert info.value.code == "designation_not_editable"
    stats = queries.statistics(meti["oversight"])
    assert stats["transferred_to_archives"] == 1 and stats["by_state"]["transferred"] == 1


def test_refused_approval_within_the_threshold_is_refused_and_writes_nothing(make_designation, meti):
    d = make_designation()
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.record_refused_cabinet_approval(actor=meti["head"], designation=d,
                                                 requested_end=dt.date(2036, 5, 31), refusal_ref="閣議-1")
    assert info.value.code == "cabinet_approval_not_needed" and info.value.field == "requested_end"
    assert "内閣" in info.value.message("ja") and "Cabinet" in info.value.message("en")
    with pytest.raises(RuleViolation) as info:
        services.record_refused_cabinet_approval(actor=meti["head"], designation=d,
                                                 requested_end=dt.date(2061, 5, 31), refusal_ref=" ")
    assert (info.value.code, info.value.field) == ("text_required", "refusal_ref")  # the one text policy
    with pytest.raises(PolicyDenied):
        services.record_refused_cabinet_approval(actor=meti["manager"], designation=d,
                                                 requested_end=dt.date(2061, 5, 31), refusal_ref="閣議-1")
    assert writes() == before


def test_refused_approval_screen_shows_the_to_verify_flag_and_ends_the_designation(make_designation, people,
                                                                                  signed_in):
    d = make_designation()
    client = signed_in(people["organ_head"])
    page = client.get(f"/designations/{d.pk}/refused-approval/").content.decode()
    assert 'id="transfer-to-verify"' in page
    assert f"/designations/{d.pk}/refused-approval/" in client.get(f"/designations/{d.pk}/").content.decode()
    bad = client.post(f"/designations/{d.pk}/refused-approval/",
                      {"requested_end": "2036-05-31", "refusal_ref": "閣議-1"})
    assert bad.status_code == 200 and Designation.objects.get(pk=d.pk).state == State.DESIGNATED
    done = client.post(f"/designations/{d.pk}/refused-approval/",
                       {"requested_end": "2061-05-31", "refusal_ref": "閣議-1"})
    assert done.status_code == 302 and Designation.objects.get(pk=d.pk).state == State.TRANSFERRED
    assert signed_in(people["esi_manager"]).get(f"/designations/{d.pk}/refused-approval/").status_code == 403


def test_refused_approval_over_the_api(make_designation, people):
    d = make_designation()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['organ_head'])}"}
    url = f"/api/v1/designations/{d.pk}/refused-approval"
    bad = Client().post(url, {"requested_end": "2036-05-31", "refusal_ref": "閣議-1"},
                        content_type="application/json", **auth)
    assert bad.status_code == 422 and bad.json()["code"] == "cabinet_approval_not_needed"
    ok = Client().post(url, {"requested_end": "2061-05-31", "refusal_ref": "閣議-1"},
                       content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json()["state"] == "transferred"


# --- 6. the daily job: daily, and due reviews become in-app notices to the ESI managers ---------------

def test_the_designation_job_runs_daily():
    [job] = [j for j in registry.registered() if j.name == "designation.expire_and_review"]
    assert job.every_seconds == 24 * 3600


def test_due_and_overdue_reviews_notify_the_organs_esi_managers_once_per_due_date(make_designation, meti,
                                                                                _frozen_today):
    d = make_designation()  # review due 2027-06-01
    actor = Actor.job("designation.expire_and_review")
    assert jobs.daily(actor=actor) == {"expired": 0, "reviews_due": 0, "review_reminders": 0}
    assert not queries.review_reminders_for(meti["manager"]).exists()
    _frozen_today.move_to(dt.datetime(2027, 6, 1, 3, 0, tzinfo=dt.UTC))
    assert jobs.daily(actor=actor)["review_reminders"] == 1
    [reminder] = queries.review_reminders_for(meti["manager"])
    assert (reminder.designation_id, reminder.due, reminder.overdue) == (d.pk, dt.date(2027, 6, 1), False)
    assert jobs.daily(actor=actor)["review_reminders"] == 0  # the same day again: nothing new
    _frozen_today.move_to(dt.datetime(2027, 6, 10, 3, 0, tzinfo=dt.UTC))
    assert jobs.daily(actor=actor)["review_reminders"] == 0  # still the same due date: once only
    assert ReviewReminder.objects.count() == 1
    # The ESI managers (and the head) of the organ see it; not another organ, nor the security officer.
    assert queries.review_reminders_for(meti["manager2"]).count() == 1
    assert not queries.review_reminders_for(meti["head_mic"]).exists()
    assert not queries.review_reminders_for(meti["security"]).exists()
    # A review moves the due date on; the reminder for the old date no longer shows.
    services.review(actor=meti["manager"], designation=d, requirements_met=True)
    assert not queries.review_reminders_for(meti["manager"]).exists()


def test_an_overdue_review_is_noticed_as_overdue(make_designation, meti):
    d = make_designation()
    with time_machine.travel(dt.datetime(2027, 7, 1, 3, 0, tzinfo=dt.UTC), tick=False):
        services.remind_reviews_due(actor=Actor.job("designation.expire_and_review"))
    [reminder] = ReviewReminder.objects.filter(designation=d)
    assert reminder.overdue
    with pytest.raises(PolicyDenied):
        services.remind_reviews_due(actor=meti["manager"])


def test_review_reminders_appear_on_the_esi_managers_notices_screen(make_designation, people, signed_in,
                                                                  _frozen_today):
    d = make_designation()
    _frozen_today.move_to(dt.datetime(2027, 6, 2, 3, 0, tzinfo=dt.UTC))
    jobs.daily(actor=Actor.job("designation.expire_and_review"))
    page = signed_in(people["esi_manager"]).get("/designations/notifications/").content.decode()
    assert 'id="review-reminders"' in page and d.reference in page
    assert "<strong>" in page.split('id="review-reminders"')[1].split("</section>")[0]  # overdue since 2027-06-01


def test_the_holding_organ_records_delivery_of_a_notice_outside_hozen(provided_to_all_four, meti, orgs, people,
                                                                     signed_in):
    services.cancel(actor=meti["head"], designation=provided_to_all_four, reason="要件(c)を満たさなくなったため解除する")
    notice = Notification.objects.get(designation=provided_to_all_four, recipient_name="Government of Australia")
    # Nobody else records it: not another organ, not a business, not oversight.
    for who in ("head_mic", "business", "oversight"):
        with pytest.raises(PolicyDenied):
            services.acknowledge_notification(actor=meti[who], notification=notice)
    head = signed_in(people["organ_head"])
    assert f'id="deliver-{notice.pk}"' in head.get("/designations/notifications/sent/").content.decode()
    head_mic = factories.account(role="organ_head", organisation=orgs["MIC"])
    url = f"/designations/notifications/sent/{notice.pk}/delivered/"
    assert signed_in(head_mic).post(url).status_code == 404
    assert head.post(url).status_code == 302
    notice.refresh_from_db()
    assert notice.acknowledged_at is not None and notice.acknowledged_by["account"] == people["organ_head"].username
    assert entries("designation.notification_acknowledged")[-1]["details"]["kind"] == "cancelled"
    # A notice to an organisation in Hozen is its recipient's to acknowledge, not on this route.
    mic_notice = Notification.objects.get(designation=provided_to_all_four, recipient=orgs["MIC"])
    assert head.post(f"/designations/notifications/sent/{mic_notice.pk}/delivered/").status_code == 404


def test_a_pack_without_the_archives_transfer_refuses_the_record_and_says_it_is_to_verify(make_designation, meti):
    import re

    from hozen.rules import services as rules_services
    from hozen.rules.storage import PACKS_DIR

    d = make_designation()
    text = (PACKS_DIR / "jp-esi-2025.yaml").read_bytes().decode("utf-8")
    text = re.sub(r"(?m)^version: \d+$", "version: 2", text, count=1)
    text = re.sub(r"(?m)^effective_from: \S+$", "effective_from: 2026-05-01", text, count=1)
    text = text.replace("  archives.transfer_on_refused_approval:\n    value: true\n",
                        "  archives.transfer_on_refused_approval:\n    value: false\n", 1)
    rules_services.publish_pack(actor=factories.operator(), source_text=text, filename="v2.yaml")
    before = writes()
    with pytest.raises(RuleViolation) as info:
        services.record_refused_cabinet_approval(actor=meti["head"], designation=d,
                                                 requested_end=dt.date(2061, 5, 31), refusal_ref="閣議-1")
    assert info.value.code == "no_archives_transfer_in_pack"
    assert "照合待ち" in info.value.message("ja") and "awaiting confirmation" in info.value.message("en")
    assert writes() == before


def test_delivery_of_a_notice_outside_hozen_over_the_api(provided_to_all_four, meti, orgs, people):
    services.cancel(actor=meti["head"], designation=provided_to_all_four, reason="要件(c)を満たさなくなったため解除する")
    notice = Notification.objects.get(designation=provided_to_all_four, recipient_name="東京地方裁判所(非公開審理)")
    url = f"/api/v1/designations/notifications/sent/{notice.pk}/delivered"
    head_mic = factories.account(role="organ_head", organisation=orgs["MIC"])
    assert Client().post(url, HTTP_AUTHORIZATION=f"Bearer {factories.api_token(head_mic)}").status_code == 404
    auth = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}
    done = Client().post(url, **auth)
    assert done.status_code == 200 and done.json()["recipient"] is None
    assert done.json()["acknowledged_by"] == people["esi_manager"].username
    again = Client().post(url, **auth)
    assert again.status_code == 422 and again.json()["code"] == "already_acknowledged"
