from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandlingConfig(AppConfig):
    name = "hozen.handling"
    label = "handling"
    verbose_name = _("Handler lists and briefings")
