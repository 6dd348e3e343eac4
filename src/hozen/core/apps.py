from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "hozen.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from hozen.audit import reconcile

        from . import jobs
        from .reconcile import REPLAYERS

        for replayer in REPLAYERS:
            reconcile.register(replayer)
        # Idempotency-Key records of the API are kept 24 hours (hozen.api.idempotency).
        jobs.register("core.idempotency_expiry", every_seconds=3600, fn=_expire_idempotency_records)


def _expire_idempotency_records(*, actor) -> int:
    from .models import IdempotencyRecord

    return IdempotencyRecord.expire()
