"""Periodic background jobs (checkpoints, expiry, reminders): a small registry and runner.

Apps register jobs in their AppConfig.ready(); `hozen jobs run` runs every job once (for cron),
`hozen jobs worker` runs them on their intervals until stopped, and `hozen serve` starts a worker
process beside the server (`--no-jobs` leaves them to workers elsewhere). Any number of
workers on any number of machines may run: each job holds a lease in the database
(`core.JobLease`) while it runs, and its interval is counted from its last start anywhere, so each
job runs once per interval and never twice at once; the running worker renews the lease (a
heartbeat every third of `lease_seconds`, 5 minutes by default), and a crashed worker's lease
expires `lease_seconds` after its last heartbeat. Each job must still be idempotent (a
run cut off by a crash is run again). Each runs as its own system actor, so its audit entries say
which job.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import F

log = logging.getLogger("hozen.jobs")


#: How long a lease lasts without renewal: a running job's worker renews it every third of this
#: (a heartbeat), so a job may run for hours; a crashed worker's lease expires this long after its
#: last heartbeat, and another worker takes the job over.
DEFAULT_LEASE_SECONDS = 5 * 60


@dataclass
class Job:
    name: str
    every_seconds: int
    fn: Callable[..., object]
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    last_run: float = field(default=0.0)


_JOBS: dict[str, Job] = {}


def register(name: str, *, every_seconds: int, fn: Callable[..., object], lease_seconds: int | None = None) -> None:
    """Register `fn(actor=...)` to run every `every_seconds`. Re-registering replaces (app reloads)."""
    _JOBS[name] = Job(name=name, every_seconds=every_seconds, fn=fn,
                      lease_seconds=lease_seconds or DEFAULT_LEASE_SECONDS)


def registered() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: j.name)


def worker_id() -> str:
    """This worker, as a lease names it: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:200]


def _ensure_row(name: str) -> None:
    from django.db import IntegrityError, transaction

    from .models import JobLease

    if JobLease.objects.filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            JobLease.objects.create(name=name)
    except IntegrityError:  # another worker made it a moment ago
        pass


def acquire(job: Job, *, holder: str, force: bool = False):
    """Take `job`'s lease if it is free (or expired) and, unless `force`, its interval has passed
    since the last start anywhere. Returns the start time (the lease's token) or None."""
    from django.db.models import Q
    from django.utils import timezone

    from .models import JobLease

    _ensure_row(job.name)
    now = timezone.now()
    free = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    due = Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - dt.timedelta(seconds=job.every_seconds))
    rows = JobLease.objects.filter(free, name=job.name)
    if not force:
        rows = rows.filter(due)
    taken = rows.update(holder=holder, leased_until=now + dt.timedelta(seconds=job.lease_seconds),
                        last_started_at=now, runs=F("runs") + 1)
    return now if taken == 1 else None


def release(job: Job, *, holder: str, started_at, outcome: str) -> None:
    """Give the lease back, if it is still this run's (an expired lease taken over is not touched)."""
    from django.utils import timezone

    from .models import JobLease

    JobLease.objects.filter(name=job.name, holder=holder, last_started_at=started_at).update(
        leased_until=None, last_finished_at=timezone.now(), last_outcome=outcome)


def _heartbeat(job: Job, holder: str, started_at, stop: threading.Event) -> None:
    """Renew the lease while the job runs (its own connection: this is another thread)."""
    from django.db import connection
    from django.utils import timezone

    from .models import JobLease

    try:
        while not stop.wait(max(0.5, job.lease_seconds / 3)):
            JobLease.objects.filter(name=job.name, holder=holder, last_started_at=started_at).update(
                leased_until=timezone.now() + dt.timedelta(seconds=job.lease_seconds))
    except Exception:  # the database away for a moment: the lease may lapse, the job's own work goes on
        log.exception("job %s: the lease could not be renewed", job.name)
    finally:
        connection.close()


def run_job(job: Job) -> object:
    """Run one job now, in this process, without a lease (tests; `run_leased` is what workers use)."""
    from django.db import close_old_connections

    from .actor import Actor

    close_old_connections()
    try:
        return job.fn(actor=Actor.job(job.name))
    finally:
        job.last_run = time.monotonic()
        close_old_connections()


#: What `run_leased` answers when the job was not run here (not due, or running on another worker).
NOT_RUN = object()


def run_leased(job: Job, *, force: bool = False, holder: str | None = None):
    """Run `job` if this worker gets its lease; `NOT_RUN` when another holds it or it is not due."""
    from django.db import close_old_connections

    close_old_connections()
    holder = holder or worker_id()
    started = acquire(job, holder=holder, force=force)
    if started is None:
        return NOT_RUN
    outcome = "failed"
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(job, holder, started, stop), name=f"lease-{job.name}",
                            daemon=True)
    beat.start()
    try:
        result = run_job(job)
        outcome = "ok"
        return result
    finally:
        stop.set()
        beat.join()
        release(job, holder=holder, started_at=started, outcome=outcome)


def run_due(stop: threading.Event | None = None) -> list[str]:
    """Run every job that is due and whose lease this worker gets; a failing job is logged and does
    not stop the others. The interval is kept in the database, so it holds across workers. When
    `stop` is set, the job in hand finishes and the rest wait for the next worker."""
    ran = []
    for job in registered():
        if stop is not None and stop.is_set():
            break
        try:
            if run_leased(job) is not NOT_RUN:
                ran.append(job.name)
        except Exception:  # a job's failure must not stop the others; it is logged with its trace
            log.exception("job %s failed", job.name)
    return ran


def worker(stop: threading.Event, tick_seconds: float = 15.0) -> None:
    while not stop.is_set():
        try:
            run_due(stop)
        except Exception:  # the database away for a moment: try again next tick
            log.exception("job runner could not reach the database")
        stop.wait(tick_seconds)
