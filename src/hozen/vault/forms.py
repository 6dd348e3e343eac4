"""Forms of the vault screens. They shape input only; the services check every rule and their
RuleViolation is shown beside the field it names."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account


class ViolationMixin:
    def add_violation(self, exc, language: str) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, exc.message(language))


class AccountField(forms.CharField):
    """A person by user name (the custody forms name who receives or witnesses). An unknown name is
    None: the service answers it as it answers a person who may not receive or witness, so the
    forms are no test of whether a user name exists (issue 12 §8)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        return Account.objects.select_related("person").filter(username=value.strip(), is_active=True).first()


class UploadForm(ViolationMixin, forms.Form):
    title = forms.CharField(label=_("Document title"), max_length=200)
    file = forms.FileField(label=_("File"), help_text=_("Any type of file; PDFs get the marking on every page."))


class VersionForm(ViolationMixin, forms.Form):
    file = forms.FileField(label=_("New version of the file"))


class TransferForm(ViolationMixin, forms.Form):
    to = AccountField(label=_("Hand over to (user name)"), max_length=64)


class DestroyForm(ViolationMixin, forms.Form):
    method = forms.CharField(label=_("Method of destruction"), max_length=120,
                             help_text=_("For example: shredded (cross-cut), degaussed, burnt."))
    witness = AccountField(label=_("Witness (user name)"), max_length=64,
                           help_text=_("Another person present at the destruction."))


class MediumForm(ViolationMixin, forms.Form):
    medium = forms.CharField(label=_("Medium"), max_length=120,
                             help_text=_("For example: paper printout, DVD-R, USB memory."))


class TraceForm(forms.Form):
    file = forms.FileField(label=_("The file that was found"))


class ReceivedForm(ViolationMixin, forms.Form):
    medium = forms.CharField(label=_("Medium"), max_length=120,
                             help_text=_("For example: paper printout, DVD-R, USB memory."))
    received_from = forms.CharField(label=_("Received from"), max_length=120)
