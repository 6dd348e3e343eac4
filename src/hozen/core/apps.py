from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "hozen.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from hozen.audit import reconcile

        from .reconcile import REPLAYERS

        for replayer in REPLAYERS:
            reconcile.register(replayer)
