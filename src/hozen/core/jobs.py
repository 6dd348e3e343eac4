"""Periodic background jobs (checkpoints, expiry, reminders): a small registry and runner.

Apps register jobs in their AppConfig.ready(); `hozen jobs run` runs every job once (for cron),
`hozen jobs worker` runs them on their intervals until stopped, and `hozen serve` runs a worker
thread beside the embedded server. Each job must be idempotent: two workers, or a rerun after a
crash, must do no harm. Each runs as its own system actor, so its audit entries say which job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("hozen.jobs")


@dataclass
class Job:
    name: str
    every_seconds: int
    fn: Callable[..., object]
    last_run: float = field(default=0.0)


_JOBS: dict[str, Job] = {}


def register(name: str, *, every_seconds: int, fn: Callable[..., object]) -> None:
    """Register `fn(actor=...)` to run every `every_seconds`. Re-registering replaces (app reloads)."""
    _JOBS[name] = Job(name=name, every_seconds=every_seconds, fn=fn)


def registered() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: j.name)


def run_job(job: Job) -> object:
    from django.db import close_old_connections

    from .actor import Actor

    close_old_connections()
    try:
        return job.fn(actor=Actor.job(job.name))
    finally:
        job.last_run = time.monotonic()
        close_old_connections()


def run_due(now: float | None = None) -> list[str]:
    """Run every job whose interval has passed; a failing job is logged and does not stop the others."""
    now = time.monotonic() if now is None else now
    ran = []
    for job in registered():
        if job.last_run and now - job.last_run < job.every_seconds:
            continue
        try:
            run_job(job)
            ran.append(job.name)
        except Exception:  # a job's failure must not stop the others; it is logged with its trace
            log.exception("job %s failed", job.name)
            job.last_run = now
    return ran


def worker(stop: threading.Event, tick_seconds: float = 15.0) -> None:
    while not stop.is_set():
        run_due()
        stop.wait(tick_seconds)
