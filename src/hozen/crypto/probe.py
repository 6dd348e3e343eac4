"""Do the keys open what the database holds? (issue 13 §4: keys cannot be replaced silently.)

A database restored without its keyring, or started with another deployment's keyring, looks
healthy until the first read of personal data. `problems()` unwraps, for each KEK version live
data keys use, the newest live data key, and every audit signing seed; each one that does not open
is a problem, in one readable line. `hozen check`, `hozen keys status` and `/api/v1/health` ask it
(the health answer is kept for a minute per process: load balancers ask often).
"""

from __future__ import annotations

import threading
import time

from django.db.models import Max

from .envelope import CryptoError
from .kek import KeyManagementError
from .models import DataKey
from .provider import KekUnavailable, get_provider

_cache_lock = threading.Lock()
_cached: tuple[float, list[str]] | None = None
HEALTH_SECONDS = 60


def problems() -> list[str]:
    """Each key in the database the keyring does not open (empty: all open)."""
    try:
        get_provider()
    except KekUnavailable as exc:
        return [str(exc)]
    found = []
    newest = (DataKey.objects.filter(destroyed_at__isnull=True, wrapped__isnull=False)
              .values("kek_version").annotate(newest=Max("id")).order_by("kek_version"))
    for row in newest:
        key = DataKey.objects.get(pk=row["newest"])
        try:
            from .keys import unwrap

            unwrap(key)
        except (CryptoError, KeyManagementError) as exc:
            found.append(f"data keys under KEK version {row['kek_version']} do not open with this keyring "
                         f"(data key {key.key_id}: {exc.__class__.__name__}); it is not the keyring this "
                         "database was written with: restore that one, and write nothing until then")
    from hozen.audit.checkpoints import signing_key_problems

    found.extend(signing_key_problems())
    return found


def problems_for_health() -> list[str]:
    """`problems()`, computed at most once a minute per process."""
    global _cached
    now = time.monotonic()
    with _cache_lock:
        if _cached is not None and now - _cached[0] < HEALTH_SECONDS:
            return _cached[1]
    found = problems()
    with _cache_lock:
        _cached = (now, found)
    return found


def forget() -> None:
    """Drop the kept health answer (tests; a restored keyring is seen at once)."""
    global _cached
    with _cache_lock:
        _cached = None
