"""A missing or unusable key-encryption key is reported at start-up by the system check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hozen.crypto import provider
from hozen.crypto.apps import check_kek

ROOT = Path(__file__).resolve().parents[2]


def test_missing_keyring_is_a_startup_check_error_in_production(tmp_path, monkeypatch, settings):
    settings.PRODUCTION = True
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_FILE", str(tmp_path / "absent.json"))
    provider.reset_cache()
    [error] = check_kek()
    provider.reset_cache()
    assert error.id == "hozen.E001"
    assert f"no key-encryption key: {tmp_path / 'absent.json'} does not exist" in error.msg
    assert "hozen keys init" in error.hint


def test_embedded_default_creates_a_missing_keyring_on_first_start(db, tmp_path, monkeypatch, settings):
    """A new database (no wrapped keys yet): the keyring is made; see test_keys_not_replaced for a held one."""
    settings.PRODUCTION = False
    monkeypatch.delenv("HOZEN_KEK", raising=False)
    monkeypatch.setenv("HOZEN_KEK_FILE", str(tmp_path / "kek.json"))
    provider.reset_cache()
    assert check_kek() == []
    assert oct((tmp_path / "kek.json").stat().st_mode & 0o777) == "0o600"
    provider.reset_cache()


def test_readable_keyring_is_a_startup_check_error(keyring, monkeypatch):
    os.chmod(keyring, 0o644)
    provider.reset_cache()
    [error] = check_kek()
    assert "chmod 600" in error.msg


def test_keyring_present_passes_the_check(keyring):
    assert check_kek() == []


def _deploy_check(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    base.update(HOZEN_PRODUCTION="1", HOZEN_SECRET_KEY="x" * 60, HOZEN_DATA_DIR=str(tmp_path),
                HOZEN_ALLOWED_HOSTS="hozen.example", DJANGO_SETTINGS_MODULE="hozen.settings", **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not (ROOT / "manage.py").exists(), reason="needs the source tree")
def test_production_deploy_check_names_the_missing_keyring_and_passes_with_one(tmp_path):
    missing = _deploy_check(tmp_path)
    assert missing.returncode != 0
    assert f"(hozen.E001) no key-encryption key: {tmp_path / 'kek.json'} does not exist" in missing.stderr
    from hozen.crypto.kek import create_keyring_file

    create_keyring_file(tmp_path / "kek.json")
    present = _deploy_check(tmp_path)
    assert "hozen.E001" not in present.stdout + present.stderr, present.stderr


def _wsgi_start(tmp_path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    base.update(HOZEN_PRODUCTION="1", HOZEN_SECRET_KEY="x" * 60, HOZEN_DATA_DIR=str(tmp_path),
                HOZEN_ALLOWED_HOSTS="hozen.example")
    return subprocess.run([sys.executable, "-c", "import hozen.wsgi"], cwd=tmp_path, env=base,
                          capture_output=True, text=True, timeout=60)


def test_production_wsgi_start_fails_on_a_missing_keyring_and_starts_with_one(tmp_path):
    # gunicorn runs no system checks: the WSGI module itself refuses to start without the KEK.
    missing = _wsgi_start(tmp_path)
    assert missing.returncode != 0
    assert f"(hozen.E001) no key-encryption key: {tmp_path / 'kek.json'} does not exist" in missing.stderr
    from hozen.crypto.kek import create_keyring_file

    create_keyring_file(tmp_path / "kek.json")
    started = _wsgi_start(tmp_path)
    assert started.returncode == 0, started.stderr
