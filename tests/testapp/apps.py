from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import os

        from . import rules  # noqa: F401  (registers the rules of the test models' actions)

        if os.environ.get("HOZEN_TEST_SLOW_JOB"):  # tests/concurrency/test_multi_node.py
            from hozen.core import jobs

            every, lease, takes = (float(x) for x in os.environ["HOZEN_TEST_SLOW_JOB"].split(","))
            jobs.register("tests.slow", every_seconds=int(every), fn=_slow_job(takes), lease_seconds=int(lease))


def _slow_job(seconds: float):
    def run(*, actor):
        import os
        import time

        from django.utils import timezone

        from .models import JobMark

        mark = JobMark.objects.create(worker=os.getpid(), started_at=timezone.now())
        time.sleep(seconds)
        JobMark.objects.filter(pk=mark.pk).update(finished_at=timezone.now())
    return run
