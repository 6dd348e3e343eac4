from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "hozen.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from hozen.audit import reconcile

        from . import jobs, tasks
        from .reconcile import REPLAYERS

        for replayer in REPLAYERS:
            reconcile.register(replayer)
        # Idempotency-Key records of the API are kept 24 hours (hozen.api.idempotency).
        jobs.register("core.idempotency_expiry", every_seconds=3600, fn=_expire_idempotency_records)
        # Tasks whose worker was killed go back in the queue; finished tasks are kept 30 days.
        jobs.register("core.tasks_requeue", every_seconds=max(1, tasks.heartbeat_lease_seconds() // 3), fn=tasks.requeue_abandoned)
        jobs.register("core.tasks_prune", every_seconds=24 * 3600, fn=tasks.prune_finished)


def _expire_idempotency_records(*, actor) -> int:
    from .models import IdempotencyRecord

    return IdempotencyRecord.expire()
