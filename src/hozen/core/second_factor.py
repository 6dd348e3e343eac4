"""Second factors spent only by actions that succeed (issue 11, item 6).

An action that needs the person's own second factor *in the request* (the subject's consent,
refusal and withdrawal: a bearer token or a session is not their signature) takes it in two steps:

1. ``check(account, code)`` — before the service runs, outside its transaction — finds the
   authenticator (TOTP device and time step) or the recovery code that *would* accept the code,
   and consumes nothing. A wrong code counts against django-otp's throttle on every device it was
   tried on, committed at once (so brute force stays throttled whatever the action does next); a
   device still throttled is not tried at all, exactly as django-otp's own ``verify_token``.
   The result, a ``Proof``, travels on the ``Actor`` (``actor.second_factor``), with
   ``second_factor_verified`` set for the policy.
2. ``spend(proof, account=...)`` — called by the service inside its transaction, after every other
   check passed — uses it up with one conditional statement each: a recovery code is deleted
   (``DELETE … WHERE id = …``; no row means another action used it first), a TOTP device's
   ``last_t`` is moved to the code's time step (``UPDATE … WHERE last_t < step``; no row means the
   code, or a later one, was used meanwhile). Either way the action is refused with
   ``SecondFactorAlreadyUsed`` (409) and, the transaction rolling back, nothing is written.

So an action refused for any other reason (wrong state, already consented, withdrawn) leaves the
recovery code usable and the TOTP code not marked used; two actions racing with one recovery code
get it once. django-otp's ``match_token``/``verify_token`` consume on match, which is why they are
not used for these actions (sign-in still uses them: there the check is the action).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .errors import RuleViolation

TOTP_KIND = "totp"
RECOVERY_KIND = "recovery_code"


@dataclass(frozen=True)
class Proof:
    """A code found good for `account_id`, not yet spent: which device (and time step, or recovery
    code row) accepted it. Carries no secret (the code itself is not kept)."""

    account_id: int
    kind: str  # totp | recovery_code
    device_id: int
    step: int | None = None  # TOTP: the time step the code belongs to
    drift: int | None = None  # TOTP: the drift that matched it (kept when OTP_TOTP_SYNC)
    token_id: int | None = None  # recovery code: the StaticToken row

    def describe(self) -> dict:
        """For an audit entry: which kind of second factor was used (never the code)."""
        return {"kind": self.kind}


class SecondFactorAlreadyUsed(RuleViolation):
    """The code was good when checked, but another action used it (or a later code) first."""

    status = 409

    def __init__(self):
        super().__init__(
            "second_factor_used",
            "この確認コードは、同時に行われた別の操作で既に使用されました。何も保存されていません。新しいコードを入力して、もう一度操作してください。",
            "This code was already used by another action at the same time. Nothing was saved: enter a new "
            "code and try again.",
            field="second_factor",
        )


def _allowed(device) -> bool:
    allowed, _why = device.verify_is_allowed()
    return allowed


def _totp_step(device: TOTPDevice, token: str) -> tuple[int, int] | None:
    """(time step, drift) at which `device` accepts `token` now, above its last used step, or None.
    The same computation as ``TOTPDevice.verify_token``, without saving anything."""
    try:
        number = int(token)
    except ValueError:
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.verify(number, device.tolerance, device.last_t + 1):
        return totp.t(), totp.drift
    return None


def _count_failure(devices) -> None:
    """One more failed attempt on each device tried (django-otp's ``throttle_increment``), as one
    atomic UPDATE per device so parallel wrong guesses each count."""
    now = timezone.now()
    for device in devices:
        type(device).objects.filter(pk=device.pk).update(
            throttling_failure_count=F("throttling_failure_count") + 1, throttling_failure_timestamp=now)


def check(account, code: str | None) -> Proof | None:
    """The proof that `code` is `account`'s own current second factor, or None; nothing consumed.

    Call it before the service's transaction: a wrong code's throttle count must commit even though
    the action is then refused. Tries the confirmed TOTP devices, then the recovery codes; a device
    in its throttle delay is skipped (its code is not accepted now), as django-otp does."""
    from .services import normalise_code  # what a person types: spaces, hyphens, capitals forgiven

    token = normalise_code(code or "")
    if account is None or not token:
        return None
    tried = []
    for device in TOTPDevice.objects.filter(user=account, confirmed=True).order_by("pk"):
        if not _allowed(device):
            continue
        found = _totp_step(device, token)
        if found is not None:
            return Proof(account_id=account.pk, kind=TOTP_KIND, device_id=device.pk, step=found[0], drift=found[1])
        tried.append(device)
    for device in StaticDevice.objects.filter(user=account, confirmed=True).order_by("pk"):
        if not _allowed(device):
            continue
        row = StaticToken.objects.filter(device=device, token=token).order_by("pk").first()
        if row is not None:
            return Proof(account_id=account.pk, kind=RECOVERY_KIND, device_id=device.pk, token_id=row.pk)
        tried.append(device)
    _count_failure(tried)
    return None


def spend(proof: Proof, *, account) -> None:
    """Use the proof up, inside the caller's transaction, once every other check has passed:
    SecondFactorAlreadyUsed (409) when another action used the code (or a later one) first."""
    if not connections[router.db_for_write(TOTPDevice)].in_atomic_block:
        raise RuntimeError("spend the second factor inside the service's transaction, after its checks")
    if account is None or proof.account_id != account.pk:
        raise RuntimeError("a second factor is spent only by the account it was checked for")
    now = timezone.now()
    if proof.kind == RECOVERY_KIND:
        deleted, _by_model = StaticToken.objects.filter(pk=proof.token_id, device_id=proof.device_id).delete()
        if deleted != 1:
            raise SecondFactorAlreadyUsed()
        StaticDevice.objects.filter(pk=proof.device_id).update(
            throttling_failure_count=0, throttling_failure_timestamp=None, last_used_at=now)
        return
    if proof.kind != TOTP_KIND:
        raise ValueError(f"unknown second factor {proof.kind!r}")
    values = {"last_t": proof.step, "throttling_failure_count": 0, "throttling_failure_timestamp": None,
              "last_used_at": now}
    if getattr(settings, "OTP_TOTP_SYNC", True):
        values["drift"] = proof.drift
    updated = TOTPDevice.objects.filter(pk=proof.device_id, user_id=account.pk, confirmed=True,
                                        last_t__lt=proof.step).update(**values)
    if updated != 1:
        raise SecondFactorAlreadyUsed()
