"""E-mail notices that carry nothing sensitive (issue 14 §6), sent through a real SMTP server started
on 127.0.0.1 by the test (aiosmtpd): only to a verified address (the link e-mailed there), only the
kinds the person keeps on, in their language, queued through the task worker in the transaction of
the change that caused them; every message is checked for planted protected words."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from hozen.audit.models import AuditEntry
from hozen.core import notices, services, tasks
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, EmailVerification
from tests.concurrency.harness import race

pytestmark = pytest.mark.django_db


def _as(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _verified(account, address: str, language: str = "ja") -> Account:
    Account.objects.filter(pk=account.pk).update(email=address, email_verified_at=timezone.now(), language=language)
    return Account.objects.get(pk=account.pk)


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def test_an_address_is_verified_through_the_link_e_mailed_to_it(people, signed_in, smtp):
    account = people["esi_manager"]
    client = signed_in(account)
    client.post("/profile/email/", {"email": "Hanako.Yamada@example.go.jp"})
    assert tasks.run_ready() == 1
    [message] = smtp
    assert message["to"] == ["hanako.yamada@example.go.jp"]
    link = re.search(r"https://hozen\.example\.go\.jp(/profile/email/verify/[^/\s]+/)", message["body"]).group(1)
    assert Account.objects.get(pk=account.pk).email_verified_at is None  # not before the link
    assert client.get(link).status_code == 200  # opening it (a mail scanner would) confirms nothing
    assert Account.objects.get(pk=account.pk).email_verified_at is None
    client.post(link)
    account = Account.objects.get(pk=account.pk)
    assert account.email == "hanako.yamada@example.go.jp" and account.email_verified_at is not None
    assert Client().post(link).status_code == 302 and not _entries("profile.email_verified")[1:]  # once
    for entry in _entries("profile.email_verification_requested") + _entries("profile.email_verified"):
        assert "example.go.jp" not in json.dumps(entry)  # the address is personal data: never in the log


@pytest.mark.parametrize("address", ["not an address", "a@", "x" * 250 + "@example.jp", "a@example.jp\nBcc: b@c.d"])
def test_a_malformed_address_is_refused_and_nothing_is_sent(people, signed_in, smtp, address):
    response = signed_in(people["esi_manager"]).post("/profile/email/", {"email": address}, follow=True)
    assert "メールアドレス" in response.content.decode() or "e-mail" in response.content.decode().lower()
    assert not EmailVerification.objects.exists() and tasks.run_ready() == 0 and not smtp


def test_a_consent_notice_reaches_the_assessed_person_and_says_nothing_of_the_case(smtp, people, orgs):
    from hozen.assessment import services as assessment
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    if not RulesPack.objects.exists():
        load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "t", "channel": "cli"})
    official = _verified(people["esi_manager"], "official@example.go.jp")
    security = _as(people["security_officer"])
    case = assessment.nominate(actor=security, person=official.person, department="極秘計画推進室",
                               post="特命担当課長補佐", listing_agreed_on=timezone.localdate()).case
    assert tasks.run_ready() == 0  # the nomination itself sends nothing
    assessment.give_notice(actor=security, case=case)
    assert tasks.run_ready() == 1
    [message] = smtp
    assert message["to"] == ["official@example.go.jp"]
    text = message["subject"] + message["body"]
    assert "https://hozen.example.go.jp/assessment/portal/" in text
    planted = [official.person.family_name, official.person.given_name, "極秘計画推進室", "特命担当課長補佐",
               "METI", "経済産業省", f"/{case.pk}/", "同意"]
    for word in planted:
        assert word not in text, word


def test_notices_follow_the_persons_language_and_choices(smtp, people):
    account = _verified(people["esi_manager"], "m@example.go.jp", language="en")
    from django.db import transaction

    with transaction.atomic():
        notices.queue(account, "review_due")
    tasks.run_ready()
    assert smtp[-1]["subject"] == "Hozen: something waits for you"
    services.set_notice_preferences(actor=_as(account), on={"review_due": False})
    assert _entries("profile.notice_preferences_set")[-1]["details"]["off"] == ["review_due"]
    with transaction.atomic():
        notices.queue(Account.objects.get(pk=account.pk), "review_due")
    assert tasks.run_ready() == 0 and len(smtp) == 1


def test_no_notice_without_a_verified_address(smtp, people):
    from django.db import transaction

    account = people["esi_manager"]
    Account.objects.filter(pk=account.pk).update(email="unverified@example.go.jp")
    with transaction.atomic():
        notices.queue(Account.objects.get(pk=account.pk), "review_due")
    assert tasks.run_ready() == 0 and not smtp


def test_an_address_verified_then_changed_keeps_the_old_one_until_the_new_link_is_opened(smtp, people):
    account = _verified(people["esi_manager"], "old@example.go.jp")
    services.request_email_verification(actor=_as(account), address="new@example.go.jp")
    tasks.run_ready()
    assert Account.objects.get(pk=account.pk).email == "old@example.go.jp"


def test_a_verification_link_expires_after_a_day(smtp, people, signed_in):
    client = signed_in(people["esi_manager"])
    client.post("/profile/email/", {"email": "late@example.go.jp"})
    tasks.run_ready()
    link = re.search(r"(/profile/email/verify/[^/\s]+/)", smtp[-1]["body"]).group(1)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=services.EMAIL_VERIFICATION_HOURS, minutes=1)):
        client.post(link)
    assert Account.objects.get(pk=people["esi_manager"].pk).email_verified_at is None


def test_an_unknown_notice_kind_is_refused(people):
    with pytest.raises(RuleViolation) as refused:
        services.set_notice_preferences(actor=_as(people["esi_manager"]), on={"everything": True})
    assert refused.value.code == "unknown_notice_kind"


def test_a_review_due_notice_goes_to_the_organs_esi_managers(smtp, people, orgs, make_designation_for_meti):
    from hozen.designation import services as designations

    _verified(people["esi_manager"], "esi@example.go.jp")
    _verified(people["auditor"], "auditor@example.go.jp")
    make_designation_for_meti()
    with time_machine.travel(timezone.now() + dt.timedelta(days=400)):
        designations.remind_reviews_due(actor=Actor.job("designation.expire_and_review"))
    tasks.run_ready()
    assert [m["to"] for m in smtp] == [["esi@example.go.jp"]]


@pytest.mark.django_db(transaction=True)
def test_one_verification_link_opened_twice_at_once_verifies_once(smtp, people):
    services.request_email_verification(actor=_as(people["esi_manager"]), address="twice@example.go.jp")
    tasks.run_ready()
    secret = re.search(r"/profile/email/verify/([^/\s]+)/", smtp[-1]["body"]).group(1)
    outcomes = race(*[lambda: services.verify_email(secret=secret)] * 2)
    assert sorted(o.error is None for o in outcomes) == [False, True]
    assert len(_entries("profile.email_verified")) == 1


@pytest.fixture
def make_designation_for_meti(people, orgs):
    import datetime as dt_

    from hozen.designation import services as designations
    from hozen.rules.queries import current_pack

    def make():
        on = timezone.localdate()
        pack = current_pack("esi", on)
        item = pack.sub_items.select_related("category").get(code="A-1")
        draft = designations.create_draft(
            actor=_as(people["esi_manager"]), organisation=orgs["METI"], title="送電網の防護計画",
            summary="概要", category=item.category, sub_item=item,
            justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
            justification_not_public="公表されておらず、関係者以外に知られていない。",
            justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。", in_advance=False, advance_reason="",
            designated_on=on, term_end=on + dt_.timedelta(days=365 * 5 - 2), protective_measure="marking")
        return designations.approve(actor=_as(people["organ_head"]), designation=draft)

    return make


def test_the_notice_choices_on_the_profile(people, signed_in):
    client = signed_in(people["esi_manager"])
    page = client.get("/profile/").content.decode()
    assert page.count('type="checkbox" name="') == len(notices.KINDS) and 'id="notice-review_due" checked' in page
    client.post("/profile/notices/", {"consent_awaited": "on", "result_to_read": "on"})
    account = Account.objects.get(pk=people["esi_manager"].pk)
    assert [k for k in notices.KINDS if notices.wants(account, k)] == ["consent_awaited", "result_to_read"]


def test_a_new_draft_tells_the_organ_heads_delegates_without_its_title(smtp, people, make_designation_for_meti):
    _verified(people["organ_head"], "head@example.go.jp")
    _verified(people["esi_manager"], "esi@example.go.jp")
    make_designation_for_meti()
    tasks.run_ready()
    assert [m["to"] for m in smtp] == [["head@example.go.jp"]]
    assert "送電網" not in smtp[0]["body"] + smtp[0]["subject"]
    assert "https://hozen.example.go.jp/designations/" in smtp[0]["body"]


def test_one_confirmation_e_mail_a_minute(people, smtp):
    services.request_email_verification(actor=_as(people["esi_manager"]), address="first@example.go.jp")
    with pytest.raises(RuleViolation) as refused:
        services.request_email_verification(actor=_as(people["esi_manager"]), address="second@example.go.jp")
    assert (refused.value.code, refused.value.field) == ("verification_too_soon", "email")
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=services.EMAIL_VERIFICATION_PAUSE + 1)):
        services.request_email_verification(actor=_as(people["esi_manager"]), address="second@example.go.jp")
    assert EmailVerification.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_confirmation_requests_at_once_send_one(people, smtp):
    outcomes = race(*[lambda a=a: services.request_email_verification(actor=_as(people["esi_manager"]), address=a)
                      for a in ("one@example.go.jp", "two@example.go.jp")])
    assert sorted(o.error is None for o in outcomes) == [False, True]
    assert [o.error.code for o in outcomes if o.error] == ["verification_too_soon"]
    assert tasks.run_ready() == 1 and len(smtp) == 1


def test_a_link_for_an_account_deactivated_meanwhile_does_nothing(people, smtp):
    services.request_email_verification(actor=_as(people["esi_manager"]), address="gone@example.go.jp")
    tasks.run_ready()
    secret = re.search(r"/profile/email/verify/([^/\s]+)/", smtp[-1]["body"]).group(1)
    Account.objects.filter(pk=people["esi_manager"].pk).update(is_active=False)
    with pytest.raises(RuleViolation):
        services.verify_email(secret=secret)
    assert Account.objects.get(pk=people["esi_manager"].pk).email_verified_at is None
