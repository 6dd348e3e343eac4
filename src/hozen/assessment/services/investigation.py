"""The Cabinet Office's investigation (適性評価調査, DOMAIN §6 step 5).

The Cabinet Office assigns an investigator; only that investigator records inquiries (to
superiors, colleagues, acquaintances, public offices and organisations) and their answers,
schedules the interview — once the other material is in — and records a finding per item.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import rows
from hozen.core.errors import RuleViolation, StaleEdit, VersionRequired
from hozen.core.text import check_date

from .. import rules, states
from ..duties import DutyProposal
from ..models import AssessmentCase, CaseDuty, CaseSummary, Finding, Inquiry, InvestigationReturn
from ._common import CLOCK_FIELDS, fact_digest, hint, locked, move, person_details, take_duty, today


def assign(actor, case: AssessmentCase, kind: str, account, *, action: str) -> CaseDuty:
    """Shared by every assignment: the policy allows both the assigner and the person taking the
    duty (separation of duties), the table allows it now, then the duty is taken."""
    if account is None:
        raise RuleViolation("assignee_required", "担当者を指定してください。", "Name the person to assign.",
                            field="account")
    policy.require(actor, action, DutyProposal(case, kind, account))
    states.transition(case.state, action)
    return take_duty(actor, case, kind, account)


@transaction.atomic(durable=True)
def assign_investigator(*, actor, case: AssessmentCase | int, investigator) -> AssessmentCase:
    """The Cabinet Office's organ head assigns (or reassigns) the investigator; the investigation
    starts with the first assignment."""
    case = locked(case)
    assign(actor, case, CaseDuty.Kind.INVESTIGATOR, investigator, action="assessment.assign_investigator")
    row = states.transition(case.state, "assessment.assign_investigator")
    move(actor, case, "assessment.assign_investigator", kind="investigator_assigned", account=investigator.pk)
    fields = list(CLOCK_FIELDS)
    if not row.keeps_state:
        case.investigation_started_at = timezone.now()
        fields.append("investigation_started_at")
    case.save(update_fields=fields)
    audit.record(actor, "assessment.assign_investigator", case, details=person_details(case, account=investigator.pk))
    return case


def _text(value, field, ja, en, *, multiline: bool = True, max_length: int = rules.TEXT_MAX):
    return rules.check_text(value, field, what_ja=ja, what_en=en, multiline=multiline, max_length=max_length)


def _date(value, field: str, *, label: tuple[str, str], earliest: dt.date) -> dt.date:
    """A day no later than today and no earlier than ``earliest`` (refused naming the field)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise RuleViolation("invalid_date", "日付を入力してください。", "Enter a date.", field=field)
    if value > today():
        raise RuleViolation("future_date", "将来の日付は入力できません。", "The date cannot be in the future.", field=field)
    return check_date(value, field=field, label=label, earliest=earliest, latest=today())


def consented_on(case: AssessmentCase) -> dt.date:
    """The day the subject consented: nothing is asked about them before it (DOMAIN §6 step 3: the
    assessment is made with their consent), so no inquiry is dated earlier."""
    return timezone.localdate(case.consent_decided_at or case.nominated_at)


#: How far ahead an interview may be set: beyond a year is a typing error, not a plan (its stage
#: has a target of weeks).
INTERVIEW_HORIZON = dt.timedelta(days=366)


@transaction.atomic(durable=True)
def record_inquiry(*, actor, case: AssessmentCase | int, recipient_kind: str, recipient_organisation: str,
                   recipient_name: str, question: str, sent_on: dt.date,
                   method: str = Inquiry.Method.QUESTION) -> Inquiry:
    """An inquiry to someone about the subject. The name, question and (later) answer are
    encrypted; the kind, organisation and dates are what the subject is shown after notification."""
    case = locked(case)
    policy.require(actor, "assessment.record_inquiry", case)
    states.transition(case.state, "assessment.record_inquiry")
    rules.check_interview_not_scheduled(case)
    if recipient_kind not in Inquiry.RecipientKind.values:
        raise RuleViolation("invalid_recipient_kind", "照会先の種別が不正です。",
                            f"Use one of {', '.join(Inquiry.RecipientKind.values)}.", field="recipient_kind")
    if method not in Inquiry.Method.values:
        raise RuleViolation("invalid_method", "照会の方法が不正です。",
                            f"Use one of {', '.join(Inquiry.Method.values)}.", field="method")
    inquiry = Inquiry(
        case=case, recipient_kind=recipient_kind, method=method,
        recipient_organisation=_text(recipient_organisation, "recipient_organisation", "照会先の組織",
                                     "recipient's organisation", multiline=False, max_length=200),
        recipient_name=_text(recipient_name, "recipient_name", "照会先の氏名又は名称", "recipient's name",
                             multiline=False, max_length=200),
        question=_text(question, "question", "照会事項", "question"),
        sent_on=_date(sent_on, "sent_on", label=("照会日", "The date sent"), earliest=consented_on(case)),
        recorded_by=actor.account,
    )
    inquiry.content_digest = fact_digest(case, "inquiry", inquiry.recipient_name, inquiry.question)
    # The same inquiry recorded twice (the same recipient, question, method and day) is one inquiry.
    if Inquiry.objects.filter(case=case, recipient_kind=recipient_kind, method=method, sent_on=inquiry.sent_on,
                              recipient_organisation=inquiry.recipient_organisation,
                              content_digest=inquiry.content_digest).exists():
        raise RuleViolation("inquiry_already_recorded", "同じ照会（同じ照会先・照会事項・方法・日付）は既に記録されています。",
                            "This inquiry (the same recipient, question, method and day) is already recorded.",
                            field="question")
    inquiry.save()
    move(actor, case, "assessment.record_inquiry", kind="inquiry_recorded", inquiry=inquiry.pk,
         recipient_kind=recipient_kind)
    audit.record(actor, "assessment.record_inquiry", inquiry, details=person_details(
        case, recipient_kind=recipient_kind, method=method))
    return inquiry


@transaction.atomic(durable=True)
def record_inquiry_response(*, actor, inquiry: Inquiry | int, response: str, answered_on: dt.date) -> Inquiry:
    """The answer to an inquiry, once (a second answer is refused: the first stays as recorded)."""
    case = locked(hint(Inquiry, inquiry).case_id)
    policy.require(actor, "assessment.record_inquiry_response", case)
    inquiry = rows.lock(Inquiry, inquiry)
    states.transition(case.state, "assessment.record_inquiry_response")
    if inquiry.answered_on is not None:
        raise RuleViolation("inquiry_already_answered", "この照会には既に回答が記録されています。",
                            "This inquiry's answer is already recorded.")
    if isinstance(answered_on, dt.date) and not isinstance(answered_on, dt.datetime) \
            and answered_on < inquiry.sent_on:
        raise RuleViolation("answered_before_sent", "回答日が照会日より前です。",
                            "The answer cannot be dated before the inquiry.", field="answered_on")
    answered_on = _date(answered_on, "answered_on", label=("回答日", "The date answered"), earliest=inquiry.sent_on)
    rows.change(inquiry, response=_text(response, "response", "回答", "response"), answered_on=answered_on)
    move(actor, case, "assessment.record_inquiry_response", kind="inquiry_answered", inquiry=inquiry.pk)
    audit.record(actor, "assessment.record_inquiry_response", inquiry, details=person_details(case))
    return inquiry


@transaction.atomic(durable=True)
def schedule_interview(*, actor, case: AssessmentCase | int, at: dt.datetime) -> AssessmentCase:
    """DOMAIN §6 step 5: the interview comes after the other material is gathered — refused until
    at least one inquiry is answered and while any is unanswered (``rules.check_material_gathered``);
    once it is scheduled no new inquiry is recorded. It may be moved (scheduled again)."""
    case = locked(case)
    policy.require(actor, "assessment.schedule_interview", case)
    states.transition(case.state, "assessment.schedule_interview")
    if not isinstance(at, dt.datetime) or timezone.is_naive(at):
        raise RuleViolation("invalid_datetime", "面接の日時を入力してください。", "Enter the interview's date and time.",
                            field="at")
    rules.check_material_gathered(case)
    # After the last answer (the material is gathered first) and within a year from today.
    last_answer = max(case.inquiries.values_list("answered_on", flat=True))
    check_date(timezone.localdate(at), field="at", label=("面接の日", "The interview's day"), earliest=last_answer,
               latest=today() + INTERVIEW_HORIZON)
    move(actor, case, "assessment.schedule_interview", kind="interview_scheduled", at=at.isoformat())
    case.interview_at = at
    case.save(update_fields=["interview_at"])
    audit.record(actor, "assessment.schedule_interview", case, details=person_details(case, at=at))
    return case


def check_finding_version(finding: Finding | None, seen, *, required: bool) -> None:
    """A revision made on the version ``seen`` of the item's finding (a finding not recorded yet is
    version 0): 428 without a version when one is required, 409 when the stored one is newer."""
    if finding is not None:
        rows.check_version(finding, seen, required=required)
        return
    if seen is None or seen == "":
        if required:
            raise VersionRequired(current_version=0)
        return
    if str(seen).strip() != "0":
        raise StaleEdit(current_version=0)


@transaction.atomic(durable=True)
def record_finding(*, actor, case: AssessmentCase | int, item: str, text: str, version: int | str | None = None,
                   require_version: bool = False) -> Finding:
    """The finding on one of the seven items (a new revision replaces the last).

    ``version`` is the version of the item's finding the investigator revised (0 when none was
    recorded): one made on an older copy — another tab, a colleague's revision since — is refused
    (409) and writes nothing; with ``require_version`` (the screens and the API), one that names no
    version too (428)."""
    case = locked(case)
    policy.require(actor, "assessment.record_finding", case)
    states.transition(case.state, "assessment.record_finding")
    rules.check_item(item)
    finding = Finding.objects.select_for_update(no_key=True).filter(case=case, item=item).first()
    check_finding_version(finding, version, required=require_version)
    text = _text(text, "text", "調査結果", "finding")
    if finding is None:
        finding = Finding(case=case, item=item, recorded_by=actor.account, version=1, revision=1)
        finding.text = text
        finding.save()
    else:
        rows.change(finding, text=text, revision=finding.revision + 1, recorded_by=actor.account,
                    recorded_at=timezone.now())
    move(actor, case, "assessment.record_finding", kind="finding_recorded", item=item, revision=finding.revision)
    audit.record(actor, "assessment.record_finding", finding, details=person_details(
        case, item=item, revision=finding.revision, version=finding.version))
    return finding


@transaction.atomic(durable=True)
def complete_investigation(*, actor, case: AssessmentCase | int, summary: str | None = None,
                           answer: str | None = None) -> AssessmentCase:
    """Every inquiry answered (at least one) before the interview, the interview held, a finding
    for each of the seven items, and the investigator's case summary for the adjudicator (issue 6
    §1), stored encrypted under the case's key like the findings.

    A case the adjudicator returned with a question (``return_to_investigation``) is completed again
    with the ``answer`` to it (required then, refused otherwise: there is nothing to answer) and the
    summary as it now stands, which replaces the earlier one. ``investigation_completed_at`` keeps
    the first completion, so the nominating side's clock (``staff_queries.nominator_clock``) never
    shows that a case went back."""
    case = locked(case)
    policy.require(actor, "assessment.complete_investigation", case)
    states.transition(case.state, "assessment.complete_investigation")
    rules.check_investigation_complete(case, timezone.now())
    text = rules.check_case_summary(summary)
    question = InvestigationReturn.objects.select_for_update(no_key=True).filter(
        case=case, answered_at__isnull=True).first()
    if question is not None:
        answer = rules.check_return_answer(answer)
    elif answer is not None and (not isinstance(answer, str) or answer.strip()):
        raise RuleViolation("no_question_to_answer", "評価担当からの質問はありません。回答は記入しないでください。",
                            "The adjudicator has asked no question; leave the answer empty.", field="answer")
    now = timezone.now()
    record = CaseSummary.objects.select_for_update(no_key=True).filter(case=case).first()
    if record is None:
        record = CaseSummary(case=case, text=text, recorded_by=actor.account)
        record.save()
    else:  # completed again after a return: the summary as it now stands
        rows.change(record, text=text, recorded_by=actor.account, recorded_at=now)
    details = {}
    if question is not None:
        rows.change(question, answer=answer, answered_by=actor.account, answered_at=now)
        details = {"answered_return": question.pk, "answer_length": len(answer)}
    move(actor, case, "assessment.complete_investigation", kind="investigation_completed", summary=record.pk,
         **details)
    fields = list(CLOCK_FIELDS)
    if case.investigation_completed_at is None:
        case.investigation_completed_at = now
        fields.append("investigation_completed_at")
    case.save(update_fields=fields)
    audit.record(actor, "assessment.complete_investigation", case, details=person_details(
        case, summary=record.pk, summary_length=len(text), **details))
    return case
