"""Forms of the handling screens: input shape only; the services check every rule."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hozen.designation.forms import ViolationMixin, date_field


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.person.full_name} ({obj.username})"


class AddHandlerForm(ViolationMixin, forms.Form):
    account = AccountChoiceField(label=_("Person"), queryset=None, empty_label=None)
    department = forms.CharField(label=_("Department"), required=False, max_length=200,
                                 help_text=_("Business staff: a department the contract allows to handle the material."))
    ends_on = date_field(_("Need to know until"), required=False,
                         help_text=_("Empty: the end of the designation's term (or of the contract, if sooner)."))
    reason = forms.CharField(label=_("Need to know (reason)"), required=False, max_length=300)

    def __init__(self, data=None, *, candidates, business: bool, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["account"].queryset = candidates
        if not business:
            del self.fields["department"]


class BriefingForm(forms.Form):
    text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    tier = forms.ChoiceField(widget=forms.HiddenInput, choices=[("esi", "esi"), ("sds", "sds")])
    confirm = forms.BooleanField(label=_("I have read the obligations and penalties above and will comply with them."))


class ExplainForm(forms.Form):
    reference = forms.CharField(label=_("Reference number"), max_length=40)
