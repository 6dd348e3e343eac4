"""The auditor's log filter. Every field maps to an indexed column (see `queries.LogFilter`)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .queries import OUTCOME_CHOICES, LogFilter

_PRINTABLE = RegexValidator(r"^[^\x00-\x1f\x7f]*$", _("Remove the control characters."))
# A whole action code (session.signed_in) or a prefix ending in "." or "*" (session., session*).
_ACTION = RegexValidator(
    r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.|\*|\.\*)?$",
    _("Enter an action code such as session.signed_in, or the start of one ending in “.” or “*” "
      "(for example session.)."),
)
_ORGANISATION = RegexValidator(r"^[A-Z][A-Z0-9-]{1,31}$", _("Enter an organisation code such as METI."))
_TARGET_TYPE = RegexValidator(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$",
                              _("Enter an object type such as core.account."))
_EARLIEST = dt.date(2000, 1, 1)
_LATEST = dt.date(2999, 12, 31)
_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


def _date_field(label):
    return forms.DateField(
        label=label, required=False, input_formats=_DATE_FORMATS, widget=_DateInput(),
        help_text=_("Japan time (Asia/Tokyo), as YYYY-MM-DD."),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD, for example 2025-05-16.")},
    )


class LogFilterForm(forms.Form):
    """GET parameters of the log viewer and its CSV export. Invalid input shows no results at all:
    a filter that was not understood must never silently widen to "everything" (ARCHITECTURE rule 7)."""

    actor = forms.CharField(label=_("Operator (user name)"), required=False, max_length=150,
                            validators=[_PRINTABLE])
    organisation = forms.CharField(label=_("Organisation code"), required=False, max_length=32)
    action = forms.CharField(label=_("Action"), required=False, max_length=64, validators=[_ACTION],
                             help_text=_("A whole code, or its start ending in “.” or “*”, e.g. session."))
    target_type = forms.CharField(label=_("Object type"), required=False, max_length=64,
                                  validators=[_TARGET_TYPE])
    target_id = forms.CharField(label=_("Object id"), required=False, max_length=64, validators=[_PRINTABLE])
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=OUTCOME_CHOICES)
    date_from = _date_field(_("From (date)"))
    date_to = _date_field(_("To (date, inclusive)"))
    # Keyset cursors written by the page's own links, never typed.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Set by the "export the newest entries only" button after the cap was explained.
    capped = forms.BooleanField(required=False, widget=forms.HiddenInput)

    VISIBLE = ("actor", "organisation", "action", "target_type", "target_id", "outcome", "date_from", "date_to")

    def clean_actor(self):
        return self.cleaned_data["actor"].strip()

    def clean_organisation(self):
        code = self.cleaned_data["organisation"].strip().upper()  # codes are capitals; accept "meti"
        if code:
            _ORGANISATION(code)
        return code

    def clean_action(self):
        return self.cleaned_data["action"].strip()

    def clean_target_type(self):
        return self.cleaned_data["target_type"].strip()

    def clean_target_id(self):
        return self.cleaned_data["target_id"].strip()

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        if day is not None and not (_EARLIEST <= day <= _LATEST):
            raise forms.ValidationError(_("Enter a date between 2000-01-01 and 2999-12-31."))
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")

    def clean(self):
        data = super().clean()
        if data.get("target_id") and not data.get("target_type"):
            # The index is (target_type, target_id): an id alone would scan the whole log.
            self.add_error("target_type", _("Give the object type together with the object id."))
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        if data.get("before") and data.get("after"):
            raise forms.ValidationError(_("This page link is not valid. Filter again."))
        return data

    @property
    def visible_fields_in_order(self):
        return [self[name] for name in self.VISIBLE]

    def log_filter(self) -> LogFilter:
        data = self.cleaned_data
        action = data["action"]
        prefix = action.endswith((".", "*"))
        return LogFilter(
            actor=data["actor"],
            organisation=data["organisation"],
            action=action[:-1] if action.endswith("*") else action,
            action_is_prefix=prefix,
            target_type=data["target_type"],
            target_id=data["target_id"],
            outcome=data["outcome"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
