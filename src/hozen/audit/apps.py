from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "hozen.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from hozen.core import jobs as registry

        from . import jobs

        registry.register(jobs.JOB_NAME, every_seconds=jobs.EVERY_SECONDS, fn=jobs.issue_checkpoint_if_grown)
