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
        registry.register(jobs.RECONCILE_JOB, every_seconds=jobs.RECONCILE_EVERY_SECONDS, fn=jobs.reconcile_daily)

        # The signing key is wrapped by the KEK: a rotation must move it before old versions go.
        from hozen.crypto.rotation import register_wrapped_secrets

        from .checkpoints import rewrap_signing_keys

        register_wrapped_secrets("audit.signing_keys", rewrap_signing_keys)
