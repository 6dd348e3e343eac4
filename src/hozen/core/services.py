"""Every write of the core app: one function per use case, one transaction, one audit entry.

Lock what you check (ARCHITECTURE rule 8). The account row is the lock of everything that hangs
off it: its role assignments, second factors, API tokens, session generation and language. Each
service reads it afresh with ``rows.lock`` first thing (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the transaction holds the database's write lock from its start), asks the policy and checks
the state on that locked row, and saves only the fields it changed. So two clicks at once on one
account run one after the other, and the second sees what the first did: one enrolled device, one
set of recovery codes, one assignment of a role. Creations that have no row to lock yet (a user
name, an organisation code) rely on the database's unique constraints and turn a lost race into the
same clear refusal as a sequential duplicate, never an IntegrityError.

Lifecycle entries carry what the reconcile check (``hozen.core.reconcile``) replays: ids, states and
counters, never a secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from hozen import audit
from hozen.access import policy

from . import rows
from .errors import NotFound, RuleViolation
from .models import (
    Account,
    ApiToken,
    EmailVerification,
    Organisation,
    PasswordReset,
    Person,
    RoleAssignment,
    SecondFactorReset,
)
from .roles import ROLE_ORGANISATION_KINDS, OrganisationKind, Role
from .text import check_date, clean

RECOVERY_CODE_COUNT = 10


class ChangedMeanwhile(RuleViolation):
    """Refused because another request changed the same thing a moment before (409): what the
    person asked for was done, or undone, in another window or by someone else. Nothing written."""

    status = 409


def _pk(row_or_pk):
    return row_or_pk.pk if isinstance(row_or_pk, models.Model) else row_or_pk


def _validate(instance, *, exclude=None):
    """Field validation only. Uniqueness is each service's own refusal (checked, then held by the
    database's constraint), so a duplicate gets the same code whether it came first or a moment later."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise RuleViolation("invalid_" + field, f"{field}: {messages[0]}", f"{field}: {messages[0]}",
                            field=field) from None


def _organisation(organisation: Organisation | int) -> Organisation:
    """The organisation read afresh (its kind decides which roles it may hold; never a caller's copy)."""
    try:
        return Organisation.objects.get(pk=_pk(organisation))
    except (Organisation.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def _own_account(actor, action: str) -> Account:
    """The actor's own account, locked, with the policy asked about it on the locked row."""
    if actor.account is None:
        policy.require(actor, action, None)  # refuses: there is no account to act on
    account = rows.lock(Account, actor.account.pk)
    policy.require(actor, action, account)
    return account


def _code_taken(code: str) -> RuleViolation:
    return RuleViolation("organisation_code_taken", f"組織コード {code} は既に使われています。",
                         f"The organisation code {code} is already taken.", field="code")


@transaction.atomic(durable=True)
def create_organisation(*, actor, code: str, kind: str, name_ja: str, name_en: str) -> Organisation:
    """A new organisation. Two creations of one code at once: one is made, the other refused like a
    sequential duplicate (the code's unique constraint decides between them)."""
    policy.require(actor, "organisation.create")
    # The one text policy before any query: a NUL in a code would otherwise reach the database.
    code = clean(code, field="code", label=("組織コード", "Organisation code"), max_length=32, required=True)
    name_ja = clean(name_ja, field="name_ja", label=("名称（日本語）", "Name (Japanese)"), max_length=200,
                    min_visible=1, required=True)
    name_en = clean(name_en, field="name_en", label=("名称（英語）", "Name (English)"), max_length=200,
                    min_visible=1, required=True)
    if kind not in OrganisationKind.values:
        raise RuleViolation("invalid_kind", f"組織の種別 {kind!r} は不正です。",
                            f"Unknown organisation kind {kind!r}; use one of {', '.join(OrganisationKind.values)}.",
                            field="kind")
    if Organisation.objects.filter(code=code).exists():
        raise _code_taken(code)
    org = Organisation(code=code, kind=kind, name_ja=name_ja, name_en=name_en)
    _validate(org)
    try:
        with transaction.atomic():
            org.save()
    except IntegrityError:  # a concurrent creation of the same code committed first
        raise _code_taken(code) from None
    audit.record(actor, "organisation.created", org, details={"code": org.code, "kind": kind})
    return org


def _username_taken(username: str) -> RuleViolation:
    return RuleViolation("username_taken", f"ユーザー名 {username} は既に使われています。",
                         f"The user name {username} is already taken.", field="username")


def _check_role(role: str, organisation: Organisation) -> None:
    if role not in Role.values:
        raise RuleViolation("invalid_role", f"役割 {role!r} は存在しません。",
                            f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role")
    if organisation.kind not in ROLE_ORGANISATION_KINDS[role]:
        raise RuleViolation(
            "role_not_for_organisation",
            f"役割 {role} は種別 {organisation.kind} の組織には割り当てられません。",
            f"The role {role} cannot be held in an organisation of kind {organisation.kind}.",
            field="organisation",
        )


@transaction.atomic(durable=True)
def create_account(*, actor, username: str, family_name: str, given_name: str = "", family_name_kana: str = "",
                   given_name_kana: str = "", date_of_birth: dt.date | None = None, role: str,
                   organisation: Organisation | int, password: str | None = None, email: str = "",
                   language: str = "ja", totp_key_hex: str | None = None) -> Account:
    """Create a person, their account and their first role assignment.

    Two creations of one user name at once: one account is made, the other is refused with
    ``username_taken`` exactly as a later duplicate is (the user name's unique constraint decides
    between them; nothing of the refused one is kept)."""
    policy.require(actor, "account.create")
    username = clean(username, field="username", label=("ユーザー名", "User name"), max_length=64,
                     required=True).lower()
    family_name, given_name, family_name_kana, given_name_kana = (
        clean(value, field=field, label=label, max_length=100, min_visible=1 if field == "family_name" else 0,
              required=field == "family_name")
        for field, label, value in (
            ("family_name", ("姓", "Family name"), family_name), ("given_name", ("名", "Given name"), given_name),
            ("family_name_kana", ("姓（カナ）", "Family name (katakana)"), family_name_kana),
            ("given_name_kana", ("名（カナ）", "Given name (katakana)"), given_name_kana)))
    email = clean(email, field="email", label=("メールアドレス", "E-mail"), max_length=254)
    if date_of_birth is not None:
        date_of_birth = check_date(date_of_birth, field="date_of_birth", label=("生年月日", "Date of birth"),
                                   latest=timezone.localdate())
    if Account.objects.filter(username=username).exists():
        raise _username_taken(username)
    organisation = _organisation(organisation)
    _check_role(role, organisation)
    person = Person(family_name=family_name, given_name=given_name, family_name_kana=family_name_kana,
                    given_name_kana=given_name_kana, date_of_birth=date_of_birth)
    _validate(person)
    person.save()
    account = Account(username=username, person=person, email=email, language=language)
    if password:
        account.set_password(_checked_password(password, account))
    else:
        account.set_unusable_password()
    _validate(account, exclude=["password", "person"])
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:  # a concurrent creation of the same user name committed first
        raise _username_taken(username) from None
    if totp_key_hex:
        # Demo and migration only: a known TOTP secret, so a printed code works (never for real accounts).
        TOTPDevice.objects.create(user=account, name="authenticator", key=totp_key_hex, confirmed=True)
    audit.record(actor, "account.created", account,
                 details={"username": username, "totp_preset": bool(totp_key_hex), "language": account.language,
                          "active": account.is_active, "session_generation": account.session_generation})
    _assign_role(actor=actor, account=account, role=role, organisation=organisation)
    return account


def _role_taken(account: Account, role: str, organisation: Organisation) -> RuleViolation:
    return RuleViolation("role_already_assigned", f"{account} は既に {role}@{organisation.code} を持っています。",
                         f"{account} already holds {role}@{organisation.code}.", field="role")


def _assign_role(*, actor, account: Account, role: str, organisation: Organisation) -> RoleAssignment:
    """`account` is locked (or created) by the caller's transaction; `organisation` read afresh."""
    _check_role(role, organisation)
    if account.role_assignments.filter(role=role, organisation=organisation, revoked_at__isnull=True).exists():
        raise _role_taken(account, role, organisation)
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(account=account, role=role, organisation=organisation)
    except IntegrityError:  # the partial unique constraint: one active assignment per role and organisation
        raise _role_taken(account, role, organisation) from None
    audit.record(actor, "role.assigned", account,
                 details={"role": role, "organisation": organisation.code, "assignment": assignment.pk})
    return assignment


def give_subject_roles(*, actor, people: dict[int, Organisation], case_ids: dict[int, int]) -> int:
    """The person, not the role, owns their case (issue 14 §1): every active account of each person
    nominated (``people``: person id → the nominating organisation) gets the assessed-person role
    there, if it has no assessed-person role yet, so the case is reached from the role switcher
    whatever role the account holds. Called by the assessment's nomination services inside their own
    transaction, under their policy decision (the nomination); each an audit entry `role.assigned`
    with reason `nominated` and the case. Returns how many were given."""
    if not people:
        return 0
    # The accounts locked first (in id order, as every service locks them): two nominations of one
    # person by two organisations at once give the role once.
    locked = list(Account.objects.select_for_update().filter(person_id__in=list(people), is_active=True)
                  .order_by("pk"))
    having = set(RoleAssignment.objects.filter(account__in=locked, role=Role.SUBJECT,
                                               revoked_at__isnull=True).values_list("account_id", flat=True))
    accounts = [a for a in locked if a.pk not in having]
    if not accounts:
        return 0
    new = [RoleAssignment(account=a, role=Role.SUBJECT, organisation=people[a.person_id]) for a in accounts]
    try:
        with transaction.atomic():
            made = RoleAssignment.objects.bulk_create(new)  # one statement for a bulk nomination
    except IntegrityError:  # one was given a moment ago by another nomination: one by one, skipping it
        made = []
        for assignment in new:
            try:
                with transaction.atomic():
                    assignment.pk = None
                    assignment.save()
                    made.append(assignment)
            except IntegrityError:
                continue
    if not made:
        return 0
    audit.record_many(actor, [audit.Entry("role.assigned", a.account, details={
        "role": a.role, "organisation": a.organisation.code, "assignment": a.pk, "reason": "nominated",
        "case": case_ids.get(a.account.person_id)}) for a in made])
    return len(made)


@transaction.atomic(durable=True)
def assign_role(*, actor, account: Account | int, role: str, organisation: Organisation | int) -> RoleAssignment:
    """Give an account another role. The account is locked first, so two assignments of one role at
    once give one assignment and one ``role_already_assigned`` refusal."""
    policy.require(actor, "role.assign")
    account = rows.lock(Account, account)
    policy.require(actor, "role.assign", account)  # never one's own: the account as it is now, locked
    return _assign_role(actor=actor, account=account, role=role, organisation=_organisation(organisation))


@transaction.atomic(durable=True)
def revoke_role(*, actor, assignment: RoleAssignment | int) -> RoleAssignment:
    """End a role assignment. From then on no session or API token acts in it (both check
    ``revoked_at`` at every request); handler entries that need the role lapse with it."""
    policy.require(actor, "role.revoke")
    account_id = RoleAssignment.objects.filter(pk=_pk(assignment)).values_list("account_id", flat=True).first()
    if account_id is None:
        raise NotFound
    rows.lock(Account, account_id)  # the account's lock orders every change of its roles
    assignment = rows.lock(RoleAssignment, assignment, related=("organisation",))
    if assignment.revoked_at is not None:
        raise RuleViolation("role_already_revoked",
                            f"{assignment.role}@{assignment.organisation.code} は既に解除されています。",
                            f"{assignment.role}@{assignment.organisation.code} was already revoked.", field="role")
    rows.change(assignment, revoked_at=timezone.now())
    revoked = _revoke_tokens(actor, assignment.account, reason="role_revoked", assignment=assignment)
    audit.record(actor, "role.revoked", assignment.account, details={
        "role": assignment.role, "organisation": assignment.organisation.code, "assignment": assignment.pk,
        "tokens_revoked": revoked})
    return assignment


@transaction.atomic(durable=True)
def switch_role(*, actor, assignment: RoleAssignment | int) -> RoleAssignment:
    """Act in another of one's own roles. The assignment is read afresh and locked, so a role revoked
    a moment before is refused (the policy asks about the locked row), not switched to."""
    assignment = rows.lock(RoleAssignment, assignment, related=("organisation",))
    policy.require(actor, "role.switch", assignment)
    audit.record(actor, "role.switched", actor.account,
                 details={"role": assignment.role, "organisation": assignment.organisation.code,
                          "assignment": assignment.pk})
    return assignment


@transaction.atomic(durable=True)
def set_language(*, actor, language: str) -> Account:
    """The account's language. A preference of the person alone, so it carries no version: of two
    changes at once the later one stays, and each change has its entry (log order is commit
    order, as the account is locked), so the log always names the stored language."""
    if language not in ("ja", "en"):
        raise RuleViolation("invalid_language", "言語は ja または en を指定してください。",
                            "language must be 'ja' or 'en'.", field="language")
    account = _own_account(actor, "profile.update")
    if rows.change(account, language=language):
        audit.record(actor, "profile.language_set", account, details={"language": language})
    return account


def _revoke_tokens(actor, account: Account, *, reason: str, assignment: RoleAssignment | None = None) -> int:
    """Revoke the account's live API tokens (of one role assignment, if given; locked in id order),
    one `token.revoked` entry each: each token's state is replayable from its own entries."""
    tokens = ApiToken.objects.select_for_update(no_key=True).filter(account=account, revoked_at__isnull=True)
    if assignment is not None:
        tokens = tokens.filter(assignment=assignment)
    tokens = list(tokens.order_by("pk"))
    if not tokens:
        return 0
    now = timezone.now()
    ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    audit.record_many(actor, [
        audit.Entry("token.revoked", token, details={"account": account.username, "prefix": token.prefix,
                                                     "reason": reason, "revoked": True})
        for token in tokens])
    return len(tokens)


@transaction.atomic(durable=True)
def sign_out_everywhere(*, actor) -> Account:
    """Ends every session of the account (the session hash includes the generation counter) and
    revokes its API tokens."""
    account = _own_account(actor, "session.sign_out_everywhere")
    rows.change(account, session_generation=account.session_generation + 1)
    revoked = _revoke_tokens(actor, account, reason="signed_out_everywhere")
    audit.record(actor, "session.signed_out_everywhere", account,
                 details={"session_generation": account.session_generation, "tokens_revoked": revoked})
    return account


# --- sign-in events: no write but the audit entry itself -------------------------------------------

def record_sign_in(*, actor, method: str) -> None:
    audit.record(actor, "session.signed_in", actor.account, details={"method": method})


#: The salt of the key (derived from SECRET_KEY) that hashes user names of failed sign-ins.
SIGN_IN_FAILED_KEY_SALT = "hozen.core.sign_in_failed.username"


def record_failed_sign_in(*, actor, username: str, reason: str) -> None:
    """A failed password or second factor (issue 12 §8). Never the text as typed: a password typed
    into the user-name field would stay in the append-only log for ever. The entry names a keyed
    hash of the user name instead (HMAC-SHA256 with a key derived from the secret key: the same
    name gives the same digest, so guessing stays visible to auditors, and without the key the
    digest names nobody), whether an account has that name, and then that account by id."""
    from django.utils.crypto import salted_hmac

    digest = salted_hmac(SIGN_IN_FAILED_KEY_SALT, username, algorithm="sha256").hexdigest()
    account = Account.objects.filter(username=username).only("pk").first()
    details: dict = {"reason": reason, "account_exists": account is not None}
    if account is not None:
        details["account"] = account
    audit.record(actor, "session.sign_in_failed", {"type": "username_hmac", "id": digest},
                 outcome="failure", details=details)


@transaction.atomic(durable=True)
def unlock_sign_in(*, actor, username: str) -> int:
    """A system administrator (or the operator) lifts the sign-in lock on `username` before it ends
    (issue 14 §2): its recorded failures are cleared. Audited `session.sign_in_unlocked`, naming the
    user name as `record_failed_sign_in` does. Returns how many failures were cleared."""
    from axes.models import AccessAttempt
    from django.utils.crypto import salted_hmac

    from .lockout import cool_off

    policy.require(actor, "sign_in.unlock")
    username = (username or "").strip().lower()
    attempts = AccessAttempt.objects.select_for_update().filter(
        username=username, attempt_time__gte=timezone.now() - cool_off())
    failures = sum(a.failures_since_start for a in attempts)
    if not failures:
        raise RuleViolation("not_locked", f"{username} のサインインはロックされていません。",
                            f"Signing in as {username} is not locked.", field="username")
    AccessAttempt.objects.filter(username=username).delete()
    digest = salted_hmac(SIGN_IN_FAILED_KEY_SALT, username, algorithm="sha256").hexdigest()
    account = Account.objects.filter(username=username).only("pk").first()
    details: dict = {"failures_cleared": failures, "account_exists": account is not None}
    if account is not None:
        details["account"] = account
    audit.record(actor, "session.sign_in_unlocked", {"type": "username_hmac", "id": digest}, details=details)
    return failures


def record_sign_out(*, actor) -> None:
    audit.record(actor, "session.signed_out", actor.account)


# --- second factor -----------------------------------------------------------------------------------
# One confirmed authenticator and one set of recovery codes per account, at most one enrolment in
# progress: each service below works under the account's lock, and unique indexes on django-otp's
# tables (core migration 0002) hold the same in the database.

def _session_still_current(actor, account: Account) -> None:
    """A request authenticated a moment before its sessions were ended (sign-out everywhere, an
    administrator's reset of the second factor) must not then change the second factor: the account
    the request authenticated with is compared with the locked row."""
    if actor.account.session_generation != account.session_generation:
        raise ChangedMeanwhile(
            "session_ended", "この操作の途中で、このアカウントのセッションが終了されました（すべての端末でのサインアウト、"
            "または二要素認証のリセット）。もう一度サインインしてください。",
            "Your sessions were ended while this was being done (sign out everywhere, or a reset of your second "
            "factor). Sign in again.", field="token")


@transaction.atomic(durable=True)
def start_totp_enrolment(*, actor, link_hash: str | None = None) -> TOTPDevice:
    """The account's enrolment in progress: an unconfirmed TOTP device, which counts only once the
    person proves it with a code. An enrolment already in progress is returned as it is, so two
    windows opening the enrolment page at once show the same secret, and confirming in either works.
    After an administrator's reset, only with the enrolment link (`link_hash`: its secret's hash)."""
    account = _own_account(actor, "otp.enrol")
    _session_still_current(actor, account)
    _enrolment_link(account, link_hash)
    device = TOTPDevice.objects.filter(user=account, confirmed=False).order_by("pk").first()
    if device is not None:
        return device
    device = TOTPDevice.objects.create(user=account, name="authenticator", confirmed=False)
    audit.record(actor, "otp.enrolment_started", account, details={"device": device.pk})
    return device


@transaction.atomic(durable=True)
def confirm_totp_enrolment(*, actor, device: TOTPDevice | int, token: str, link_hash: str | None = None) -> list[str]:
    """Confirm the device with a first code; returns fresh one-time recovery codes (shown once).

    The account and the device are read afresh and locked: of two confirmations at once one enrols
    the device and the other is refused (``already_enrolled``, 409) without spending the code; a
    confirmation racing an administrator's reset is refused once the reset has ended the session
    (``session_ended``, 409) or removed the device (``enrolment_gone``, 409). The policy is asked on
    the locked state, so a password-only session cannot confirm a device once another one is
    confirmed."""
    if actor.account is None:
        policy.require(actor, "otp.enrol", None)
    account = rows.lock(Account, actor.account.pk)
    _session_still_current(actor, account)
    try:
        device = rows.lock(TOTPDevice, device)
    except NotFound:
        raise ChangedMeanwhile(
            "enrolment_gone", "この登録手続きは取り消されました（管理者による二要素認証のリセットなど）。最初からやり直してください。",
            "This enrolment was cancelled meanwhile (for example by an administrator's reset of your second "
            "factor). Start again.", field="token") from None
    if device.user_id != account.pk:
        raise RuleViolation("no_enrolment", "登録手続きが見つかりません。", "No enrolment in progress.", field="token")
    if device.confirmed:
        raise ChangedMeanwhile(
            "already_enrolled", "この認証アプリは別の画面で既に登録されました。回復コードはその画面に表示されています。",
            "This authenticator was already confirmed in another window; its recovery codes were shown there.",
            field="token")
    policy.require(actor, "otp.enrol", account)
    link = _enrolment_link(account, link_hash)
    if not device.verify_token(token.strip()):
        raise RuleViolation("wrong_code", "確認コードが正しくありません。", "The code is not correct.", field="token")
    if link is not None:  # the administrator's link is spent with the enrolment it allowed
        rows.change(rows.lock(PasswordReset, link.pk), used_at=timezone.now())
        rows.change(account, enrolment_needs_link=False)
    replaced = list(TOTPDevice.objects.filter(user=account, confirmed=True).values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=replaced).delete()  # before confirming: one confirmed device per account
    rows.change(device, confirmed=True)
    codes = _new_recovery_codes(account)
    audit.record(actor, "otp.enrolled", account,
                 details={"device": device.pk, "replaced": replaced, "recovery_codes": len(codes)})
    return codes


def _new_recovery_codes(account: Account) -> list[str]:
    """A new set of recovery codes in place of any earlier one (the caller holds the account's lock)."""
    StaticDevice.objects.filter(user=account).delete()
    device = StaticDevice.objects.create(user=account, name="recovery", confirmed=True)
    # 64 random bits each, stored as 16 hex digits (django-otp's column width); shown in groups of four.
    raw = [secrets.token_hex(8) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in raw])
    return ["-".join(c[i:i + 4] for i in range(0, 16, 4)) for c in raw]


def normalise_code(text: str) -> str:
    """What a person types: spaces, hyphens and capitals are forgiven."""
    return "".join(text.split()).replace("-", "").lower()


@transaction.atomic(durable=True)
def regenerate_recovery_codes(*, actor) -> list[str]:
    """A new set of recovery codes; every earlier code stops working. Of two regenerations at once,
    the later one's codes are the only ones valid afterwards (its entry is the later one too)."""
    account = _own_account(actor, "otp.enrol")
    _session_still_current(actor, account)
    codes = _new_recovery_codes(account)
    audit.record(actor, "otp.recovery_codes_regenerated", account, details={"recovery_codes": len(codes)})
    return codes


@transaction.atomic(durable=True)
def reset_second_factor(*, actor, account: Account | int, reason: str) -> Account:
    """A lost phone: an administrator removes the factors; the user enrols anew at next sign-in
    (LESSONS.md: nobody locked out for days). Their sessions end too. An enrolment being confirmed
    at the same moment either completes first (and is then removed) or finds its device gone."""
    account = rows.lock(Account, account)
    policy.require(actor, "otp.reset", account)
    reason = clean(reason, field="reason", label=("理由", "Reason"), multiline=True, max_length=500, min_visible=10,
                   required=True)
    removed = list(TOTPDevice.objects.filter(user=account).order_by("pk").values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=removed).delete()
    StaticDevice.objects.filter(user=account).delete()
    passkeys = _remove_passkeys(account)  # the lost phone may hold the passkey too
    # Issue 14 §3: the new authenticator is enrolled only through the administrator's one-time link
    # (start_enrolment_link), never with the password alone.
    rows.change(account, session_generation=account.session_generation + 1, enrolment_needs_link=True)
    # Issue 12 §8: the reason may carry personal data (a name, a phone number), and the log keeps
    # everything for ever; it goes to its own encrypted, shreddable record, which the entry names.
    # Entries written before this change keep the reason they were written with (append-only).
    record = SecondFactorReset(account=account, reset_by=actor.describe(), reason=reason)
    record.save()
    # Whoever holds the lost phone may hold the person's API tokens too: they end with the factor.
    revoked = _revoke_tokens(actor, account, reason="second_factor_reset")
    audit.record(actor, "otp.reset", account, details={
        "devices_removed": removed, "passkeys_removed": passkeys, "session_generation": account.session_generation,
        "reset": record, "tokens_revoked": revoked})
    return account


# --- passkeys (issue 14 §4) ------------------------------------------------------------------------------
# A passkey is a second factor *beside* the authenticator app, never instead of it: one is added only
# by a session verified with the account's second factor, and only while an authenticator app is
# confirmed (which brings the recovery codes). Removing a passkey therefore never leaves an account
# without a second factor, and needs no "last factor" refusal: the app stays the fallback. What
# removes the app (an administrator's reset, a password reset with the factor lost) removes the
# passkeys with it.

#: Passkeys one account may hold (phones, laptops and a security key or two).
PASSKEYS_MAX = 10
PASSKEY_NAME_LABEL = ("パスキーの名前", "Passkey name")


def clean_passkey_name(name) -> str:
    """The name as stored: the one text policy (hozen.core.text), as short as the device's column."""
    return clean(name, field="name", label=PASSKEY_NAME_LABEL,
                 max_length=WebAuthnCredential._meta.get_field("name").max_length, min_visible=1, required=True)


def _passkey_taken() -> RuleViolation:
    return RuleViolation("passkey_already_added", "このパスキーは既に登録されています。",
                         "This passkey is already added to your account.", field="name")


def _remove_passkeys(account: Account) -> list[dict]:
    """Delete the account's passkeys (its lock held by the caller); what was removed, for the entry."""
    # Ids only: a passkey's name is the person's own text ("Taro's phone") and the log keeps everything.
    removed = [{"passkey": pk} for pk in
               WebAuthnCredential.objects.filter(user=account).order_by("pk").values_list("pk", flat=True)]
    WebAuthnCredential.objects.filter(pk__in=[r["passkey"] for r in removed]).delete()
    return removed


@transaction.atomic(durable=True)
def add_passkey(*, actor, name: str, registration) -> WebAuthnCredential:
    """Save a passkey the browser made and `hozen.core.passkeys.verify_registration` checked, under
    the person's chosen name. Only by a session verified with the second factor, while an
    authenticator app is set up (policy `otp.passkey_add`). Audited `otp.passkey_added` (the name,
    never the key)."""
    account = _own_account(actor, "otp.passkey_add")
    _session_still_current(actor, account)
    name = clean_passkey_name(name)
    held = WebAuthnCredential.objects.filter(user=account).count()
    if held >= PASSKEYS_MAX:
        raise RuleViolation("too_many_passkeys", f"パスキーは{PASSKEYS_MAX}個まで登録できます。使わないものを削除してください。",
                            f"An account holds at most {PASSKEYS_MAX} passkeys: remove one you no longer use.",
                            field="name")
    credential = WebAuthnCredential(
        user=account, name=name, confirmed=True, credential_id=registration.credential_id,
        public_key=registration.public_key, sign_count=registration.sign_count, aaguid=registration.aaguid,
        transports=list(registration.transports), discoverable=registration.discoverable,
        backup_eligible=registration.backup_eligible, backup_state=registration.backup_state)
    if WebAuthnCredential.objects.filter(
            credential_id_sha256=WebAuthnCredential.get_credential_id_sha256(registration.credential_id)).exists():
        raise _passkey_taken()
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError:  # the same passkey saved a moment ago (the credential id's unique hash)
        raise _passkey_taken() from None
    WebAuthnAttestation.objects.create(credential=credential, fmt=registration.attestation_fmt,
                                       data=registration.attestation_object,
                                       client_data_json=registration.client_data_json)
    audit.record(actor, "otp.passkey_added", account, details={
        "passkey": credential.pk, "aaguid": registration.aaguid, "passkeys": held + 1})
    return credential


@transaction.atomic(durable=True)
def remove_passkey(*, actor, passkey: WebAuthnCredential | int) -> dict:
    """The person removes one of their own passkeys (someone else's, or one already removed, is not
    found: 404). Needs a session verified with the second factor (policy `otp.passkey_remove`).
    Audited `otp.passkey_removed`; of two removals at once, one removes it and the other finds it
    gone."""
    account = _own_account(actor, "otp.passkey_remove")
    _session_still_current(actor, account)
    credential = rows.lock(WebAuthnCredential, passkey, queryset=WebAuthnCredential.objects.filter(user=account))
    removed = {"passkey": credential.pk}
    credential.delete()
    audit.record(actor, "otp.passkey_removed", account, details={
        **removed, "passkeys": WebAuthnCredential.objects.filter(user=account).count()})
    return removed


@transaction.atomic(durable=True)
def use_passkey(*, actor, assertion) -> WebAuthnCredential:
    """The second step of a sign-in with a passkey that `hozen.core.passkeys.verify_assertion`
    checked: its signature counter moves on (under the passkey's lock, so two answers at once with
    one counter value are not both accepted) and its last use is noted. The sign-in's own entry
    (`record_sign_in`, method `password+passkey`) follows once the session is verified."""
    if actor.account is None:
        raise NotFound
    credential = rows.lock(WebAuthnCredential, assertion.credential_pk,
                           queryset=WebAuthnCredential.objects.filter(user_id=actor.account.pk, confirmed=True))
    if (assertion.sign_count or credential.sign_count) and assertion.sign_count <= credential.sign_count:
        raise ChangedMeanwhile(
            "passkey_counter", "このパスキーの応答は既に使われました。もう一度お試しください。",
            "This passkey answer was already used. Try again.", field="passkey")
    credential.sign_count = assertion.sign_count
    credential.backup_state = assertion.backup_state
    credential.last_used_at = timezone.now()
    credential.save(update_fields=["sign_count", "backup_state", "last_used_at"])
    return credential


# --- API tokens -------------------------------------------------------------------------------------

#: Attempts at a fresh token prefix before giving up (48 random bits each: a clash is rare, three are not).
PREFIX_ATTEMPTS = 3


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _insert_token(*, account: Account, assignment: RoleAssignment, secret_hash: str, label: str,
                  created_at, expires_at) -> ApiToken:
    """A token row under a fresh random prefix; a prefix already taken (the unique constraint) is
    drawn again, so a clash never reaches the caller as an IntegrityError."""
    attempts = 0
    while True:
        attempts += 1
        try:
            with transaction.atomic():
                return ApiToken.objects.create(account=account, assignment=assignment, prefix=secrets.token_hex(6),
                                               secret_hash=secret_hash, label=label, created_at=created_at,
                                               expires_at=expires_at)
        except IntegrityError:
            if attempts >= PREFIX_ATTEMPTS:
                raise


#: The longest a token may live, whatever is asked (a year).
TOKEN_DAYS_MAX = 366


@transaction.atomic(durable=True)
def create_api_token(*, actor, account: Account | int, assignment: RoleAssignment | int | None = None,
                     label: str = "", days: int | None = None) -> str:
    """Returns the token text `hz_<prefix>_<secret>` once; only its hash is kept. It ends after
    `days` (default `HOZEN_API_TOKEN_DAYS`, at most a year).

    The account is locked and its assignment read under that lock, so a token is never issued for
    a role revoked a moment before, and a sign-out everywhere either revokes it or came first."""
    from django.conf import settings

    account = rows.lock(Account, account)
    policy.require(actor, "token.create", account)
    label = clean(label, field="label", label=("ラベル", "Label"), max_length=ApiToken._meta.get_field("label").max_length)
    days = settings.HOZEN_API_TOKEN_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= TOKEN_DAYS_MAX:
        raise RuleViolation("invalid_token_days", f"有効日数は1から{TOKEN_DAYS_MAX}までの整数です。",
                            f"A token lives 1 to {TOKEN_DAYS_MAX} days.", field="days")
    active = RoleAssignment.objects.filter(account=account, revoked_at__isnull=True).select_related("organisation")
    chosen = active.order_by("id").first() if assignment is None else active.filter(pk=_pk(assignment)).first()
    if chosen is None:
        raise RuleViolation("no_role", f"{account} には有効な役割がありません。",
                            f"{account} has no active role to act in.", field="username")
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    expires_at = now + dt.timedelta(days=days)
    token = _insert_token(account=account, assignment=chosen, secret_hash=hash_token_secret(secret), label=label,
                          created_at=now, expires_at=expires_at)
    audit.record(actor, "token.created", token, details={
        "account": account.username, "prefix": token.prefix, "assignment": chosen.pk, "role": chosen.role,
        "organisation": chosen.organisation.code, "revoked": False, "expires_at": expires_at})
    return f"hz_{token.prefix}_{secret}"


@transaction.atomic(durable=True)
def revoke_api_token(*, actor, token: ApiToken | int) -> ApiToken:
    """End one API token before its time: its owner, or a system administrator (issue 14 §3).
    Audited `token.revoked`; a token already revoked is refused, so of two revocations at once one
    is recorded."""
    token = rows.lock(ApiToken, token, related=("account",))
    policy.require(actor, "token.revoke", token)
    if token.revoked_at is not None:
        raise RuleViolation("token_already_revoked", f"トークン hz_{token.prefix} は既に無効にされています。",
                            f"Token hz_{token.prefix} was already revoked.", field="token")
    rows.change(token, revoked_at=timezone.now())
    own = actor.account is not None and actor.account.pk == token.account_id
    audit.record(actor, "token.revoked", token, details={
        "account": token.account.username, "prefix": token.prefix,
        "reason": "revoked_by_owner" if own else "revoked_by_administrator", "revoked": True})
    return token


# --- passwords (issue 14 §3) ---------------------------------------------------------------------------

#: How long a password-reset link works.
PASSWORD_RESET_HOURS = 4


def _checked_password(password: str, account: Account) -> str:
    try:
        validate_password(password, account)
    except ValidationError as exc:
        raise RuleViolation("weak_password", "パスワード: " + " ".join(exc.messages),
                            "password: " + " ".join(exc.messages), field="password") from None
    return password


def _end_sessions(account: Account) -> None:
    rows.change(account, session_generation=account.session_generation + 1)


def _new_link(actor, account: Account, purpose: str, **fields) -> tuple[PasswordReset, str, int]:
    """A one-time link of `purpose` for the (locked) account: the row, its secret (only the hash is
    kept) and how many earlier unused links of that purpose it replaced."""
    now = timezone.now()
    withdrawn = PasswordReset.objects.filter(account=account, purpose=purpose, used_at__isnull=True,
                                             withdrawn_at__isnull=True).update(withdrawn_at=now)
    secret = secrets.token_urlsafe(32)
    link = PasswordReset.objects.create(account=account, purpose=purpose, secret_hash=hash_token_secret(secret),
                                        started_by=actor.describe(), created_at=now,
                                        expires_at=now + dt.timedelta(hours=PASSWORD_RESET_HOURS), **fields)
    return link, secret, withdrawn


@transaction.atomic(durable=True)
def start_password_reset(*, actor, account: Account | int, second_factor_lost: bool = False) -> tuple[PasswordReset, str]:
    """An administrator makes a one-time link for someone's forgotten password: returns the reset
    and the link's secret (shown once; only its hash is kept). An earlier unused link stops working.
    Never for oneself. Audited `password.reset_started`."""
    account = rows.lock(Account, account)
    policy.require(actor, "password.reset", account)
    reset, secret, withdrawn = _new_link(actor, account, PasswordReset.Purpose.PASSWORD,
                                         second_factor_lost=bool(second_factor_lost))
    audit.record(actor, "password.reset_started", account, details={
        "reset": reset, "expires_at": reset.expires_at, "second_factor_lost": reset.second_factor_lost,
        "earlier_links_withdrawn": withdrawn})
    return reset, secret


def password_reset_for(secret: str) -> PasswordReset | None:
    """The usable reset a link's secret names, or None (unknown, used, replaced or expired alike)."""
    if not secret or len(secret) > 100:
        return None
    reset = PasswordReset.objects.select_related("account").filter(
        secret_hash=hash_token_secret(secret), purpose=PasswordReset.Purpose.PASSWORD).first()
    return reset if reset is not None and reset.usable and reset.account.is_active else None


@transaction.atomic(durable=True)
def complete_password_reset(*, actor, secret: str, password: str) -> Account:
    """The person sets a new password through their link: once, before it expires. Every session
    ends; if the second factor was lost too, it is removed (they enrol anew at sign-in, and their API
    tokens end), otherwise the new password still needs it. Audited `password.reset_completed`."""
    found = password_reset_for(secret)
    if found is None:
        raise RuleViolation("reset_link_unusable", "このリンクは使えません（使用済み、期限切れ、または新しいリンクに置き換えられました）。"
                            "システム管理者に新しいリンクを依頼してください。",
                            "This link no longer works (used, expired, or replaced by a newer one). Ask your "
                            "system administrator for a new one.")
    account = rows.lock(Account, found.account_id)
    reset = rows.lock(PasswordReset, found.pk)
    if not reset.usable or not account.is_active:  # used a moment ago, or the account ended meanwhile
        raise RuleViolation("reset_link_unusable", "このリンクは既に使われました。", "This link was already used.")
    account.set_password(_checked_password(password, account))
    account.save(update_fields=["password"])
    rows.change(reset, used_at=timezone.now())
    _end_sessions(account)
    details: dict = {"reset": reset, "session_generation": account.session_generation,
                     "second_factor_removed": False}
    if reset.second_factor_lost:  # the password link itself is the proof the new enrolment needs
        TOTPDevice.objects.filter(user=account).delete()
        StaticDevice.objects.filter(user=account).delete()
        details["passkeys_removed"] = _remove_passkeys(account)
        rows.change(account, enrolment_needs_link=False)
        details["second_factor_removed"] = True
        details["tokens_revoked"] = _revoke_tokens(actor, account, reason="password_and_second_factor_reset")
    audit.record(actor, "password.reset_completed", account, details=details)
    return account


@transaction.atomic(durable=True)
def change_password(*, actor, old_password: str, new_password: str) -> Account:
    """The person changes their own password: the old one and, if they have one, their second factor
    offered with this request (`actor.second_factor`). Other sessions end. Audited `password.changed`."""
    from . import second_factor

    account = _own_account(actor, "password.change")
    _session_still_current(actor, account)
    if not account.check_password(old_password or ""):
        raise RuleViolation("wrong_password", "現在のパスワードが正しくありません。", "The current password is not correct.",
                            field="old_password")
    has_factor = TOTPDevice.objects.filter(user=account, confirmed=True).exists()
    if has_factor and actor.second_factor is None:
        raise RuleViolation("second_factor_required", "認証アプリのコード（またはリカバリーコード）が必要です。",
                            "The code from your authenticator app (or a recovery code) is needed.", field="token")
    if old_password == new_password:
        raise RuleViolation("same_password", "新しいパスワードが現在のものと同じです。",
                            "The new password is the same as the current one.", field="new_password")
    try:
        _checked_password(new_password, account)
    except RuleViolation as exc:
        raise RuleViolation(exc.code, exc.message("ja"), exc.message("en"), field="new_password") from None
    if actor.second_factor is not None:
        second_factor.spend(actor.second_factor, account=account)
    account.set_password(new_password)
    account.save(update_fields=["password"])
    _end_sessions(account)
    audit.record(actor, "password.changed", account, details={
        "session_generation": account.session_generation,
        "second_factor": actor.second_factor.describe() if actor.second_factor else None})
    return account


@transaction.atomic(durable=True)
def set_password(*, actor, account: Account | int, password: str) -> Account:
    """The server's operator sets a password (`hozen users set-password`): audited `password.set`;
    every session of the account ends."""
    account = rows.lock(Account, account)
    policy.require(actor, "password.set", account)
    account.set_password(_checked_password(password, account))
    account.save(update_fields=["password"])
    _end_sessions(account)
    audit.record(actor, "password.set", account, details={"session_generation": account.session_generation})
    return account


# --- enrolment after an administrator's second-factor reset (issue 14 §3) ----------------------------

ENROLMENT_LINK_REQUIRED = ("enrolment_link_required",
                           "二要素認証がリセットされています。新しい認証アプリの設定には、システム管理者から受け取ったリンクを開いてください。",
                           "Your second factor was reset: open the link your system administrator gave you to set up "
                           "a new authenticator app.")


def _enrolment_link(account: Account, link_hash: str | None) -> PasswordReset | None:
    """The usable enrolment link the session brought, when the account needs one (else None);
    refused when it needs one and has none."""
    if not account.enrolment_needs_link:
        return None
    link = (PasswordReset.objects.filter(secret_hash=link_hash, account=account,
                                         purpose=PasswordReset.Purpose.ENROLMENT).first() if link_hash else None)
    if link is None or not link.usable:
        raise RuleViolation(*ENROLMENT_LINK_REQUIRED, field="token")
    return link


@transaction.atomic(durable=True)
def start_enrolment_link(*, actor, account: Account | int) -> tuple[PasswordReset, str]:
    """After a second-factor reset: a one-time link (shown once) without which the person cannot
    enrol a new authenticator; a newer link replaces an older one. Audited
    `otp.enrolment_link_issued`."""
    account = rows.lock(Account, account)
    policy.require(actor, "otp.reset", account)
    if not account.enrolment_needs_link:
        raise RuleViolation("no_reset_pending", f"{account.username} の二要素認証はリセットされていません。",
                            f"{account.username}'s second factor has not been reset.")
    link, secret, withdrawn = _new_link(actor, account, PasswordReset.Purpose.ENROLMENT)
    audit.record(actor, "otp.enrolment_link_issued", account, details={
        "link": link, "expires_at": link.expires_at, "earlier_links_withdrawn": withdrawn})
    return link, secret


# --- e-mail address and notice preferences (issue 14 §6) -----------------------------------------------

EMAIL_VERIFICATION_HOURS = 24
#: Seconds between two confirmation e-mails of one account.
EMAIL_VERIFICATION_PAUSE = 60


@transaction.atomic(durable=True)
def request_email_verification(*, actor, address: str) -> EmailVerification:
    """The person gives an address; a link to prove it is theirs is e-mailed there (through the task
    queue). Until they follow it, notices keep going to the address verified before, if any.
    Audited `profile.email_verification_requested` (never the address: it is personal data)."""
    from django.core.validators import validate_email

    from . import notices, tasks

    account = _own_account(actor, "profile.update")
    address = clean(address, field="email", label=("メールアドレス", "E-mail address"), max_length=254,
                    required=True).lower()
    try:
        validate_email(address)
    except ValidationError:
        raise RuleViolation("invalid_email", "メールアドレスの形式が正しくありません。",
                            "This is not an e-mail address.", field="email") from None
    now = timezone.now()
    # One confirmation e-mail a minute per account: Hozen is not a way to mail strangers at will.
    if EmailVerification.objects.filter(account=account,
                                        created_at__gt=now - dt.timedelta(seconds=EMAIL_VERIFICATION_PAUSE)).exists():
        raise RuleViolation("verification_too_soon", "確認メールは1分に1通までです。少し待ってからもう一度送ってください。",
                            "One confirmation e-mail a minute: wait a moment, then send again.", field="email")
    EmailVerification.objects.filter(account=account, verified_at__isnull=True, withdrawn_at__isnull=True).update(
        withdrawn_at=now)
    verification = EmailVerification.objects.create(account=account, address=address, created_at=now,
                                                     expires_at=now + dt.timedelta(hours=EMAIL_VERIFICATION_HOURS))
    tasks.enqueue(notices.send_verification, verification.pk)
    audit.record(actor, "profile.email_verification_requested", account, details={"verification": verification})
    return verification


@transaction.atomic(durable=True)
def verify_email(*, secret: str, request_id: str | None = None) -> Account:
    """The link from the verification e-mail: the address becomes the account's verified address.
    Works once, within a day, and only the newest link. Audited `profile.email_verified`, as the
    account's owner."""
    from .actor import Actor

    found = (EmailVerification.objects.filter(secret_hash=hash_token_secret(secret)).first()
             if secret and len(secret) <= 100 else None)
    if found is None or not found.usable:
        raise RuleViolation("verification_link_unusable", "この確認リンクは使えません（使用済み、期限切れ、又は新しいリンクに置き換えられました）。",
                            "This confirmation link no longer works (used, expired, or replaced by a newer one).")
    account = rows.lock(Account, found.account_id)
    verification = rows.lock(EmailVerification, found.pk)
    if not verification.usable or not account.is_active:
        raise RuleViolation("verification_link_unusable", "この確認リンクは既に使われました。",
                            "This confirmation link was already used.")
    now = timezone.now()
    rows.change(verification, verified_at=now)
    rows.change(account, email=verification.address, email_verified_at=now)
    actor = Actor.for_account(account, None, channel="web", request_id=request_id)
    audit.record(actor, "profile.email_verified", account, details={"verification": verification})
    return account


@transaction.atomic(durable=True)
def set_notice_preferences(*, actor, on: dict[str, bool]) -> Account:
    """Which kinds of e-mail notice the person keeps on (`hozen.core.notices.KINDS`): the kinds
    named in `on` are set, the others keep their choice. Audited `profile.notice_preferences_set`
    with the kinds turned off."""
    from .notices import KINDS, wants

    account = _own_account(actor, "profile.update")
    unknown = sorted(set(on) - set(KINDS))
    if unknown:
        raise RuleViolation("unknown_notice_kind", f"通知の種類 {unknown[0]!r} はありません。",
                            f"There is no notice kind {unknown[0]!r}.", field="notices")
    preferences = {kind: bool(on[kind]) if kind in on else wants(account, kind) for kind in KINDS}
    if rows.change(account, notice_preferences=preferences):
        audit.record(actor, "profile.notice_preferences_set", account,
                     details={"off": sorted(k for k, v in preferences.items() if not v)})
    return account
