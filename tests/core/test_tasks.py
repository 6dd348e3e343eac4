"""Work that follows a request (issue 13 §2): queued with the data through Django's tasks API and its
database backend, claimed by one worker only, and never lost when a worker is killed."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, TaskResultStatus

from hozen.core import tasks
from hozen.core.models import JobLease
from tests.concurrency.harness import race
from tests.testapp.models import TaskMark
from tests.testapp.tasks import mark


def _queue(*tokens: str) -> list[str]:
    with transaction.atomic():
        return [tasks.enqueue(mark, token).id for token in tokens]


@pytest.mark.django_db(transaction=True)  # outside any transaction, as a careless caller would be
def test_a_task_is_queued_only_inside_the_services_transaction():
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        tasks.enqueue(mark, "outside")
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_a_task_queued_in_a_transaction_that_rolls_back_is_not_queued():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        tasks.enqueue(mark, "rolled-back")
        1 / 0  # noqa: B018 - the service fails after queueing
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_ready_tasks_run_once_and_are_marked_successful():
    _queue("a", "b")
    assert tasks.run_ready(wid="w1") == 2
    assert tasks.run_ready(wid="w1") == 0
    assert sorted(TaskMark.objects.values_list("token", flat=True)) == ["a", "b"]
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}


@pytest.mark.django_db
def test_a_running_task_whose_worker_stopped_beating_is_queued_again_and_runs_once():
    [task_id] = _queue("killed")
    assert str(tasks.claim_next("gone:1").id) == task_id  # the worker claims it, then is killed
    tasks._beat("alive:2")
    assert tasks.requeue_abandoned() == {"requeued": 1, "failed": 0}
    assert DBTaskResult.objects.get(id=task_id).status == TaskResultStatus.READY
    assert tasks.run_ready(wid="alive:2") == 1
    row = DBTaskResult.objects.get(id=task_id)
    assert (row.status, row.worker_ids) == (TaskResultStatus.SUCCESSFUL, ["gone:1", "alive:2"])
    assert TaskMark.objects.filter(token="killed").count() == 1


@pytest.mark.django_db
def test_a_task_whose_worker_is_alive_is_left_running():
    [task_id] = _queue("busy")
    tasks._beat("busy:1")
    tasks.claim_next("busy:1")
    assert tasks.requeue_abandoned() == {"requeued": 0, "failed": 0}
    assert DBTaskResult.objects.get(id=task_id).status == TaskResultStatus.RUNNING


@pytest.mark.django_db
def test_a_heartbeat_lapses_after_its_lease_and_the_task_goes_back():
    [task_id] = _queue("lapsed")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        tasks._beat("slow:1")
        tasks.claim_next("slow:1")
        traveller.shift(dt.timedelta(seconds=tasks.heartbeat_lease_seconds() + 1))
        assert tasks.requeue_abandoned()["requeued"] == 1
    assert DBTaskResult.objects.get(id=task_id).status == TaskResultStatus.READY


@pytest.mark.django_db
def test_a_task_that_kills_every_worker_fails_after_max_attempts_instead_of_looping():
    [task_id] = _queue("poison")
    for attempt in range(tasks.MAX_ATTEMPTS):
        assert str(tasks.claim_next(f"dead:{attempt}").id) == task_id
        tasks.requeue_abandoned()
    row = DBTaskResult.objects.get(id=task_id)
    assert row.status == TaskResultStatus.FAILED
    assert f"abandoned by {tasks.MAX_ATTEMPTS} workers" in row.traceback
    assert not TaskMark.objects.exists()


@pytest.mark.django_db
def test_finished_tasks_are_pruned_after_30_days_and_waiting_ones_never():
    _queue("old", "waiting")
    tasks.run_ready(limit=1)
    with time_machine.travel(timezone.now() + dt.timedelta(days=tasks.KEEP_FINISHED_DAYS + 1)):
        assert tasks.prune_finished() == 1
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == [TaskResultStatus.READY]


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_take_the_same_task():
    _queue(*[f"t{i}" for i in range(6)])
    outcomes = race(*[lambda i=i: tasks.run_ready(wid=f"worker:{i}") for i in range(3)])
    assert [o.error for o in outcomes] == [None, None, None]
    assert sum(o.value for o in outcomes) == 6
    assert TaskMark.objects.count() == 6
    for row in DBTaskResult.objects.all():
        assert len(row.worker_ids) == 1 and row.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db(transaction=True)  # the loop recycles connections, as a worker does
def test_a_clean_stop_removes_the_workers_heartbeat():
    import threading

    stop = threading.Event()
    stop.set()
    tasks.work(stop, interval=0.01)
    assert not JobLease.objects.filter(name__startswith="tasks-worker:").exists()


@pytest.mark.django_db
def test_tasks_status_and_run_on_the_command_line(capsys):
    from hozen.cli import main

    _queue("one", "two")
    tasks.run_ready(limit=1)
    tasks._beat("node-1:42")
    assert main(["tasks", "status", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ready"], summary["running"], summary["successful"], summary["failed"]) == (1, 0, 1, 0)
    assert summary["workers"] == ["node-1:42"] and summary["oldest_ready_seconds"] is not None
    assert main(["tasks", "status"]) == 0
    assert "ready 1" in capsys.readouterr().out
    assert main(["tasks", "run"]) == 0
    assert capsys.readouterr().out.strip() == "ran 1 task(s)"
    assert TaskMark.objects.count() == 2


def test_the_task_heartbeat_setting_refuses_a_bad_value(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], capture_output=True, text=True,
                          env={"DJANGO_SETTINGS_MODULE": "hozen.settings", "HOZEN_TASK_HEARTBEAT_SECONDS": "soon",
                               "HOZEN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "HOZEN_TASK_HEARTBEAT_SECONDS must be a whole number, got 'soon'" in done.stderr
