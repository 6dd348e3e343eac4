"""Adjudication (評価, DOMAIN §6 step 6) and notification of the result (step 7).

The organ head's delegate decides favourable or unfavourable with reasons per item, recording
the rules version and whether the subject asked not to receive reasons. An unfavourable decision
needs a second adjudicator's concurrence — a different person, not on the case — before it can be
notified (LESSONS.md). Notification splits: the subject gets the result and reasons (unless
waived); the nominating side gets only consented, favourable or not, and valid until.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.rules.queries import current_pack

from .. import rules, states
from ..models import Adjudication, AssessmentCase, CaseDuty, Clearance, Outcome
from ..states import State
from ._common import (
    CLOCK_FIELDS,
    end_duties,
    locked,
    move,
    notify_nominator,
    person_details,
    today,
)
from .investigation import assign


@transaction.atomic(durable=True)
def assign_adjudicator(*, actor, case: AssessmentCase, adjudicator) -> AssessmentCase:
    """The deciding organ's head assigns its adjudicator (from the submitted questionnaire on)."""
    case = locked(case)
    assign(actor, case, CaseDuty.Kind.ADJUDICATOR, adjudicator, action="assessment.assign_adjudicator")
    move(actor, case, "assessment.assign_adjudicator", kind="adjudicator_assigned", account=adjudicator.pk)
    audit.record(actor, "assessment.assign_adjudicator", case, details=person_details(case, account=adjudicator.pk))
    return case


@transaction.atomic(durable=True)
def assign_concurring_adjudicator(*, actor, case: AssessmentCase, adjudicator) -> AssessmentCase:
    """The second adjudicator for an unfavourable decision: a different person, not on the case."""
    case = locked(case)
    assign(actor, case, CaseDuty.Kind.CONCURRING_ADJUDICATOR, adjudicator,
           action="assessment.assign_concurring_adjudicator")
    move(actor, case, "assessment.assign_concurring_adjudicator", kind="concurring_adjudicator_assigned",
         account=adjudicator.pk)
    audit.record(actor, "assessment.assign_concurring_adjudicator", case,
                 details=person_details(case, account=adjudicator.pk))
    return case


@transaction.atomic(durable=True)
def adjudicate(*, actor, case: AssessmentCase, outcome: str, reasons: dict[str, str]) -> Adjudication:
    """Decide with reasons for each of the seven items, under the rules pack in force today."""
    case = locked(case)
    policy.require(actor, "assessment.adjudicate", case)
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
    audit.record(actor, "assessment.adjudicate", adjudication, details=person_details(
        case, outcome=outcome, round=adjudication.round, rules=str(pack), reasons_waived=case.reasons_waived))
    return adjudication


@transaction.atomic(durable=True)
def concur(*, actor, case: AssessmentCase, agree: bool) -> Adjudication:
    """The second adjudicator concurs with an unfavourable decision (it may then be notified) or
    does not (the case goes back for a new decision)."""
    case = locked(case)
    policy.require(actor, "assessment.concur", case)
    if not isinstance(agree, bool):
        raise RuleViolation("invalid_choice", "同意する・しないのいずれかを選んでください。", "Answer agree or not.",
                            field="agree")
    target = State.ADJUDICATED_UNFAVOURABLE if agree else State.INVESTIGATION_COMPLETE
    states.transition(case.state, "assessment.concur", target)
    adjudication = Adjudication.objects.select_for_update().filter(case=case).order_by("-round").first()
    adjudication.concurrence = Adjudication.Concurrence.AGREED if agree else Adjudication.Concurrence.NOT_AGREED
    adjudication.concurred_by, adjudication.concurred_at = actor.account, timezone.now()
    adjudication.save(update_fields=["concurrence", "concurred_by", "concurred_at"])
    move(actor, case, "assessment.concur", kind="concurred" if agree else "concurrence_declined", target=target,
         round=adjudication.round)
    case.save(update_fields=CLOCK_FIELDS)
    audit.record(actor, "assessment.concur", adjudication, details=person_details(
        case, agree=agree, round=adjudication.round))
    return adjudication


@transaction.atomic(durable=True)
def notify_result(*, actor, case: AssessmentCase) -> Clearance:
    """Notify the result (DOMAIN §6 step 7): the subject's result with reasons unless waived,
    the nominator's notice (consented, favourable or not, valid until — nothing else), and the
    eligibility record, valid for the pack's period from today (step 8).

    A re-assessment's result replaces the record it re-assessed; after a re-examination the
    case's own record is updated.
    """
    case = locked(case)
    policy.require(actor, "assessment.notify_result", case)
    states.transition(case.state, "assessment.notify_result")
    adjudication = Adjudication.objects.select_for_update().filter(case=case).order_by("-round").first()
    favourable = adjudication.outcome == Outcome.FAVOURABLE
    on, now = today(), timezone.now()
    pack = adjudication.rules_pack
    until = rules.valid_until(on, pack) if favourable else None
    clearance, created = Clearance.objects.update_or_create(case=case, defaults={
        "person": case.person, "organ": case.organ, "tier": case.tier, "favourable": favourable, "notified_on": on,
        "valid_until": until, "rules_pack": pack, "suspended_at": None, "suspended_by": None,
        "ended_on": None, "end_reason": ""})
    if case.reassessment_of_id is not None:
        reason = Clearance.EndReason.SUPERSEDED if favourable else Clearance.EndReason.REASSESSMENT_UNFAVOURABLE
        Clearance.objects.filter(pk=case.reassessment_of_id, ended_on__isnull=True).update(ended_on=on, end_reason=reason)
    adjudication.notified_at = now
    adjudication.save(update_fields=["notified_at"])
    notice = notify_nominator(case, pack, consented=True, favourable=favourable, valid_until=until)
    move(actor, case, "assessment.notify_result", kind="result_notified", outcome=adjudication.outcome,
         round=adjudication.round, reasons_included=not adjudication.reasons_waived, notice=notice.pk)
    case.notified_at = now
    case.retain_until = rules.case_retained_until(case, on)
    case.save(update_fields=[*CLOCK_FIELDS, "notified_at", "retain_until"])
    end_duties(case, CaseDuty.Kind.INVESTIGATOR, CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR)
    audit.record(actor, "assessment.notify_result", case, details=person_details(
        case, outcome=adjudication.outcome, valid_until=until, clearance=clearance,
        reasons_included=not adjudication.reasons_waived, notice=notice))
    return clearance
