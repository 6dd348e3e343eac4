"""Jobs run once across many workers (issue 13 §2): each periodic job holds a lease in the database
while it runs, its interval is counted from its last start on any worker, and a crashed worker's
lease expires."""

from __future__ import annotations

import threading
import time

import pytest
import time_machine
from django.utils import timezone

from hozen.core import jobs
from hozen.core.models import JobLease
from tests.concurrency.harness import race


@pytest.fixture
def counted():
    """A job that counts its runs (and, when asked, takes a moment or fails)."""
    runs: list[str] = []
    state = {"sleep": 0.0, "fail": False}

    def fn(*, actor):
        runs.append(actor.system_name)
        if state["sleep"]:
            time.sleep(state["sleep"])
        if state["fail"]:
            raise RuntimeError("the job failed")
        return len(runs)

    job = jobs.Job(name="tests.counted", every_seconds=300, fn=fn, lease_seconds=600)
    return job, runs, state


@pytest.mark.django_db(transaction=True)  # the runner recycles connections, as a worker does
def test_a_job_runs_once_per_interval_across_workers(counted):
    job, runs, _ = counted
    with time_machine.travel("2026-06-01 10:00:00+09:00", tick=False):
        assert jobs.run_leased(job, holder="node-a") == 1
        assert jobs.run_leased(job, holder="node-b") is jobs.NOT_RUN  # not due: it ran on node-a
    with time_machine.travel("2026-06-01 10:04:59+09:00", tick=False):
        assert jobs.run_leased(job, holder="node-b") is jobs.NOT_RUN
    with time_machine.travel("2026-06-01 10:05:00+09:00", tick=False):
        assert jobs.run_leased(job, holder="node-b") == 2
    lease = JobLease.objects.get(name=job.name)
    assert (lease.runs, lease.last_outcome, lease.leased_until) == (2, "ok", None)


@pytest.mark.django_db(transaction=True)  # the runner recycles connections, as a worker does
def test_a_crashed_workers_lease_expires_and_another_worker_takes_the_job(counted):
    job, runs, _ = counted
    with time_machine.travel("2026-06-01 10:00:00+09:00", tick=False):
        started = jobs.acquire(job, holder="node-a")  # node-a takes the job and dies: no release
        assert started is not None
    with time_machine.travel("2026-06-01 10:06:00+09:00", tick=False):  # due again, but still leased
        assert jobs.run_leased(job, holder="node-b") is jobs.NOT_RUN
        assert jobs.run_leased(job, holder="cron", force=True) is jobs.NOT_RUN  # not even forced
    with time_machine.travel("2026-06-01 10:10:01+09:00", tick=False):  # the lease (600 s) is over
        assert jobs.run_leased(job, holder="node-b") == 1
    # node-a comes back and gives back a lease it no longer holds: nothing of node-b's run changes.
    jobs.release(job, holder="node-a", started_at=started, outcome="ok")
    lease = JobLease.objects.get(name=job.name)
    assert lease.holder == "node-b" and lease.last_outcome == "ok"


@pytest.mark.django_db(transaction=True)  # the runner recycles connections, as a worker does
def test_a_failing_job_gives_its_lease_back_and_says_it_failed(counted):
    job, runs, state = counted
    state["fail"] = True
    with pytest.raises(RuntimeError):
        jobs.run_leased(job, holder="node-a")
    lease = JobLease.objects.get(name=job.name)
    assert lease.leased_until is None and lease.last_outcome == "failed" and lease.last_finished_at is not None


@pytest.mark.django_db(transaction=True)  # the runner recycles connections, as a worker does
def test_run_due_logs_a_failing_job_and_runs_the_others(counted, monkeypatch, caplog):
    job, runs, state = counted
    state["fail"] = True
    other_runs = []
    other = jobs.Job(name="tests.other", every_seconds=300, fn=lambda *, actor: other_runs.append(1))
    monkeypatch.setattr(jobs, "registered", lambda: [job, other])
    assert jobs.run_due() == ["tests.other"]
    assert other_runs == [1] and "job tests.counted failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_job_run_it_once(counted):
    """Four workers (threads, each with its own connection) reach the job at the same moment."""
    job, runs, state = counted
    state["sleep"] = 0.2  # the winner still holds the lease while the others try
    outcomes = race(*[(lambda n=n: jobs.run_leased(job, holder=f"node-{n}")) for n in range(4)])
    assert [o.error for o in outcomes] == [None] * 4
    assert len(runs) == 1 and sum(o.value is not jobs.NOT_RUN for o in outcomes) == 1
    assert JobLease.objects.get(name=job.name).runs == 1


@pytest.mark.django_db(transaction=True)
def test_a_forced_run_never_runs_beside_a_running_one(counted):
    job, runs, state = counted
    state["sleep"] = 0.5
    first = threading.Thread(target=jobs.run_leased, args=(job,), kwargs={"holder": "node-a"})
    first.start()
    deadline = time.monotonic() + 10
    while not JobLease.objects.filter(name=job.name, leased_until__gt=timezone.now()).exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert jobs.run_leased(job, holder="cron", force=True) is jobs.NOT_RUN
    first.join()
    state["sleep"] = 0
    assert jobs.run_leased(job, holder="cron", force=True) == 2  # forced: ignores the interval once free


@pytest.mark.django_db(transaction=True)
def test_jobs_list_shows_each_jobs_last_run_and_jobs_run_skips_one_running_elsewhere(counted, monkeypatch, capsys):
    from hozen.cli import main

    job, runs, _ = counted
    monkeypatch.setattr(jobs, "registered", lambda: [job])
    assert main(["jobs", "list"]) == 0
    assert "tests.counted" in capsys.readouterr().out and not runs
    jobs.acquire(job, holder="node-a")  # running on node-a
    assert main(["jobs", "run"]) == 0
    assert "tests.counted: skipped: running on another worker" in capsys.readouterr().out and not runs
    assert main(["jobs", "list", "--json"]) == 0
    assert '"running_on": "node-a"' in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_a_running_job_renews_its_lease_so_a_long_run_is_never_taken_over(counted):
    """The lease is 1.5 s; the run takes 2 s: the heartbeat keeps it, and no other worker starts it."""
    job, runs, state = counted
    job.lease_seconds, job.every_seconds, state["sleep"] = 1.5, 0, 2.0
    first = threading.Thread(target=jobs.run_leased, args=(job,), kwargs={"holder": "node-a"})
    first.start()
    time.sleep(1.8)  # beyond the lease, but the heartbeat (every 0.5 s) has renewed it
    assert jobs.run_leased(job, holder="node-b") is jobs.NOT_RUN
    first.join()
    assert len(runs) == 1 and JobLease.objects.get(name=job.name).last_outcome == "ok"
