"""Backup and restore (issue 13 §3): a backup taken, more written and shredded, everything wiped,
the backup restored — the case shredded after the backup stays shredded, what was written after it
is gone, the stored files come back byte for byte, and the audit log verifies. A restore refuses a
keyring that does not open the backup, a database that is not empty, and a changed backup, before it
changes anything. Run on the database the suite runs on (SQLite, or PostgreSQL in CI's second pass),
through the command line in fresh processes, as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db  # only to learn which database the suite runs on

SHRED = """
from hozen.assessment.models import AssessmentCase
from hozen.crypto.services import shred
from hozen.core.actor import Actor
case = AssessmentCase.objects.get(person__account__username="engineer.towa")
print("KEY", shred(Actor.operator("tests"), case, "retention_expired").key_id)
"""

STATE = """
import json
from hozen.assessment.models import AssessmentCase
from hozen.core.models import Account
from hozen.crypto.keys import DataKeyDestroyed, unwrap
case = AssessmentCase.objects.get(person__account__username="engineer.towa")
try:
    unwrap(case.data_key)  # the key every encrypted record of the case is sealed under
    readable = True
except DataKeyDestroyed:
    readable = False
other = AssessmentCase.objects.get(person__account__username="subject2.meti")
print("STATE", json.dumps({"shredded": case.data_key.destroyed_at is not None, "readable": readable,
                           "other_shredded": other.data_key.destroyed_at is not None,
                           "late_user": Account.objects.filter(username="late.user").exists()}))
"""


@pytest.fixture
def operator(tmp_path):
    """`hozen …` in a fresh process with its own data folder and database (and its own PostgreSQL
    database when the suite runs on PostgreSQL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(HOZEN_DATA_DIR=str(tmp_path / "var"), HOZEN_SHRED_REGISTER=str(tmp_path / "register" / "shreds.jsonl"))
    database = None
    if connection.vendor == "postgresql":
        database = f"hozen_backup_{uuid.uuid4().hex[:10]}"
        env["HOZEN_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
        _psql(f"CREATE DATABASE {database}")

    def hozen(*args: str, check: bool = True, **extra_env) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "hozen.cli", *args], cwd=ROOT, env={**env, **extra_env},
                              capture_output=True, text=True, timeout=300)
        if check:
            assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done

    def wipe() -> None:
        if database:
            _psql(f"DROP DATABASE {database} WITH (FORCE)")
            _psql(f"CREATE DATABASE {database}")
        else:
            for path in (tmp_path / "var").glob("hozen.sqlite3*"):
                path.unlink()
        for store in ("vault", "files"):
            subprocess.run(["rm", "-rf", str(tmp_path / "var" / store)], check=True)

    hozen.wipe = wipe
    hozen.data = tmp_path / "var"
    yield hozen
    if database:
        _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True,
                   capture_output=True)


def _state(hozen) -> dict:
    out = hozen("manage", "shell", "-c", STATE).stdout
    return json.loads(out.split("STATE ", 1)[1])


def test_a_restore_keeps_what_was_shredded_after_the_backup_shredded_and_the_log_verifying(operator, tmp_path):
    hozen = operator
    hozen("demo")
    blob = hozen.data / "vault" / "vault" / "0d6f-planted.hzv"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(os.urandom(4096))
    kept = blob.read_bytes()
    before = _state(hozen)
    assert before == {"shredded": False, "readable": True, "other_shredded": False, "late_user": False}

    done = hozen("backup", str(tmp_path / "backup"), "--keyring-to", str(tmp_path / "keys" / "kek.json"))
    assert "manifest signed" in done.stdout and "keyring: copied" in done.stdout
    assert oct((tmp_path / "backup").stat().st_mode & 0o777) == "0o700"
    # After the backup: a case is shredded and an account is made.
    key_id = hozen("manage", "shell", "-c", SHRED).stdout.split("KEY ", 1)[1].strip()
    assert key_id in (tmp_path / "register" / "shreds.jsonl").read_text()
    hozen("users", "create", "late.user", "--role", "subject", "--organisation", "METI", "--name", "後 太郎",
          "--kana", "アト タロウ", "--date-of-birth", "1990-01-01")

    hozen.wipe()
    done = hozen("restore", str(tmp_path / "backup"))
    assert "1 key(s) shredded after the backup destroyed again" in done.stdout, done.stdout
    assert "audit log: ok" in done.stdout and "keys: a data key of each KEK version" in done.stdout
    assert "fork" in done.stdout
    after = _state(hozen)
    assert after == {"shredded": True, "readable": False, "other_shredded": False, "late_user": False}
    assert blob.read_bytes() == kept
    assert hozen("audit", "verify").stdout.startswith("ok:")
    # The keyring the backup was given is the one that opens it.
    assert (tmp_path / "keys" / "kek.json").read_bytes() == (hozen.data / "kek.json").read_bytes()


def test_a_restore_refuses_a_wrong_keyring_a_full_database_and_a_changed_backup(operator, tmp_path):
    hozen = operator
    hozen("demo")
    hozen("backup", str(tmp_path / "backup"))
    # Not into a database that holds data.
    refused = hozen("restore", str(tmp_path / "backup"), check=False)
    assert refused.returncode == 1 and "the database is not empty" in refused.stderr
    # Not with another keyring: refused before anything changes.
    from hozen.crypto.kek import create_keyring_file

    other = tmp_path / "other" / "kek.json"
    other.parent.mkdir()
    create_keyring_file(other)  # (`hozen keys init` refuses: the database holds keys of another keyring)
    refused = hozen("restore", str(tmp_path / "backup"), "--force", check=False, HOZEN_KEK_FILE=str(other))
    assert refused.returncode == 1 and "does not open the backup's data keys" in refused.stderr
    assert "nothing was changed" in refused.stderr
    # Not under a worker still running on the database (its task heartbeat is live).
    hozen("manage", "shell", "-c", "from hozen.core import tasks; tasks._beat('node-7:4242')")
    refused = hozen("restore", str(tmp_path / "backup"), "--force", check=False)
    assert refused.returncode == 1 and "workers are running on this database (node-7:4242)" in refused.stderr
    hozen("manage", "shell", "-c", "from hozen.core.models import JobLease; JobLease.objects.all().delete()")
    # Not a backup changed after it was taken.
    manifest = tmp_path / "backup" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"hozen_version"', '"hozen_version_"'))
    refused = hozen("restore", str(tmp_path / "backup"), "--force", check=False)
    assert refused.returncode == 1 and "signature does not check" in refused.stderr
    # And a backup is never written into a folder that holds something.
    refused = hozen("backup", str(tmp_path / "backup"), check=False)
    assert refused.returncode == 1 and "is not empty" in refused.stderr


def test_a_backup_naming_a_file_outside_itself_is_refused_even_when_signed(tmp_path):
    """A forged backup signed with its own key (an empty database has no key to compare) still cannot
    make a restore write outside the store folders."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from hozen.audit.note import Signer
    from hozen.backup import FORMAT, BackupError, Outcome, _canonical, _read_manifest

    signer = Signer("forger", Ed25519PrivateKey.generate())
    (tmp_path / "files").mkdir()
    evil = "files/vault/../../secret_key"
    manifest = {"format": FORMAT, "database": {"engine": "sqlite", "file": "database.sqlite3"},
                "files": {evil: "0" * 64}, "audit": {"verifier_key": signer.verifier().key_text}}
    body = _canonical(manifest)
    (tmp_path / "manifest.json").write_bytes(body)
    (tmp_path / "manifest.sig").write_text(base64.b64encode(signer.sign(body)).decode())
    with pytest.raises(BackupError, match="names only files inside itself"):
        _read_manifest(tmp_path, Outcome(), None)
