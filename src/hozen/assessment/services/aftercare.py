"""After the result: reported changes and re-assessment (DOMAIN §6 step 8), complaints (step 9)
and adverse-treatment reports (purpose limitation)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.audit.canonical import canonical_json
from hozen.core import notices, rows
from hozen.core.errors import RuleViolation
from hozen.core.services import give_subject_roles
from hozen.core.text import EARLIEST_DATE, check_date, clean, visible_length
from hozen.rules.queries import current_pack

from .. import rules, states
from ..duties import DutyProposal
from ..models import (
    AdverseTreatmentReport,
    AssessmentCase,
    CaseDuty,
    Clearance,
    Complaint,
    ReportableEvent,
    Trigger,
)
from ..states import BEFORE_NOTIFICATION, OPEN, ComplaintState
from ._common import (
    CLOCK_FIELDS,
    check_file_kept,
    clearance_details,
    close_without_result,
    event,
    fact_digest,
    hint,
    lock_person,
    locked,
    move,
    person_details,
    save_new_case,
    take_duty,
    today,
)


def _date(value, field: str, *, label: tuple[str, str], earliest: dt.date) -> dt.date:
    """A day no later than today and no earlier than ``earliest`` (refused naming the field)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise RuleViolation("invalid_date", "日付を入力してください。", "Enter a date.", field=field)
    if value > today():
        raise RuleViolation("future_date", "将来の日付は入力できません。", "The date cannot be in the future.", field=field)
    return check_date(value, field=field, label=label, earliest=earliest, latest=today())


def earliest_occurrence(clearance: Clearance, kind: str) -> dt.date:
    """The earliest day a reported change can have happened. A departure or a transfer is reported
    by the side that nominated the person, who was on its staff at the post the nomination names:
    neither happened before the nomination. A concerning event may be older than the assessment
    (learnt of since), but not older than the person."""
    if kind == ReportableEvent.Kind.CONCERNING_EVENT:
        born = clearance.person.date_of_birth
        return max(born, EARLIEST_DATE) if born is not None else EARLIEST_DATE
    return timezone.localdate(clearance.case.nominated_at)


def check_not_reported_before(clearance: Clearance, reporter, kind: str, occurred_on: dt.date) -> None:
    """An exact duplicate of a fact already recorded — the same change of the same result, on the
    same day, from the same reporter — is refused (issue 12 §5). The clearance is locked, so two
    reports at once are decided one after the other and the second sees the first."""
    if ReportableEvent.objects.filter(clearance=clearance, kind=kind, occurred_on=occurred_on,
                                      reporter=reporter).exists():
        raise RuleViolation("already_reported", "同じ変更（同じ種類・同じ日付）は既に報告されています。",
                            "This change (the same kind, on the same day) has already been reported for this result.",
                            field="occurred_on")


@transaction.atomic(durable=True)
def report_event(*, actor, clearance: Clearance | int, kind: str, occurred_on: dt.date, new_post: str = "",
                 description: str | None = None) -> ReportableEvent:
    """The employer or the organ reports a change about a person with a result (DOMAIN §6 step 8).

    - ``left``: an assessment of the person that the same nominator started and that has no result
      yet is discontinued; the result itself stays (it belongs to the person and the organ head).
    - ``transferred``: recorded with the new post.
    - ``concerning_event``: opens a re-assessment (trigger ``concern``) and suspends the clearance
      — and so the person's handling — until the re-assessment ends. The description is encrypted
      under the new case's key.

    Locks in the one order (``_common``): the person, then the person's open assessment by the
    clearance's organ and tier (a concern) or the cases a departure discontinues, then the clearance.
    """
    seen = hint(Clearance, clearance)
    lock_person(seen.person_id)
    open_case = (AssessmentCase.objects.select_for_update(no_key=True)
                 .filter(person_id=seen.person_id, organ_id=seen.organ_id, tier=seen.tier, state__in=sorted(OPEN))
                 .order_by("pk").first())
    leaving = list(AssessmentCase.objects.select_for_update(no_key=True)
                   .filter(person_id=seen.person_id, organ_id=seen.organ_id, state__in=BEFORE_NOTIFICATION)
                   .order_by("pk")) if kind == ReportableEvent.Kind.LEFT else []
    clearance = rows.lock(Clearance, seen.pk, related=("case",))
    policy.require(actor, "assessment.report_event", clearance)
    if kind not in ReportableEvent.Kind.values:
        raise RuleViolation("invalid_kind", "報告の種類が不正です。",
                            f"Use one of {', '.join(ReportableEvent.Kind.values)}.", field="kind")
    occurred_on = _date(occurred_on, "occurred_on", label=("発生日", "The date it happened"),
                        earliest=earliest_occurrence(clearance, kind))
    new_post = clean(new_post, field="new_post", label=("異動後の所属・役職", "The new department and post"),
                     max_length=200)
    if kind == ReportableEvent.Kind.TRANSFERRED and not visible_length(new_post):
        raise RuleViolation("new_post_required", "異動後の所属・役職を入力してください。", "Enter the new department and post.",
                            field="new_post")
    if kind != ReportableEvent.Kind.CONCERNING_EVENT and description:
        raise RuleViolation("description_only_for_concern", "内容の記載は懸念事項の報告の場合のみです。",
                            "A description is recorded only for a concerning event.", field="description")
    check_not_reported_before(clearance, actor.organisation, kind, occurred_on)
    original = clearance.case
    record = ReportableEvent(clearance=clearance, kind=kind, occurred_on=occurred_on, new_post=new_post,
                             reporter=actor.organisation, reported_by=actor.describe())
    if kind == ReportableEvent.Kind.CONCERNING_EVENT:
        description = rules.check_text(description, "description", what_ja="懸念事項の内容", what_en="description")
        if not clearance.is_valid(today()):
            raise RuleViolation("clearance_not_valid", "有効な適性評価の結果についてのみ懸念事項を報告できます。",
                                "A concern is reported against a result that is still valid.")
        if open_case is not None:
            case = _fold_concern(actor, clearance, open_case, record, description)
        else:
            rules.check_no_open_case(clearance.person, clearance.organ, clearance.tier)  # a pending exemption
            case = _open_reassessment(actor, clearance, original, record, description, new_post)
        rows.change(clearance, suspended_at=timezone.now(), suspended_by=case)
        event(actor, original, "clearance_suspended", reassessment=case.pk, reported_event=record.pk)
        audit.record(actor, "assessment.suspend_clearance", clearance, details=clearance_details(
            clearance, case=case.pk, reported_event=record.pk))
    else:
        record.save()
        event(actor, original, f"reported_{kind}", reported_event=record.pk)
        if kind == ReportableEvent.Kind.LEFT:
            _discontinue_open_cases(actor, leaving, record)
    audit.record(actor, "assessment.report_event", record, details={
        "subject_person_id": clearance.person_id, "kind": kind, "clearance": clearance,
        "reassessment": record.case})
    return record


def _open_reassessment(actor, clearance: Clearance, original: AssessmentCase, record: ReportableEvent,
                       description: str, new_post: str) -> AssessmentCase:
    """A concern with no assessment open: a re-assessment (trigger ``concern``) opens.

    Its nominating side stays the one that nominated the person (their employer, with its
    contract), whoever reported: DOMAIN §6 step 7 gives the business its three facts about its
    nominee, so when the organ reports a concern about a business's employee the result still
    reaches the employer (and the reporting organ too, ``_common.notice_recipients``).
    """
    pack = current_pack(clearance.tier, today())
    case = AssessmentCase(
        person=clearance.person, organ=clearance.organ, tier=clearance.tier,
        nominating_organisation=original.nominating_organisation, contract=original.contract,
        nominated_by=actor.account, trigger=Trigger.CONCERN, reassessment_of=clearance,
        department=original.department, post=new_post or original.post, listing_agreed_on=None,
        dispatched_worker=original.dispatched_worker, employing_agency=original.employing_agency, rules_pack=pack)
    save_new_case(case)
    record.reassessment = case
    record.description = description
    record.save()
    event(actor, case, "nominated", state_to=case.state, trigger=case.trigger, reported_event=record.pk)
    audit.record(actor, "assessment.nominate", case, details=person_details(
        case, organ=case.organ.code, nominator=case.nominating_organisation.code, tier=case.tier,
        trigger=case.trigger, reported_by=actor.organisation.code))
    give_subject_roles(actor=actor, people={case.person_id: case.nominating_organisation},
                       case_ids={case.person_id: case.pk})
    return case


def _fold_concern(actor, clearance: Clearance, case: AssessmentCase, record: ReportableEvent,
                  description: str) -> AssessmentCase:
    """A concern reported while an assessment of the person by the same organ and tier is open
    (a ten-year renewal, an earlier concern) joins that case instead of being refused: DOMAIN §6
    step 8 says a concern *triggers* re-assessment and may suspend handling until it ends, and
    the open case is that assessment. Its investigator and adjudicator read the concern with
    the rest of the file; the clearance is suspended until the case ends, and the case's result
    replaces (or ends) it as a re-assessment's does."""
    record.folded_into = case
    record.description = description
    record.save()
    if case.reassessment_of_id is None:
        case.reassessment_of = clearance
        case.save(update_fields=["reassessment_of"])
    event(actor, case, "concern_folded", reported_event=record.pk, clearance=clearance.pk)
    audit.record(actor, "assessment.fold_concern", case, details=person_details(
        case, reported_event=record.pk, clearance=clearance, reported_by=actor.organisation.code))
    return case


def _discontinue_open_cases(actor, cases: list[AssessmentCase], record: ReportableEvent) -> None:
    """The person left: their assessments by the organ that this reporter nominated and that have
    no result yet end as discontinued (``cases`` were locked before the clearance, in id order)."""
    for case in cases:
        if case.nominating_organisation_id != record.reporter_id or case.state not in BEFORE_NOTIFICATION:
            continue
        move(actor, case, "assessment.discontinue", kind="discontinued", reported_event=record.pk)
        close_without_result(actor, case, Clearance.EndReason.REASSESSMENT_NOT_COMPLETED)
        case.save(update_fields=[*CLOCK_FIELDS, "closed_at", "retain_until"])
        audit.record(actor, "assessment.discontinue", case, details=person_details(
            case, reported_event=record.pk, retain_until=case.retain_until))


@transaction.atomic(durable=True)
def file_complaint(*, actor, case: AssessmentCase | int, text: str) -> Complaint:
    """The subject complains in writing to the organ head about the assessment or its result
    (DOMAIN §6 step 9). No disadvantage may follow from complaining."""
    case = locked(case)
    policy.require(actor, "assessment.file_complaint", case)
    check_file_kept(case)
    text = rules.check_text(text, "text", what_ja="苦情の内容", what_en="complaint")
    digest = fact_digest(case, "complaint", text)
    # The same complaint again while the first is open (a double click, a retry) is no new complaint.
    if Complaint.objects.filter(case=case, text_digest=digest).exclude(state=ComplaintState.DECIDED).exists():
        raise RuleViolation("complaint_already_filed", "同じ内容の苦情が既に申し出られ、処理中です。",
                            "The same complaint has already been filed and is being handled.", field="text")
    complaint = Complaint(case=case, text=text, text_digest=digest,
                          due_on=today() + dt.timedelta(days=case.rules_pack.value("assessment.target_days.complaint")))
    complaint.save()
    event(actor, case, "complaint_filed", complaint=complaint.pk)
    audit.record(actor, "assessment.file_complaint", complaint, details=complaint_details(case, complaint))
    return complaint


def complaint_details(case: AssessmentCase, complaint: Complaint, **details) -> dict:
    """A complaint's entry: whose case, the case's state, and the complaint's state, handler and
    outcome after the change (replayed by ``assessment.reconcile``)."""
    return person_details(case, complaint_state=complaint.state, handler=complaint.handler_id,
                          outcome=complaint.outcome, **details)


def _locked_complaint(complaint: Complaint | int) -> tuple[AssessmentCase, Complaint]:
    """The complaint's case, then the complaint, each read afresh and locked (the lock order)."""
    case = locked(hint(Complaint, complaint).case_id)
    return case, rows.lock(Complaint, complaint, related=("case",))


@transaction.atomic(durable=True)
def assign_complaint_handler(*, actor, complaint: Complaint | int, handler) -> Complaint:
    """The organ head's delegate gives the complaint to a handler who never worked the case."""
    case, complaint = _locked_complaint(complaint)
    row = states.check_in(states.COMPLAINT_TRANSITIONS, complaint.state, "assessment.assign_complaint_handler")
    if handler is None:
        raise RuleViolation("assignee_required", "担当者を指定してください。", "Name the person to assign.",
                            field="handler")
    policy.require(actor, "assessment.assign_complaint_handler", DutyProposal(case, CaseDuty.Kind.COMPLAINT_HANDLER,
                                                                             handler))
    take_duty(actor, case, CaseDuty.Kind.COMPLAINT_HANDLER, handler)
    previous = complaint.handler_id
    if previous is not None and previous != handler.pk and not Complaint.objects.filter(
            case=case, handler_id=previous, state=ComplaintState.ASSIGNED).exclude(pk=complaint.pk).exists():
        CaseDuty.objects.filter(case=case, account_id=previous, kind=CaseDuty.Kind.COMPLAINT_HANDLER).update(
            ended_at=timezone.now())
    rows.change(complaint, state=row.target, handler=handler, assigned_at=timezone.now())
    event(actor, case, "complaint_handler_assigned", complaint=complaint.pk, account=handler.pk)
    audit.record(actor, "assessment.assign_complaint_handler", complaint,
                 details=complaint_details(case, complaint, account=handler.pk))
    return complaint


def complaint_review_token(complaint: Complaint, *, outcome: str, reasons: str) -> str:
    """What the review of a complaint's decision showed (issue 15 "review before final"): the
    complaint's state and handler, and a digest of the outcome and reasons as entered. The review
    page sends it back with the confirmation; ``decide_complaint`` refuses a confirmation whose token
    no longer matches (``changed_since_review``)."""
    entered = canonical_json({"outcome": str(outcome), "reasons": str(reasons).replace("\r\n", "\n")})
    return f"{complaint.state}:{complaint.handler_id or 0}:{hashlib.sha256(entered).hexdigest()[:32]}"


@transaction.atomic(durable=True)
def decide_complaint(*, actor, complaint: Complaint | int, outcome: str, reasons: str,
                     reviewed: str | None = None) -> Complaint:
    """The handler decides and the outcome is notified in writing. A re-examination reopens the
    adjudication of a notified result (it must then be decided and notified again): the case's own
    entry ``assessment.reexamine`` records that, beside the complaint's.

    ``reviewed`` is the ``complaint_review_token`` of the review page the handler confirmed (the
    screens send it): if the complaint changed since, or the decision is not the one reviewed,
    nothing is written (``changed_since_review``)."""
    case, complaint = _locked_complaint(complaint)
    # What was reviewed first: a confirmation from a review the complaint has moved on from (decided
    # in another tab, given to another handler) is told so, in words.
    if reviewed is not None and reviewed != complaint_review_token(complaint, outcome=outcome, reasons=reasons):
        raise RuleViolation(
            "changed_since_review",
            "確認画面を開いた後に、この苦情の状況が変わったか、確認した内容と異なる内容が送信されました。最新の状況を確認してから、改めて判断してください。",
            "This complaint changed after you opened the review, or what was sent is not what you reviewed. Check it "
            "as it is now, then decide again.")
    # The complaint's state first: a second decision (another tab, a retry) is told the complaint is
    # decided, not that its handler — whose duty ended with the first decision — is not assigned.
    row = states.check_in(states.COMPLAINT_TRANSITIONS, complaint.state, "assessment.decide_complaint")
    policy.require(actor, "assessment.decide_complaint", complaint)
    if outcome not in Complaint.Outcome.values:
        raise RuleViolation("invalid_outcome", "処理の結果が不正です。", f"Use one of {', '.join(Complaint.Outcome.values)}.",
                            field="outcome")
    reasons = rules.check_text(reasons, "reasons", what_ja="処理の理由", what_en="reasons")
    if outcome == Complaint.Outcome.RE_EXAMINATION:
        move(actor, case, "assessment.reexamine", kind="reexamination_opened", complaint=complaint.pk)
        case.save(update_fields=CLOCK_FIELDS)
        audit.record(actor, "assessment.reexamine", case, details=person_details(case, complaint=complaint.pk))
    now = timezone.now()
    rows.change(complaint, state=row.target, outcome=outcome, outcome_reasons=reasons, decided_at=now,
                notified_at=now)
    still_handling = Complaint.objects.filter(case=case, handler=actor.account, state=ComplaintState.ASSIGNED).exists()
    if not still_handling:
        CaseDuty.objects.filter(case=case, account=actor.account, kind=CaseDuty.Kind.COMPLAINT_HANDLER).update(
            ended_at=now)
    event(actor, case, "complaint_decided", complaint=complaint.pk, outcome=outcome)
    audit.record(actor, "assessment.decide_complaint", complaint, details=complaint_details(case, complaint))
    notices.queue_for_person(case.person_id, "complaint_answered", "portal")
    return complaint


@transaction.atomic(durable=True)
def report_adverse_treatment(*, actor, case: AssessmentCase | int, kind: str, text: str) -> AdverseTreatmentReport:
    """The subject reports being penalised for refusing, failing or complaining. The report goes to
    the deciding organ (its head's delegate), never to the employer; the employer named is the
    organisation that nominated the subject."""
    case = locked(case)
    policy.require(actor, "assessment.report_adverse_treatment", case)
    check_file_kept(case)
    if kind not in AdverseTreatmentReport.Kind.values:
        raise RuleViolation("invalid_kind", "不利益取扱いの種類が不正です。",
                            f"Use one of {', '.join(AdverseTreatmentReport.Kind.values)}.", field="kind")
    text = rules.check_text(text, "text", what_ja="申出の内容", what_en="report")
    digest = fact_digest(case, "adverse_treatment", kind, text)
    # The same report again while the first awaits the organ's decision records no new fact.
    if AdverseTreatmentReport.objects.filter(case=case, text_digest=digest, decided_at__isnull=True).exists():
        raise RuleViolation("already_reported", "同じ内容の申出が既にあり、行政機関が処理中です。",
                            "The same report has already been made and awaits the organ's decision.", field="text")
    report = AdverseTreatmentReport(case=case, employer=case.nominating_organisation, kind=kind, text=text,
                                    text_digest=digest)
    report.save()
    event(actor, case, "adverse_treatment_reported", report=report.pk, report_kind=kind)
    audit.record(actor, "assessment.report_adverse_treatment", report, details=person_details(
        case, kind=kind, employer=case.nominating_organisation.code))
    return report


@transaction.atomic(durable=True)
def decide_adverse_treatment(*, actor, report: AdverseTreatmentReport | int, outcome: str,
                             reasons: str) -> AdverseTreatmentReport:
    """The organ decides on the report and notifies the subject; ``contract_action`` refers the
    business's contract for action (DOMAIN §4: a contract can be terminated for misuse). Decided
    once: the case, then the report, are locked, so two decisions at once give one."""
    locked(hint(AdverseTreatmentReport, report).case_id)
    report = rows.lock(AdverseTreatmentReport, report, related=("case",))
    policy.require(actor, "assessment.decide_adverse_treatment", report)
    if report.decided_at is not None:
        raise RuleViolation("already_decided", "この申出は処理済みです。", "This report has already been decided.")
    if outcome not in AdverseTreatmentReport.Outcome.values:
        raise RuleViolation("invalid_outcome", "処理の結果が不正です。",
                            f"Use one of {', '.join(AdverseTreatmentReport.Outcome.values)}.", field="outcome")
    check_file_kept(report.case)
    reasons = rules.check_text(reasons, "reasons", what_ja="処理の理由", what_en="reasons")
    now = timezone.now()
    rows.change(report, outcome=outcome, outcome_reasons=reasons, handler=actor.account, decided_at=now,
                notified_at=now)
    event(actor, report.case, "adverse_treatment_decided", report=report.pk, outcome=outcome)
    audit.record(actor, "assessment.decide_adverse_treatment", report, details=person_details(
        report.case, outcome=outcome))
    return report
