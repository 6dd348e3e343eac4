from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import os

        from django.db.models.signals import post_migrate

        from . import rules  # noqa: F401  (registers the rules of the test models' actions)

        post_migrate.connect(_reload_shipped_packs, sender=self)

        if os.environ.get("HOZEN_TEST_SLOW_JOB"):  # tests/concurrency/test_multi_node.py
            from hozen.core import jobs

            every, lease, takes = (float(x) for x in os.environ["HOZEN_TEST_SLOW_JOB"].split(","))
            jobs.register("tests.slow", every_seconds=int(every), fn=_slow_job(takes), lease_seconds=int(lease))


def _reload_shipped_packs(*, using, apps=None, **kwargs) -> None:
    """The shipped rules packs again after a transactional test's flush, as rules.0002 loaded them.

    A transactional test (transactional_db, live_server) ends by flushing every table, and the flush
    sends post_migrate; the packs the migration loaded would be gone for every later test. In one
    process pytest-django runs the transactional tests after all the others, so nothing noticed;
    under pytest-xdist a worker runs whole files one after another, and a test needing a pack
    (current_pack) after another file's transactional test failed with no_rules_pack. Idempotent:
    after migrate, when the packs are there, nothing is written.
    """
    from django.apps import apps as global_apps

    from hozen.rules.storage import load_shipped

    apps = apps or global_apps  # migrate sends the migrated state's apps, flush none
    RulesPack = apps.get_model("rules", "RulesPack")
    if RulesPack.objects.using(using).exists():
        return
    load_shipped(RulesPack, apps.get_model("rules", "Category"), apps.get_model("rules", "SubItem"),
                 published_by={"kind": "system", "name": "migration rules.0002_shipped_packs", "channel": "migration"})


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
