from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "hozen.operators"
    label = "operators"
    verbose_name = _("Certified businesses")

    def ready(self) -> None:
        from hozen.audit import reconcile

        from .reconcile import REPLAYERS

        # ARCHITECTURE rule 10: certifications and contracts replay from their audit entries.
        for replayer in REPLAYERS:
            reconcile.register(replayer)
