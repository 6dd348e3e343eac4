"""Forms of the organ's measures on a certification or contract: input shape only; the services
check every rule (dates, reasons, state, version)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hozen.designation.forms import ViolationMixin, date_field, text_area

from .services import REASON_MAX_LENGTH, REASON_MIN_VISIBLE


def _reason():
    return text_area(_("Reason"), rows=4, max_length=REASON_MAX_LENGTH)


class _ReasonHelp:
    """The reason's help text, in the request's language (interpolated per form, not at import)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = gettext(
            "At least %(n)s characters. The business sees it with the measure.") % {"n": REASON_MIN_VISIBLE}


class DatedMeasureForm(_ReasonHelp, ViolationMixin, forms.Form):
    """Suspension, revocation, termination: from a date (today or later) with a reason."""

    on = date_field(_("Takes effect on"), help_text=_("Today or later: a measure is never backdated."))
    reason = _reason()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class RestoreForm(_ReasonHelp, ViolationMixin, forms.Form):
    reason = _reason()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AmendForm(_ReasonHelp, ViolationMixin, forms.Form):
    departments_added = forms.CharField(
        label=_("Departments to add"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One department per line."))
    departments_removed = forms.CharField(
        label=_("Departments to remove"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One department per line. Handlers listed in a removed department lose access at once."))
    reason = _reason()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def lines(value: str) -> list[str]:
        return [line.strip() for line in (value or "").splitlines() if line.strip()]
