"""What each rules-pack value is called on screen (issue 15: no internal key shown to a person).

The keys are the code's own names for the figures it reads (``pack.value("review.interval_months")``),
so their labels live beside the code, in both languages through the translation catalogue. A test
keeps every key of every shipped pack labelled; a key a newer pack adds before its label exists is
shown as "(unlabelled value)" with the key as a tooltip, never as the page's text.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

VALUE_LABELS = {
    "regime_start": _("Date the Act came into force"),
    "designation.max_term_years": _("Longest term of one designation"),
    "extension.max_term_years": _("Longest term of one extension"),
    "cumulative.cabinet_approval_threshold_years": _("Total term beyond which Cabinet approval is needed"),
    "cumulative.absolute_cap_years": _("Longest total term"),
    "cumulative.absolute_cap_exempt_categories": _("Information the longest total term does not bind"),
    "archives.transfer_on_refused_approval": _("Files go to the National Archives when Cabinet approval is refused"),
    "review.interval_months": _("Interval between reviews of a designation's reasons"),
    "assessment.validity_years": _("Validity of a favourable assessment result"),
    "assessment.esi_recognition_window_years": _("Age of an earlier ESI result that exempts from a new assessment"),
    "assessment.sds_recognition_window_years": _("Age of an earlier SDS result that exempts from a new assessment"),
    "assessment.target_days.notice": _("Target time from nomination to the written notice"),
    "assessment.target_days.consent": _("Target time from the notice to consent or refusal"),
    "assessment.target_days.questionnaire": _("Target time from consent to the submitted questionnaire"),
    "assessment.target_days.assignment": _("Target time from the questionnaire to the investigator's assignment"),
    "assessment.target_days.investigation": _("Target time for the investigation"),
    "assessment.target_days.adjudication": _("Target time from the investigation to the adjudication"),
    "assessment.target_days.concurrence": _("Target time for a second adjudicator's concurrence"),
    "assessment.target_days.notification": _("Target time from the decision to the notified result"),
    "assessment.target_days.complaint": _("Target time from a complaint to its decision"),
    "retention.business_favourable_notice_years": _("How long a business keeps a favourable notice"),
    "retention.business_other_papers_years": _("How long a business keeps other assessment papers"),
    "retention.investigation_file_years": _("How long an investigation file is kept after the case ends"),
    "exempt_office_holders": _("Office holders who need no assessment"),
    "penalties.intentional_leak": _("Penalty: intentional leak by a handler"),
    "penalties.provision_recipient_leak": _("Penalty: leak by someone who received the information through a provision"),
    "penalties.negligent_leak": _("Penalty: negligent leak"),
    "penalties.unlawful_acquisition": _("Penalty: unlawful acquisition"),
    "penalties.attempt": _("Penalty: attempts"),
    "penalties.conspiracy_incitement": _("Penalty: conspiracy, incitement and solicitation"),
    "penalties.employer_fine": _("Penalty: fine on the employer"),
    "briefing.reack_months": _("Interval between acknowledgements of the handling briefing"),
}


def value_label(key: str) -> str:
    """The value's name in the active language."""
    label = VALUE_LABELS.get(key)
    return str(label) if label is not None else str(_("(unlabelled value)"))
