"""Keys cannot be replaced silently (issue 13 §4): a database restored without its keyring, or
started with another one, is refused loudly at every door — never a new keyring over existing data,
never a data key wrapped by a keyring that does not open the ones already held — and the data
folder, the database file and its WAL are the owner's alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from hozen.crypto import probe, provider
from hozen.crypto.apps import check_kek, check_keys_open
from hozen.crypto.kek import create_keyring_file
from hozen.crypto.provider import KekUnavailable

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def held(keyring, make_dossier):
    """A database holding a protected record's data key, wrapped by the test's keyring."""
    return make_dossier()


@pytest.fixture
def other_keyring(tmp_path, monkeypatch):
    """Swap in a keyring that is not the one the data was written with."""
    def swap():
        path = tmp_path / "other" / "kek.json"
        path.parent.mkdir()
        create_keyring_file(path)
        monkeypatch.setenv("HOZEN_KEK_FILE", str(path))
        provider.reset_cache()
        probe.forget()
        return path
    yield swap
    provider.reset_cache()
    probe.forget()


def test_no_keyring_is_created_over_a_database_that_holds_wrapped_keys(held, tmp_path, monkeypatch, settings):
    settings.PRODUCTION = False
    missing = tmp_path / "restored" / "kek.json"
    monkeypatch.setenv("HOZEN_KEK_FILE", str(missing))
    provider.reset_cache()
    with pytest.raises(KekUnavailable, match="restore the keyring that belongs to this database"):
        provider.get_provider()
    assert not missing.exists()
    [error] = check_kek()
    assert error.id == "hozen.E001" and "holds" in error.msg
    provider.reset_cache()


def test_a_keyring_that_does_not_open_the_data_keys_fails_the_check(held, other_keyring):
    other_keyring()
    [error] = check_keys_open(databases=["default"])
    assert error.id == "hozen.E002" and "do not open with this keyring" in error.msg
    assert probe.problems() and "KEK version 1" in probe.problems()[0]


def test_the_keyring_the_data_was_written_with_passes_the_check(held):
    assert check_keys_open(databases=["default"]) == [] and probe.problems() == []


def test_no_data_key_is_wrapped_by_a_keyring_that_does_not_open_the_ones_held(held, other_keyring, make_dossier):
    from hozen.crypto.models import DataKey
    from tests.testapp.models import Dossier

    other_keyring()
    records, keys = Dossier.objects.count(), DataKey.objects.count()
    with pytest.raises(KekUnavailable, match="nothing was written"):
        make_dossier()
    assert (Dossier.objects.count(), DataKey.objects.count()) == (records, keys)


def test_health_is_503_when_the_keyring_does_not_open_the_keys(held, other_keyring):
    probe.forget()
    good = Client().get("/api/v1/health")
    assert good.status_code == 200 and good.json()["keys"] == "ok"
    other_keyring()
    bad = Client().get("/api/v1/health")
    assert bad.status_code == 503 and bad.json() == {**good.json(), "status": "degraded", "keys": "unavailable"}


def test_keys_status_says_no_and_names_the_problem(held, other_keyring):
    from hozen.core.actor import Actor
    from hozen.crypto.queries import key_status

    assert key_status(Actor.operator("tests"))["keys_open"] is True
    other_keyring()
    status = key_status(Actor.operator("tests"))
    assert status["keys_open"] is False and "do not open" in status["problems"][0]


def _hozen(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(HOZEN_DATA_DIR=str(data_dir))
    return subprocess.run([sys.executable, "-m", "hozen.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_data_folder_is_0700_and_the_database_and_its_wal_0600(tmp_path):
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # an earlier version's folder, open to others: tightened at start
    result = _hozen(data, "migrate")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("hozen.sqlite3", "hozen.sqlite3-wal", "secret_key", "kek.json"):
        path = data / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert (data / "hozen.sqlite3").exists()


def test_hozen_check_names_each_failing_check_with_its_id(tmp_path):
    data = tmp_path / "var"
    assert _hozen(data, "migrate").returncode == 0
    # A keyring that is not JSON: the check fails, and says which check and why.
    (data / "kek.json").write_text("not a keyring")
    os.chmod(data / "kek.json", 0o600)
    result = _hozen(data, "check")
    assert result.returncode == 1
    assert "hozen.E001:" in result.stderr and "check(s) failed" in result.stderr, result.stderr


def test_serve_runs_the_checks_before_anything_starts(tmp_path):
    """An unmigrated database: `hozen serve` stops with one line saying what to do, no traceback, and
    neither the jobs nor the server start."""
    result = _hozen(tmp_path / "var", "serve", "--port", "8765")
    assert result.returncode == 1
    assert "migrations are not applied; run `hozen migrate`" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Starting development server" not in result.stdout
