"""Integrity under concurrency for accounts, roles, tokens, second factors, rules packs and keys
(issue 11): parallel requests (web windows sharing one session, API clients) or, for what only the
CLI does, parallel service calls, each thread with its own connection. Exactly the allowed number
succeed, the others are refused clearly (a 409/422 or a RuleViolation, a redirect with the reason on
screen for web steps), never a 5xx or an IntegrityError; one audit entry per success; and the rows
agree with the log afterwards."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.cookies import SimpleCookie

import pytest
from django.db import connection
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.audit.models import AuditCheckpoint, AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, ApiToken, Organisation, RoleAssignment
from hozen.rules import services as rules_services
from hozen.rules.models import RulesPack
from tests import factories
from tests.rules.conftest import variant

from .harness import (
    Outcome,
    assert_no_server_errors,
    assert_reconciled,
    assert_refusals_are_clear,
    audit_count,
    bearer,
    patch,
    race,
)

pytestmark = pytest.mark.django_db(transaction=True)


def operator() -> Actor:
    return factories.operator()


def _errors(outcomes: list[Outcome]) -> list:
    """What the refused calls raised: each must be a RuleViolation (never an IntegrityError)."""
    errors = [o.error for o in outcomes if o.error is not None]
    assert all(isinstance(e, RuleViolation) for e in errors), [repr(e) for e in errors]
    return errors


def window(client: Client) -> Client:
    """Another window of the same browser: the same session cookie, server errors as 500 responses."""
    other = Client(raise_request_exception=False)
    other.cookies = SimpleCookie()
    for name, morsel in client.cookies.items():
        other.cookies[name] = morsel.value
    return other


def signed_in(account) -> Client:
    """A client past both sign-in steps; its errors come back as 5xx responses in a thread."""
    client = factories.signed_in_client(account)
    client.raise_request_exception = False
    return client


def form_post(client: Client, path: str, data: dict | None = None):
    return lambda: client.post(path, data or {})


def _entries(actions: tuple[str, ...], **filters) -> list[dict]:
    """The successful entries of these actions, parsed, in log order."""
    return [json.loads(data) for data in AuditEntry.objects.filter(action__in=actions, outcome="success", **filters)
            .order_by("id").values_list("data", flat=True)]


def shown_codes(response) -> set[str]:
    """The recovery codes a page shows, as stored (read from the HTML: a response's `context` is not
    reliable when two requests render at once in one process)."""
    html = response.content.decode()
    listed = html[html.index('<ul class="codes">'):]
    listed = listed[:listed.index("</ul>")]
    return {services.normalise_code(code) for code in re.findall(r"<code>([^<]+)</code>", listed)}


def shown_secret(response) -> str:
    return re.search(r'<code class="secret">([^<]+)</code>', response.content.decode()).group(1)


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


# --- accounts, organisations and roles (CLI and administration: services) ------------------------------

def test_parallel_creations_of_one_user_name_make_one_account_and_refuse_the_others(orgs):
    def create(n):
        return lambda: services.create_account(actor=operator(), username="same-name", family_name=f"山田{n}",
                                               role="subject", organisation=orgs["TOWA"].pk)

    outcomes = race(*[create(n) for n in range(4)])
    assert {e.code for e in _errors(outcomes)} == {"username_taken"} and len(_errors(outcomes)) == 3
    account = Account.objects.get(username="same-name")
    assert [o.value.pk for o in outcomes if o.error is None] == [account.pk]
    assert audit_count("account.created", target_id=str(account.pk)) == 1
    assert audit_count("account.created") == 1 and RoleAssignment.objects.filter(account=account).count() == 1
    assert_reconciled()


def test_parallel_creations_of_one_organisation_code_make_one(orgs):
    def create(n):
        return lambda: services.create_organisation(actor=operator(), code="NEWORG", kind="administrative_organ",
                                                    name_ja=f"新組織{n}", name_en=f"New {n}")

    outcomes = race(*[create(n) for n in range(3)])
    assert [e.code for e in _errors(outcomes)] == ["organisation_code_taken"] * 2
    assert Organisation.objects.filter(code="NEWORG").count() == 1
    assert audit_count("organisation.created", target_id=str(Organisation.objects.get(code="NEWORG").pk)) == 1


def test_two_assignments_of_one_role_at_once_give_one_assignment(orgs):
    account = factories.account(role="esi_manager", organisation=orgs["METI"])
    outcomes = race(*[lambda: services.assign_role(actor=operator(), account=account.pk, role="complaint_handler",
                                                   organisation=orgs["MIC"].pk) for _ in range(4)])
    assert [e.code for e in _errors(outcomes)] == ["role_already_assigned"] * 3
    assert RoleAssignment.objects.filter(account=account, role="complaint_handler", revoked_at__isnull=True).count() == 1
    assert audit_count("role.assigned", target_id=str(account.pk)) == 2  # the first role, then this one
    assert_reconciled()


def test_two_revocations_of_one_role_at_once_revoke_it_once(orgs):
    account = factories.account(role="esi_manager", organisation=orgs["METI"])
    second = services.assign_role(actor=operator(), account=account, role="complaint_handler", organisation=orgs["MIC"])
    outcomes = race(*[lambda: services.revoke_role(actor=operator(), assignment=second.pk) for _ in range(3)])
    assert [e.code for e in _errors(outcomes)] == ["role_already_revoked"] * 2
    assert audit_count("role.revoked") == 1
    assert_reconciled()


def test_switching_to_a_role_while_it_is_revoked_never_switches_to_a_revoked_role(orgs):
    account = factories.account(role="esi_manager", organisation=orgs["METI"])
    client = signed_in(account)
    for _ in range(4):
        second = services.assign_role(actor=operator(), account=account, role="complaint_handler",
                                      organisation=orgs["MIC"])
        switch, revoke = race(form_post(client, "/role/", {"assignment": second.pk}),
                              lambda pk=second.pk: services.revoke_role(actor=operator(), assignment=pk))
        assert revoke.error is None and switch.error is None
        log = [e["action"] for e in _entries(("role.switched", "role.revoked"), target_id=str(account.pk))
               if e["details"]["assignment"] == second.pk]
        if switch.status == 302:  # switched first, and only then revoked
            assert log == ["role.switched", "role.revoked"]
        else:  # refused: 404 (gone when the request began) or 403 with the policy's reason (revoked
            # between the page's read and the service's lock); never switched to a revoked role
            assert switch.status in (403, 404), switch.value.content[:300]
            assert log == ["role.revoked"]
            if switch.status == 403:
                assert "あなたに割り当てられていません" in switch.value.content.decode()
    assert_reconciled()


# --- preferences and sessions (API and web) ------------------------------------------------------------

def test_parallel_language_changes_leave_the_language_of_the_last_entry(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    headers = bearer(factories.api_token(account))
    languages = ["en", "ja"] * 3
    outcomes = race(*[patch("/api/v1/me", {"language": language}, headers) for language in languages])
    assert_refusals_are_clear(outcomes)
    assert [o.status for o in outcomes] == [200] * 6
    assert [o.json()["language"] for o in outcomes] == languages  # each answer shows what it stored
    changes = [e["details"]["language"] for e in _entries(("profile.language_set",), target_id=str(account.pk))]
    assert changes and changes[-1] == Account.objects.get(pk=account.pk).language  # the last entry's is stored
    assert_reconciled()


def test_sign_out_everywhere_from_two_windows_at_once_revokes_each_token_once(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    tokens = [factories.api_token(account) for _ in range(3)]
    first = signed_in(account)
    outcomes = race(form_post(first, "/profile/signout-everywhere/"),
                    form_post(window(first), "/profile/signout-everywhere/"))
    assert_no_server_errors(outcomes)
    assert [o.status for o in outcomes] == [302, 302]
    # Each window either signed out everywhere (then to the sign-in page), or arrived once the other
    # had already ended its session (to the sign-in page, asked to sign in again): never both unsaid.
    done = [o for o in outcomes if o.value["Location"] == "/signin/"]
    assert {o.value["Location"] for o in outcomes} <= {"/signin/", "/signin/?next=/profile/signout-everywhere/"}
    assert done and audit_count("session.signed_out_everywhere") == len(done)
    assert Account.objects.get(pk=account.pk).session_generation == len(done)
    assert audit_count("token.revoked") == len(tokens)
    assert not ApiToken.objects.filter(account=account, revoked_at__isnull=True).exists()
    assert_reconciled()


def test_a_sign_out_everywhere_and_a_new_token_at_once_are_applied_in_one_order(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    actor = Actor.for_account(account, None, channel="web")
    for generation in range(1, 5):
        factories.api_token(account)
        sign_out, create = race(lambda: services.sign_out_everywhere(actor=actor),
                                lambda: services.create_api_token(actor=operator(), account=account.pk))
        assert sign_out.error is None and create.error is None
        new = ApiToken.objects.get(prefix=create.value.split("_")[1])
        # Either the token came first and was revoked with the others, or it came after and lives.
        assert audit_count("token.revoked", target_id=str(new.pk)) == (1 if new.revoked_at else 0)
        assert not ApiToken.objects.filter(account=account, revoked_at__isnull=True).exclude(pk=new.pk).exists()
        assert Account.objects.get(pk=account.pk).session_generation == generation
    assert_reconciled()


# --- second factor (web windows sharing one session) ----------------------------------------------------

def _password_only(orgs) -> tuple[Account, Client]:
    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    client = Client(raise_request_exception=False)
    assert client.post("/signin/", {"username": account.username, "password": factories.PASSWORD}).status_code == 302
    return account, client


def test_two_windows_opening_the_enrolment_page_at_once_show_one_enrolment(orgs):
    account, client = _password_only(orgs)
    pages = race(lambda: client.get("/signin/enrol/"), lambda: window(client).get("/signin/enrol/"))
    assert_no_server_errors(pages)
    assert [p.status for p in pages] == [200, 200]
    device = TOTPDevice.objects.get(user=account)
    assert not device.confirmed
    assert shown_secret(pages[0].value) == shown_secret(pages[1].value)
    assert audit_count("otp.enrolment_started") == 1


def test_two_confirmations_of_one_enrolment_at_once_enrol_one_device_with_one_set_of_codes(orgs):
    for _ in range(4):
        account, client = _password_only(orgs)
        assert client.get("/signin/enrol/").status_code == 200
        device = TOTPDevice.objects.get(user=account)
        code = _code(device)
        outcomes = race(form_post(client, "/signin/enrol/", {"token": code}),
                        form_post(window(client), "/signin/enrol/", {"token": code}))
        assert_no_server_errors(outcomes)
        done = [o for o in outcomes if o.status == 200]
        assert len(done) == 1, [(o.status, o.value.content[:200]) for o in outcomes]
        other = next(o for o in outcomes if o is not done[0])
        # Refused: sent to the code step of the authenticator now confirmed (with the reason on
        # screen when the service refused it; the page itself redirects when it already saw it).
        assert other.status == 302 and other.value["Location"] == "/signin/verify/"
        codes = shown_codes(done[0].value)
        assert TOTPDevice.objects.filter(user=account).count() == 1 and TOTPDevice.objects.get(user=account).confirmed
        assert StaticDevice.objects.filter(user=account).count() == 1
        stored = set(StaticToken.objects.filter(device__user=account).values_list("token", flat=True))
        assert stored == codes and len(codes) == services.RECOVERY_CODE_COUNT
        assert audit_count("otp.enrolled", target_id=str(account.pk)) == 1
    assert_reconciled()


def test_a_confirmation_racing_an_administrators_reset_ends_without_an_authenticator(orgs):
    admin = signed_in(factories.account(role="sysadmin", organisation=orgs["CAO"]))
    for _ in range(4):
        account, client = _password_only(orgs)
        assert client.get("/signin/enrol/").status_code == 200
        device = TOTPDevice.objects.get(user=account)
        confirm, reset = race(
            form_post(client, "/signin/enrol/", {"token": _code(device)}),
            form_post(admin, f"/admin/accounts/{account.pk}/reset-second-factor/",
                      {"reason": "Phone lost; identity checked at the desk"}))
        assert_no_server_errors([confirm, reset])
        assert reset.status == 200 and b'id="enrolment-link"' in reset.value.content  # the link, shown once
        if confirm.status == 200:  # confirmed first, then reset
            assert len(shown_codes(confirm.value)) == services.RECOVERY_CODE_COUNT
            assert audit_count("otp.enrolled", target_id=str(account.pk)) == 1
        else:  # reset first: the session it ended is sent to sign in again, at once (the reset
            # came before the request was authenticated) or with the reason shown (it came while
            # the request ran)
            assert confirm.status == 302 and confirm.value["Location"] in ("/signin/verify/", "/signin/")
            assert audit_count("otp.enrolled", target_id=str(account.pk)) == 0
        assert not TOTPDevice.objects.filter(user=account).exists()
        assert not StaticDevice.objects.filter(user=account).exists()
        assert audit_count("otp.reset", target_id=str(account.pk)) == 1
    assert_reconciled()


def test_two_regenerations_of_recovery_codes_at_once_leave_exactly_one_valid_set(orgs):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    client = signed_in(account)
    outcomes = race(form_post(client, "/profile/recovery-codes/"), form_post(window(client), "/profile/recovery-codes/"))
    assert_no_server_errors(outcomes)
    assert [o.status for o in outcomes] == [200, 200]
    sets = [shown_codes(o.value) for o in outcomes]
    stored = set(StaticToken.objects.filter(device__user=account).values_list("token", flat=True))
    assert StaticDevice.objects.filter(user=account).count() == 1
    assert [s == stored for s in sets].count(True) == 1 and not sets[0] & sets[1]
    assert audit_count("otp.recovery_codes_regenerated") == 2


# --- rules packs (CLI and the rules screen: services) --------------------------------------------------

def test_parallel_publishes_of_one_version_store_it_once_and_refuse_the_others(orgs):
    text = variant(version=2)
    outcomes = race(*[lambda: rules_services.publish_pack(actor=operator(), source_text=text, filename="v2.yaml")
                      for _ in range(4)])
    assert [e.code for e in _errors(outcomes)] == ["rules_pack_version_exists"] * 3
    assert list(RulesPack.objects.filter(code="jp-esi-2025").order_by("version").values_list("version", flat=True)) == [1, 2]
    assert audit_count("rules_pack.published") == 1


def test_parallel_publishes_of_successive_versions_number_them_without_gaps_or_repeats(orgs):
    for _ in range(3):
        latest = RulesPack.objects.filter(code="jp-esi-2025").order_by("-version").first().version
        wanted = range(latest + 1, latest + 5)
        outcomes = race(*[lambda v=v: rules_services.publish_pack(
            actor=operator(), source_text=variant(version=v), filename=f"v{v}.yaml") for v in wanted])
        errors = _errors(outcomes)
        assert {e.code for e in errors} <= {"rules_pack_version_gap"}
        published = sorted(o.value.version for o in outcomes if o.error is None)
        assert published == list(range(latest + 1, latest + 1 + len(published))) and published  # v(latest+1) always
        for error in errors:  # each refusal names the next version as it was when it was checked
            assert "would skip a number" in error.message_en
    versions = list(RulesPack.objects.filter(code="jp-esi-2025").order_by("version").values_list("version", flat=True))
    assert versions == list(range(1, len(versions) + 1))
    assert audit_count("rules_pack.published") == len(versions) - 1


# --- keys: rotation while services write, shredding ------------------------------------------------------

@pytest.fixture
def keyring(tmp_path, monkeypatch):
    """A keyring file for this test only: rotating it cannot touch other tests."""
    from hozen.crypto import provider
    from hozen.crypto.kek import create_keyring_file

    path = tmp_path / "keys" / "kek.json"
    path.parent.mkdir()
    create_keyring_file(path)
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_FILE", str(path))
    provider.reset_cache()
    yield path
    provider.reset_cache()


@pytest.fixture
def nominator(orgs):
    """METI's security officer nominating METI staff: each nomination creates an encrypted case with
    its own data key, through the assessment service."""
    from hozen.assessment import services as assessment

    officer = factories.account(role="security_officer", organisation=orgs["METI"])
    actor = Actor.for_account(officer, officer.active_assignments().first(), channel="web",
                              second_factor_verified=True)
    staff = iter([factories.account(role="subject", organisation=orgs["METI"]).person for _ in range(8)])

    def nominate():
        return assessment.nominate(actor=actor, person=next(staff), department="技術部", post="主任",
                                   listing_agreed_on=dt.date(2026, 5, 20)).case

    return nominate


def _every_key_unwraps_under(version: int) -> None:
    from hozen.crypto.keys import unwrap
    from hozen.crypto.models import DataKey

    live = list(DataKey.objects.filter(destroyed_at__isnull=True))
    assert live and {k.kek_version for k in live} == {version}, sorted({k.kek_version for k in live})
    for key in live:
        assert len(unwrap(key)) == 32  # nothing undecryptable: the retired versions are gone from the keyring


def test_a_key_rotation_while_a_service_writes_leaves_every_key_under_the_new_version(keyring, nominator, monkeypatch):
    """A nomination wraps its case's data key under the current KEK version, then is slow to commit;
    meanwhile `hozen keys rotate --retire-old` adds a version, re-wraps and retires the old one. The
    rotation waits for that transaction (keys.hold_wrapping_lock), so the new key is re-wrapped too
    and stays readable after the old version is gone."""
    from hozen.crypto import keys, rotation
    from hozen.crypto.models import DataKey
    from hozen.crypto.rotation import rotate

    for _ in range(3):
        nominator()
    wrapped, rotation_waiting = threading.Event(), threading.Event()
    real, real_wait = keys.create_data_key, rotation.wait_for_wrapping

    def slow_after_wrapping(subject):
        key = real(subject)
        if threading.current_thread() is not threading.main_thread():
            wrapped.set()
            if connection.vendor == "postgresql":
                # Still uncommitted when the rotation reaches its wait and beyond: without the
                # wrapping lock its passes would run now and miss this old-version key.
                assert rotation_waiting.wait(10)
                time.sleep(0.3)
            else:  # SQLite: the rotation cannot even start its transaction while this one writes
                time.sleep(0.3)
        return key

    def waiting(*args, **kwargs):
        rotation_waiting.set()
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(keys, "create_data_key", slow_after_wrapping)
    monkeypatch.setattr(rotation, "wait_for_wrapping", waiting)

    def rotate_once_wrapped():
        assert wrapped.wait(10)
        return rotate(actor=Actor.operator("tests"), retire_old=True, batch_size=2)

    writer, rotation = race(nominator, rotate_once_wrapped)
    assert writer.error is None and rotation.error is None, (writer.error, rotation.error)
    assert rotation.value.target_version == 2 and rotation.value.retired_versions == (1,)
    assert DataKey.objects.count() == 4
    _every_key_unwraps_under(2)
    assert_reconciled()


def test_a_key_rotation_while_services_keep_writing_leaves_nothing_under_an_old_version(keyring, nominator):
    from hozen.crypto.rotation import rotate

    for _ in range(2):
        nominator()
    outcomes = race(lambda: [nominator() for _ in range(4)],
                    lambda: rotate(actor=Actor.operator("tests"), retire_old=True, batch_size=1))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    _every_key_unwraps_under(2)
    assert_reconciled()


def test_two_rotations_started_at_once_add_one_kek_version(keyring, nominator):
    """Two operators run `hozen keys rotate` at the same moment: never two runs at once. The second
    resumes the first's run once it is committed, waits and then rotates again after it (one more
    version), or is refused clearly while the first is being started; every run ends finished, the
    keyring holds one version per run and every key is under the latest."""
    from hozen.crypto.kek import KeyManagementError, load_keyring
    from hozen.crypto.models import RotationRun
    from hozen.crypto.rotation import rotate

    for _ in range(2):
        nominator()
    outcomes = race(lambda: rotate(actor=Actor.operator("tests"), batch_size=1),
                    lambda: rotate(actor=Actor.operator("tests"), batch_size=1))
    done = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if o.error is not None]
    assert done and all(isinstance(o.error, KeyManagementError) and "another key rotation" in str(o.error)
                        for o in refused), [o.error for o in refused]
    runs = list(RotationRun.objects.order_by("id").values_list("target_version", "finished_at"))
    targets = [t for t, _ in runs]
    assert all(finished is not None for _, finished in runs) and targets == list(range(2, 2 + len(runs)))
    assert {o.value.target_version for o in done} <= set(targets) and 1 <= len(runs) <= 2
    assert load_keyring(keyring).versions() == tuple(range(1, 2 + len(runs)))
    assert audit_count("kek.version_added") == len(runs)
    _every_key_unwraps_under(targets[-1])


def test_parallel_shreds_of_one_key_destroy_it_once_while_a_rotation_runs(keyring, nominator):
    from hozen.crypto import shred
    from hozen.crypto.models import DataKey
    from hozen.crypto.rotation import rotate

    cases = [nominator() for _ in range(3)]
    target = cases[0]
    outcomes = race(*[lambda: shred(Actor.operator("tests"), target, "retention_expired") for _ in range(3)],
                    lambda: rotate(actor=Actor.operator("tests"), batch_size=1))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    key = DataKey.objects.get(pk=target.data_key_id)
    assert key.destroyed_at is not None and key.wrapped is None and key.kek_version is None
    assert audit_count("data_key.shredded") == 1
    _every_key_unwraps_under(2)  # the other two, re-wrapped; the shredded one never resurrected
    assert_reconciled()


# --- the audit log's own tables -----------------------------------------------------------------------------

def test_parallel_checkpoints_sign_each_tree_size_once(orgs):
    from hozen.audit import checkpoints

    factories.account(role="auditor", organisation=orgs["CAO"])
    outcomes = race(*[checkpoints.issue_checkpoint for _ in range(4)])
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    sizes = list(AuditCheckpoint.objects.values_list("size", flat=True))
    assert len(sizes) == len(set(sizes)) == 1
    assert {o.value.pk for o in outcomes} == set(AuditCheckpoint.objects.values_list("pk", flat=True))
