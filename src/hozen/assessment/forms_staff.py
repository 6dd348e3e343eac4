"""Forms of the staff workspaces. They shape input only: every rule is checked by the service, and
its RuleViolation is shown beside the field it names (ARCHITECTURE rule 7)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from hozen.core.models import Account, Person
from hozen.rules.models import Tier

from .items import ITEMS
from .models import AdverseTreatmentReport, Complaint, Inquiry, Outcome, ReportableEvent, Trigger

_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
_DATE_ERROR = _("Enter a date as YYYY-MM-DD, for example 2026-06-01.")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def date_field(label, *, required=True, help_text=""):
    return forms.DateField(label=label, required=required, input_formats=_DATE_FORMATS, widget=DateInput(),
                           help_text=help_text, error_messages={"invalid": _DATE_ERROR})


def text_area(label, *, required=True, rows=3, max_length=20_000, help_text=""):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


class ViolationMixin:
    """Puts a service's RuleViolation beside the field it names (``field_map`` renames a service
    argument to this form's field), or above the form when it names none of this form's fields."""

    field_map: dict[str, str] = {}

    def add_violation(self, exc, language: str) -> None:
        field = self.field_map.get(exc.field, exc.field) if exc.field else None
        self.add_error(field if field in self.fields else None, exc.message(language))

    def add_denial(self, exc, language: str, field: str | None = None) -> None:
        self.add_error(field, exc.decision.reason(language))


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        birth = obj.date_of_birth.isoformat() if obj.date_of_birth else "—"
        return f"{obj.full_name} ({birth})"


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return f"{obj.person.full_name} ({obj.username})"


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.reference} — {obj.organ.name_ja} / {obj.organ.name_en}"


NOMINATION_TRIGGERS = [(Trigger.NEW, Trigger.NEW.label), (Trigger.TEN_YEAR_RENEWAL, Trigger.TEN_YEAR_RENEWAL.label)]


class NominationForm(ViolationMixin, forms.Form):
    """One nomination (DOMAIN §6 step 1). A business nominates under one of its contracts."""

    person = PersonChoiceField(label=_("Candidate"), queryset=Person.objects.none())
    contract = ContractChoiceField(label=_("Contract"), queryset=None, required=False,
                                   help_text=_("The deciding organ is the contract's organ."))
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices, initial=Tier.ESI)
    trigger = forms.ChoiceField(label=_("Trigger"), choices=NOMINATION_TRIGGERS, initial=Trigger.NEW)
    department = forms.CharField(label=_("Department"), max_length=200)
    post = forms.CharField(label=_("Post"), max_length=200)
    listing_agreed_on = date_field(_("Date the candidate agreed to be listed"),
                                   help_text=_("The candidate must first agree to be listed."))
    dispatched_worker = forms.BooleanField(label=_("Dispatched worker"), required=False)
    employing_agency = forms.CharField(label=_("Employing agency (dispatched workers only)"), max_length=200,
                                       required=False)

    def __init__(self, *args, people, contracts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        if contracts is None:
            del self.fields["contract"]
        else:
            self.fields["contract"].queryset = contracts
            self.fields["contract"].required = True


class ExemptionCheckForm(forms.Form):
    """Before nominating: would an earlier favourable result exempt this person? (A read.)"""

    person = PersonChoiceField(label=_("Candidate"), queryset=Person.objects.none())
    contract = ContractChoiceField(label=_("Contract"), queryset=None, required=False)
    tier = forms.ChoiceField(label=_("Tier"), choices=Tier.choices, initial=Tier.ESI)

    def __init__(self, *args, people, contracts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people
        if contracts is None:
            del self.fields["contract"]
        else:
            self.fields["contract"].queryset = contracts
            self.fields["contract"].required = True


CSV_MAX_BYTES = 50 * 1024 * 1024


class NominationFileForm(ViolationMixin, forms.Form):
    """Bulk nomination from a CSV file; the file is parsed by ``importer.parse_csv`` (the same
    parser as ``hozen assessments nominate``), every row checked with its line number."""

    contract = ContractChoiceField(label=_("Contract"), queryset=None, required=False)
    file = forms.FileField(label=_("CSV file"), help_text=_(
        "UTF-8, one candidate per line, with a header line naming the columns: username (or person_id), "
        "department, post, listing_agreed_on (YYYY-MM-DD); optional: date_of_birth, tier, trigger, "
        "dispatched_worker, employing_agency."))

    def __init__(self, *args, contracts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if contracts is None:
            del self.fields["contract"]
        else:
            self.fields["contract"].queryset = contracts
            self.fields["contract"].required = True

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > CSV_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it."))
        return upload.read()


class ExemptionDecisionForm(ViolationMixin, forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=[
        ("confirm", _("Confirm the exemption: no concern has arisen since the earlier result")),
        ("decline", _("Decline: assess the person (a case opens)"))])
    reason = text_area(_("Reason"), help_text=_("Why the organ finds that no concern has arisen (or why it declines). "
                                                "Write no personal details here."))


class NoticeForm(ViolationMixin, forms.Form):
    language = forms.ChoiceField(label=_("Language of the notice"), choices=[("ja", "日本語"), ("en", "English")])


class ConfirmForm(forms.Form):
    """A button that needs no input (notify the result, complete the investigation)."""


class ReportEventForm(ViolationMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What happened"), choices=ReportableEvent.Kind.choices)
    occurred_on = date_field(_("Occurred on"))
    new_post = forms.CharField(label=_("New department and post (transfers)"), max_length=200, required=False)
    description = text_area(_("Description (concerning events only)"), required=False,
                            help_text=_("A concerning event opens a re-assessment and suspends the result."))


class InquiryForm(ViolationMixin, forms.Form):
    recipient_kind = forms.ChoiceField(label=_("Inquiry recipient kind"), choices=Inquiry.RecipientKind.choices)
    recipient_organisation = forms.CharField(label=_("Inquiry recipient organisation"), max_length=200)
    recipient_name = forms.CharField(label=_("Inquiry recipient name"), max_length=200)
    method = forms.ChoiceField(label=_("Method"), choices=Inquiry.Method.choices)
    question = text_area(_("Inquiry question"))
    sent_on = date_field(_("Sent on"))


class InquiryResponseForm(ViolationMixin, forms.Form):
    response = text_area(_("Response"))
    answered_on = date_field(_("Answered on"))


class InterviewForm(ViolationMixin, forms.Form):
    field_map = {"at": "at"}
    at = forms.DateTimeField(label=_("Interview date and time"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                             error_messages={"invalid": _("Enter a date and time, for example 2026-06-01 10:00.")})

    def clean_at(self):
        value = self.cleaned_data["at"]
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


def _item_label(item) -> str:
    from django.utils.translation import get_language

    return f"({item.number}) {item.label_en if (get_language() or 'ja').startswith('en') else item.label_ja}"


#: An item's label in the language of the page it is shown on (never both at once).
item_label = lazy(_item_label, str)
ITEM_CHOICES = [(i.code, item_label(i)) for i in ITEMS]


class FindingForm(ViolationMixin, forms.Form):
    """A finding on one item. ``versions`` (hidden) holds the version of the item's finding as the
    page showed it (``item_2:3``; 0 for none yet; several items' pairs are read alike): the service
    is given the chosen item's, so a revision made on an older copy — another tab, a colleague's revision since — is
    refused (409) instead of replacing a finding the investigator has not seen."""

    item = forms.ChoiceField(label=_("Item"), choices=ITEM_CHOICES)
    text = text_area(_("Finding"), rows=4)
    versions = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    @classmethod
    def for_item(cls, item, *, data=None, version: int = 0, text: str = ""):
        """One item's form on the page of all seven findings (issue 15): the item fixed (hidden),
        field ids the item's own (seven forms share the page and the field names), the version of
        the item's finding the page shows."""
        form = cls(data, prefix="finding", auto_id=f"id_{item.code}-%s",
                   initial={"item": item.code, "text": text, "versions": f"{item.code}:{version}"})
        form.fields["item"].widget = forms.HiddenInput()
        form.fields["text"].label = _("Finding on item (%(n)s)") % {"n": item.number}
        form.fields["text"].widget.attrs["rows"] = 5
        return form

    def seen_version(self) -> str | None:
        """The chosen item's version as the page showed it, or None when the page did not say
        (then the service refuses the revision with 428: nothing is replaced blindly)."""
        pairs = dict(p.split(":", 1) for p in (self.cleaned_data.get("versions") or "").split() if ":" in p)
        return pairs.get(self.cleaned_data.get("item"))


class CompleteForm(ViolationMixin, forms.Form):
    """Completing the investigation: the investigator's case summary for the adjudicator."""

    summary = text_area(_("Case summary for the adjudicator"), rows=6,
                        help_text=_("What the inquiries, the interview and the findings show, for the adjudicator. "
                                    "Kept encrypted with the case file."))
    answer = text_area(_("Your answer to the adjudicator's question"), rows=4, required=False,
                       help_text=_("The adjudicator returned this case with the question shown above. "
                                   "Kept encrypted with the case file."))

    def __init__(self, *args, answering: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not answering:  # nothing to answer: the field is not offered (the service requires it otherwise)
            del self.fields["answer"]


class ReturnForm(ViolationMixin, forms.Form):
    """Instead of deciding, the adjudicator returns the case to the investigator with a question."""

    question = text_area(_("Your question to the investigator"), rows=4,
                         help_text=_("What the investigator should look into or explain. The case goes back "
                                     "under investigation with a new target date; you decide once they answer. "
                                     "Kept encrypted with the case file."))


class AdjudicationForm(ViolationMixin, forms.Form):
    """Favourable or unfavourable with a reason for each of the seven items (DOMAIN §6 step 6)."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in ITEMS:
            self.fields[f"reason_{item.code}"] = text_area(item_label(item))
        self.field_map = {f"reasons.{i.code}": f"reason_{i.code}" for i in ITEMS}

    def reasons(self) -> dict[str, str]:
        return {i.code: self.cleaned_data[f"reason_{i.code}"] for i in ITEMS}


class ConcurForm(ViolationMixin, forms.Form):
    agree = forms.ChoiceField(label=_("Your decision"), widget=forms.RadioSelect, choices=[
        ("yes", _("I concur with the unfavourable outcome")),
        ("no", _("I do not concur: the case goes back for a new decision"))])


class AssignForm(ViolationMixin, forms.Form):
    field_map = {"handler": "account"}
    account = AccountChoiceField(label=_("Person to assign"), queryset=Account.objects.none())

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts


class ComplaintDecisionForm(ViolationMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Complaint.Outcome.choices, widget=forms.RadioSelect)
    reasons = text_area(_("Reasons (notified to the complainant in writing)"), rows=4)


class AdverseDecisionForm(ViolationMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=AdverseTreatmentReport.Outcome.choices,
                                widget=forms.RadioSelect)
    reasons = text_area(_("Reasons (notified to the person in writing)"), rows=4)
