"""Organisations, people, accounts and role assignments (issue 3 §4)."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.crypto.fields import EncryptedTextField
from hozen.crypto.models import ProtectedSubject

from .roles import OrganisationKind, Role


def nfkc(value: str) -> str:
    """Names are compared and searched after NFKC, so full-width ＡＢＣ and half-width ｶﾅ match."""
    return unicodedata.normalize("NFKC", value or "").strip()


code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9-]{1,31}$",
    _("Use 2 to 32 capital letters, digits or hyphens, starting with a letter (for example METI)."),
)
username_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{2,63}$",
    _("Use 3 to 64 lower-case letters, digits, dots, hyphens or underscores."),
)


class Organisation(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("organisation (組織)")
        verbose_name_plural = _("organisations")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_ja}"

    def save(self, *args, **kwargs):
        self.name_ja = nfkc(self.name_ja)
        self.name_en = nfkc(self.name_en)
        super().save(*args, **kwargs)

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "ja").startswith("en") else self.name_ja


kana_validator = RegexValidator(
    r"^[\u30A0-\u30FF\u3000 ]+$", _("Write the reading in katakana (for example ヤマダ).")
)


class Person(models.Model):
    """A natural person. No national ID number is stored or used as a key (LESSONS.md: OPM breach)."""

    family_name = models.CharField(_("family name"), max_length=100)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)  # some people have one name
    family_name_kana = models.CharField(_("family name (katakana)"), max_length=100, blank=True,
                                        validators=[kana_validator])
    given_name_kana = models.CharField(_("given name (katakana)"), max_length=100, blank=True,
                                       validators=[kana_validator])
    # Required for an assessed person (the assessment app checks); an administrator's account may omit it.
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("person (個人)")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["family_name_kana", "given_name_kana"])]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        # DOMAIN: names normalised with NFKC (half-width katakana becomes full-width).
        for field in ("family_name", "given_name", "family_name_kana", "given_name_kana"):
            setattr(self, field, nfkc(getattr(self, field)))
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}"


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(username=username)


class Account(AbstractBaseUser):
    """A sign-in identity tied to exactly one Person. No superuser flag: no bypass of the policy."""

    username = models.CharField(_("user name"), max_length=64, unique=True, validators=[username_validator])
    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="account", verbose_name=_("person"))
    email = models.EmailField(_("e-mail"), blank=True)
    # Issue 14 §6: notices are sent only to a verified address (the link in a verification e-mail),
    # and only of the kinds the person keeps on (hozen.core.notices.KINDS; missing means on).
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True, editable=False)
    notice_preferences = models.JSONField(_("e-mail notices"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=[("ja", "日本語"), ("en", "English")], default="ja")
    is_active = models.BooleanField(_("active"), default=True)
    # Bumped by "sign out everywhere": it is part of the session hash, so every other session ends.
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # Issue 14 §3: after an administrator's second-factor reset, a new authenticator is enrolled only
    # through the one-time link the administrator gave (a password alone must not do).
    enrolment_needs_link = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []
    objects = AccountManager()

    class Meta:
        verbose_name = _("account (アカウント)")
        verbose_name_plural = _("accounts")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def get_session_auth_hash(self) -> str:
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "hozen.core.Account.session", f"{self.password}:{self.session_generation}", algorithm="sha256"
        ).hexdigest()

    def active_assignments(self):
        return self.role_assignments.filter(revoked_at__isnull=True).select_related("organisation")

    @property
    def needs_second_factor(self) -> bool:
        from .roles import SECOND_FACTOR_OPTIONAL

        return any(a.role not in SECOND_FACTOR_OPTIONAL for a in self.active_assignments())


class RoleAssignment(models.Model):
    """One role held in one organisation. A person may hold several roles in several organisations."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="role_assignments")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("role assignment (役割)")
        verbose_name_plural = _("role assignments")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "role", "organisation"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_assignment_per_role_and_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}@{self.organisation.code}"

    @property
    def label(self) -> str:
        return f"{Role(self.role).label} — {self.organisation.code}"


class SecondFactorReset(ProtectedSubject):
    """An administrator's reset of someone's lost second factor, with the reason they typed.

    Issue 12 §8, no prose in the log: a reason may name people or carry a phone number, and the
    audit log is append-only, so the reason lives here, encrypted under this record's own data key
    (shreddable on its own: ``hozen.crypto.shred``), and the ``otp.reset`` entry names this record
    by id. Reading it goes through ``hozen.crypto.reveal``: the auditor only (``audit.browse``, the
    role that investigates misuse), each read an audit entry on the person's "who has read my
    data" list.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="second_factor_resets",
                                verbose_name=_("account"))
    reset_by = models.JSONField(_("reset by"))  # by value, like the audit log
    reason = EncryptedTextField(_("reason"))
    created_at = models.DateTimeField(_("reset at"), default=timezone.now, editable=False)

    crypto_read_action = "audit.browse"

    class Meta:
        verbose_name = _("second-factor reset")
        verbose_name_plural = _("second-factor resets")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"second-factor reset {self.pk}"  # never the reason

    @property
    def crypto_subject_person_id(self) -> int | None:
        return self.account.person_id


def _token_expiry():
    import datetime as dt

    from django.conf import settings

    return timezone.now() + dt.timedelta(days=getattr(settings, "HOZEN_API_TOKEN_DAYS", 90))


class ApiToken(models.Model):
    """A bearer token for /api/v1/. Only a SHA-256 of the secret is stored; the secret is shown once."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="api_tokens")
    assignment = models.ForeignKey(RoleAssignment, on_delete=models.PROTECT, related_name="api_tokens")
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Issue 14 §3: every token ends (HOZEN_API_TOKEN_DAYS after it is made, 90 by default); rows from
    # before were given 90 days from the migration.
    expires_at = models.DateTimeField(_("expires at"), default=_token_expiry)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"hz_{self.prefix}_…"

    @property
    def state(self) -> str:
        """revoked, expired or active: dates decide."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"


class PasswordReset(models.Model):
    """A one-time link an administrator made for someone's forgotten password (issue 14 §3).

    Only a SHA-256 of the link's secret is kept; the link is shown once to the administrator (who
    gives it to the person by a channel of their choosing). It works once, until ``expires_at``
    (``PASSWORD_RESET_HOURS``), and a newer link replaces it. ``second_factor_lost``: the person
    lost their authenticator too, so the reset also removes it and they enrol a new one; otherwise
    the new password still needs their second factor at sign-in (a link alone never replaces both).
    """

    class Purpose(models.TextChoices):
        PASSWORD = "password", _("New password")
        ENROLMENT = "enrolment", _("New authenticator after a reset")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="password_resets")
    # password: choose a new password; enrolment: after an administrator's second-factor reset, the
    # link without which the password alone cannot enrol a new authenticator.
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.PASSWORD)
    secret_hash = models.CharField(max_length=64, unique=True)
    second_factor_lost = models.BooleanField(default=False)
    started_by = models.JSONField()  # by value, like the audit log
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)  # replaced by a newer link

    class Meta:
        verbose_name = _("password reset")
        verbose_name_plural = _("password resets")

    def __str__(self) -> str:
        return f"password reset {self.pk}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.withdrawn_at is None and self.expires_at > timezone.now()


class EmailVerification(models.Model):
    """A link sent to an address the person gave, to prove it is theirs (issue 14 §6). Only a
    SHA-256 of the secret is kept; it works once, for a day; a newer one replaces it."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="email_verifications")
    address = models.EmailField()
    # Set by the task that sends the link (the secret exists only there and in the e-mail).
    secret_hash = models.CharField(max_length=64, unique=True, null=True)  # noqa: DJ001 - unique: NULL until sent
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail verification")
        verbose_name_plural = _("e-mail verifications")

    def __str__(self) -> str:
        return f"e-mail verification {self.pk}"  # never the address

    @property
    def usable(self) -> bool:
        return self.verified_at is None and self.withdrawn_at is None and self.expires_at > timezone.now()


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one account's API POST, kept 24 hours (issue 12 §5).

    The row (unique per account and key) is taken before the request's work starts, in its own
    committed transaction: a second request with the same key finds it and is told to retry (409)
    while the first runs, or gets the first answer replayed once it is done, so the work is never
    done twice. Not the key itself but a keyed hash of it is stored; the first answer is stored
    encrypted under a key derived from the Idempotency-Key, so only a client presenting the key can
    have it replayed. ``status`` is empty while the first request runs; ``response`` is empty for an
    answer that cannot be replayed (a file). Rows older than ``LIFETIME`` are deleted by the hourly
    job ``core.idempotency_expiry``; not audited (a cache of answers, like a token's last use).
    """

    LIFETIME = dt.timedelta(hours=24)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    completed_at = models.DateTimeField(null=True, editable=False)
    status = models.PositiveSmallIntegerField(null=True, editable=False)
    response = models.BinaryField(null=True, editable=False)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["account", "key_digest"],
                                               name="one_idempotency_record_per_account_and_key")]

    def __str__(self) -> str:
        return f"idempotency record {self.pk}"  # never the key or the answer

    @classmethod
    def expire(cls, *, now: dt.datetime | None = None) -> int:
        """Delete the records older than LIFETIME; the number deleted."""
        cutoff = (now or timezone.now()) - cls.LIFETIME
        deleted, _ = cls.objects.filter(created_at__lt=cutoff).delete()
        return deleted


class JobLease(models.Model):
    """One periodic job's lease (issue 13 §2): which worker runs it now, until when, and when it last
    started and finished, kept in the database so that any number of workers on any number of
    machines run each job once per interval and never two at once.

    A worker takes the lease with one conditional UPDATE (the row's lease is free or expired, and
    the interval since the last start has passed); exactly one of several racing workers sees its
    update count 1. A crashed worker's lease expires after the job's ``lease_seconds``. Not audited:
    the jobs' own work is (each runs as its own system actor).
    """

    name = models.CharField(max_length=100, primary_key=True, editable=False)
    holder = models.CharField(max_length=200, blank=True, default="", editable=False)
    leased_until = models.DateTimeField(null=True, editable=False)
    last_started_at = models.DateTimeField(null=True, editable=False)
    last_finished_at = models.DateTimeField(null=True, editable=False)
    last_outcome = models.CharField(max_length=16, blank=True, default="", editable=False)  # ok / failed
    runs = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("job lease")
        verbose_name_plural = _("job leases")

    def __str__(self) -> str:
        return self.name


class SignInGate(models.Model):
    """One of a fixed number of row locks that serialise the lock-out check of sign-ins (issue 14
    §2): a sign-in locks the gate of its user name's bucket and of its address's bucket (in bucket
    order) while it counts the failures and the attempts still in flight and registers its own, so
    parallel guesses cannot all pass the check before any of them has failed. A fixed number of
    rows, made on first use: a spray of invented user names adds none."""

    bucket = models.PositiveIntegerField(primary_key=True, editable=False)

    class Meta:
        verbose_name = _("sign-in gate")
        verbose_name_plural = _("sign-in gates")

    def __str__(self) -> str:
        return f"sign-in gate {self.bucket}"


class SignInInFlight(models.Model):
    """A password check under way (issue 14 §2): counted like a failure until it ends, so that a
    burst of parallel guesses gets no more checks than the lock-out limit. Deleted when the check
    ends; one left by a crashed process stops counting after ``lockout.IN_FLIGHT_SECONDS``. Never
    the password; the user name as typed (lower-cased), like django-axes' failure rows."""

    username = models.CharField(max_length=255, db_index=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, db_index=True, editable=False)
    started_at = models.DateTimeField(db_index=True, editable=False)

    class Meta:
        verbose_name = _("sign-in in progress")
        verbose_name_plural = _("sign-ins in progress")

    def __str__(self) -> str:
        return f"sign-in in progress {self.pk}"
