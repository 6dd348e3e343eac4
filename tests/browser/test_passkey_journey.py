"""Issue 14 §4 in a real browser: a passkey added from the profile with Chromium's virtual
authenticator (WebAuthn over the DevTools protocol), then a sign-in with password and passkey.
http://localhost is a secure context, so WebAuthn works on the live server without TLS."""

from __future__ import annotations

import json
import re

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from tests import factories

from .test_sign_in_journey import heading, ja, password_step, second_factor_step

pytestmark = pytest.mark.browser


def virtual_authenticator(page) -> tuple:
    """A platform authenticator with user verification, as a laptop's fingerprint reader is."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True}})
    return cdp, made["authenticatorId"]


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome="success").order_by("id")]


def test_official_adds_a_passkey_and_signs_in_with_password_and_passkey(page, live_server, orgs):
    assert live_server.url.startswith("http://localhost"), live_server.url  # a secure context, a valid RP ID
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    codes = services.regenerate_recovery_codes(actor=Actor.for_account(
        account, account.active_assignments().first(), channel="web", second_factor_verified=True))
    cdp, authenticator = virtual_authenticator(page)
    password_step(page, live_server, account)
    second_factor_step(page, factories.current_totp(account))
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    # The profile: no passkey yet; name one and add it.
    page.goto(live_server.url + "/profile/")
    expect(page.locator("html")).to_have_attribute("data-passkeys-ready", "1")
    section = page.locator("#passkeys")
    expect(section.get_by_text(ja("You have no passkeys."))).to_be_visible()
    section.get_by_label(ja("Name of the new passkey"), exact=True).fill("仕事用ノートPC")
    section.get_by_role("button", name=ja("Add a passkey"), exact=True).click()

    expect(page).to_have_url(re.compile(r"/profile/$"))
    row = section.get_by_role("row", name=re.compile("仕事用ノートPC"))
    expect(row).to_be_visible()
    expect(row.get_by_role("cell", name=ja("never"), exact=True)).to_be_visible()
    expect(page.get_by_text(ja("The passkey was added. You can use it at your next sign-in."))).to_be_visible()
    credential = WebAuthnCredential.objects.get(user=account)
    assert credential.name == "仕事用ノートPC"
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    added = _entries("otp.passkey_added")[-1]["details"]
    assert added["passkey"] == credential.pk and "name" not in added  # the person's text stays out of the log

    # Sign out, then in again: the password, and the passkey instead of a code.
    page.get_by_role("button", name=ja("Sign out"), exact=True).click()
    password_step(page, live_server, account)
    expect(page.locator("html")).to_have_attribute("data-passkeys-ready", "1")
    page.get_by_role("button", name=ja("Use a passkey"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(heading(page)).not_to_have_text(ja("Confirm it is you"))
    assert _entries("session.signed_in")[-1]["details"] == {"method": "password+passkey"}
    credential.refresh_from_db()
    assert credential.last_used_at is not None

    # The profile shows when it was last used; removing it leaves the app as the second factor.
    page.goto(live_server.url + "/profile/")
    row = page.locator("#passkeys").get_by_role("row", name=re.compile("仕事用ノートPC"))
    expect(row.get_by_role("cell", name=ja("never"), exact=True)).to_have_count(0)
    row.get_by_role("button").click()
    # This sign-in was confirmed with that passkey: the second factor is asked for once more, and a
    # recovery code still does it.
    expect(page).to_have_url(re.compile(r"/signin/verify/\?next=%2Fprofile%2F"))
    expect(page.get_by_text(ja("The passkey was removed. This sign-in was confirmed with it, so confirm it is you "
                               "once more with your authenticator app or a recovery code."))).to_be_visible()
    expect(page.get_by_role("button", name=ja("Use a passkey"), exact=True)).to_have_count(0)
    second_factor_step(page, codes[0])
    expect(page).to_have_url(re.compile(r"/profile/#passkeys$"))
    expect(page.locator("#passkeys").get_by_text(ja("You have no passkeys."))).to_be_visible()
    assert not WebAuthnCredential.objects.filter(user=account).exists()
    assert "name" not in _entries("otp.passkey_removed")[-1]["details"]
