"""Credentials under parallel requests (issue 14 §3, §4, §6; ARCHITECTURE rule 8): a password
changed from two windows at once is changed once; two preference changes at once both hold; two
passkeys added at once never pass the limit or save one key twice; an enrolment allowed by an
administrator's link, confirmed from two windows at once, enrols once and spends the link once."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.models import Account, PasswordReset
from tests import factories
from tests.core.test_passkeys import registration

from .harness import assert_no_server_errors, assert_reconciled, audit_count, race
from .test_core_races import form_post, signed_in, window

pytestmark = pytest.mark.django_db(transaction=True)
NEW = ("hozen-new-passphrase-1", "hozen-new-passphrase-2")


def _actor(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome="success").order_by("id")]


def _next_code(account) -> str:
    device = TOTPDevice.objects.get(user=account, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6, drift=device.drift + 1):06d}"


def test_a_password_changed_from_two_windows_at_once_is_changed_once(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    client = signed_in(account)
    code = _next_code(account)
    outcomes = race(*[form_post(c, "/profile/password/", {"old_password": factories.PASSWORD, "new_password": new,
                                                          "new_password_again": new, "token": code})
                      for c, new in ((client, NEW[0]), (window(client), NEW[1]))])
    assert_no_server_errors(outcomes)
    account = Account.objects.get(pk=account.pk)
    assert [account.check_password(new) for new in NEW].count(True) == 1
    assert len(_entries("password.changed")) == 1
    assert_reconciled()


def test_two_notice_choices_made_at_once_both_hold(orgs):
    account = factories.account(role="esi_manager", organisation=orgs["METI"])
    outcomes = race(lambda: services.set_notice_preferences(actor=_actor(account), on={"review_due": False}),
                    lambda: services.set_notice_preferences(actor=_actor(account), on={"draft_decision": False}))
    assert [o.error for o in outcomes] == [None, None]
    preferences = Account.objects.get(pk=account.pk).notice_preferences
    assert preferences["review_due"] is False and preferences["draft_decision"] is False  # no lost update
    assert _entries("profile.notice_preferences_set")[-1]["details"]["off"] == ["draft_decision", "review_due"]


def test_two_passkeys_added_at_once_never_pass_the_limit(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    for n in range(services.PASSKEYS_MAX - 1):
        services.add_passkey(actor=_actor(account), name=f"key {n}", registration=registration())
    outcomes = race(*[lambda n=n: services.add_passkey(actor=_actor(account), name=f"new {n}",
                                                       registration=registration()) for n in range(2)])
    assert sorted(o.error.code for o in outcomes if o.error) == ["too_many_passkeys"]
    assert WebAuthnCredential.objects.filter(user=account).count() == services.PASSKEYS_MAX
    assert _entries("otp.passkey_added")[-1]["details"]["passkeys"] == services.PASSKEYS_MAX


def test_one_passkey_added_from_two_windows_at_once_is_saved_once(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    same = registration()
    outcomes = race(*[lambda n=n: services.add_passkey(actor=_actor(account), name=f"window {n}", registration=same)
                      for n in range(2)])
    assert sorted(o.error.code for o in outcomes if o.error) == ["passkey_already_added"]
    assert WebAuthnCredential.objects.filter(user=account).count() == 1
    assert audit_count("otp.passkey_added") == 1


def test_an_enrolment_allowed_by_a_link_confirmed_from_two_windows_at_once_enrols_once(orgs):
    admin = _actor(factories.account(role="sysadmin", organisation=orgs["CAO"]))
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    services.reset_second_factor(actor=admin, account=account, reason="電話を紛失したとの申告、本人確認済み")
    _, secret = services.start_enrolment_link(actor=admin, account=account)
    client = Client(raise_request_exception=False)
    client.get(f"/signin/enrol/link/{secret}/")
    assert client.post("/signin/", {"username": account.username, "password": factories.PASSWORD}).status_code == 302
    assert client.get("/signin/enrol/").status_code == 200
    device = TOTPDevice.objects.get(user=account, confirmed=False)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    outcomes = race(form_post(client, "/signin/enrol/", {"token": code}),
                    form_post(window(client), "/signin/enrol/", {"token": code}))
    assert_no_server_errors(outcomes)
    assert sorted(o.status for o in outcomes) == [200, 302]  # one enrolled (its codes shown), one sent on
    assert TOTPDevice.objects.filter(user=account, confirmed=True).count() == 1
    link = PasswordReset.objects.get(account=account, purpose=PasswordReset.Purpose.ENROLMENT)
    assert link.used_at is not None and not Account.objects.get(pk=account.pk).enrolment_needs_link
    assert audit_count("otp.enrolled", target_id=str(account.pk)) == 1
    assert_reconciled()
