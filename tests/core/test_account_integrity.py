"""Lock what you check for accounts (ARCHITECTURE rule 8, issue 11): every account service decides on
the row it read afresh under a lock, never on a caller's copy; refusals write nothing; a lost race
is refused as clearly as a sequential duplicate; the database holds one authenticator per account.
The parallel versions of these cases are in tests/concurrency/test_core_races.py."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core import services
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.core.models import Account, ApiToken, Organisation, RoleAssignment, SecondFactorReset
from tests import factories

pytestmark = pytest.mark.django_db


def _entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def _actor(account, *, verified: bool = True) -> Actor:
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=verified)


def _writes() -> tuple:
    return (AuditEntry.objects.count(), Account.objects.count(), RoleAssignment.objects.count(),
            ApiToken.objects.count(), TOTPDevice.objects.count(), StaticDevice.objects.count(),
            StaticToken.objects.count())


# --- creations: a name taken meanwhile is refused like a duplicate --------------------------------------

def test_a_user_name_already_taken_is_refused_and_nothing_is_written(people, orgs):
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="Investigator", family_name="別人",
                                role="subject", organisation=orgs["TOWA"])
    assert (info.value.code, info.value.field) == ("username_taken", "username")
    assert _writes() == before


def test_a_user_name_taken_by_a_concurrent_creation_is_refused_not_an_integrity_error(orgs, monkeypatch):
    """The unique constraint decides between two creations at once: the loser gets the same refusal."""
    factories.account(role="subject", organisation=orgs["TOWA"], username="twice")
    before = _writes()
    real_filter = Account.objects.filter

    def blind_to_the_other(*args, **kwargs):  # the check ran before the other creation committed
        return real_filter(*args, **kwargs).none() if kwargs.get("username") == "twice" else real_filter(*args, **kwargs)

    monkeypatch.setattr(Account.objects, "filter", blind_to_the_other)
    with pytest.raises(RuleViolation) as info:
        services.create_account(actor=factories.operator(), username="twice", family_name="別人",
                                role="subject", organisation=orgs["TOWA"])
    assert info.value.code == "username_taken"
    monkeypatch.undo()
    assert _writes() == before


def test_an_organisation_code_already_taken_is_refused_and_nothing_is_written(orgs):
    before = (Organisation.objects.count(), AuditEntry.objects.count())
    with pytest.raises(RuleViolation) as info:
        services.create_organisation(actor=factories.operator(), code="METI", kind="administrative_organ",
                                     name_ja="重複", name_en="Duplicate")
    assert (info.value.code, info.value.field) == ("organisation_code_taken", "code")
    assert (Organisation.objects.count(), AuditEntry.objects.count()) == before


def test_an_organisation_code_taken_by_a_concurrent_creation_is_refused_not_an_integrity_error(orgs, monkeypatch):
    before = (Organisation.objects.count(), AuditEntry.objects.count())
    real_filter = Organisation.objects.filter
    monkeypatch.setattr(Organisation.objects, "filter",
                        lambda *a, **k: real_filter(*a, **k).none() if k.get("code") == "METI" else real_filter(*a, **k))
    with pytest.raises(RuleViolation) as info:
        services.create_organisation(actor=factories.operator(), code="METI", kind="administrative_organ",
                                     name_ja="重複", name_en="Duplicate")
    assert info.value.code == "organisation_code_taken"
    monkeypatch.undo()
    assert (Organisation.objects.count(), AuditEntry.objects.count()) == before


# --- roles ------------------------------------------------------------------------------------------------

def test_a_role_held_already_is_refused_and_nothing_is_written(people, orgs):
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.assign_role(actor=factories.operator(), account=people["esi_manager"].pk, role="esi_manager",
                             organisation=orgs["METI"].pk)
    assert info.value.code == "role_already_assigned"
    assert _writes() == before


def test_assigning_a_role_records_the_assignment_it_made(people, orgs):
    assignment = services.assign_role(actor=factories.operator(), account=people["esi_manager"],
                                      role="complaint_handler", organisation=orgs["MIC"])
    assert _entries("role.assigned")[-1]["details"] == {
        "role": "complaint_handler", "organisation": "MIC", "assignment": assignment.pk}


def test_a_revoked_role_is_refused_for_sessions_and_tokens_and_revoking_it_again_writes_nothing(people, orgs, client):
    account = people["esi_manager"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["MIC"])
    token = factories.api_token(account, second)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.revoke_role(actor=factories.operator(), assignment=second.pk)
    entry = _entries("role.revoked")[-1]
    assert entry["target"] == {"type": "core.account", "id": str(account.pk)}
    assert entry["details"] == {"role": "complaint_handler", "organisation": "MIC", "assignment": second.pk,
                                "tokens_revoked": 1}  # the token acting in the role ends with it
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.revoke_role(actor=factories.operator(), assignment=second)
    assert info.value.code == "role_already_revoked"
    assert _writes() == before


def test_only_a_system_administrator_or_the_operator_revokes_roles(people):
    assignment = people["investigator"].active_assignments().first()
    with pytest.raises(PolicyDenied):
        services.revoke_role(actor=_actor(people["auditor"]), assignment=assignment)
    services.revoke_role(actor=_actor(people["sysadmin"]), assignment=assignment)
    assert RoleAssignment.objects.get(pk=assignment.pk).revoked_at is not None


def test_switching_to_a_role_revoked_since_the_caller_loaded_it_is_refused(people, orgs):
    account = people["esi_manager"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["MIC"])
    loaded_before = RoleAssignment.objects.get(pk=second.pk)  # what a request loaded a moment ago
    services.revoke_role(actor=factories.operator(), assignment=second)
    before = _writes()
    with pytest.raises(PolicyDenied) as info:
        services.switch_role(actor=_actor(account), assignment=loaded_before)
    assert info.value.decision.code == "not_your_role"
    assert _writes() == before


# --- preferences and sessions ---------------------------------------------------------------------------

def test_a_language_change_is_recorded_once_and_the_same_language_again_writes_nothing(people):
    account = people["subject"]
    changed = services.set_language(actor=_actor(account), language="en")
    assert changed.language == "en" and Account.objects.get(pk=account.pk).language == "en"
    assert [e["details"] for e in _entries("profile.language_set")] == [{"language": "en"}]
    before = _writes()
    services.set_language(actor=_actor(account), language="en")
    assert _writes() == before


def test_an_unknown_language_is_refused_and_nothing_is_written(people):
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.set_language(actor=_actor(people["subject"]), language="fr")
    assert info.value.field == "language"
    assert _writes() == before


def test_sign_out_everywhere_revokes_each_token_with_its_own_entry(people):
    account = people["investigator"]
    tokens = [factories.api_token(account) for _ in range(2)]
    generation = Account.objects.get(pk=account.pk).session_generation
    services.sign_out_everywhere(actor=_actor(account))
    stored = Account.objects.get(pk=account.pk)
    assert stored.session_generation == generation + 1
    assert _entries("session.signed_out_everywhere")[-1]["details"] == {
        "session_generation": generation + 1, "tokens_revoked": 2}
    revoked = _entries("token.revoked")
    prefixes = sorted(t.split("_")[1] for t in tokens)
    assert sorted(e["details"]["prefix"] for e in revoked) == prefixes
    assert {e["target"]["type"] for e in revoked} == {"core.apitoken"}
    assert all(e["details"]["revoked"] is True and e["details"]["reason"] == "signed_out_everywhere" for e in revoked)
    assert not ApiToken.objects.filter(account=account, revoked_at__isnull=True).exists()
    services.sign_out_everywhere(actor=_actor(account))  # again: nothing left to revoke
    assert len(_entries("token.revoked")) == 2


# --- second factor --------------------------------------------------------------------------------------

@pytest.fixture
def enrolling(orgs):
    """An official without an authenticator, half-way through enrolment (password only)."""
    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    actor = _actor(account, verified=False)
    return account, actor, services.start_totp_enrolment(actor=actor)


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_starting_an_enrolment_twice_continues_the_one_in_progress(enrolling):
    account, actor, device = enrolling
    again = services.start_totp_enrolment(actor=actor)
    assert again.pk == device.pk and again.key == device.key
    assert TOTPDevice.objects.filter(user=account).count() == 1
    assert [e["details"] for e in _entries("otp.enrolment_started")] == [{"device": device.pk}]


def test_confirming_records_the_device_and_gives_the_only_valid_recovery_codes(enrolling):
    account, actor, device = enrolling
    codes = services.confirm_totp_enrolment(actor=actor, device=device.pk, token=_code(device))
    assert TOTPDevice.objects.get(user=account).confirmed
    stored = set(StaticToken.objects.filter(device__user=account).values_list("token", flat=True))
    assert stored == {services.normalise_code(c) for c in codes}
    assert _entries("otp.enrolled")[-1]["details"] == {"device": device.pk, "replaced": [], "recovery_codes": 10}


def test_a_second_confirmation_of_a_confirmed_device_is_refused_409_without_spending_the_code(enrolling):
    account, actor, device = enrolling
    loaded_before = TOTPDevice.objects.get(pk=device.pk)  # the second window's copy: unconfirmed
    services.confirm_totp_enrolment(actor=actor, device=device, token=_code(device))
    before = _writes()
    last_t = TOTPDevice.objects.get(pk=device.pk).last_t
    with pytest.raises(services.ChangedMeanwhile) as info:
        services.confirm_totp_enrolment(actor=actor, device=loaded_before, token=_code(device))
    assert (info.value.code, info.value.status) == ("already_enrolled", 409)
    assert "another window" in info.value.message_en and "別の画面" in info.value.message_ja
    assert _writes() == before
    assert TOTPDevice.objects.get(pk=device.pk).last_t == last_t


def test_a_request_authenticated_before_a_reset_cannot_enrol_or_renew_codes_after_it_409(enrolling, people):
    """The reset ends the account's sessions; a request that authenticated a moment before is refused
    when it reaches the locked account, instead of enrolling (or starting) a device after the reset."""
    account, actor, device = enrolling
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=account.pk,
                                 reason="Phone lost; identity checked at the desk")
    before = _writes()
    for attempt in (lambda: services.confirm_totp_enrolment(actor=actor, device=device, token=_code(device)),
                    lambda: services.start_totp_enrolment(actor=actor),
                    lambda: services.regenerate_recovery_codes(actor=actor)):
        with pytest.raises(services.ChangedMeanwhile) as info:
            attempt()
        assert (info.value.code, info.value.status) == ("session_ended", 409)
        assert "Sign in again" in info.value.message_en and "もう一度サインイン" in info.value.message_ja
    assert _writes() == before


def test_a_confirmation_of_an_enrolment_that_no_longer_exists_is_refused_409(enrolling, people):
    account, actor, device = enrolling
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=account.pk,
                                 reason="Phone lost; identity checked at the desk")
    signed_in_again = _actor(Account.objects.get(pk=account.pk), verified=False)
    before = _writes()
    with pytest.raises(services.ChangedMeanwhile) as info:
        services.confirm_totp_enrolment(actor=signed_in_again, device=device.pk, token=_code(device))
    assert (info.value.code, info.value.status) == ("enrolment_gone", 409)
    assert _writes() == before


def test_a_password_only_session_cannot_confirm_the_replacement_of_a_confirmed_device(people):
    """The policy is asked on the locked state: while a confirmed authenticator exists, only a session
    verified with it may confirm a new one (a stolen password alone must not replace it)."""
    account = people["investigator"]
    old = TOTPDevice.objects.get(user=account, confirmed=True)
    device = services.start_totp_enrolment(actor=_actor(account))  # the owner, verified: a new phone
    before = _writes()
    with pytest.raises(PolicyDenied) as info:
        services.confirm_totp_enrolment(actor=_actor(account, verified=False), device=device, token=_code(device))
    assert info.value.decision.code == "second_factor_required"
    assert _writes() == before
    codes = services.confirm_totp_enrolment(actor=_actor(account), device=device, token=_code(device))
    assert len(codes) == 10 and list(TOTPDevice.objects.filter(user=account).values_list("pk", flat=True)) == [device.pk]
    assert _entries("otp.enrolled")[-1]["details"]["replaced"] == [old.pk]


def test_a_wrong_code_is_refused_and_the_device_stays_unconfirmed(enrolling):
    account, actor, device = enrolling
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.confirm_totp_enrolment(actor=actor, device=device, token=wrong)
    assert info.value.code == "wrong_code"
    assert _writes() == before and not TOTPDevice.objects.get(pk=device.pk).confirmed


def test_regenerated_recovery_codes_replace_every_earlier_code(people):
    actor = _actor(people["esi_manager"])
    first = services.regenerate_recovery_codes(actor=actor)
    second = services.regenerate_recovery_codes(actor=actor)
    stored = set(StaticToken.objects.filter(device__user=people["esi_manager"]).values_list("token", flat=True))
    assert stored == {services.normalise_code(c) for c in second}
    assert not stored & {services.normalise_code(c) for c in first}
    assert StaticDevice.objects.filter(user=people["esi_manager"]).count() == 1
    assert [e["details"] for e in _entries("otp.recovery_codes_regenerated")] == [{"recovery_codes": 10}] * 2


def test_a_reset_records_the_devices_it_removed_and_the_new_session_generation(people):
    victim = people["investigator"]
    services.regenerate_recovery_codes(actor=_actor(victim))
    device = TOTPDevice.objects.get(user=victim)
    services.reset_second_factor(actor=_actor(people["sysadmin"]), account=victim,
                                 reason="Phone lost; identity checked at the desk")
    assert not TOTPDevice.objects.filter(user=victim).exists() and not StaticDevice.objects.filter(user=victim).exists()
    entry = _entries("otp.reset")[-1]
    # The reason is in its own encrypted record, which the entry names (issue 12 §8); never in the entry.
    reset = SecondFactorReset.objects.get(account=victim)
    assert entry["details"] == {"devices_removed": [device.pk], "passkeys_removed": [], "session_generation": 1,
                                "reset": {"type": "core.secondfactorreset", "id": str(reset.pk)},
                                "tokens_revoked": 0}
    assert "purpose" not in entry
    assert Account.objects.get(pk=victim.pk).session_generation == 1


def test_a_reset_with_a_short_reason_is_refused_and_nothing_is_written(people):
    before = _writes()
    with pytest.raises(RuleViolation):
        services.reset_second_factor(actor=_actor(people["sysadmin"]), account=people["investigator"], reason="short")
    assert _writes() == before


def test_the_enrolment_page_sends_a_confirmation_made_in_another_window_to_the_code_step(orgs, monkeypatch):
    account = factories.account(role="security_officer", organisation=orgs["METI"], totp_device=False)
    client = Client()
    client.post("/signin/", {"username": account.username, "password": factories.PASSWORD})
    assert client.get("/signin/enrol/").status_code == 200
    device = TOTPDevice.objects.get(user=account)
    code = _code(device)
    real = services.confirm_totp_enrolment

    def other_window_first(**kwargs):  # the other window confirms between this page's read and its lock
        real(actor=_actor(account, verified=False), device=device.pk, token=code)
        return real(**kwargs)

    monkeypatch.setattr(services, "confirm_totp_enrolment", other_window_first)
    response = client.post("/signin/enrol/", {"token": code}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == "/signin/verify/"
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "この認証アプリは別の画面で既に登録されました" in page  # the account's language
    assert len(_entries("otp.enrolled")) == 1 and StaticDevice.objects.filter(user=account).count() == 1


# --- tokens -----------------------------------------------------------------------------------------------

def test_a_token_for_a_role_revoked_since_the_caller_loaded_it_is_refused(people, orgs):
    account = people["esi_manager"]
    second = services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                                  organisation=orgs["MIC"])
    loaded_before = RoleAssignment.objects.get(pk=second.pk)
    services.revoke_role(actor=factories.operator(), assignment=second)
    before = _writes()
    with pytest.raises(RuleViolation) as info:
        services.create_api_token(actor=factories.operator(), account=account, assignment=loaded_before)
    assert info.value.code == "no_role"
    assert _writes() == before


def test_a_token_records_its_account_role_and_state(people):
    token = factories.api_token(people["auditor"])
    row = ApiToken.objects.get(prefix=token.split("_")[1])
    assert len(row.prefix) == 12
    assert _entries("token.created")[-1]["details"] == {
        "account": "auditor", "prefix": row.prefix, "assignment": row.assignment_id, "role": "auditor",
        "organisation": "CAO", "revoked": False,
        "expires_at": row.expires_at.isoformat().replace("+00:00", "Z")}


def test_a_token_prefix_already_taken_is_drawn_again(people, monkeypatch):
    taken = factories.api_token(people["auditor"]).split("_")[1]
    draws = iter([taken, "0123456789ab"])
    monkeypatch.setattr(services.secrets, "token_hex", lambda n: next(draws))
    token = factories.api_token(people["auditor"])
    assert token.split("_")[1] == "0123456789ab"
    assert ApiToken.objects.filter(prefix=taken).count() == 1


# --- uniqueness in the database ---------------------------------------------------------------------------

def _unique_columns(table: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [tuple(c["columns"]) for c in constraints.values() if c["unique"]]


def test_the_database_holds_one_authenticator_and_one_set_of_recovery_codes_per_account():
    assert ("user_id", "confirmed") in _unique_columns(TOTPDevice._meta.db_table)
    assert ("user_id",) in _unique_columns(StaticDevice._meta.db_table)


def test_a_second_confirmed_authenticator_is_refused_by_the_database(people):
    with pytest.raises(IntegrityError), transaction.atomic():
        TOTPDevice.objects.create(user=people["investigator"], name="second", confirmed=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        StaticDevice.objects.create(user=people["investigator"], name="recovery")
        StaticDevice.objects.create(user=people["investigator"], name="recovery")


def test_the_migration_names_accounts_with_more_than_one_authenticator_before_adding_the_indexes(people):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("hozen.core.migrations.0002_one_authenticator_per_account")
    with connection.cursor() as cursor:  # as the data stood before the migration (rolled back with the test)
        for name in migration.INDEXES:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    account = people["investigator"]
    extra = TOTPDevice.objects.create(user=account, name="second", confirmed=True)
    with pytest.raises(migration.DataBreaksConstraint) as info:
        migration.check_existing_rows(apps, None)
    first = TOTPDevice.objects.filter(user=account).exclude(pk=extra.pk).get()
    assert (f"core_one_totp_device_per_state: account investigator (id {account.pk}) has 2 confirmed "
            f"TOTP devices: ids {[first.pk, extra.pk]}") in str(info.value)
