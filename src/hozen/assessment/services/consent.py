"""Consent (同意), refusal and withdrawal (DOMAIN §6 step 3), and the advance waiver of reasons.

Only the subject acts here, with their own second factor for consent, refusal and withdrawal
(the policy). A refusal or a withdrawal ends the case as "not consented"; the nominating side
learns that fact and nothing more, and it may not be used against the subject (purpose limitation).

The second factor offered with the action (``actor.second_factor``) is spent only once every
other check has passed, inside the transaction (``_common.spend_second_factor``): a consent refused
for the case's state leaves the recovery code usable and the TOTP code unused.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation

from .. import papers
from ..models import AssessmentCase, CaseDocument, Clearance
from ._common import (
    CLOCK_FIELDS,
    close_without_result,
    locked,
    move,
    notify_nominator,
    person_details,
    spend_second_factor,
)
from .questionnaire import prefill_from_last_answers


@transaction.atomic(durable=True)
def consent(*, actor, case: AssessmentCase | int) -> AssessmentCase:
    """The subject consents in writing, after the notice. Nobody else can."""
    case = locked(case)
    policy.require(actor, "assessment.consent", case)
    move(actor, case, "assessment.consent", kind="consented")
    factor = spend_second_factor(actor)
    case.consent_decided_at = timezone.now()
    case.save(update_fields=[*CLOCK_FIELDS, "consent_decided_at"])
    hashes = _keep_consent_record(case)
    audit.record(actor, "assessment.consent", case, details=person_details(
        case, consent_pdf_sha256=hashes, second_factor=factor))
    # A re-assessment (or any later assessment) starts from the last accepted answers.
    prefill_from_last_answers(actor, case)
    return case


def _end_not_consented(actor, case: AssessmentCase, action: str, kind: str) -> AssessmentCase:
    move(actor, case, action, kind=kind)
    factor = spend_second_factor(actor)
    case.consent_decided_at = case.consent_decided_at or timezone.now()
    close_without_result(actor, case, Clearance.EndReason.REASSESSMENT_NOT_COMPLETED)
    case.save(update_fields=[*CLOCK_FIELDS, "consent_decided_at", "closed_at", "retain_until"])
    notify_nominator(case, case.rules_pack, consented=False)
    hashes = _keep_consent_record(case)
    audit.record(actor, action, case, details=person_details(
        case, consent_pdf_sha256=hashes, retain_until=case.retain_until, second_factor=factor))
    return case


def _keep_consent_record(case: AssessmentCase) -> dict[str, str] | None:
    """Issue 6 §1: a PDF of the consent is kept — the 同意書 (or record of refusal or withdrawal)
    with every declaration so far, rendered now and stored (both languages). A withdrawal of the
    agreement to be listed before any notice has no paper to keep."""
    if case.notice_given_at is None:
        return None
    return papers.keep(case, CaseDocument.Kind.CONSENT_RECORD)


@transaction.atomic(durable=True)
def refuse(*, actor, case: AssessmentCase | int) -> AssessmentCase:
    """The subject refuses. Allowed, and no disadvantage may follow (DOMAIN §6 steps 2–3)."""
    case = locked(case)
    policy.require(actor, "assessment.refuse", case)
    return _end_not_consented(actor, case, "assessment.refuse", "refused")


@transaction.atomic(durable=True)
def withdraw_consent(*, actor, case: AssessmentCase | int) -> AssessmentCase:
    """The subject withdraws (their agreement to be listed, or their consent) at any stage until
    the result is notified; the case ends as not consented (DOMAIN §6 step 3)."""
    case = locked(case)
    policy.require(actor, "assessment.withdraw_consent", case)
    return _end_not_consented(actor, case, "assessment.withdraw_consent", "consent_withdrawn")


@transaction.atomic(durable=True)
def waive_reasons(*, actor, case: AssessmentCase | int, waived: bool = True) -> AssessmentCase:
    """The subject asks in advance not to receive the reasons (or takes that back), until the
    adjudication (DOMAIN §6 step 6). The adjudication records what was asked."""
    case = locked(case)
    policy.require(actor, "assessment.waive_reasons", case)
    if not isinstance(waived, bool):
        raise RuleViolation("invalid_choice", "希望する・しないのいずれかを選んでください。", "Answer yes or no.",
                            field="waived")
    move(actor, case, "assessment.waive_reasons", kind="reasons_waiver_recorded", waived=waived)
    case.reasons_waived = waived
    case.reasons_waiver_recorded_at = timezone.now()
    case.save(update_fields=["reasons_waived", "reasons_waiver_recorded_at"])
    audit.record(actor, "assessment.waive_reasons", case, details=person_details(case, waived=waived))
    return case
