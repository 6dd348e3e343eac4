from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesignationConfig(AppConfig):
    name = "hozen.designation"
    label = "designation"
    verbose_name = _("Designations")

    def ready(self) -> None:
        from hozen.core import jobs as registry

        from . import jobs

        registry.register("designation.expire_and_review", every_seconds=jobs.DAY, fn=jobs.daily)
        registry.register("designation.prepared_ledger_expiry", every_seconds=3600, fn=jobs.expire_prepared_ledgers)

        from hozen.audit import reconcile

        from .reconcile import REPLAYER

        reconcile.register(REPLAYER)
