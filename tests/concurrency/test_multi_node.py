"""Several nodes against one PostgreSQL (issue 13 §2): two application servers and two job workers,
each its own process as on separate machines. Requests are driven at both servers while the workers
compete for a slow periodic job; one worker is killed (SIGKILL) in the middle of a run. Every run
of the job starts only when the one before it has finished (or, for the killed one, when its lease
has expired), runs are at least an interval apart, and the surviving worker takes the job over."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
EVERY, LEASE, TAKES = 2, 4, 1.5  # seconds: the slow job's interval, lease and duration
pytestmark = pytest.mark.django_db  # only to learn which database the suite runs on


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True,
                   capture_output=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None


@pytest.fixture
def cluster(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("several nodes share one PostgreSQL (CI's PostgreSQL pass runs this)")
    database = f"hozen_nodes_{uuid.uuid4().hex[:10]}"
    _psql(f"CREATE DATABASE {database}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOZEN_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", HOZEN_DATA_DIR=str(tmp_path / "var"),
               HOZEN_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{database}",
               HOZEN_TEST_SLOW_JOB=f"{EVERY},{LEASE},{TAKES}", HOZEN_WORKERS="1", HOZEN_THREADS="2",
               HOZEN_SHRED_REGISTER=str(tmp_path / "shreds.jsonl"))
    hozen = [sys.executable, "-m", "hozen.cli"]
    done = subprocess.run([*hozen, "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([*hozen, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start, database
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _marks(database: str) -> list[tuple[int, float, float | None]]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc",
                          "SELECT worker, extract(epoch FROM started_at), extract(epoch FROM finished_at) "
                          "FROM testapp_jobmark ORDER BY started_at"], check=True, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        worker, started, finished = line.split("|")
        rows.append((int(worker), float(started), float(finished) if finished else None))
    return rows


def test_two_servers_and_two_workers_run_each_job_once_per_interval_and_survive_a_killed_worker(cluster):
    start, database = cluster
    ports = [_free_port(), _free_port()]
    for port in ports:
        start("serve", "--no-jobs", "--port", str(port))
    workers = [start("jobs", "worker", "--tick", "0.2") for _ in range(2)]
    deadline = time.monotonic() + 90
    while not all(_status(p, "/api/v1/health") == 200 for p in ports):
        assert time.monotonic() < deadline, "the servers did not start"
        time.sleep(0.3)

    # Requests at both servers while the workers compete; then kill a worker in the middle of a run.
    killed = None
    served = []
    while time.monotonic() < deadline and killed is None:
        served += [_status(p, "/signin/") for p in ports]
        running = [m for m in _marks(database) if m[2] is None]
        victim = next((w for w in workers if running and running[-1][0] == w.pid), None)
        if victim is not None and len(_marks(database)) >= 2:
            victim.send_signal(signal.SIGKILL)
            killed = (victim.pid, running[-1][1])
        time.sleep(0.1)
    assert killed, f"no run to interrupt: {_marks(database)}"
    survivor = next(w for w in workers if w.pid != killed[0])
    time.sleep(LEASE + EVERY + TAKES + 3)
    served += [_status(p, "/signin/") for p in ports]
    marks = _marks(database)

    assert served and all(s == 200 for s in served), served
    # The killed run never finished; the survivor took the job over once its lease had expired.
    [cut] = [m for m in marks if m[0] == killed[0] and m[2] is None]
    after = [m for m in marks if m[1] > cut[1]]
    assert after and all(m[0] == survivor.pid for m in after), marks
    assert after[0][1] >= cut[1] + LEASE - 0.5, (cut, after[0])
    # Never two runs at once, and never more often than the interval.
    for earlier, later in zip(marks, marks[1:], strict=False):
        if earlier[2] is not None:
            assert later[1] >= earlier[2] - 0.05, (earlier, later)
        assert later[1] - earlier[1] >= EVERY - 0.05, (earlier, later)
    assert len(marks) >= 3, marks
