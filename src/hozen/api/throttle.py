"""A request budget per account on /api/v1/ (issue 12 §3: 429 is documented, so it is produced).

Each account may make ``HOZEN_API_RATE`` requests per window (default ``1200/60``: 1,200 a minute,
a sustained 20 a second, far above what a person or an HR integration needs and well below what
one client can take from the server). Beyond it the answer is 429 ``too_many_requests`` in the
error schema, with ``Retry-After`` the seconds until the window ends; nothing is done. Counted
per account (every token and role of one account share the budget), in fixed windows, with the
cache's atomic ``add``/``incr``. The cache is per process unless ``HOZEN_REDIS_URL`` names a Redis
that every worker and server shares: without it each gunicorn worker counts its own requests (an
account may then make up to the rate times the number of worker processes). ``HOZEN_API_RATE=off``
turns it off.
Unauthenticated requests are answered 401 before this runs.
"""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from ninja.throttling import BaseThrottle


def parse_rate(value: str | None) -> tuple[int, int] | None:
    """``"1200/60"`` → (1200 requests, 60 seconds); ``off``, empty or None → no limit."""
    if value is None or str(value).strip().lower() in ("", "off", "none", "0"):
        return None
    count, slash, seconds = str(value).strip().partition("/")
    if not (slash and count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
        raise ImproperlyConfigured(f"HOZEN_API_RATE must be requests/seconds, like 1200/60, or off; not {value!r}")
    return int(count), int(seconds)


class AccountRateThrottle(BaseThrottle):
    """Fixed windows per account; the rate is read per request (a setting changed in tests applies).
    One instance serves every thread: the wait of a refusal is kept per thread."""

    def __init__(self):
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        self._local.wait = None
        rate = parse_rate(getattr(settings, "HOZEN_API_RATE", None))
        account = getattr(request, "auth", None)
        if rate is None or getattr(account, "pk", None) is None:
            return True
        limit, seconds = rate
        now = time.time()
        window = int(now // seconds)
        key = f"hozen:api-rate:{account.pk}:{seconds}:{window}"
        if cache.add(key, 1, timeout=seconds + 1):
            return True
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 1, timeout=seconds + 1)
            return True
        if used <= limit:
            return True
        self._local.wait = (window + 1) * seconds - now
        return False

    def wait(self) -> float | None:
        left = getattr(self._local, "wait", None)
        return None if left is None else max(1, math.ceil(left))
