"""Passkeys beside TOTP (issue 14 §4): added and removed only by their owner in a session verified
with the second factor, each an audit entry that names the passkey and never holds a key; someone
else's passkey is not found; a bad name is a clear refusal that writes nothing; an administrator's
reset removes them with the other factors. The ceremonies themselves (a real authenticator) are in
tests/browser/test_passkey_journey.py; the parallel removal in tests/concurrency/test_passkey_races.py."""

from __future__ import annotations

import json
import secrets

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import passkeys, services
from hozen.core.actor import Actor
from hozen.core.errors import NotFound, RuleViolation
from tests import factories

pytestmark = pytest.mark.django_db


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action, outcome="success").order_by("id")]


def _actor(account, *, verified: bool = True) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=verified)


def registration(**changes) -> passkeys.Registration:
    """What `verify_registration` returns for a new passkey (the browser test makes real ones)."""
    values = dict(credential_id=secrets.token_bytes(32), public_key=b"\xa5" + secrets.token_bytes(76), sign_count=0,
                  aaguid="00000000-0000-0000-0000-000000000000", transports=("internal",), discoverable=True,
                  backup_eligible=False, backup_state=False, attestation_fmt="none", attestation_object=b"\xa0",
                  client_data_json=b"{}")
    values.update(changes)
    return passkeys.Registration(**values)


def _writes() -> tuple:
    return AuditEntry.objects.count(), WebAuthnCredential.objects.count(), WebAuthnAttestation.objects.count()


def add(account, name="仕事用ノートPC", **kw) -> WebAuthnCredential:
    return services.add_passkey(actor=_actor(account, **kw), name=name, registration=registration())


# --- adding ------------------------------------------------------------------------------------------

def test_adding_a_passkey_saves_it_under_its_cleaned_name_with_an_entry_without_the_key(people):
    account = people["investigator"]
    credential = add(account, name="  ｾｷｭﾘﾃｨｷｰ 1  ")  # half-width katakana folded, spaces stripped
    assert credential.name == "セキュリティキー 1" and credential.user_id == account.pk and credential.confirmed
    assert WebAuthnAttestation.objects.filter(credential=credential).exists()
    entry = _entries("otp.passkey_added")[-1]
    assert entry["details"] == {"passkey": credential.pk,
                                "aaguid": "00000000-0000-0000-0000-000000000000", "passkeys": 1}
    assert entry["target"]["id"] == str(account.pk)
    assert "public_key" not in json.dumps(entry) and "credential_id" not in json.dumps(entry)
    assert "セキュリティキー" not in json.dumps(entry, ensure_ascii=False)  # the person's own text stays out


def test_a_password_only_session_cannot_add_a_passkey_403(people):
    before = _writes()
    with pytest.raises(PolicyDenied) as info:
        add(people["investigator"], verified=False)
    assert info.value.decision.code == "second_factor_required"
    assert "second factor" in info.value.decision.reason("en")
    assert _writes()[1:] == before[1:]


def test_a_passkey_is_added_only_beside_an_authenticator_app(orgs):
    account = factories.account(role="subject", organisation=orgs["TOWA"])  # no TOTP device
    with pytest.raises(PolicyDenied) as info:
        add(account)
    assert info.value.decision.code == "authenticator_app_first"
    assert "認証アプリ" in info.value.decision.reason("ja")
    assert not WebAuthnCredential.objects.exists()


def test_nobody_without_an_account_adds_or_removes_a_passkey(people):
    credential = add(people["investigator"])
    for attempt in (lambda: services.add_passkey(actor=factories.operator(), name="x", registration=registration()),
                    lambda: services.remove_passkey(actor=factories.operator(), passkey=credential.pk)):
        with pytest.raises(PolicyDenied) as info:
            attempt()
        assert info.value.decision.code == "not_signed_in"
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()


@pytest.mark.parametrize(("name", "code", "in_en"), [
    ("x" * 65, "text_too_long", "Passkey name"),
    ("laptop\u202egnp.exe", "invalid_character", "character 7"),
    ("key\x00", "invalid_character", "U+0000"),
    ("   ", "text_required", "Passkey name"),
    ("\u200b\u200b", "text_too_short", "Passkey name"),
])
def test_a_bad_passkey_name_is_refused_clearly_and_nothing_is_written(people, name, code, in_en):
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        add(people["investigator"], name=name)
    assert (info.value.code, info.value.field) == (code, "name")
    assert in_en.lower() in info.value.message_en.lower() and "パスキーの名前" in info.value.message_ja
    assert _writes() == before


def test_the_same_passkey_is_not_added_twice(people):
    account = people["investigator"]
    same = registration()
    services.add_passkey(actor=_actor(account), name="one", registration=same)
    with pytest.raises(RuleViolation) as info:
        services.add_passkey(actor=_actor(account), name="two", registration=same)
    assert info.value.code == "passkey_already_added"
    assert WebAuthnCredential.objects.filter(user=account).count() == 1


def test_an_account_holds_at_most_ten_passkeys(people):
    account = people["investigator"]
    for n in range(services.PASSKEYS_MAX):
        add(account, name=f"key {n}")
    with pytest.raises(RuleViolation) as info:
        add(account, name="one too many")
    assert info.value.code == "too_many_passkeys" and "10" in info.value.message_en
    assert WebAuthnCredential.objects.filter(user=account).count() == services.PASSKEYS_MAX


def test_a_request_authenticated_before_a_reset_cannot_add_a_passkey_after_it_409(people):
    account = people["investigator"]
    actor = _actor(account)
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=account.pk,
                                 reason="Phone lost; identity checked at the desk")
    # The reset removed the authenticator app (so the policy refuses first: 403); were it back, the
    # ended session would still be refused (409). Either way nothing is saved.
    with pytest.raises(PolicyDenied) as info:
        services.add_passkey(actor=actor, name="late", registration=registration())
    assert info.value.decision.code == "authenticator_app_first"
    assert not WebAuthnCredential.objects.filter(user=account).exists()


# --- removing ----------------------------------------------------------------------------------------

def test_removing_ones_own_passkey_deletes_it_with_an_entry(people):
    account = people["investigator"]
    keep, gone = add(account, name="keep"), add(account, name="gone")
    services.remove_passkey(actor=_actor(account), passkey=gone.pk)
    assert list(WebAuthnCredential.objects.filter(user=account).values_list("pk", flat=True)) == [keep.pk]
    assert not WebAuthnAttestation.objects.filter(credential_id=gone.pk).exists()
    assert _entries("otp.passkey_removed")[-1]["details"] == {"passkey": gone.pk, "passkeys": 1}


def test_someone_elses_passkey_is_not_found_and_stays(people):
    theirs = add(people["investigator"])
    before = _writes()
    with pytest.raises(NotFound):
        services.remove_passkey(actor=_actor(people["esi_manager"]), passkey=theirs.pk)
    with pytest.raises(NotFound):  # nor by an administrator (their reset is the way)
        services.remove_passkey(actor=_actor(people["sysadmin"]), passkey=theirs.pk)
    assert _writes() == before


def test_removing_a_passkey_from_a_password_only_session_is_refused_403(people):
    credential = add(people["investigator"])
    with pytest.raises(PolicyDenied) as info:
        services.remove_passkey(actor=_actor(people["investigator"], verified=False), passkey=credential.pk)
    assert info.value.decision.code == "second_factor_required"
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()


def test_removing_the_last_passkey_leaves_the_authenticator_app_as_the_second_factor(people):
    account = people["investigator"]
    credential = add(account)
    services.remove_passkey(actor=_actor(account), passkey=credential.pk)
    assert account.totpdevice_set.filter(confirmed=True).exists()  # the app is never removed with a passkey


# --- the administrator's reset ------------------------------------------------------------------------

def test_a_second_factor_reset_removes_the_passkeys_and_its_entry_lists_them(people):
    victim = people["investigator"]
    first, second = add(victim, name="phone"), add(victim, name="key")
    other = add(people["esi_manager"], name="theirs")
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=victim,
                                 reason="Phone lost; identity checked at the desk")
    assert not WebAuthnCredential.objects.filter(user=victim).exists()
    assert WebAuthnCredential.objects.filter(pk=other.pk).exists()
    assert _entries("otp.reset")[-1]["details"]["passkeys_removed"] == [
        {"passkey": first.pk}, {"passkey": second.pk}]


def test_a_password_reset_with_the_second_factor_lost_removes_the_passkeys_too(people):
    victim = people["investigator"]
    credential = add(victim, name="phone")
    _reset, secret = services.start_password_reset(actor=_actor(people["sysadmin"]), account=victim,
                                                   second_factor_lost=True)
    services.complete_password_reset(actor=_actor(victim, verified=False), secret=secret,
                                     password="another long passphrase 2026")
    assert not WebAuthnCredential.objects.filter(user=victim).exists()
    assert _entries("password.reset_completed")[-1]["details"]["passkeys_removed"] == [
        {"passkey": credential.pk}]


# --- using one at sign-in -------------------------------------------------------------------------------

def test_using_a_passkey_moves_its_counter_and_notes_its_last_use(people):
    account = people["investigator"]
    credential = add(account)
    used = services.use_passkey(actor=_actor(account, verified=False),
                                assertion=passkeys.Assertion(credential_pk=credential.pk, sign_count=3,
                                                             backup_state=False))
    assert used.pk == credential.pk
    credential.refresh_from_db()
    assert credential.sign_count == 3 and credential.last_used_at is not None
    with pytest.raises(services.ChangedMeanwhile) as info:  # an answer with a counter not above it
        services.use_passkey(actor=_actor(account, verified=False),
                             assertion=passkeys.Assertion(credential_pk=credential.pk, sign_count=3,
                                                          backup_state=False))
    assert info.value.code == "passkey_counter"


def test_someone_elses_passkey_never_verifies_a_session(people):
    theirs = add(people["investigator"])
    with pytest.raises(NotFound):
        services.use_passkey(actor=_actor(people["esi_manager"], verified=False),
                             assertion=passkeys.Assertion(credential_pk=theirs.pk, sign_count=1, backup_state=False))


# --- the screens and endpoints ----------------------------------------------------------------------------

def test_the_profile_lists_passkeys_with_name_added_and_last_used(people):
    account = people["investigator"]
    add(account, name="<b>仕事用</b>")
    html = factories.signed_in_client(account).get("/profile/").content.decode()
    assert 'id="passkeys"' in html and "&lt;b&gt;仕事用&lt;/b&gt;" in html and "<b>仕事用" not in html
    assert 'id="passkey-add"' in html and "hozen/passkeys.js" in html
    assert "<script>" not in html  # CSP: no inline script


def test_removing_through_the_profile_and_someone_elses_404(people):
    mine, theirs = add(people["investigator"]), add(people["esi_manager"])
    client = factories.signed_in_client(people["investigator"])
    assert client.post(f"/profile/passkeys/{theirs.pk}/remove/").status_code == 404
    response = client.post(f"/profile/passkeys/{mine.pk}/remove/")
    assert response.status_code == 302 and response["Location"].endswith("/profile/#passkeys")
    assert not WebAuthnCredential.objects.filter(pk=mine.pk).exists()
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()


def test_the_add_endpoint_refuses_a_bad_name_before_the_ceremony(people):
    client = factories.signed_in_client(people["investigator"])
    response = client.post("/profile/passkeys/begin/", json.dumps({"name": "a" * 65}), content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "text_too_long" and "パスキーの名前" in response.json()["detail"]
    response = client.post("/profile/passkeys/begin/", json.dumps({"name": "laptop"}), content_type="application/json")
    assert response.status_code == 200
    options = response.json()
    assert options["rp"] == {"name": "Hozen", "id": "testserver"} and options["challenge"]
    assert options["user"]["name"] == people["investigator"].username


def test_an_answer_without_a_ceremony_is_refused(people):
    client = factories.signed_in_client(people["investigator"])
    response = client.post("/profile/passkeys/complete/", json.dumps({"name": "x", "credential": {}}),
                           content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "passkey_not_started"


def test_the_code_step_offers_a_passkey_only_to_accounts_that_have_one(people):
    account = people["investigator"]
    client = Client()
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    assert 'id="passkey-sign-in"' not in client.get("/signin/verify/").content.decode()
    add(account)
    assert 'id="passkey-sign-in"' in client.get("/signin/verify/").content.decode()
    # Before the second factor, the begin endpoint answers with this account's passkeys only.
    add(people["esi_manager"])
    response = client.post("/signin/passkey/begin/", content_type="application/json")
    assert response.status_code == 200
    allowed = response.json()["allowCredentials"]
    assert len(allowed) == 1


def test_a_wrong_passkey_answer_at_sign_in_is_refused_and_counted_as_a_failed_sign_in(people):
    account = people["investigator"]
    add(account)
    client = Client()
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    client.post("/signin/passkey/begin/", content_type="application/json")
    response = client.post("/signin/passkey/complete/", json.dumps({"id": "AAAA", "rawId": "AAAA"}),
                           content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "passkey_not_accepted"
    failed = [json.loads(e.data) for e in AuditEntry.objects.filter(action="session.sign_in_failed")]
    assert failed[-1]["details"]["reason"] == "passkey"
    assert client.get("/dashboard/").status_code == 302  # still held at the second-factor step
