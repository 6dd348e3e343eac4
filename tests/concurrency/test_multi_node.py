"""Several nodes against one PostgreSQL (issue 13 §2): two application servers and two job workers,
each its own process as on separate machines. Requests are driven at both servers (some of them
queue tasks: ledger files) while the workers compete for a slow periodic job and a queue of slow
tasks; one worker is killed (SIGKILL) in the middle of a job run and a task. Every run of the job
starts only when the one before it has finished (or, for the killed one, when its lease has
expired), runs are at least an interval apart, and the surviving worker takes the job over; every
queued task has its effect exactly once, the killed worker's task included."""

from __future__ import annotations

import http.client
import json
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
TASKS, TASK_TAKES, HEARTBEAT = 16, 1.0, 3  # slow tasks queued, each one's duration, a task worker's heartbeat
SETUP = """
import django; django.setup()
from django.db import transaction
from hozen.core import tasks
from tests import factories
from tests.testapp.tasks import mark
people = factories.people(factories.organisations())
with transaction.atomic():
    for i in range(%d):
        tasks.enqueue(mark, f"token-{i}")
print(factories.api_token(people["esi_manager"]))
"""
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
               HOZEN_TEST_SLOW_TASK=str(TASK_TAKES), HOZEN_TASK_HEARTBEAT_SECONDS=str(HEARTBEAT),
               HOZEN_SHRED_REGISTER=str(tmp_path / "shreds.jsonl"))
    hozen = [sys.executable, "-m", "hozen.cli"]
    done = subprocess.run([*hozen, "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-c", SETUP % TASKS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        process = subprocess.Popen([*hozen, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start, database, token
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _sql(database: str, query: str) -> list[list[str]]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc", query], check=True,
                         capture_output=True, text=True)
    return [line.split("|") for line in out.stdout.splitlines()]


def _prepare(port: int, token: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/v1/designations/ledger/METI/prepared", body=json.dumps({"format": "csv"}),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        return conn.getresponse().status
    except OSError:
        return None


def _running_task_of(database: str, pid: int) -> bool:
    return any(json.loads(row[0])[-1].split(":")[-2] == str(pid) for row in _sql(
        database, "SELECT worker_ids FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"))


def _marks(database: str) -> list[tuple[int, float, float | None]]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc",
                          "SELECT worker, extract(epoch FROM started_at), extract(epoch FROM finished_at) "
                          "FROM testapp_jobmark ORDER BY started_at"], check=True, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines():
        worker, started, finished = line.split("|")
        rows.append((int(worker), float(started), float(finished) if finished else None))
    return rows


def test_two_servers_and_two_workers_run_each_job_once_per_interval_and_each_task_once_despite_a_killed_worker(
        cluster):
    start, database, token = cluster
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
    served, asked = [], []
    while time.monotonic() < deadline and killed is None:
        served += [_status(p, "/signin/") for p in ports]
        asked += [_prepare(p, token) for p in ports]
        running = [m for m in _marks(database) if m[2] is None]
        victim = next((w for w in workers if running and running[-1][0] == w.pid), None)
        if victim is not None and len(_marks(database)) >= 2 and _running_task_of(database, victim.pid):
            victim.send_signal(signal.SIGKILL)
            killed = (victim.pid, running[-1][1])
        time.sleep(0.1)
    assert killed, f"no run to interrupt: {_marks(database)}"
    survivor = next(w for w in workers if w.pid != killed[0])
    time.sleep(LEASE + EVERY + TAKES + 3)
    served += [_status(p, "/signin/") for p in ports]
    queued = TASKS + len(asked)
    while time.monotonic() < deadline + 60 and _sql(
            database, "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'SUCCESSFUL'")[0][0] != str(
            queued):
        time.sleep(0.5)
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

    # Every queued task had its effect exactly once, the one the killed worker held included.
    assert asked and all(s == 202 for s in asked), asked
    results = _sql(database, "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult")
    assert len(results) == queued and {r[0] for r in results} == {"SUCCESSFUL"}, results
    assert _sql(database, "SELECT count(*), count(DISTINCT token) FROM testapp_taskmark") == [[str(TASKS), str(TASKS)]]
    assert _sql(database, "SELECT status, count(*) FROM designation_preparedledger GROUP BY status") == [
        ["ready", str(len(asked))]]
    assert _sql(database, "SELECT count(*) FROM audit_auditentry WHERE action = 'designation.ledger_prepared'") == [
        [str(len(asked))]]
    rerun = [json.loads(r[1]) for r in results if len(json.loads(r[1])) > 1]
    pid = str(killed[0])  # a worker id is host:pid:random
    assert any(ids[0].split(":")[-2] == pid and ids[-1].split(":")[-2] != pid for ids in rerun), results
