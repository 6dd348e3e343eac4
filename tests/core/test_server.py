"""`hozen serve` is a production application server (issue 13 §1): with HOZEN_PRODUCTION=1 from a
new data folder it serves pages and their hashed static files (no manual collectstatic), its access
log never holds a query string, SIGHUP reloads it without dropping service, and SIGTERM stops it
and the jobs worker it started."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _wait_until_up(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "hozen serve stopped"
        try:
            if _get(port, "/api/v1/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("hozen serve did not answer")


def _jobs_worker(server_pid: int) -> int | None:
    found = subprocess.run(["pgrep", "-P", str(server_pid), "-f", "jobs worker"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    return pids[0] if pids else None


@pytest.fixture
def production(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(HOZEN_PRODUCTION="1", HOZEN_SECRET_KEY=secrets.token_urlsafe(64), HOZEN_ALLOWED_HOSTS="127.0.0.1",
               HOZEN_DATA_DIR=str(tmp_path / "var"), HOZEN_KEK_FILE=str(tmp_path / "keys" / "kek.json"),
               HOZEN_WORKERS="2", HOZEN_THREADS="2")
    hozen = [sys.executable, "-m", "hozen.cli"]
    for step in (["keys", "init"], ["migrate"]):
        done = subprocess.run([*hozen, *step], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    return env, hozen


def test_production_serves_pages_and_static_files_and_logs_no_query_string(production, tmp_path):
    env, hozen = production
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([*hozen, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_until_up(port, process)
        words = urllib.parse.quote("送電網防護計画")
        status, page = _get(port, f"/signin/?next=/designations/%3Fq%3D{words}/&q={words}")
        assert status == 200 and "<form" in page
        css = re.search(r'/static/[^"]+\.[0-9a-f]{12}\.css', page)  # hashed by collectstatic at start
        assert css, page[:500]
        assert _get(port, css.group(0))[0] == 200
        # The jobs worker is supervised: killed, it is started again.
        first = _jobs_worker(process.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _jobs_worker(process.pid) in (None, first):
            assert time.monotonic() < deadline, "the jobs worker was not started again"
            time.sleep(0.3)
        # SIGHUP: gunicorn starts new workers and retires the old ones; service goes on.
        process.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert _get(port, "/signin/")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    text = log.read_text()
    assert '"GET /signin/" 200' in text and "rid=" in text
    assert urllib.parse.quote("送電網") not in text and "%3Fq" not in text and "next=" not in text, text
    # The jobs worker started beside the server, was started again when killed, and stopped with it.
    assert re.search(r"running \d+ periodic jobs and the task queue", text) and "worker stopped." in text, text
    # (gunicorn's master reaps every child, so the exit status may read 0 here.)
    assert re.search(r"the jobs worker stopped \(exit -?\d+\); starting it again", text), text


def test_a_bad_worker_count_is_refused_naming_the_setting(production):
    env, hozen = production
    done = subprocess.run([*hozen, "serve", "--port", str(_free_port())], env={**env, "HOZEN_WORKERS": "many"},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "HOZEN_WORKERS must be a positive whole number" in done.stderr
