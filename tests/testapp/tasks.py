"""A slow, idempotent task for tests/concurrency/test_multi_node.py (HOZEN_TEST_SLOW_TASK seconds)."""

from __future__ import annotations

import os
import time

from django.db import transaction
from django_tasks import task


@task()
def mark(token: str) -> str:
    from .models import TaskMark

    with transaction.atomic():
        # Lock-free check is enough here: the unique token refuses a second row, and a run that
        # finds its mark (a worker killed after the commit) does nothing.
        if TaskMark.objects.filter(token=token).exists():
            return "already"
        time.sleep(float(os.environ.get("HOZEN_TEST_SLOW_TASK", "0")))
        TaskMark.objects.create(token=token, worker=str(os.getpid()))
    return "done"
