from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandlingConfig(AppConfig):
    name = "hozen.handling"
    label = "handling"
    verbose_name = _("Handler lists and briefings")

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from hozen.audit import reconcile
        from hozen.core import jobs as registry

        from . import facts, jobs
        from .reconcile import REPLAYERS

        # Any write to a table the access facts come from invalidates the per-request caches.
        connection_created.connect(facts.install_watch, dispatch_uid="hozen.handling.facts.watch")
        for connection in connections.all(initialized_only=True):
            facts.install_watch(connection)
        registry.register("handling.lapse_and_review", every_seconds=86400, fn=jobs.daily)
        # ARCHITECTURE rule 10: handler entries and review campaigns replay from their audit entries.
        for replayer in REPLAYERS:
            reconcile.register(replayer)
