from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "hozen.vault"
    label = "vault"
    verbose_name = _("Document vault")

    def ready(self) -> None:
        from hozen.audit import reconcile

        from .reconcile import REPLAYERS

        # ARCHITECTURE rule 10: copies and document versions replay from their audit entries.
        for replayer in REPLAYERS:
            reconcile.register(replayer)
