"""Every write of the core app: one function per use case, one transaction, one audit entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hozen import audit
from hozen.access import policy

from .errors import RuleViolation
from .models import Account, ApiToken, Organisation, Person, RoleAssignment, nfkc
from .roles import ROLE_ORGANISATION_KINDS, OrganisationKind, Role

RECOVERY_CODE_COUNT = 10


def _validate(instance, *, exclude=None):
    try:
        instance.full_clean(exclude=exclude, validate_unique=True)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise RuleViolation("invalid_" + field, f"{field}: {messages[0]}", f"{field}: {messages[0]}",
                            field=field) from None


@transaction.atomic(durable=True)
def create_organisation(*, actor, code: str, kind: str, name_ja: str, name_en: str) -> Organisation:
    policy.require(actor, "organisation.create")
    if kind not in OrganisationKind.values:
        raise RuleViolation("invalid_kind", f"組織の種別 {kind!r} は不正です。",
                            f"Unknown organisation kind {kind!r}; use one of {', '.join(OrganisationKind.values)}.",
                            field="kind")
    org = Organisation(code=code, kind=kind, name_ja=name_ja, name_en=name_en)
    _validate(org)
    org.save()
    audit.record(actor, "organisation.created", org, details={"code": org.code, "kind": kind})
    return org


@transaction.atomic(durable=True)
def create_account(*, actor, username: str, family_name: str, given_name: str = "", family_name_kana: str = "",
                   given_name_kana: str = "", date_of_birth: dt.date | None = None, role: str, organisation: Organisation,
                   password: str | None = None, email: str = "", language: str = "ja",
                   totp_key_hex: str | None = None) -> Account:
    """Create a person, their account and their first role assignment."""
    policy.require(actor, "account.create")
    username = nfkc(username).lower()
    if Account.objects.filter(username=username).exists():
        raise RuleViolation("username_taken", f"ユーザー名 {username} は既に使われています。",
                            f"The user name {username} is already taken.", field="username")
    person = Person(family_name=family_name, given_name=given_name, family_name_kana=nfkc(family_name_kana),
                    given_name_kana=nfkc(given_name_kana), date_of_birth=date_of_birth)
    _validate(person)
    person.save()
    account = Account(username=username, person=person, email=email, language=language)
    if password:
        try:
            validate_password(password, account)
        except ValidationError as exc:
            raise RuleViolation("weak_password", "パスワード: " + " ".join(exc.messages),
                                "password: " + " ".join(exc.messages), field="password") from None
        account.set_password(password)
    else:
        account.set_unusable_password()
    _validate(account, exclude=["password", "person"])
    account.save()
    if totp_key_hex:
        # Demo and migration only: a known TOTP secret, so a printed code works (never for real accounts).
        TOTPDevice.objects.create(user=account, name="authenticator", key=totp_key_hex, confirmed=True)
    audit.record(actor, "account.created", account,
                 details={"username": username, "totp_preset": bool(totp_key_hex)})
    _assign_role(actor=actor, account=account, role=role, organisation=organisation)
    return account


def _assign_role(*, actor, account: Account, role: str, organisation: Organisation) -> RoleAssignment:
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
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(account=account, role=role, organisation=organisation)
    except IntegrityError:
        raise RuleViolation("role_already_assigned", f"{account} は既に {role}@{organisation.code} を持っています。",
                            f"{account} already holds {role}@{organisation.code}.", field="role") from None
    audit.record(actor, "role.assigned", account, details={"role": role, "organisation": organisation.code})
    return assignment


@transaction.atomic(durable=True)
def assign_role(*, actor, account: Account, role: str, organisation: Organisation) -> RoleAssignment:
    policy.require(actor, "account.create")
    return _assign_role(actor=actor, account=account, role=role, organisation=organisation)


@transaction.atomic(durable=True)
def switch_role(*, actor, assignment: RoleAssignment) -> RoleAssignment:
    policy.require(actor, "role.switch", assignment)
    audit.record(actor, "role.switched", actor.account,
                 details={"role": assignment.role, "organisation": assignment.organisation.code})
    return assignment


@transaction.atomic(durable=True)
def set_language(*, actor, language: str) -> Account:
    policy.require(actor, "profile.update", actor.account)
    if language not in ("ja", "en"):
        raise RuleViolation("invalid_language", "言語は ja または en を指定してください。",
                            "language must be 'ja' or 'en'.", field="language")
    account = actor.account
    account.language = language
    account.save(update_fields=["language"])
    audit.record(actor, "profile.language_set", account, details={"language": language})
    return account


@transaction.atomic(durable=True)
def sign_out_everywhere(*, actor) -> Account:
    """Ends every session of the account: the session hash includes the generation counter."""
    policy.require(actor, "session.sign_out_everywhere", actor.account)
    account = Account.objects.select_for_update().get(pk=actor.account.pk)
    account.session_generation += 1
    account.save(update_fields=["session_generation"])
    ApiToken.objects.filter(account=account, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(actor, "session.signed_out_everywhere", account)
    return account


# --- sign-in events: no write but the audit entry itself -------------------------------------------

def record_sign_in(*, actor, method: str) -> None:
    audit.record(actor, "session.signed_in", actor.account, details={"method": method})


def record_failed_sign_in(*, actor, username: str, reason: str) -> None:
    """A failed password or second factor. `username` as typed, so guessing is visible to auditors."""
    audit.record(actor, "session.sign_in_failed", {"type": "username", "id": username[:150]},
                 outcome="failure", details={"reason": reason})


def record_sign_out(*, actor) -> None:
    audit.record(actor, "session.signed_out", actor.account)


# --- second factor -----------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def start_totp_enrolment(*, actor) -> TOTPDevice:
    """An unconfirmed TOTP device; it counts only after the user proves it with a code."""
    policy.require(actor, "otp.enrol", actor.account)
    account = actor.account
    TOTPDevice.objects.filter(user=account, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=account, name="authenticator", confirmed=False)
    audit.record(actor, "otp.enrolment_started", account)
    return device


@transaction.atomic(durable=True)
def confirm_totp_enrolment(*, actor, device: TOTPDevice, token: str) -> list[str]:
    """Confirm the device with a first code; returns fresh one-time recovery codes (shown once)."""
    policy.require(actor, "otp.enrol", actor.account)
    if device.user_id != actor.account.pk or device.confirmed:
        raise RuleViolation("no_enrolment", "登録手続きが見つかりません。", "No enrolment in progress.", field="token")
    if not device.verify_token(token.strip()):
        audit.record(actor, "otp.enrolment_failed", actor.account, outcome="failure")
        raise RuleViolation("wrong_code", "確認コードが正しくありません。", "The code is not correct.", field="token")
    TOTPDevice.objects.filter(user=actor.account, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(actor.account)
    audit.record(actor, "otp.enrolled", actor.account, details={"recovery_codes": len(codes)})
    return codes


def _new_recovery_codes(account: Account) -> list[str]:
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
    policy.require(actor, "otp.enrol", actor.account)
    codes = _new_recovery_codes(actor.account)
    audit.record(actor, "otp.recovery_codes_regenerated", actor.account)
    return codes


@transaction.atomic(durable=True)
def reset_second_factor(*, actor, account: Account, reason: str) -> Account:
    """A lost phone: an administrator removes the factors; the user enrols anew at next sign-in
    (LESSONS.md: nobody locked out for days). Their sessions end too."""
    policy.require(actor, "otp.reset", account)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise RuleViolation("reason_required", "理由を10文字以上で記入してください。",
                            "Give a reason of at least 10 characters.", field="reason")
    TOTPDevice.objects.filter(user=account).delete()
    StaticDevice.objects.filter(user=account).delete()
    account.session_generation += 1
    account.save(update_fields=["session_generation"])
    audit.record(actor, "otp.reset", account, purpose=reason)
    return account


# --- API tokens -------------------------------------------------------------------------------------

def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic(durable=True)
def create_api_token(*, actor, account: Account, assignment: RoleAssignment | None = None, label: str = "") -> str:
    """Returns the token text `hz_<prefix>_<secret>` once; only its hash is kept."""
    policy.require(actor, "token.create", account)
    if assignment is None:
        assignment = account.active_assignments().order_by("id").first()
    if assignment is None or assignment.account_id != account.pk:
        raise RuleViolation("no_role", f"{account} には有効な役割がありません。",
                            f"{account} has no active role to act in.", field="username")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(account=account, assignment=assignment, prefix=prefix,
                                    secret_hash=hash_token_secret(secret), label=label)
    audit.record(actor, "token.created", token, details={"account": account.username, "prefix": prefix})
    return f"hz_{prefix}_{secret}"
