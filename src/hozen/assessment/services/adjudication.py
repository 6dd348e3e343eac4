"""Adjudication (評価, DOMAIN §6 step 6) and notification of the result (step 7).

The organ head's delegate decides favourable or unfavourable with reasons per item, recording
the rules version and whether the subject asked not to receive reasons. An unfavourable decision
needs a second adjudicator's concurrence — a different person, not on the case — before it can be
notified (LESSONS.md). Notification splits: the subject gets the result and reasons (unless
waived); the nominating side gets only consented, favourable or not, and valid until.
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.audit.canonical import canonical_json
from hozen.core import notices, rows
from hozen.core.errors import RuleViolation
from hozen.rules.queries import current_pack

from .. import rules, states
from ..models import (
    Adjudication,
    AssessmentCase,
    CaseDuty,
    CaseEvent,
    Clearance,
    InvestigationReturn,
    Outcome,
)
from ..states import State
from ._common import (
    CLOCK_FIELDS,
    clearance_details,
    end_clearance,
    end_duties,
    locked,
    move,
    notify_nominator,
    person_details,
    today,
)
from .investigation import assign


@transaction.atomic(durable=True)
def assign_adjudicator(*, actor, case: AssessmentCase | int, adjudicator) -> AssessmentCase:
    """The deciding organ's head assigns its adjudicator (from the submitted questionnaire on)."""
    case = locked(case)
    assign(actor, case, CaseDuty.Kind.ADJUDICATOR, adjudicator, action="assessment.assign_adjudicator")
    move(actor, case, "assessment.assign_adjudicator", kind="adjudicator_assigned", account=adjudicator.pk)
    audit.record(actor, "assessment.assign_adjudicator", case, details=person_details(case, account=adjudicator.pk))
    return case


@transaction.atomic(durable=True)
def assign_concurring_adjudicator(*, actor, case: AssessmentCase | int, adjudicator) -> AssessmentCase:
    """The second adjudicator for an unfavourable decision: a different person, not on the case."""
    case = locked(case)
    assign(actor, case, CaseDuty.Kind.CONCURRING_ADJUDICATOR, adjudicator,
           action="assessment.assign_concurring_adjudicator")
    move(actor, case, "assessment.assign_concurring_adjudicator", kind="concurring_adjudicator_assigned",
         account=adjudicator.pk)
    audit.record(actor, "assessment.assign_concurring_adjudicator", case,
                 details=person_details(case, account=adjudicator.pk))
    return case


def decision_review_token(case: AssessmentCase, *, outcome: str, reasons: dict) -> str:
    """What the review of a decision showed (issue 15 "review before final"): the case as it was
    — its state and its latest event, so anything that happened to it since (a decision or a return
    in another window, a waiver of reasons, a reassignment) changes it — and a digest of the outcome
    and reasons as entered. The review page sends it back with the confirmation; ``adjudicate``
    refuses a confirmation whose token no longer matches (``changed_since_review``)."""
    last = CaseEvent.objects.filter(case=case).order_by("-id").values_list("id", flat=True).first()
    entered = canonical_json({"outcome": str(outcome), "reasons": {
        str(k): str(v).replace("\r\n", "\n") for k, v in sorted((reasons or {}).items())}})
    return f"{case.state}:{last or 0}:{hashlib.sha256(entered).hexdigest()[:32]}"


CHANGED_SINCE_REVIEW = (
    "changed_since_review",
    "確認画面を開いた後に、この適性評価の状況が変わりました（別の画面での操作など）。最新の状況を確認してから、改めて判断を記録してください。",
    "This assessment changed after you opened the review (for example in another window). Check it as it is "
    "now, then record your decision again.")


@transaction.atomic(durable=True)
def adjudicate(*, actor, case: AssessmentCase | int, outcome: str, reasons: dict[str, str],
               reviewed: str | None = None) -> Adjudication:
    """Decide with reasons for each of the seven items, under the rules pack in force today. The
    audit entry names the case (whose state it moves) and the adjudication by id and round.

    ``reviewed`` is the ``decision_review_token`` of the review page the adjudicator confirmed (the
    screens send it): when the case changed since, or the decision is not the one reviewed, nothing
    is recorded (``changed_since_review``)."""
    case = locked(case)
    policy.require(actor, "assessment.adjudicate", case)
    if reviewed is not None and reviewed != decision_review_token(case, outcome=outcome, reasons=reasons):
        raise RuleViolation(*CHANGED_SINCE_REVIEW)
    if outcome not in Outcome.values:
        raise RuleViolation("invalid_outcome", "評価の結果は favourable 又は unfavourable です。",
                            "The outcome is favourable or unfavourable.", field="outcome")
    target = State.ADJUDICATED_FAVOURABLE if outcome == Outcome.FAVOURABLE else \
        State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE
    states.transition(case.state, "assessment.adjudicate", target)
    reasons = rules.check_reasons_per_item(reasons)
    pack = current_pack(case.tier, today())
    last = case.adjudications.aggregate(m=Max("round"))["m"] or 0
    adjudication = Adjudication(case=case, round=last + 1, outcome=outcome, reasons=reasons,
                                reasons_waived=case.reasons_waived, adjudicator=actor.account, rules_pack=pack)
    adjudication.save()
    move(actor, case, "assessment.adjudicate", kind="adjudicated", target=target, outcome=outcome,
         round=adjudication.round, rules=str(pack))
    case.adjudicated_at = adjudication.decided_at
    case.save(update_fields=[*CLOCK_FIELDS, "adjudicated_at"])
    audit.record(actor, "assessment.adjudicate", case, details=person_details(
        case, adjudication=adjudication.pk, outcome=outcome, round=adjudication.round, rules=str(pack),
        reasons_waived=case.reasons_waived))
    return adjudication


@transaction.atomic(durable=True)
def return_to_investigation(*, actor, case: AssessmentCase | int, question: str) -> InvestigationReturn:
    """The case's adjudicator, instead of deciding, sends the case back to the investigator with a
    question (issue 15 "send back"): the case is under investigation again with a new stage clock,
    the question encrypted under the case's key, and the investigator answers it by completing the
    investigation again (``complete_investigation(answer=...)``)."""
    case = locked(case)
    policy.require(actor, "assessment.return_to_investigation", case)
    states.transition(case.state, "assessment.return_to_investigation")
    text = rules.check_return_question(question)
    record = InvestigationReturn(case=case, asked_by=actor.account)
    record.question = text
    record.save()
    move(actor, case, "assessment.return_to_investigation", kind="returned_to_investigation", question=record.pk)
    case.save(update_fields=CLOCK_FIELDS)
    audit.record(actor, "assessment.return_to_investigation", case, details=person_details(
        case, question=record.pk, question_length=len(text)))
    return record


@transaction.atomic(durable=True)
def concur(*, actor, case: AssessmentCase | int, agree: bool) -> Adjudication:
    """The second adjudicator concurs with an unfavourable decision (it may then be notified) or
    does not (the case goes back for a new decision). The entry names the case, as ``adjudicate``."""
    case = locked(case)
    policy.require(actor, "assessment.concur", case)
    if not isinstance(agree, bool):
        raise RuleViolation("invalid_choice", "同意する・しないのいずれかを選んでください。", "Answer agree or not.",
                            field="agree")
    target = State.ADJUDICATED_UNFAVOURABLE if agree else State.INVESTIGATION_COMPLETE
    states.transition(case.state, "assessment.concur", target)
    adjudication = Adjudication.objects.select_for_update(no_key=True).filter(case=case).order_by("-round").first()
    rows.change(adjudication, concurrence=Adjudication.Concurrence.AGREED if agree else
                Adjudication.Concurrence.NOT_AGREED, concurred_by=actor.account, concurred_at=timezone.now())
    move(actor, case, "assessment.concur", kind="concurred" if agree else "concurrence_declined", target=target,
         round=adjudication.round)
    case.save(update_fields=CLOCK_FIELDS)
    audit.record(actor, "assessment.concur", case, details=person_details(
        case, adjudication=adjudication.pk, agree=agree, round=adjudication.round))
    return adjudication


@transaction.atomic(durable=True)
def notify_result(*, actor, case: AssessmentCase | int) -> Clearance:
    """Notify the result (DOMAIN §6 step 7): the subject's result with reasons unless waived,
    the nominator's notice (consented, favourable or not, valid until — nothing else), and the
    eligibility record, valid for the pack's period from today (step 8).

    The result replaces the person's current record of the same organ and tier — the one a
    re-assessment re-assessed, or the one a ten-year renewal renews: it ends today (superseded,
    or unfavourable re-assessment), so one record per person, organ and tier is current (a database
    constraint). After a re-examination the case's own record is updated. Each record changed gets
    its own audit entry (``assessment.record_result``, ``assessment.end_clearance``).
    """
    case = locked(case)
    policy.require(actor, "assessment.notify_result", case)
    states.transition(case.state, "assessment.notify_result")
    adjudication = Adjudication.objects.select_for_update(no_key=True).filter(case=case).order_by("-round").first()
    favourable = adjudication.outcome == Outcome.FAVOURABLE
    on, now = today(), timezone.now()
    pack = adjudication.rules_pack
    until = rules.valid_until(on, pack) if favourable else None
    earlier = (Clearance.objects.select_for_update(no_key=True).filter(person_id=case.person_id, organ_id=case.organ_id,
                                                            tier=case.tier, ended_on__isnull=True)
               .exclude(case=case).order_by("pk"))
    ending = Clearance.EndReason.SUPERSEDED if favourable else Clearance.EndReason.REASSESSMENT_UNFAVOURABLE
    for old in earlier:
        end_clearance(actor, old, ending, case=case)
    values = {"favourable": favourable, "notified_on": on, "valid_until": until, "rules_pack": pack,
              "suspended_at": None, "suspended_by": None, "ended_on": None, "end_reason": ""}
    clearance = Clearance.objects.select_for_update(no_key=True).filter(case=case).first()
    if clearance is None:
        clearance = Clearance.objects.create(case=case, person_id=case.person_id, organ_id=case.organ_id,
                                             tier=case.tier, **values)
    else:  # re-notified after a re-examination: the case's own record takes the new result
        rows.change(clearance, **values)
    audit.record(actor, "assessment.record_result", clearance, details=clearance_details(
        clearance, case=case.pk, round=adjudication.round))
    rows.change(adjudication, notified_at=now)
    notice = notify_nominator(case, pack, consented=True, favourable=favourable, valid_until=until)
    move(actor, case, "assessment.notify_result", kind="result_notified", outcome=adjudication.outcome,
         round=adjudication.round, reasons_included=not adjudication.reasons_waived, notice=notice.pk)
    case.notified_at = now
    case.retain_until = rules.case_retained_until(case, on)
    case.save(update_fields=[*CLOCK_FIELDS, "notified_at", "retain_until"])
    end_duties(case, CaseDuty.Kind.INVESTIGATOR, CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR)
    audit.record(actor, "assessment.notify_result", case, details=person_details(
        case, outcome=adjudication.outcome, valid_until=until, clearance=clearance,
        reasons_included=not adjudication.reasons_waived, notice=notice, retain_until=case.retain_until))
    notices.queue_for_person(case.person_id, "result_to_read", "portal")
    return clearance
