"""Settings come from the environment only (issue 3 §3)."""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    clean.update({"HOZEN_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def _production_env(tmp_path: Path) -> dict[str, str]:
    from hozen.crypto.kek import create_keyring_file

    kek = tmp_path / "kek.json"
    if not kek.exists():
        create_keyring_file(kek)
    return {"HOZEN_PRODUCTION": "1", "HOZEN_SECRET_KEY": secrets.token_urlsafe(64),
            "HOZEN_ALLOWED_HOSTS": "hozen.example.go.jp", "HOZEN_KEK_FILE": str(kek)}


def test_production_settings_pass_the_deploy_check_with_no_warnings(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(tmp_path)
    del env["HOZEN_SECRET_KEY"]
    result = _run(["manage.py", "check"], env, tmp_path)
    assert result.returncode != 0
    assert "HOZEN_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_a_key_encryption_key(tmp_path):
    env = _production_env(tmp_path)
    env["HOZEN_KEK_FILE"] = str(tmp_path / "missing.json")
    result = _run(["manage.py", "check", "--deploy"], env, tmp_path)
    assert result.returncode != 0
    assert "no key-encryption key" in result.stderr


def test_debug_is_off_unless_set():
    import hozen.settings as configured

    assert os.environ.get("HOZEN_DEBUG") or configured.DEBUG is False


def test_embedded_default_generates_and_keeps_a_secret_key(tmp_path):
    code = "import hozen.settings as s; print(s.SECRET_KEY)"
    first = _run(["-c", code], {}, tmp_path)
    second = _run(["-c", code], {}, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) > 50
    assert oct((tmp_path / "data" / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    result = _run(["manage.py", "migrate", "-v0"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "data" / "hozen.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    import hozen.settings as configured

    if configured.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert configured.DATABASES["default"]["OPTIONS"]["timeout"] >= 5


def test_bad_number_in_a_variable_is_a_clear_error(tmp_path):
    result = _run(["manage.py", "check"], {"HOZEN_SESSION_IDLE_MINUTES": "thirty"}, tmp_path)
    assert result.returncode != 0
    assert "HOZEN_SESSION_IDLE_MINUTES must be a whole number" in result.stderr


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:5432/hozen"])
def test_database_url_selects_postgresql(tmp_path, url):
    result = _run(["-c", "import hozen.settings as s; print(s.DATABASES['default']['ENGINE'])"],
                  {"HOZEN_DATABASE_URL": url}, tmp_path)
    assert result.stdout.strip() == "django.db.backends.postgresql"
