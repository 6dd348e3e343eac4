"""Forms of the designation screens. They shape input only: every rule is checked by the service,
and its RuleViolation is shown beside the field it names (ARCHITECTURE rule 7)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from hozen.core.errors import RuleViolation
from hozen.core.text import parse_date_text
from hozen.rules.models import Category, SubItem

from .models import STATE_LABELS, CorrectionRequest, ProtectiveMeasure, Provision, State


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class CalendarDateField(forms.DateField):
    """A date typed YYYY-MM-DD (or YYYY/MM/DD). A day the calendar does not have (2025-02-30) is
    refused saying so, with the days its month has; only text of another shape is told the format
    (`hozen.core.text.parse_date_text`, the same words as the API and the services)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date_text(str(value), field=self.label or "date")
        except RuleViolation as exc:
            raise forms.ValidationError(exc.message(translation.get_language()), code=exc.code) from None


def date_field(label, *, required=True, help_text=""):
    return CalendarDateField(label=label, required=required, widget=DateInput(), help_text=help_text)


def text_area(label, *, required=True, rows=3, max_length=None, help_text=""):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows}))


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"({obj.code}) {obj.name(translation.get_language())}"


class SubItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SubItem) -> str:
        label = f"{obj.code} {obj.name(translation.get_language())}"
        if not obj.is_confirmed:
            label += " — " + str(_("awaiting confirmation"))
        return label


class ViolationMixin:
    """Puts a service's RuleViolation beside the field it names (`field_map` renames a service
    argument to this form's field), or above the form when it names none of this form's fields."""

    field_map: dict[str, str] = {}

    def add_violation(self, exc, language: str) -> None:
        """Each refusal beside its field: one RuleViolation, or every one a `Violations` carries."""
        for one in getattr(exc, "violations", None) or [exc]:
            field = self.field_map.get(one.field, one.field) if one.field else None
            if field in self.fields and self.fields[field].widget.is_hidden:
                field = None  # a hidden field's error (the version) is said above the form
            self.add_error(field if field in self.fields else None, one.message(language))

    def add_more_violations(self, violations, language: str) -> None:
        """Refusals found beside the form's own errors (a service's checks of the fields the form
        accepted): each beside its field, unless that field already says what is wrong with it."""
        for one in violations:
            field = self.field_map.get(one.field, one.field) if one.field else None
            if field in self.fields and not self.fields[field].widget.is_hidden and field not in self.errors:
                self.add_error(field, one.message(language))


class VersionField(forms.IntegerField):
    """The version of the record the form was opened with (ARCHITECTURE rule 8): the service
    refuses the change if the record has changed since (409), so nobody overwrites a newer one."""

    def __init__(self, **kwargs):
        super().__init__(required=False, min_value=0, widget=forms.HiddenInput, **kwargs)


class DesignationForm(ViolationMixin, forms.Form):
    """Create or edit a draft. Category and sub-item come from the rules pack in force. An edit
    carries the version it was opened with (`version`, hidden)."""

    version = VersionField()

    title = forms.CharField(label=_("Title"), max_length=200,
                            help_text=_("Name the information without revealing it."))
    summary = text_area(_("Summary"), rows=3, help_text=_("Describe the information without revealing it."))
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none())
    sub_item = SubItemChoiceField(label=_("Sub-item"), queryset=SubItem.objects.none(),
                                  help_text=_("Sub-items marked “awaiting confirmation” are working names not yet "
                                              "confirmed against the Operational Standards."))
    justification_category = text_area(_("Requirement 1: why it falls in the category and sub-item"))
    justification_not_public = text_area(_("Requirement 2: why it is not public"))
    justification_harm = text_area(_("Requirement 3: why its leak would hinder national security"))
    JUSTIFICATIONS = ("justification_category", "justification_not_public", "justification_harm")
    in_advance = forms.BooleanField(label=_("Designated before the information exists"), required=False)
    advance_reason = text_area(_("Reason for designating before the information exists"), required=False,
                               help_text=_("Required when designating in advance."))
    designated_on = date_field(_("Designation date"))
    term_end = date_field(_("Term end"))
    protective_measure = forms.ChoiceField(label=_("Protective measure"), choices=ProtectiveMeasure.choices)

    def __init__(self, *args, pack, **kwargs):
        super().__init__(*args, **kwargs)
        self.pack = pack
        self.fields["category"].queryset = pack.categories.order_by("position")
        self.fields["sub_item"].queryset = pack.sub_items.select_related("category").order_by("position")
        language = translation.get_language()
        self.fields["term_end"].help_text = _(
            "At most %(term)s from the designation date (the designation date counts as the first day)."
        ) % {"term": pack.describe("designation.max_term_years", language)}
        self.fields["designated_on"].help_text = _("Not before %(start)s, when the regime started.") % {
            "start": pack.value("regime_start").isoformat()}
        from .inputs import DRAFT_TEXTS

        for name in self.JUSTIFICATIONS:  # the minimum said before it is enforced
            self.fields[name].help_text = _("At least %(count)s characters.") % {
                "count": DRAFT_TEXTS[name].min_visible}


class ApproveForm(ViolationMixin, forms.Form):
    """Approval has no input but the version shown: the organ head approves the draft exactly as
    shown (a refusal shows above it; a draft changed since the page opened is refused)."""

    version = VersionField()


class ReturnDraftForm(ViolationMixin, forms.Form):
    """Send a draft back to its preparer (差戻し) instead of approving it: a comment saying what to
    change, and the version shown (the head sends back exactly what they read)."""

    version = VersionField()
    comment = text_area(_("What the preparer should change"), rows=4, max_length=2000,
                        help_text=_("Required. The ESI managers of the organisation see it on the draft; at most "
                                    "2,000 characters."))


class AcknowledgeForm(ViolationMixin, forms.Form):
    """Acknowledging a notice has no input: the recipient confirms it received it."""


class ExtendForm(ViolationMixin, forms.Form):
    new_end = date_field(_("New term end"))
    reason = text_area(_("Reason for the extension"))
    cabinet_approval_ref = forms.CharField(
        label=_("Cabinet approval reference"), max_length=100, required=False,
        help_text=_("Required when the total period would pass the Cabinet-approval threshold."))
    cap_exemption = forms.ChoiceField(label=_("Absolute-cap exemption relied on"), required=False)

    def __init__(self, *args, pack, **kwargs):
        super().__init__(*args, **kwargs)
        key = "cumulative.absolute_cap_exempt_categories"
        exemptions = pack.value(key) if pack.has(key) else []
        english = (translation.get_language() or "ja").startswith("en")
        self.fields["cap_exemption"].choices = [("", _("None"))] + [
            (e["code"], e["name_en" if english else "name_ja"]) for e in exemptions or []]
        help_text = _("Only to go past the absolute cap on the total period.")
        if exemptions and pack.is_to_verify(key):
            help_text = _("Only to go past the absolute cap on the total period. This list is awaiting "
                          "confirmation against the Operational Standards.")
        self.fields["cap_exemption"].help_text = help_text


class RefusedApprovalForm(ViolationMixin, forms.Form):
    requested_end = date_field(_("Term end the extension asked for"))
    refusal_ref = forms.CharField(label=_("Reference of the Cabinet's refusal"), max_length=100)
    reason = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class StatisticsForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2025, max_value=2200)


class CancelForm(ViolationMixin, forms.Form):
    reason = text_area(_("Reason for the cancellation"),
                       help_text=_("Which requirement no longer holds, and why."))


class ReviewForm(ViolationMixin, forms.Form):
    OUTCOMES = (("met", _("The three requirements are still met")),
                ("not_met", _("A requirement is no longer met: cancel the designation")))

    outcome = forms.ChoiceField(label=_("Outcome of the review"), choices=OUTCOMES)
    note = text_area(_("Note"), required=False,
                     help_text=_("Required when a requirement is no longer met: say which and why."))

    def service_arguments(self) -> dict:
        return {"requirements_met": self.cleaned_data["outcome"] == "met", "note": self.cleaned_data["note"]}


class MoveToSdsForm(ViolationMixin, forms.Form):
    field_map = {"sub_item": "sds_sub_item", "category": "sds_category"}

    sds_category = CategoryChoiceField(label=_("SDS category"), queryset=Category.objects.none())
    sds_sub_item = SubItemChoiceField(label=_("SDS sub-item"), queryset=SubItem.objects.none())
    term_end = date_field(_("Term end of the SDS designation"))
    justification_harm = text_area(_("Why its leak would significantly hinder national security"))
    reason = text_area(_("Reason for the move"))

    def __init__(self, *args, pack, **kwargs):
        super().__init__(*args, **kwargs)
        self.pack = pack
        self.fields["sds_category"].queryset = pack.categories.order_by("position")
        self.fields["sds_sub_item"].queryset = pack.sub_items.select_related("category").order_by("position")
        self.fields["term_end"].help_text = _("At most %(term)s from today.") % {
            "term": pack.describe("designation.max_term_years", translation.get_language())}


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name(translation.get_language())} ({obj.code})"


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        business = obj.business.name(translation.get_language())
        return f"{obj.reference} — {business} ({obj.valid_from:%Y-%m-%d} – {obj.valid_until:%Y-%m-%d})"


class ProvisionForm(ViolationMixin, forms.Form):
    recipient_kind = forms.ChoiceField(label=_("Recipient kind"), choices=Provision.RecipientKind.choices)
    recipient = OrganisationChoiceField(
        label=_("Recipient organisation"), required=False, queryset=None,
        help_text=_("For another organ or a certified business."))
    recipient_name = forms.CharField(
        label=_("Recipient name"), max_length=200, required=False,
        help_text=_("For a foreign government, an international organisation, the Diet or a court."))
    contract = ContractChoiceField(label=_("Contract"), required=False, queryset=None,
                                   help_text=_("For a certified business: its contract with this organ."))
    basis = text_area(_("Legal basis"), rows=2)
    provided_on = date_field(_("Provided on"))
    items = text_area(_("What was provided"))
    equivalence_finding = text_area(
        _("Finding of equivalent protection"), required=False,
        help_text=_("Required for a foreign government or international organisation."))
    handler_list = text_area(_("Recipient's handler list"), rows=4,
                             help_text=_("One name per line."))

    def __init__(self, *args, recipients, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = recipients
        self.fields["contract"].queryset = contracts

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        # One name per line, split on line breaks only (str.splitlines would also split on U+0085 and
        # other controls, hiding them): the service's text policy checks, strips and drops empty names.
        data["handler_list"] = data["handler_list"].replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return data


class CorrectionRequestForm(ViolationMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind of request"), choices=CorrectionRequest.Kind.choices)
    request = text_area(_("What must be corrected, and why"), rows=4)


class CorrectionAnswerForm(ViolationMixin, forms.Form):
    answer = text_area(_("Answer"), rows=4)


class DesignationFilterForm(forms.Form):
    """The list's GET filter. An invalid choice shows its error and no rows, never a wider list."""

    q = forms.CharField(label=_("Reference or title contains"), required=False, max_length=100)
    state = forms.ChoiceField(label=_("State"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        language = translation.get_language()
        self.fields["category"].choices = [("", _("Any category"))] + [
            (c.code, f"({c.code}) {c.name(language)}") for c in categories]
        english = (language or "ja").startswith("en")  # the one wording of each state (STATE_LABELS)
        self.fields["state"].choices = [("", _("Any state"))] + [
            (state, STATE_LABELS[state][1 if english else 0]) for state in State.values]

    def clean_q(self):
        return self.cleaned_data["q"].strip()
