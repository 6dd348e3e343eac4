"""Reads about keys, shaped for `hozen keys status` (never key material)."""

from __future__ import annotations

from django.db.models import Count

from hozen.access import policy

from .models import DataKey, RotationRun
from .provider import describe_source, get_provider


def shredded_not_covered() -> int:
    """Shredded keys whose pre-shred backups could still be unwrapped with the current keyring.

    A key is covered once a ``--retire-old`` rotation that started after its destruction has
    finished: every copy of it is wrapped under a version that run retired.
    """
    last = (RotationRun.objects.filter(retire_old=True, finished_at__isnull=False)
            .order_by("-started_at").first())
    destroyed = DataKey.objects.filter(destroyed_at__isnull=False)
    if last is not None:
        destroyed = destroyed.filter(destroyed_at__gte=last.started_at)
    return destroyed.count()


def key_status(actor) -> dict:
    """KEK versions, data keys per KEK version, destroyed keys, and the last rotation."""
    policy.require(actor, "kek.view")
    ring = get_provider()
    versions = list(getattr(ring, "versions", lambda: ())())
    by_version = {
        row["kek_version"]: row["n"]
        for row in DataKey.objects.filter(destroyed_at__isnull=True).values("kek_version")
        .annotate(n=Count("id")).order_by("kek_version")
    }
    run = RotationRun.objects.order_by("-id").first()
    from .probe import problems

    return {
        "source": describe_source(),
        # Keys the database holds that this keyring does not open (issue 13 §4): empty when all open.
        "keys_open": not (found := problems()),
        "problems": found,
        "kek_versions": versions,
        "current_version": ring.current_version(),
        "data_keys": {
            "live": sum(by_version.values()),
            "destroyed": DataKey.objects.filter(destroyed_at__isnull=False).count(),
            "by_kek_version": {str(v): n for v, n in by_version.items()},
        },
        # Versions live keys need but the keyring lacks: a wrong keyring, or a restored old backup.
        "missing_versions": sorted(v for v in by_version if versions and v not in versions),
        "shredded_not_covered_by_retire": shredded_not_covered(),
        "last_rotation": None if run is None else {
            "id": run.pk,
            "target_version": run.target_version,
            "retire_old": run.retire_old,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "rewrapped": run.rewrapped,
            "retired_versions": run.retired_versions,
            "unfinished": run.finished_at is None,
        },
    }
