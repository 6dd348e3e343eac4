"""Every write of the assessment app: one use case per function, one transaction, audited.

Split by stage of DOMAIN §6; import from here. Each function takes keyword arguments with an
explicit ``actor``, asks the policy, checks the state table (``states.py``) and the rules
(``rules.py``), writes, records a ``CaseEvent`` and an audit entry in the same transaction, and
raises ``RuleViolation`` (bilingual, with the field at fault) or ``PolicyDenied``.
"""

from .adjudication import (
    adjudicate,
    assign_adjudicator,
    assign_concurring_adjudicator,
    concur,
    decision_review_token,
    notify_result,
    return_to_investigation,
)
from .aftercare import (
    assign_complaint_handler,
    complaint_review_token,
    decide_adverse_treatment,
    decide_complaint,
    file_complaint,
    report_adverse_treatment,
    report_event,
)
from .bulk import nominate_many
from .consent import consent, refuse, waive_reasons, withdraw_consent
from .investigation import (
    assign_investigator,
    complete_investigation,
    record_finding,
    record_inquiry,
    record_inquiry_response,
    schedule_interview,
)
from .nomination import (
    Nomination,
    NominationRowsInvalid,
    confirm_exemption,
    decline_exemption,
    detect_exemption,
    give_notice,
    nominate,
)
from .questionnaire import (
    SavedSection,
    confirm_questionnaire_section,
    review_token,
    save_questionnaire_section,
    submit_questionnaire,
    submitted_sha256,
)
from .reminders import send_questionnaire_reminders, send_renewal_reminders
from .retention import retention_run

__all__ = [
    "Nomination", "NominationRowsInvalid", "SavedSection",
    "nominate", "nominate_many", "detect_exemption", "confirm_exemption", "decline_exemption", "give_notice",
    "consent", "refuse", "withdraw_consent", "waive_reasons",
    "save_questionnaire_section", "confirm_questionnaire_section", "submit_questionnaire", "submitted_sha256",
    "review_token",
    "assign_investigator", "record_inquiry", "record_inquiry_response", "schedule_interview", "record_finding",
    "complete_investigation",
    "assign_adjudicator", "assign_concurring_adjudicator", "adjudicate", "concur", "notify_result",
    "return_to_investigation", "decision_review_token",
    "report_event", "file_complaint", "assign_complaint_handler", "decide_complaint", "complaint_review_token",
    "report_adverse_treatment", "decide_adverse_treatment",
    "retention_run", "send_questionnaire_reminders", "send_renewal_reminders",
]
