"""Sign-in that resists guessing without locking out the innocent (issue 14 §2).

- **The client's address** is ``REMOTE_ADDR``, or, when that is one of ``HOZEN_TRUSTED_PROXIES``,
  the right-most address of ``X-Forwarded-For`` that is not a trusted proxy (each proxy appends the
  address it got the request from; anything left of the last untrusted one is the client's word).
- **Locks** are per (user name, address) pair after ``HOZEN_LOGIN_FAILURE_LIMIT`` failures (5):
  the person mistyping at their desk; and per user name after ``HOZEN_LOGIN_USERNAME_FAILURE_LIMIT``
  failures from any addresses (20): guessing one account from many places. Never per address
  alone: behind a reverse proxy every client shares one, and five requests would lock out everyone.
  A lock ends ``AXES_COOLOFF_TIME`` after the last failure, or when a system administrator unlocks
  the user name (``hozen.core.services.unlock_sign_in``: the screen and ``hozen users unlock``).
- **Spraying from one address** (many user names) is slowed, not locked: each sign-in from an
  address with recent failures waits a little longer, up to ``HOZEN_LOGIN_DELAY_MAX_SECONDS``.

- **Parallel guesses** get no more password checks than the limits: `password_check` counts the
  checks still in flight like failures, under a row lock per user name (and per address), and
  registers its own before it lets the password be checked. At most `MAX_IN_FLIGHT_PER_ADDRESS`
  checks run (or wait out their delay) at once per address, so a burst cannot hold every server
  thread; the rest are answered 429 at once.

Failures are django-axes' ``AccessAttempt`` rows (one per user name, address and browser).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.HOZEN_TRUSTED_PROXIES)


def client_ip(request) -> str | None:
    """The client's address as far as this deployment's trusted proxies vouch for it."""
    remote = request.META.get("REMOTE_ADDR")
    if not remote or not _trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return remote  # a malformed hop: trust no further than the proxy itself
        if not _trusted(address):
            return address
    return forwarded[0] if forwarded else remote


def cool_off() -> dt.timedelta:
    return dt.timedelta(hours=float(settings.AXES_COOLOFF_TIME))


def _recent(**filters):
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cool_off(), **filters)


@dataclass(frozen=True)
class Lock:
    # "pair": this user name from this address; "username": this user name from anywhere;
    # "busy": too many sign-ins in progress from this address (try again in a few seconds).
    kind: str
    until: dt.datetime


#: A password check in flight counts as a failure for this long at most (a crashed process's row).
IN_FLIGHT_SECONDS = 120
#: Password checks (with their delay) running at once from one address; more are answered 429.
MAX_IN_FLIGHT_PER_ADDRESS = 8
#: Seconds the "busy" answer asks the client to wait.
BUSY_RETRY_SECONDS = 5
#: Rows of SignInGate: user names and addresses share them by hash.
GATE_BUCKETS = 1024


def _in_flight(**filters):
    from .models import SignInInFlight

    return SignInInFlight.objects.filter(started_at__gte=timezone.now() - dt.timedelta(seconds=IN_FLIGHT_SECONDS),
                                         **filters)


def lock_for(username: str, ip: str | None) -> Lock | None:
    """The lock on signing in as `username` from `ip`, if there is one now. Password checks still in
    flight count as failures (they may be)."""
    if not username:
        return None
    now = timezone.now()
    pair = _recent(username=username, ip_address=ip).aggregate(n=Sum("failures_since_start"), last=Max("attempt_time"))
    if (pair["n"] or 0) + _in_flight(username=username, ip_address=ip).count() >= settings.AXES_FAILURE_LIMIT:
        return Lock("pair", (pair["last"] or now) + cool_off())
    named = _recent(username=username).aggregate(n=Sum("failures_since_start"), last=Max("attempt_time"))
    if (named["n"] or 0) + _in_flight(username=username).count() >= settings.HOZEN_LOGIN_USERNAME_FAILURE_LIMIT:
        return Lock("username", (named["last"] or now) + cool_off())
    return None


def _bucket(kind: str, value: str) -> int:
    return zlib.crc32(f"{kind}:{value}".encode()) % GATE_BUCKETS


@contextmanager
def password_check(username: str, ip: str | None) -> Iterator[Lock | None]:
    """Whether the password of a sign-in as `username` from `ip` may be checked now: yields the
    Lock that refuses it, or None, and then the check is registered as in flight until the block
    ends. The count and the registration happen under the row locks of the user name's and the
    address's gates (taken in bucket order, so two sign-ins never wait on each other in a circle):
    of many parallel guesses, only as many as the limit leave is let through."""
    from .models import SignInGate, SignInInFlight

    with transaction.atomic(durable=True):
        for bucket in sorted({_bucket("username", username), _bucket("address", ip or "")}):
            SignInGate.objects.select_for_update().get_or_create(bucket=bucket)
        lock = lock_for(username, ip)
        if lock is None and _in_flight(ip_address=ip).count() >= MAX_IN_FLIGHT_PER_ADDRESS:
            lock = Lock("busy", timezone.now() + dt.timedelta(seconds=BUSY_RETRY_SECONDS))
        if lock is None:
            stale = timezone.now() - dt.timedelta(seconds=IN_FLIGHT_SECONDS)
            SignInInFlight.objects.filter(started_at__lt=stale).delete()
            row = SignInInFlight.objects.create(username=username, ip_address=ip, started_at=timezone.now())
    if lock is not None:
        yield lock
        return
    try:
        yield None
    finally:
        SignInInFlight.objects.filter(pk=row.pk).delete()


#: Failures from one address (any user names) that pass without delay; each one more doubles it.
FREE_FAILURES_PER_ADDRESS = 3


def delay_for(ip: str | None) -> float:
    """Seconds a sign-in from `ip` waits before its password is checked: 0 until the address has
    had `FREE_FAILURES_PER_ADDRESS` recent failures, then 0.25 s doubling per failure, capped."""
    cap = float(settings.HOZEN_LOGIN_DELAY_MAX_SECONDS)
    if not ip or cap <= 0:
        return 0.0
    failures = _recent(ip_address=ip).aggregate(n=Sum("failures_since_start"))["n"] or 0
    if failures < FREE_FAILURES_PER_ADDRESS:
        return 0.0
    return min(cap, 0.25 * 2 ** (failures - FREE_FAILURES_PER_ADDRESS))


@dataclass(frozen=True)
class LockedName:
    username: str
    addresses: int
    failures: int
    last_failure: dt.datetime
    until: dt.datetime


def locked_names() -> list[LockedName]:
    """Every user name locked now (by a pair or by its total), for the administrators' screen."""
    from django.db.models import Count

    locked = []
    for row in (_recent().values("username").annotate(failures=Sum("failures_since_start"),
                                                      addresses=Count("ip_address", distinct=True),
                                                      last=Max("attempt_time")).order_by("-last")):
        lock = lock_for(row["username"], None) if row["failures"] >= settings.HOZEN_LOGIN_USERNAME_FAILURE_LIMIT \
            else next((lock for ip in _recent(username=row["username"]).values_list("ip_address", flat=True)
                       if (lock := lock_for(row["username"], ip)) is not None), None)
        if lock is not None:
            locked.append(LockedName(row["username"], row["addresses"], row["failures"], row["last"], lock.until))
    return locked
