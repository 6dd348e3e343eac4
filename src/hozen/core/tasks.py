"""Work that follows a request (issue 13 §2): Django's tasks API (the ``django-tasks`` backport) with
its database backend (``django-tasks-db``), run by ``hozen jobs worker``.

- **Queued with the data.** ``enqueue(task, ...)`` must be called inside the service's transaction:
  the task's row is written by that transaction, so it exists exactly when the data it is about does
  (ARCHITECTURE rule 10); a request that fails queues nothing. A task's arguments are ids, never
  personal data (the queue is a table any operator can read).
- **Run by any number of workers.** Each worker claims a ready task under ``SELECT … FOR UPDATE SKIP
  LOCKED`` (an exclusive transaction on SQLite), so two workers never claim the same one.
- **Nothing lost when a worker is killed.** A worker keeps a heartbeat row (``core.JobLease`` named
  ``tasks-worker:<id>``) renewed every third of ``heartbeat_lease_seconds()``; the periodic job
  ``core.tasks_requeue`` puts a running task whose worker's heartbeat has lapsed back in the queue.
  A task may therefore start twice, never finish twice: every task does its work in one transaction
  that first locks and checks its own state, so its effect happens exactly once. A task abandoned
  ``MAX_ATTEMPTS`` times (it kills its worker) is marked failed instead of looping.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

log = logging.getLogger("hozen.tasks")



def heartbeat_lease_seconds() -> int:
    """How long a task worker's heartbeat lasts without renewal (`HOZEN_TASK_HEARTBEAT_SECONDS`,
    default 45); it is renewed every third of that, and `core.tasks_requeue` looks for lapsed ones
    as often."""
    from django.conf import settings

    return max(3, int(getattr(settings, "HOZEN_TASK_HEARTBEAT_SECONDS", 45)))

#: A task whose worker died this many times is marked failed rather than queued again.
MAX_ATTEMPTS = 5
_PREFIX = "tasks-worker:"


def enqueue(task, *args, **kwargs):
    """Queue `task` in the caller's transaction (refused outside one: it would commit on its own)."""
    from django.db import connection

    if not connection.in_atomic_block:
        raise RuntimeError("hozen.core.tasks.enqueue must be called inside the service's transaction")
    return task.enqueue(*args, **kwargs)


def worker_id() -> str:
    """This task worker as the queue names it (django-tasks-db allows 64 characters): host, process
    and a random part (containers sharing a host name all run as process 1)."""
    import secrets

    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"[:64]


def _beat(wid: str) -> None:
    from django.utils import timezone

    from .models import JobLease

    until = timezone.now() + dt.timedelta(seconds=heartbeat_lease_seconds())
    if not JobLease.objects.filter(name=_PREFIX + wid).update(holder=wid, leased_until=until):
        JobLease.objects.get_or_create(name=_PREFIX + wid, defaults={"holder": wid, "leased_until": until})


def _heartbeat(wid: str, stop: threading.Event) -> None:
    from django.db import connection

    try:
        while not stop.wait(heartbeat_lease_seconds() / 3):
            try:
                _beat(wid)
            except Exception:  # the database away for a moment: try again at the next beat
                log.exception("task worker %s: the heartbeat could not be written", wid)
    finally:
        connection.close()


def _ready():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().filter(backend_name="default")


def claim_next(wid: str):
    """Claim the next ready task for worker `wid` (None when the queue is empty or busy)."""
    from django.db import OperationalError
    from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

    tasks = _ready()
    try:
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(wid)
            return task_result
    except OperationalError as exc:  # SQLite busy with another claim: the next poll tries again
        if is_locked_database_exception(exc):
            return None
        raise


def _runner(wid: str):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(queue_names=["*"], interval=1.0, batch=False, backend_name="default", startup_delay=False,
                  max_tasks=None, worker_id=wid, excluded_queue_names=[])


def run_ready(limit: int = 1000, *, wid: str = "in-process", heartbeat: bool = False) -> int:
    """Run ready tasks in this process until none is left or `limit` have run (tests, `hozen tasks
    run`). The same claim and run as the worker's; returns how many ran. With `heartbeat` (the
    command line, beside running workers), the tasks in hand are not taken for abandoned."""
    runner = _runner(wid)
    ran = 0
    beat_stop = threading.Event()
    beat = None
    if heartbeat:
        _beat(wid)
        beat = threading.Thread(target=_heartbeat, args=(wid, beat_stop), name="tasks-heartbeat", daemon=True)
        beat.start()
    try:
        while ran < limit:
            task_result = claim_next(wid)
            if task_result is None:
                break
            runner.run_task(task_result)
            ran += 1
    finally:
        if beat is not None:
            from .models import JobLease

            beat_stop.set()
            beat.join()
            JobLease.objects.filter(name=_PREFIX + wid).delete()
    return ran


def work(stop: threading.Event, *, interval: float = 1.0) -> None:
    """The task worker's loop until `stop` is set: heartbeat, claim, run; the task in hand finishes
    before the loop ends."""
    from django.db import close_old_connections

    from .models import JobLease

    wid = worker_id()
    _beat(wid)
    beat_stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(wid, beat_stop), name="tasks-heartbeat", daemon=True)
    beat.start()
    runner = _runner(wid)
    log.info("task worker %s started", wid)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                task_result = claim_next(wid)
            except Exception:  # the database away for a moment: poll again
                log.exception("task worker %s could not reach the queue", wid)
                task_result = None
            if task_result is not None:
                runner.run_task(task_result)
                continue
            close_old_connections()
            stop.wait(interval)
    finally:
        beat_stop.set()
        beat.join()
        try:
            JobLease.objects.filter(name=_PREFIX + wid).delete()  # a clean stop: nothing to requeue
        except Exception:  # the heartbeat then lapses on its own
            log.exception("task worker %s: its heartbeat row could not be removed", wid)
        close_old_connections()


def requeue_abandoned(*, actor=None) -> dict:
    """Queue again every running task whose worker's heartbeat has lapsed (a killed worker); fail one
    abandoned `MAX_ATTEMPTS` times. Heartbeat rows dead for a day are removed. Periodic job."""
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    from .models import JobLease

    now = timezone.now()
    # The running tasks first, the live workers second: a worker that starts and claims a task
    # between the two reads is then seen alive (read the other way round, its task would look
    # abandoned).
    running = list(DBTaskResult.objects.running().values_list("id", "worker_ids"))
    alive = {name[len(_PREFIX):] for name in JobLease.objects.filter(
        name__startswith=_PREFIX, leased_until__gte=now).values_list("name", flat=True)}
    requeued = failed = 0
    for task_id, workers in running:
        if workers and workers[-1] in alive:
            continue
        with transaction.atomic():
            task_result = DBTaskResult.objects.select_for_update().filter(
                id=task_id, status=TaskResultStatus.RUNNING).first()
            if task_result is None or task_result.worker_ids != workers:  # finished or claimed meanwhile
                continue
            if len(workers) >= MAX_ATTEMPTS:
                task_result.set_failed(RuntimeError(
                    f"abandoned by {len(workers)} workers that stopped while running it"))
                failed += 1
                log.error("task %s (%s) failed: its workers stopped %d times while running it",
                          task_id, task_result.task_path, len(workers))
            else:
                task_result.status = TaskResultStatus.READY
                task_result.save(update_fields=["status"])
                requeued += 1
                log.warning("task %s (%s) queued again: its worker %s stopped while running it",
                            task_id, task_result.task_path, workers[-1] if workers else "?")
    JobLease.objects.filter(name__startswith=_PREFIX, leased_until__lt=now - dt.timedelta(days=1)).delete()
    return {"requeued": requeued, "failed": failed}


def queue_summary() -> dict:
    """Counts by status, the oldest ready task's age and the live task workers (`hozen tasks status`)."""
    from django.db.models import Count, Min
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    from .models import JobLease

    counts = {row["status"]: row["n"] for row in DBTaskResult.objects.values("status").annotate(n=Count("id"))}
    oldest = _ready().aggregate(at=Min("enqueued_at"))["at"]
    now = timezone.now()
    workers = sorted(JobLease.objects.filter(name__startswith=_PREFIX, leased_until__gte=now)
                     .values_list("holder", flat=True))
    return {"ready": counts.get(TaskResultStatus.READY, 0), "running": counts.get(TaskResultStatus.RUNNING, 0),
            "successful": counts.get(TaskResultStatus.SUCCESSFUL, 0),
            "failed": counts.get(TaskResultStatus.FAILED, 0),
            "oldest_ready_seconds": round((now - oldest).total_seconds()) if oldest else None,
            "workers": workers}


#: Finished tasks (their outcome and, for a failure, its traceback) are kept this long.
KEEP_FINISHED_DAYS = 30


def prune_finished(*, actor=None) -> int:
    """Remove tasks finished more than `KEEP_FINISHED_DAYS` ago (periodic job)."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - dt.timedelta(days=KEEP_FINISHED_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted
