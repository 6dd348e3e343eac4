"""Passwords through their whole life, audited (issue 14 §3): an administrator's one-time reset link
(short-lived, once, replaced by a newer one; the second factor removed only when it is lost too),
the person's own change (old password and second factor), and `hozen users set-password` instead of
Django's unaudited commands."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, ApiToken, PasswordReset
from tests import factories
from tests.concurrency.harness import race

pytestmark = pytest.mark.django_db
NEW = "a-new-long-passphrase-42"


def _as(account) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def _next_totp(account) -> str:
    from django_otp.oath import totp

    device = TOTPDevice.objects.get(user=account, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6, drift=device.drift + 1):06d}"


def _sign_in(username: str, password: str) -> Client:
    client = Client()
    client.post("/signin/", {"username": username, "password": password})
    return client


def test_an_administrator_makes_a_one_time_link_and_the_person_sets_a_new_password(people, signed_in):
    person = people["esi_manager"]
    admin = signed_in(people["sysadmin"])
    assert admin.get(f"/admin/accounts/{person.pk}/reset-password/").status_code == 200
    page = admin.post(f"/admin/accounts/{person.pk}/reset-password/", {}).content.decode()
    link = page.split('id="password-reset-link">', 1)[1].split("<", 1)[0]
    path = link.split("testserver", 1)[1]
    assert path.startswith("/signin/reset/")
    assert PasswordReset.objects.get().secret_hash not in page  # only the hash is kept; the link shown once
    response = Client().post(path, {"password": NEW, "password_again": NEW})
    assert response.status_code == 302 and response["Location"] == "/signin/"
    # The new password signs in, and still asks for the second factor (it was not lost).
    assert _sign_in(person.username, NEW).get("/dashboard/")["Location"].startswith("/signin/verify/")
    assert TOTPDevice.objects.filter(user=person, confirmed=True).exists()
    started, completed = _entries("password.reset_started")[-1], _entries("password.reset_completed")[-1]
    assert started["details"]["second_factor_lost"] is False
    assert completed["details"]["second_factor_removed"] is False
    assert NEW not in json.dumps(completed)
    # Once only.
    assert Client().get(path).status_code == 404


def test_a_reset_with_the_second_factor_lost_removes_it_and_ends_the_tokens(people):
    person = people["esi_manager"]
    token = factories.api_token(person)
    _, secret = services.start_password_reset(actor=_as(people["sysadmin"]), account=person, second_factor_lost=True)
    Client().post(f"/signin/reset/{secret}/", {"password": NEW, "password_again": NEW})
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert ApiToken.objects.get().revoked_at is not None
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    # Signing in with the new password leads to enrolling a new authenticator.
    assert _sign_in(person.username, NEW).get("/dashboard/")["Location"].startswith("/signin/enrol/")
    assert _entries("password.reset_completed")[-1]["details"]["tokens_revoked"] == 1


def test_a_reset_link_expires_and_a_newer_one_replaces_it(people):
    person, admin = people["esi_manager"], _as(people["sysadmin"])
    _, first = services.start_password_reset(actor=admin, account=person)
    _, second = services.start_password_reset(actor=admin, account=person)
    assert Client().get(f"/signin/reset/{first}/").status_code == 404  # replaced
    assert _entries("password.reset_started")[-1]["details"]["earlier_links_withdrawn"] == 1
    with time_machine.travel(timezone.now() + dt.timedelta(hours=services.PASSWORD_RESET_HOURS, seconds=1)):
        response = Client().post(f"/signin/reset/{second}/", {"password": NEW, "password_again": NEW})
        assert response.status_code == 404 and "reset-unusable" in response.content.decode()
    assert not Account.objects.get(pk=person.pk).check_password(NEW)
    assert Client().get("/signin/reset/not-a-link/").status_code == 404


def test_nobody_resets_their_own_password_and_only_administrators_reset(people):
    with pytest.raises(PolicyDenied) as denied:
        services.start_password_reset(actor=_as(people["sysadmin"]), account=people["sysadmin"])
    assert denied.value.decision.code == "own_password_reset"
    with pytest.raises(PolicyDenied) as denied:
        services.start_password_reset(actor=_as(people["security_officer"]), account=people["esi_manager"])
    assert denied.value.decision.code == "not_sysadmin"
    assert not PasswordReset.objects.exists()


@pytest.mark.parametrize(("password", "again", "error"), [
    ("short", "short", "12"),                     # too short
    ("password123456", "password123456", ""),     # too common
    (NEW, NEW + "x", "same"),                     # the two differ
])
def test_a_weak_or_mismatched_new_password_is_refused_and_the_link_still_works(people, password, again, error):
    _, secret = services.start_password_reset(actor=_as(people["sysadmin"]), account=people["esi_manager"])
    response = Client().post(f"/signin/reset/{secret}/", {"password": password, "password_again": again})
    assert response.status_code == 200 and response.context["form"].errors
    assert PasswordReset.objects.get().used_at is None
    assert not _entries("password.reset_completed")


def test_the_person_changes_their_password_with_the_old_one_and_their_second_factor(people, signed_in):
    person = people["esi_manager"]
    client = signed_in(person)
    code = _next_totp(person)  # the current one was used to sign in
    wrong_old = client.post("/profile/password/", {"old_password": "not it", "new_password": NEW,
                                                   "new_password_again": NEW, "token": code})
    assert wrong_old.context["form"].errors["old_password"]
    assert Account.objects.get(pk=person.pk).check_password(factories.PASSWORD)
    # The refused change did not use the code up.
    done = client.post("/profile/password/", {"old_password": factories.PASSWORD, "new_password": NEW,
                                              "new_password_again": NEW, "token": code})
    assert done.status_code == 302 and done["Location"] == "/signin/"
    assert Account.objects.get(pk=person.pk).check_password(NEW)
    assert client.get("/dashboard/").status_code == 302  # signed out here too
    entry = _entries("password.changed")[-1]
    assert entry["details"]["second_factor"] == {"kind": "totp"}


def test_a_password_change_with_a_wrong_code_is_refused(people, signed_in):
    person = people["esi_manager"]
    response = signed_in(person).post("/profile/password/", {"old_password": factories.PASSWORD, "new_password": NEW,
                                                             "new_password_again": NEW, "token": "000000"})
    assert response.status_code == 200 and response.context["form"].errors["token"]
    assert Account.objects.get(pk=person.pk).check_password(factories.PASSWORD)
    assert not _entries("password.changed")


def test_a_password_change_without_the_second_factor_is_refused_by_the_service(people):
    with pytest.raises(RuleViolation) as refused:
        services.change_password(actor=_as(people["esi_manager"]), old_password=factories.PASSWORD,
                                 new_password=NEW)
    assert (refused.value.code, refused.value.field) == ("second_factor_required", "token")


def test_hozen_users_set_password_reads_stdin_and_is_audited(people, capsys, monkeypatch):
    from hozen.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert main(["users", "set-password", people["auditor"].username]) == 0
    assert Account.objects.get(pk=people["auditor"].pk).check_password(NEW)
    assert _entries("password.set")[-1]["actor"]["channel"] == "cli"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "set-password", people["auditor"].username]) == 1
    assert "password" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["changepassword", "createsuperuser", "axes_reset"])
def test_djangos_unaudited_credential_commands_are_refused_with_the_audited_one_named(command, capsys):
    from hozen.cli import main

    assert main(["manage", command]) == 1
    assert "without an audit entry: use `hozen users" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_one_reset_link_used_twice_at_once_sets_one_password(people):
    _, secret = services.start_password_reset(actor=_as(people["sysadmin"]), account=people["esi_manager"])
    person = people["esi_manager"]
    outcomes = race(*[lambda p=p: services.complete_password_reset(
        actor=Actor.for_account(person, None, channel="web"), secret=secret, password=p)
        for p in (NEW, NEW + "-other")])
    assert sorted(o.error is None for o in outcomes) == [False, True]
    assert [o.error.code for o in outcomes if o.error] == ["reset_link_unusable"]
    assert len(_entries("password.reset_completed")) == 1


def test_an_enrolment_link_is_for_its_own_account_once_and_a_newer_one_replaces_it(people, signed_in):
    admin = _as(people["sysadmin"])
    victim, other = people["investigator"], people["adjudicator"]
    services.reset_second_factor(actor=admin, account=victim, reason="電話を紛失したとの申告、本人確認済み")
    _, first = services.start_enrolment_link(actor=admin, account=victim)
    _, second = services.start_enrolment_link(actor=admin, account=victim)
    client = Client()
    client.get(f"/signin/enrol/link/{first}/")  # replaced: refused at enrolment
    client.post("/signin/", {"username": victim.username, "password": factories.PASSWORD})
    assert client.get("/signin/enrol/").status_code == 403
    client.get(f"/signin/enrol/link/{second}/")  # signed in already: the link is still taken
    assert client.get("/signin/enrol/").status_code == 200
    # Nobody else's account is opened by it.
    services.reset_second_factor(actor=admin, account=other, reason="電話を紛失したとの申告、本人確認済み")
    stranger = Client()
    stranger.get(f"/signin/enrol/link/{second}/")
    stranger.post("/signin/", {"username": other.username, "password": factories.PASSWORD})
    assert stranger.get("/signin/enrol/").status_code == 403
    # No link for an account whose second factor was not reset.
    with pytest.raises(RuleViolation) as refused:
        services.start_enrolment_link(actor=admin, account=people["auditor"])
    assert refused.value.code == "no_reset_pending"


@pytest.mark.django_db(transaction=True)
def test_two_enrolment_links_made_at_once_leave_one_usable(people):
    from hozen.core.models import PasswordReset

    admin = _as(people["sysadmin"])
    services.reset_second_factor(actor=admin, account=people["investigator"], reason="電話を紛失、本人確認済み")
    outcomes = race(*[lambda: services.start_enrolment_link(actor=admin, account=people["investigator"])] * 2)
    assert [o.error for o in outcomes] == [None, None]
    links = PasswordReset.objects.filter(purpose="enrolment")
    assert links.count() == 2 and sum(link.usable for link in links) == 1


def test_the_log_still_replays_the_accounts_after_password_changes(people, signed_in):
    from hozen.audit.reconcile import reconcile

    admin = _as(people["sysadmin"])
    _, secret = services.start_password_reset(actor=admin, account=people["esi_manager"])
    services.complete_password_reset(actor=Actor.for_account(people["esi_manager"], None, channel="web"),
                                     secret=secret, password=NEW)
    services.set_password(actor=Actor.operator("tests"), account=people["auditor"], password=NEW)
    report = reconcile(kinds=["account"])
    assert report.ok, report
