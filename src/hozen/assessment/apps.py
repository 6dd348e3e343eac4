from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "hozen.assessment"
    label = "assessment"
    verbose_name = _("Aptitude assessments")

    def ready(self) -> None:
        from hozen.core import jobs as registry

        from . import jobs

        registry.register("assessment.retention", every_seconds=86400, fn=jobs.daily)
        registry.register("assessment.renewal_reminders", every_seconds=86400, fn=jobs.renewal_reminders)
        registry.register("assessment.questionnaire_reminders", every_seconds=86400, fn=jobs.questionnaire_reminders)

        # The record and the data never disagree (ARCHITECTURE rule 10): cases, clearances and
        # complaints are replayed from the log by `hozen audit reconcile`.
        from hozen.audit import reconcile

        from .reconcile import REPLAYERS

        for replayer in REPLAYERS:
            reconcile.register(replayer)
