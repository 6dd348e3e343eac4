"""`hozen backup DIR` and `hozen restore DIR` (issue 13 §3).

A backup is a folder (created 0700):

- ``database.sqlite3`` (SQLite's online backup API: a consistent copy while Hozen runs) or
  ``database.pgdump`` (``pg_dump --format=custom``);
- ``files/vault/…`` and ``files/uploads/…``: the vault's encrypted objects and other stored files,
  copied after the database (an object added meanwhile is an unused extra, never a gap). With the
  vault in S3 the objects stay in the bucket (keep its versioning on): the manifest lists the ones
  the database refers to with each one's version id, and the restore brings back the backup's
  version of any object deleted or replaced since (a copy of that version made current);
- ``manifest.json``: when, which Hozen, each file's SHA-256, the audit log's tree size and root
  with the signed checkpoint at that size, where the keyring is and one wrapped data key to test a
  keyring against (ciphertext only), and the shred register's length; ``manifest.sig``: the
  manifest signed with the audit log's Ed25519 key.

The keyring itself is written only on request (``--keyring-to PATH``, outside the backup folder):
a backup and its keyring kept together are one theft away from the plaintext.

A restore refuses, before it changes anything, a manifest whose signature or file hashes do not
check, a keyring that does not open the backup's data key, and a database that is not empty (unless
``--force``). Then it puts the database and the files in place, destroys again every data key the
shred register names that the restored database still holds (so a case shredded after the backup
never comes back), verifies the whole audit log, unwraps a data key of each KEK version, and says
what it checked. The log then continues from the backup's tree size: checkpoints published after
the backup describe entries the restored log no longer has (a fork; docs/security.md says what to
tell verifiers).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

FORMAT = "hozen-backup/1"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line saying why and what to do."""


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


# --- shared ------------------------------------------------------------------------------------------

def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: libpq connection options of HOZEN_DATABASE_URL passed on to pg_dump and pg_restore unchanged.
_PG_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
               "sslcrl": "PGSSLCRL", "options": "PGOPTIONS", "target_session_attrs": "PGTARGETSESSIONATTRS"}


def _pg_env() -> tuple[list[str], dict]:
    """pg_dump's and pg_restore's connection, exactly as Hozen's own (a socket stays a socket, TLS
    settings are kept), through libpq's environment variables."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    for option, var in _PG_OPTIONS.items():
        if (db.get("OPTIONS") or {}).get(option):
            env[var] = str(db["OPTIONS"][option])
    return [], env


def _local_stores() -> dict[str, Path]:
    """The stored files kept on this machine's disk, by the name they have in a backup."""
    from django.core.files.storage import FileSystemStorage

    from hozen.vault import blobs

    stores = {}
    vault = blobs.storage()
    if isinstance(vault, FileSystemStorage):
        stores["vault"] = Path(vault.location)
    stores["uploads"] = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return stores


def _vault_in_object_store() -> bool:
    from django.core.files.storage import FileSystemStorage

    from hozen.vault import blobs

    return not isinstance(blobs.storage(), FileSystemStorage)


def _s3(storage):
    """The boto3 client, bucket and key of a name for django-storages' S3Storage."""
    client = storage.connection.meta.client
    return client, storage.bucket_name, storage._normalize_name  # the storage's own name → key mapping


def _object_versions(names: list[str], out: Outcome) -> list[dict]:
    """Each vault object with the version id it has now (None when the bucket keeps no versions)."""
    from hozen.vault import blobs

    client, bucket, key = _s3(blobs.storage())
    objects = []
    for name in names:
        head = client.head_object(Bucket=bucket, Key=key(name))
        objects.append({"name": name, "version_id": head.get("VersionId"), "etag": head.get("ETag")})
    if any(o["version_id"] is None for o in objects):
        out.say("WARNING: the vault's bucket keeps no object versions: an object deleted or overwritten after "
                "this backup cannot be brought back by a restore. Turn versioning on.")
    return objects


def _restore_object_versions(objects: list, out: Outcome) -> None:
    """Make the backup's version of each object current again where it was deleted or replaced."""
    from botocore.exceptions import ClientError

    from hozen.vault import blobs

    client, bucket, key = _s3(blobs.storage())
    present = brought_back = 0
    missing = []
    for entry in objects:
        name, version, etag = ((entry, None, None) if isinstance(entry, str)
                               else (entry["name"], entry["version_id"], entry.get("etag")))
        try:
            head = client.head_object(Bucket=bucket, Key=key(name))
            current, same = head.get("VersionId"), etag is not None and head.get("ETag") == etag
        except ClientError:
            current, same = "deleted", False
        if version is None or current == version or same:  # same: a copy of that version made current
            if current == "deleted":
                missing.append(name)
            else:
                present += 1
            continue
        try:
            client.copy_object(Bucket=bucket, Key=key(name),
                               CopySource={"Bucket": bucket, "Key": key(name), "VersionId": version})
            brought_back += 1
        except ClientError:
            missing.append(name)
    out.say(f"vault: {present} objects present in the object store as backed up"
            + (f", {brought_back} deleted or replaced since and brought back from their backed-up version"
               if brought_back else ""))
    if missing:
        out.say(f"WARNING: {len(missing)} vault objects the database refers to are not in the object store "
                f"(first: {missing[0]})")


def _canonical(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=1).encode()


# --- backup ------------------------------------------------------------------------------------------

def backup(target: Path, *, keyring_to: Path | None = None) -> Outcome:
    from hozen import __version__
    from hozen.audit import checkpoints
    from hozen.crypto import shred_register
    from hozen.crypto.models import DataKey
    from hozen.crypto.provider import describe_source, keyring_file_for_rotation

    out = Outcome()
    target = target.resolve()
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new folder for each backup")
    if keyring_to is not None:
        keyring_to = keyring_to.resolve()
        if keyring_to == target or target in keyring_to.parents:
            raise BackupError("the keyring must not be written into the backup folder: keep them apart")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target, 0o700)

    # The checkpoint first: the database copy holds at least the entries it covers.
    checkpoint = checkpoints.latest_or_issue()
    started = timezone.now()
    engine = _engine()
    if engine == "sqlite":
        name = "database.sqlite3"
        source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
        fd = os.open(target / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dest = sqlite3.connect(str(target / name))
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
    else:
        name = "database.pgdump"
        args, env = _pg_env()
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", *args, "--file", str(target / name),
                               str(settings.DATABASES["default"]["NAME"])], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        os.chmod(target / name, 0o600)
    out.say(f"database: {engine}, copied to {name}")

    files = {name: _sha256(target / name)}
    for label, root in _local_stores().items():
        copied = 0
        if root.exists():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                relative = Path("files") / label / path.relative_to(root)
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / relative)
                files[str(relative)] = _sha256(target / relative)
                copied += 1
        out.say(f"files: {copied} from {label} ({root})")
    objects = []
    if _vault_in_object_store():
        from hozen.vault.models import DocumentVersion

        objects = _object_versions(sorted(DocumentVersion.objects.values_list("stored_name", flat=True)), out)
        out.say(f"vault: in an object store; {len(objects)} objects listed with their versions (kept in the "
                "bucket, not copied)")

    sample = (DataKey.objects.filter(destroyed_at__isnull=True, wrapped__isnull=False).order_by("-id").first())
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "hozen_version": __version__,
        "database": {"engine": engine, "file": name},
        "files": files,
        "object_store": objects,
        "audit": {"tree_size": checkpoint.size, "root_hash": base64.b64encode(bytes(checkpoint.root_hash)).decode(),
                  "checkpoint": checkpoint.note, "verifier_key": checkpoints.verifier_key_text()},
        "keyring": {
            "source": describe_source(),
            "sample": None if sample is None else {
                "key_id": str(sample.key_id), "subject_uuid": str(sample.subject_uuid),
                "kek_version": sample.kek_version, "wrapped": base64.b64encode(bytes(sample.wrapped)).decode()},
        },
        "shred_register": {"entries": len(shred_register.entries())},
    }
    body = _canonical(manifest)
    (target / "manifest.json").write_bytes(body)
    signer = checkpoints.signer(checkpoints.signing_key())
    (target / "manifest.sig").write_text(base64.b64encode(signer.sign(body)).decode() + "\n")
    for each in ("manifest.json", "manifest.sig"):
        os.chmod(target / each, 0o600)
    out.say(f"audit log: tree size {checkpoint.size}, root {manifest['audit']['root_hash']} (signed checkpoint kept)")
    out.say("manifest signed with the audit log's key")
    if keyring_to is not None:
        source = keyring_file_for_rotation()  # a keyring file (HOZEN_KEK or a KMS cannot be copied)
        keyring_to.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(keyring_to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(source.read_bytes())
        out.say(f"keyring: copied to {keyring_to} (0600); keep it apart from the backup")
    else:
        out.say(f"keyring: not copied ({describe_source()}); back it up separately (--keyring-to PATH)")
    return out


# --- restore -----------------------------------------------------------------------------------------

def _read_manifest(source: Path, out: Outcome, pinned_key: str | None) -> dict:
    from hozen.audit.note import Verifier

    try:
        body = (source / "manifest.json").read_bytes()
        manifest = json.loads(body)
        signature = base64.b64decode((source / "manifest.sig").read_text().strip())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a Hozen backup (manifest: {exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    key_text = manifest["audit"]["verifier_key"]
    if pinned_key is not None and pinned_key.strip() != key_text:
        raise BackupError("the backup was signed with another audit key than the one given with --key")
    live_key = _live_verifier_key()
    if pinned_key is None and live_key is not None and live_key != key_text:
        raise BackupError("the backup was signed with another audit key than this database's: give the key it "
                          "must be signed with (--key), or restore into the deployment it belongs to")
    verifier = Verifier.from_key_text(key_text)
    if not verifier.verify(body, signature):
        raise BackupError("the manifest's signature does not check: the backup was changed or is incomplete")
    if pinned_key is not None:
        out.say("manifest: signature checked against --key")
    elif live_key is not None:
        out.say("manifest: signature checked against this database's audit key")
    else:
        out.say("WARNING: manifest signature checked only with the key the backup itself names (an empty database "
                "has none to compare): a forged backup would pass; pin the published key with --key")
    for relative in [manifest["database"]["file"], *manifest["files"]]:
        parts = Path(relative).parts
        if Path(relative).is_absolute() or ".." in parts or not parts:
            raise BackupError(f"{relative!r}: a backup names only files inside itself; this one is refused")
    for relative, expected in manifest["files"].items():
        path = source / relative
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"{relative}: missing or changed since the backup (SHA-256 differs)")
    out.say(f"files: {len(manifest['files'])} checked against their SHA-256")
    return manifest


def _live_verifier_key() -> str | None:
    """The verifier key of the audit log in the configured database, if it has one."""
    from django.db import DatabaseError

    from hozen.audit.checkpoints import verifier
    from hozen.audit.models import AuditSigningKey

    try:
        key = AuditSigningKey.objects.order_by("id").first()
    except DatabaseError:  # not migrated: an empty database
        return None
    return None if key is None else verifier(key).key_text


def _check_keyring(manifest: dict, out: Outcome) -> None:
    from hozen.crypto.keys import wrap_aad
    from hozen.crypto.provider import KekUnavailable, get_provider

    sample = manifest["keyring"]["sample"]
    if sample is None:
        out.say("keyring: the backup holds no data key to test it with")
        return
    try:
        get_provider().unwrap(sample["kek_version"], base64.b64decode(sample["wrapped"]),
                              wrap_aad(sample["key_id"], sample["subject_uuid"]))
    except (KekUnavailable, Exception) as exc:
        raise BackupError("this keyring does not open the backup's data keys "
                          f"({exc.__class__.__name__}): restore with the keyring that belongs to this backup; "
                          "nothing was changed") from None
    out.say("keyring: opens the backup's data keys")


def _database_is_empty() -> bool:
    return not [t for t in connection.introspection.table_names() if not t.startswith("sqlite_")]


def _workers_running() -> list[str]:
    """Job and task workers that hold a live lease or heartbeat in the database being replaced."""
    from django.db import DatabaseError
    from django.utils import timezone

    from hozen.core.models import JobLease

    try:
        return sorted({lease.holder for lease in JobLease.objects.filter(leased_until__gt=timezone.now())})
    except DatabaseError:  # no such table: nothing runs on it
        return []


def restore(source: Path, *, force: bool = False, pinned_key: str | None = None,
            registers: list[Path] | None = None) -> Outcome:
    from hozen.audit.verify import verify_log
    from hozen.core.actor import Actor
    from hozen.crypto import probe, shred_register
    from hozen.crypto.models import DataKey
    from hozen.crypto.services import shred_again

    out = Outcome()
    source = source.resolve()
    manifest = _read_manifest(source, out, pinned_key)
    engine = manifest["database"]["engine"]
    if engine != _engine():
        raise BackupError(f"the backup is of a {engine} database; this Hozen is configured for {_engine()}")
    _check_keyring(manifest, out)
    try:
        register = shred_register.entries(registers)
    except ValueError as exc:
        raise BackupError(str(exc)) from None
    if not force and not _database_is_empty():
        raise BackupError("the database is not empty: restore into a new one, or give --force to replace it")
    running = _workers_running() if force else []
    if running:
        raise BackupError(f"workers are running on this database ({', '.join(running[:3])}): stop every "
                          "`hozen serve` and `hozen jobs worker` first, then restore; nothing was changed")

    # The database.
    connections.close_all()
    dump = source / manifest["database"]["file"]
    if engine == "sqlite":
        live = Path(settings.DATABASES["default"]["NAME"])
        staging = live.with_name(live.name + ".restoring")
        shutil.copyfile(dump, staging)
        os.chmod(staging, 0o600)
        for stale in (Path(f"{live}-wal"), Path(f"{live}-shm")):
            stale.unlink(missing_ok=True)
        os.replace(staging, live)
    else:
        args, env = _pg_env()
        done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error", *args,
                               "--dbname", str(settings.DATABASES["default"]["NAME"]), str(dump)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    out.say(f"database: restored from {dump.name} (taken {manifest['created_at']})")

    # The stored files.
    stores = _local_stores()
    restored = 0
    for relative in manifest["files"]:
        parts = Path(relative).parts
        if parts[0] != "files" or parts[1] not in stores:
            continue
        destination = stores[parts[1]].joinpath(*parts[2:])
        if not destination.resolve().is_relative_to(stores[parts[1]].resolve()):
            raise BackupError(f"{relative!r} would be written outside {stores[parts[1]]}; refused")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, destination)
        restored += 1
    out.say(f"files: {restored} put back")
    if manifest["object_store"]:
        _restore_object_versions(manifest["object_store"], out)

    # Shredding survives the restore.
    live_ids = {str(k) for k in DataKey.objects.filter(destroyed_at__isnull=True).values_list("key_id", flat=True)}
    again = [e["key_id"] for e in register if e["key_id"] in live_ids]
    destroyed = shred_again(Actor.operator("restore"), again) if again else 0
    out.say(f"shred register: {len(register)} entries; {destroyed} key(s) shredded after the backup destroyed again")

    # What the restored Hozen holds checks out.
    report = verify_log()
    out.say(f"audit log: {report.summary()}")
    problems = probe.problems()
    if problems:
        raise BackupError("restored, but the keys do not open: " + "; ".join(problems))
    out.say("keys: a data key of each KEK version and the audit signing keys unwrap")
    size = manifest["audit"]["tree_size"]
    out.say(f"note: the log continues from tree size {size} (the backup's). Checkpoints published after the "
            f"backup, beyond size {size}, are a fork: publish the next checkpoint and tell verifiers "
            "(docs/security.md, \"Restoring from a backup\").")
    return out
