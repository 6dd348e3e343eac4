"""KEK rotation: re-wrap every live data key under a new KEK version, without re-encrypting data.

``rotate`` adds a KEK version to the keyring file (``kek.add_version``), then re-wraps the data
keys still under other versions in batches, in id order, each batch in one transaction with one
``data_key.rewrapped`` audit entry. It is resumable: the run is recorded (``RotationRun``) before
the version is added, so after a crash or Ctrl-C the next ``rotate`` continues the unfinished
run with the keys still under old versions, and never adds a second new version.

With ``retire_old`` it then removes every other version from the keyring file
(``kek.retire_versions``). That is the second step of crypto-shredding: a backup taken before a
shred holds the shredded subject's wrapped key, but only under a version this run retires, so it
can no longer be unwrapped. A key shredded after the run started is not covered (a backup taken
between its re-wrap and its shred holds it under the kept version); the run reports those, and
``hozen keys status`` counts them until the next ``--retire-old`` run.

Every process reloads a changed keyring file at its next key operation (``provider``), so
processes stop wrapping under an old version once the new one is in the file. A service that read
the keyring a moment before the change may still be wrapping a new data key under the old version:
once the new version is current, the run waits for every transaction that holds the wrapping lock
(``keys.hold_wrapping_lock``, taken by ``create_data_key`` before it reads the keyring) to end, so
such a key is committed before the passes begin and is re-wrapped by them, and every key wrapped
after the wait is under the new version. A final pass catches keys wrapped by code that does not
take the lock, before anything is retired. Run one rotation at a time; on several hosts, every host
must read the same keyring file (shared secret mount), or use a KMS provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hozen import audit
from hozen.access import policy

from . import kek
from .envelope import CryptoError
from .kek import KeyManagementError, load_keyring
from .keys import wait_for_wrapping, wrap_aad
from .models import DataKey, RotationRun
from .provider import get_provider, is_custom, keyring_file_for_rotation

DEFAULT_BATCH_SIZE = 500
_MAX_PASSES = 10

Progress = Callable[[int, int], None]  # (keys re-wrapped so far, keys to re-wrap in total)


@dataclass(frozen=True)
class RotationReport:
    target_version: int
    resumed: bool
    added_version: bool
    rewrapped: int
    batches: int
    retired_versions: tuple[int, ...]
    shredded_during_run: int  # destroyed since the run started: not covered by its retirement


def _live_under_other_versions(target: int):
    return DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_version=target)


def _rewrap_batch(actor, ring, run: RotationRun, after_id: int, batch_size: int) -> tuple[int, int]:
    """Re-wrap the next batch of keys after ``after_id``; return (count, last id). One transaction."""
    target = run.target_version
    with transaction.atomic():
        keys = list(
            _live_under_other_versions(target).filter(id__gt=after_id).select_for_update(no_key=True).order_by("id")[:batch_size]
        )
        if not keys:
            return 0, after_id
        now = timezone.now()
        from_versions = set()
        for key in keys:
            aad = wrap_aad(key.key_id, key.subject_uuid)
            try:
                dek = ring.unwrap(key.kek_version, bytes(key.wrapped), aad)
            except CryptoError as exc:
                raise KeyManagementError(
                    f"data key #{key.pk} ({key.owner}) could not be unwrapped under KEK version "
                    f"{key.kek_version}: {exc}. This batch was not changed; fix it and rerun `hozen keys rotate`"
                ) from None
            from_versions.add(key.kek_version)
            key.kek_version, key.wrapped = ring.wrap(target, dek, aad)
            key.rewrapped_at = now
        DataKey.objects.bulk_update(keys, ["kek_version", "wrapped", "rewrapped_at"])
        RotationRun.objects.filter(pk=run.pk).update(rewrapped=F("rewrapped") + len(keys))
        audit.record(actor, "data_key.rewrapped", details={
            "rotation": run.pk, "to_version": target, "from_versions": sorted(from_versions),
            "count": len(keys), "first_id": keys[0].pk, "last_id": keys[-1].pk,
        })
    return len(keys), keys[-1].pk


def _new_run(*, target_version: int, retire_old: bool) -> RotationRun:
    """A new run; another rotation started at the same moment holds the one unfinished run the
    database allows (constraint `one_unfinished_rotation`): refused, never a second KEK version."""
    try:
        with transaction.atomic():
            return RotationRun.objects.create(target_version=target_version, retire_old=retire_old)
    except IntegrityError:
        raise KeyManagementError("another key rotation started at the same time and is running: wait for it to "
                                 "finish (`hozen keys status`), then run `hozen keys rotate` again") from None


def _start_or_resume(actor, path, retire_old: bool) -> tuple[RotationRun, bool, bool]:
    """The run to work on, with the keyring holding its target version as current.

    One transaction with the unfinished run locked (or, for a new run, the database's one unfinished
    run taken): two rotations started at once never both add a KEK version; the second resumes the
    first's run once it is committed, or is refused while the first is being started."""
    with transaction.atomic():
        run = RotationRun.objects.select_for_update(no_key=True).filter(finished_at__isnull=True).order_by("-id").first()
        resumed = run is not None
        keyring = load_keyring(path)
        if run is None:
            run = _new_run(target_version=max(keyring.versions()) + 1, retire_old=retire_old)
        elif retire_old and not run.retire_old:
            run.retire_old = True
            run.save(update_fields=["retire_old"])
        versions = keyring.versions()
        if run.target_version not in versions:
            if max(versions) != run.target_version - 1:
                raise KeyManagementError(
                    f"an unfinished rotation (#{run.pk}) targets KEK version {run.target_version}, but the keyring "
                    f"holds versions {', '.join(map(str, versions))}: was the keyring file replaced?"
                )
            # The file change is last: if it fails, the transaction rolls back and no entry claims it.
            audit.record(actor, "kek.version_added", details={"version": run.target_version, "rotation": run.pk})
            version = kek.add_version(path)
            if version != run.target_version:  # pragma: no cover - another process changed the file meanwhile
                raise KeyManagementError(f"added KEK version {version}, expected {run.target_version}")
            return run, resumed, True
        if keyring.current_version() != run.target_version:
            raise KeyManagementError(
                f"an unfinished rotation (#{run.pk}) targets KEK version {run.target_version}, but the keyring's "
                f"current version is {keyring.current_version()}: was the keyring file replaced?"
            )
        return run, resumed, False


def _start_or_resume_in_backend(retire_old: bool) -> tuple[RotationRun, bool, bool]:
    """With a HOZEN_KEK_PROVIDER backend (KMS/HSM), new versions are made and old ones retired in
    the backend: the run re-wraps every data key under the backend's current version."""
    if retire_old:
        raise KeyManagementError("old key-encryption key versions are retired in the HOZEN_KEK_PROVIDER "
                                 "backend, not by Hozen: rerun without --retire-old")
    current = get_provider().current_version()
    run = RotationRun.objects.filter(finished_at__isnull=True).order_by("-id").first()
    if run is None:
        return _new_run(target_version=current, retire_old=False), False, False
    if run.target_version != current:
        raise KeyManagementError(
            f"an unfinished rotation (#{run.pk}) targets KEK version {run.target_version}, but the backend's "
            f"current version is {current}: make it current again to finish, then rotate again")
    return run, True, False


# Other secrets wrapped by the KEK outside DataKey (the audit log's signing key, ...). Apps register
# a function that re-wraps theirs under the current version and returns how many moved; rotation
# calls every one before old versions are retired, so nothing is left under a version that goes.
_OTHER_WRAPPED_SECRETS: dict[str, Callable[[], int]] = {}


def register_wrapped_secrets(name: str, rewrap: Callable[[], int]) -> None:
    """Called from an AppConfig.ready(): `rewrap()` re-wraps the app's secrets under the current KEK."""
    _OTHER_WRAPPED_SECRETS[name] = rewrap


def rotate(*, actor, retire_old: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
           progress: Progress | None = None) -> RotationReport:
    """Rotate the KEK (or resume an unfinished rotation); see the module docstring."""
    policy.require(actor, "kek.rotate")
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    if is_custom():
        run, resumed, added = _start_or_resume_in_backend(retire_old)
    else:
        path = keyring_file_for_rotation()
        run, resumed, added = _start_or_resume(actor, path, retire_old)
    # Writers that read the keyring before the target version became current finish first: their
    # keys are then in the table for the passes below (lock what you check: keys.hold_wrapping_lock).
    wait_for_wrapping()
    ring = get_provider()  # the file changed, so this is the keyring holding the target version
    if ring.current_version() != run.target_version:  # pragma: no cover - defensive
        raise KeyManagementError("the loaded keyring does not hold the rotation's target version as current")

    total = _live_under_other_versions(run.target_version).count()
    done = batches = 0
    if progress:
        progress(done, total)
    for _ in range(_MAX_PASSES):
        after_id = 0
        while True:
            count, after_id = _rewrap_batch(actor, ring, run, after_id, batch_size)
            if not count:
                break
            done += count
            batches += 1
            if progress:
                progress(done, max(total, done))
        if not _live_under_other_versions(run.target_version).exists():
            break
    else:
        raise KeyManagementError(
            "data keys keep appearing under old KEK versions: restart every Hozen process so that all "
            "read the new keyring, then rerun `hozen keys rotate`"
        )

    others = {}
    for name, rewrap in sorted(_OTHER_WRAPPED_SECRETS.items()):
        others[name] = rewrap()
    if others:
        with transaction.atomic():
            audit.record(actor, "kek.secrets_rewrapped", details={"rotation": run.pk, "moved": others})

    retired: tuple[int, ...] = ()
    if run.retire_old:
        old = [v for v in load_keyring(path).versions() if v != run.target_version]
        if old:
            if DataKey.objects.filter(destroyed_at__isnull=True, kek_version__in=old).exists():  # pragma: no cover
                raise KeyManagementError("live data keys are still under old KEK versions; not retiring them")
            with transaction.atomic():  # the file change is last: if it fails, no entry claims it
                audit.record(actor, "kek.versions_retired", details={
                    "rotation": run.pk, "retired": old, "kept": [run.target_version]})
                run.retired_versions = sorted(set(run.retired_versions) | set(old))
                run.save(update_fields=["retired_versions"])
                retired = kek.retire_versions(path, keep={run.target_version})

    shredded_during_run = DataKey.objects.filter(destroyed_at__gte=run.started_at).count() if run.retire_old else 0
    with transaction.atomic():
        run.refresh_from_db()
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
        audit.record(actor, "kek.rotation_finished", details={
            "rotation": run.pk, "target_version": run.target_version, "rewrapped": run.rewrapped,
            "retired": run.retired_versions, "resumed": resumed,
        })
    return RotationReport(
        target_version=run.target_version, resumed=resumed, added_version=added, rewrapped=done,
        batches=batches, retired_versions=tuple(retired), shredded_during_run=shredded_during_run,
    )
