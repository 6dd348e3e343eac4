"""Sign-in: password then second factor, lock-out, idle timeout, sign-out everywhere, reset (issue 3 §5)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.models import Account, PasswordReset
from tests import factories

pytestmark = pytest.mark.django_db


def _entries(action):
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action)]


def test_passwords_are_hashed_with_argon2_in_production_settings():
    import hozen.settings as configured  # the module, not the test-time override

    assert configured.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@pytest.mark.argon2
def test_stored_password_is_an_argon2_hash(settings, orgs):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    account = factories.account(role="subject", organisation=orgs["TOWA"])
    assert account.password.startswith("argon2$")


def test_official_must_pass_second_factor_before_any_page(people):
    client = Client()
    response = client.post("/signin/", {"username": "investigator", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/signin/verify/"
    # Password alone opens nothing: every page sends them back to the second-factor step (which
    # carries the page asked for on, issue 12 §4).
    assert client.get("/dashboard/")["Location"] == "/signin/verify/?next=%2Fdashboard%2F"
    assert client.get("/profile/")["Location"] == "/signin/verify/?next=%2Fprofile%2F"
    response = client.post("/signin/verify/", {"token": factories.current_totp(people["investigator"])})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    signed_in = _entries("session.signed_in")
    assert signed_in[-1]["actor"]["account"] == "investigator"
    assert signed_in[-1]["details"] == {"method": "password+totp"}


def test_wrong_totp_code_is_refused_and_audited(people):
    client = Client()
    client.post("/signin/", {"username": "adjudicator", "password": factories.PASSWORD})
    good = factories.current_totp(people["adjudicator"])
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post("/signin/verify/", {"token": wrong})
    assert response.status_code == 200
    assert "token" in response.context["form"].errors
    assert client.get("/dashboard/")["Location"] == "/signin/verify/?next=%2Fdashboard%2F"
    failed = _entries("session.sign_in_failed")
    assert failed[-1]["details"] == {"reason": "second_factor", "account_exists": True,
                                     "account": {"type": "core.account", "id": str(people["adjudicator"].pk)}}
    assert failed[-1]["outcome"] == "failure"


def test_wrong_password_is_refused_with_a_clear_message_and_audited(people):
    client = Client()
    response = client.post("/signin/", {"username": "auditor", "password": "not the password"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session
    # A keyed hash of the user name, never the text as typed (issue 12 §8).
    assert _entries("session.sign_in_failed")[-1]["target"]["type"] == "username_hmac"


def test_lock_out_after_repeated_failures_with_a_clear_message(people):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/signin/", {"username": "auditor", "password": "wrong password"})
    # Now even the right password is refused, with the lock-out explained.
    response = client.post("/signin/", {"username": "auditor", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    until = timezone.localtime(timezone.now() + dt.timedelta(minutes=15))
    assert f"{until:%H:%M}" in response.content.decode() or f"{until - dt.timedelta(minutes=1):%H:%M}" in \
        response.content.decode()


def test_lock_out_ends_after_the_cool_off(people):
    client = Client()
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            client.post("/signin/", {"username": "auditor", "password": "wrong password"})
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, 16, tzinfo=dt.UTC), tick=False):
        response = client.post("/signin/", {"username": "auditor", "password": factories.PASSWORD})
        assert response.status_code == 302


def test_recovery_code_signs_in_once(people):
    account = people["esi_manager"]
    codes = services.regenerate_recovery_codes(actor=_actor(account))
    client = Client()
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    assert client.post("/signin/verify/", {"token": codes[0]}).status_code == 302
    client.post("/signout/")
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    response = client.post("/signin/verify/", {"token": codes[0]})
    assert response.status_code == 200, "a recovery code works only once"


def _actor(account):
    from hozen.core.actor import Actor

    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def test_idle_session_expires_after_the_configured_minutes(people):
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False) as clock:
        client = factories.signed_in_client(people["subject"])
        assert client.get("/dashboard/").status_code == 200
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1))
        assert client.get("/dashboard/").status_code == 200, "activity keeps the session alive"
        clock.shift(dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1))
        response = client.get("/dashboard/")
        assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_sign_out_everywhere_ends_every_other_session(people):
    account = people["subject"]
    phone = factories.signed_in_client(account)
    laptop = factories.signed_in_client(account)
    assert phone.get("/dashboard/").status_code == 200
    laptop.post("/profile/signout-everywhere/")
    assert phone.get("/dashboard/")["Location"].startswith("/signin/")
    assert laptop.get("/dashboard/")["Location"].startswith("/signin/")
    assert _entries("session.signed_out_everywhere")


def test_totp_enrolment_with_qr_code_then_recovery_codes(orgs):
    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    client = Client()
    response = client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    assert response["Location"] == "/signin/verify/"
    assert client.get("/signin/verify/")["Location"] == "/signin/enrol/"
    page = client.get("/signin/enrol/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=account, confirmed=False)
    # The QR code is a standalone SVG document: with its namespace, or no browser draws it as an <img>
    # (tests/browser reads it back from a screenshot).
    import re
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote

    uri = re.search(r'<img class="qr" src="([^"]+)"', page.content.decode()).group(1).replace("&#x27;", "'")
    assert uri.startswith("data:image/svg+xml;charset=utf-8,")
    assert ET.fromstring(unquote(uri.split(",", 1)[1])).tag == "{http://www.w3.org/2000/svg}svg"
    from django_otp.oath import totp

    code = f"{totp(device.bin_key):06d}"
    response = client.post("/signin/enrol/", {"token": code})
    assert response.status_code == 200
    assert len(response.context["codes"]) == services.RECOVERY_CODE_COUNT
    assert TOTPDevice.objects.get(user=account).confirmed
    assert client.get("/dashboard/").status_code == 200


def test_password_alone_cannot_enrol_a_new_authenticator(people):
    client = Client()
    client.post("/signin/", {"username": "sysadmin", "password": factories.PASSWORD})
    response = client.get("/signin/enrol/")
    assert response["Location"] == "/signin/verify/"
    assert not TOTPDevice.objects.filter(user=people["sysadmin"], confirmed=False).exists()


def test_second_factor_optional_for_the_assessed_person(people):
    client = Client()
    response = client.post("/signin/", {"username": "subject", "password": factories.PASSWORD})
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_sysadmin_resets_a_lost_second_factor_with_an_audited_reason(people, signed_in):
    admin = signed_in(people["sysadmin"])
    victim = people["investigator"]
    victim_session = factories.signed_in_client(victim)
    url = f"/admin/accounts/{victim.pk}/reset-second-factor/"
    response = admin.post(url, {"reason": "short"})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert TOTPDevice.objects.filter(user=victim).exists(), "a refused reset changes nothing"
    response = admin.post(url, {"reason": "Phone lost; identity checked in person on 2026-11-25"})
    assert response.status_code == 200  # the page with the enrolment link, shown once
    link = response.content.decode().split('id="enrolment-link">', 1)[1].split("<", 1)[0].split("testserver", 1)[1]
    assert not TOTPDevice.objects.filter(user=victim).exists()
    assert not StaticDevice.objects.filter(user=victim).exists()
    assert victim_session.get("/dashboard/")["Location"].startswith("/signin/")
    entry = _entries("otp.reset")[-1]
    assert entry["actor"]["account"] == "sysadmin"
    assert entry["target"]["id"] == str(victim.pk)
    # The reason typed is kept in its own encrypted record, never in the entry (issue 12 §8).
    assert "purpose" not in entry and "Phone lost" not in json.dumps(entry, ensure_ascii=False)
    assert entry["details"]["reset"]["type"] == "core.secondfactorreset"
    # The password alone does not enrol a new authenticator (no secret is shown) ...
    thief = Client()
    thief.post("/signin/", {"username": victim.username, "password": factories.PASSWORD})
    assert thief.get("/signin/verify/")["Location"] == "/signin/enrol/"
    refused = thief.get("/signin/enrol/")
    assert refused.status_code == 403 and b'class="qr"' not in refused.content
    assert not TOTPDevice.objects.filter(user=victim).exists()
    # ... the person with the administrator's link does, instead of being locked out.
    client = Client()
    assert client.get(link)["Location"] == "/signin/"
    client.post("/signin/", {"username": victim.username, "password": factories.PASSWORD})
    page = client.get("/signin/enrol/")
    assert page.status_code == 200 and b'class="qr"' in page.content
    device = TOTPDevice.objects.get(user=victim, confirmed=False)
    from django_otp.oath import totp

    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=6):06d}"
    assert client.post("/signin/enrol/", {"token": code}).status_code == 200  # the recovery codes
    assert TOTPDevice.objects.get(user=victim).confirmed
    assert not Account.objects.get(pk=victim.pk).enrolment_needs_link
    assert _entries("otp.enrolment_link_issued")[-1]["target"]["id"] == str(victim.pk)
    # The link worked once.
    assert PasswordReset.objects.get(account=victim, purpose="enrolment").used_at is not None


def test_sysadmin_cannot_reset_their_own_second_factor(people, signed_in):
    admin = signed_in(people["sysadmin"])
    response = admin.post(f"/admin/accounts/{people['sysadmin'].pk}/reset-second-factor/",
                          {"reason": "I lost my own phone today"})
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=people["sysadmin"]).exists()


def test_non_admin_cannot_reset_second_factors(people, signed_in):
    client = signed_in(people["auditor"])
    response = client.post(f"/admin/accounts/{people['investigator'].pk}/reset-second-factor/",
                           {"reason": "Phone lost; identity checked"})
    # The auditor cannot even see other accounts: missing and forbidden look the same.
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=people["investigator"]).exists()


def test_sign_in_page_refuses_an_open_redirect(people):
    client = Client()
    response = client.post("/signin/?next=https://evil.example/", {"username": "subject", "password": factories.PASSWORD})
    assert response["Location"] == "/dashboard/"


# --- safe redirects (issue 12 §4) ---------------------------------------------------------------

def test_a_next_without_a_slash_or_a_dot_after_sign_in_is_ignored_not_a_server_error(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=abc", {"username": "subject", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_a_next_naming_a_url_pattern_is_never_reversed(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=core:profile", {"username": "subject", "password": factories.PASSWORD})
    assert response["Location"] == "/dashboard/"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example/",
                                    "\\\\evil.example", "http:///evil.example/", "javascript:alert(1)",
                                    "/profile/\r\nSet-Cookie: x=1", " //evil.example/"])
def test_a_next_to_another_host_or_with_control_characters_is_ignored(people, target):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/", {"username": "subject", "password": factories.PASSWORD, "next": target})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_a_next_that_is_no_page_of_this_site_is_ignored(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=/no-such-page/", {"username": "subject", "password": factories.PASSWORD})
    assert response["Location"] == "/dashboard/"


def test_a_next_that_is_a_page_of_this_site_is_followed_with_its_query(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=/audit/my-reads/%3Fbefore%3D3",
                           {"username": "subject", "password": factories.PASSWORD})
    assert response["Location"] == "/audit/my-reads/?before=3"


def test_the_next_page_is_carried_through_the_second_factor_step(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=/profile/", {"username": "investigator", "password": factories.PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/signin/verify/?next=%2Fprofile%2F"
    assert client.get(response["Location"]).status_code == 200
    response = client.post(response["Location"], {"token": factories.current_totp(people["investigator"])})
    assert response.status_code == 302 and response["Location"] == "/profile/"


def test_an_unsafe_next_is_not_carried_to_the_second_factor_step(people):
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=abc", {"username": "investigator", "password": factories.PASSWORD})
    assert response["Location"] == "/signin/verify/"
    response = client.post("/signin/verify/?next=//evil.example/",
                           {"token": factories.current_totp(people["investigator"])})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


@pytest.mark.parametrize("signed_in_first", [False, True])
def test_a_next_without_a_slash_or_a_dot_on_the_language_switch_is_ignored_not_a_server_error(
        people, signed_in, signed_in_first):
    client = signed_in(people["subject"]) if signed_in_first else Client(raise_request_exception=False)
    client.raise_request_exception = False
    response = client.post("/language/", {"language": "en", "next": "abc"})
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.post("/language/", {"language": "ja", "next": "core:profile"})
    assert response["Location"] == "/"
    response = client.post("/language/", {"language": "en", "next": "/profile/"})
    assert response["Location"] == "/profile/"


# --- a failed sign-in keeps no typed text (issue 12 §8) --------------------------------------------

def test_a_password_typed_into_the_user_name_field_never_reaches_the_audit_log(people):
    secret = "Tr0ub4dor&3-horse-battery"
    client = Client()
    response = client.post("/signin/", {"username": secret, "password": "whatever"})
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="session.sign_in_failed").last()
    assert secret.lower() not in entry.data.lower() and secret.lower() not in entry.target_id.lower()
    record = json.loads(entry.data)
    assert record["target"]["type"] == "username_hmac" and len(record["target"]["id"]) == 64
    assert record["details"] == {"reason": "password", "account_exists": False}


def test_a_failed_sign_in_records_a_keyed_hash_of_the_user_name_and_whether_the_account_exists(people, settings):
    from django.utils.crypto import salted_hmac

    client = Client()
    client.post("/signin/", {"username": "Auditor ", "password": "not the password"})
    client.post("/signin/", {"username": "auditor", "password": "still not"})
    client.post("/signin/", {"username": "nobody-here", "password": "x"})
    first, second, third = _entries("session.sign_in_failed")[-3:]
    # The same user name gives the same digest (guessing stays visible to auditors) ...
    assert first["target"] == second["target"] and first["target"] != third["target"]
    assert (first["details"]["account_exists"], third["details"]["account_exists"]) == (True, False)
    assert first["details"]["account"] == {"type": "core.account", "id": str(people["auditor"].pk)}
    assert "account" not in third["details"]
    # ... keyed with a key derived from the secret key: without it, the digest names nobody.
    assert first["target"]["id"] == salted_hmac("hozen.core.sign_in_failed.username", "auditor",
                                                algorithm="sha256").hexdigest()
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    client.post("/signin/", {"username": "auditor", "password": "nope"})
    assert _entries("session.sign_in_failed")[-1]["target"] != first["target"]


def test_a_page_asked_for_before_the_second_factor_is_where_the_person_lands_after_it(people):
    client = Client(raise_request_exception=False)
    client.post("/signin/", {"username": "investigator", "password": factories.PASSWORD})
    step = client.get("/audit/my-reads/?before=3")["Location"]
    assert step == "/signin/verify/?next=%2Faudit%2Fmy-reads%2F%3Fbefore%3D3"
    response = client.post(step, {"token": factories.current_totp(people["investigator"])})
    assert response.status_code == 302 and response["Location"] == "/audit/my-reads/?before=3"


def test_a_form_sent_before_the_second_factor_is_not_carried_on(people):
    """Only a GET is carried: a POST cannot be repeated by a redirect, so it is not named as `next`."""
    client = Client(raise_request_exception=False)
    client.post("/signin/", {"username": "investigator", "password": factories.PASSWORD})
    assert client.post("/profile/", {"language": "en"})["Location"] == "/signin/verify/"


def test_the_next_page_is_carried_through_enrolment_to_the_recovery_codes(orgs):
    from django_otp.oath import totp

    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    client = Client(raise_request_exception=False)
    response = client.post("/signin/?next=/profile/", {"username": account.username, "password": factories.PASSWORD})
    assert response["Location"] == "/signin/verify/?next=%2Fprofile%2F"
    enrol = client.get(response["Location"])["Location"]
    assert enrol == "/signin/enrol/?next=%2Fprofile%2F"
    client.get(enrol)
    device = TOTPDevice.objects.get(user=account, confirmed=False)
    page = client.post(enrol, {"token": f"{totp(device.bin_key):06d}"})
    assert page.status_code == 200 and page.context["continue_to"] == "/profile/"
    assert b'href="/profile/"' in page.content


def test_an_unsafe_next_is_not_carried_through_enrolment(orgs):
    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    client = Client(raise_request_exception=False)
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    assert client.get("/signin/verify/?next=//evil.example/")["Location"] == "/signin/enrol/"
