"""Reads for the assessment screens and API; lists filtered by ``policy.scope``, single reads
404 alike for missing and forbidden rows (STYLE: reads).

Nothing here decrypts. Personal data is read with ``hozen.crypto.reveal``/``reveal_many`` (the
policy decides per model, and the read is audited); ``reveal_case_file`` gathers the usual reads
of a case file for one viewer with one purpose. What the nominating side gets is shaped by
``nominator_status``: the three facts, nothing else.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from hozen.access import policy
from hozen.core.errors import NotFound
from hozen.core.roles import Role

from .items import ITEMS
from .models import (
    Adjudication,
    AdverseTreatmentReport,
    AssessmentCase,
    BusinessNotice,
    CaseDuty,
    Clearance,
    Complaint,
    Exemption,
    Inquiry,
    Outcome,
)
from .states import OPEN, TERMINAL, ComplaintState, State


def cases_for(actor, *, state: str | None = None):
    qs = (AssessmentCase.objects.filter(policy.scope(actor, "assessment.view", AssessmentCase))
          .select_related("person", "organ", "nominating_organisation"))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-nominated_at", "-id")


def case_for(actor, pk) -> AssessmentCase:
    try:
        case = (AssessmentCase.objects.select_related("person", "organ", "nominating_organisation", "rules_pack",
                                                      "contract").get(pk=pk))
    except (AssessmentCase.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not policy.decide(actor, "assessment.view", case).allowed:
        raise NotFound  # missing and forbidden look the same
    return case


def is_overdue(case: AssessmentCase, on: dt.date | None = None) -> bool:
    return case.stage_due_on is not None and case.stage_due_on < (on or timezone.localdate())


#: The states in which each role has something to do (its queue), besides its assignments.
QUEUE_STATES = {
    Role.SECURITY_OFFICER: (State.NOMINATED, State.ADJUDICATED_FAVOURABLE, State.ADJUDICATED_UNFAVOURABLE),
    Role.ORGAN_HEAD: (State.NOMINATED, State.QUESTIONNAIRE_SUBMITTED, State.INVESTIGATION_COMPLETE,
                      State.UNDER_REEXAMINATION, State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE,
                      State.ADJUDICATED_FAVOURABLE, State.ADJUDICATED_UNFAVOURABLE),
    Role.INVESTIGATOR: (State.UNDER_INVESTIGATION,),
    Role.ADJUDICATOR: (State.INVESTIGATION_COMPLETE, State.UNDER_REEXAMINATION,
                       State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE),
    Role.SUBJECT: (State.NOTICE_GIVEN, State.CONSENTED),
    Role.BUSINESS_OFFICER: tuple(OPEN),
}


def queue_for(actor):
    """Cases awaiting the actor's role, the soonest target date first (overdue ones lead).
    The Cabinet Office's head sees the cases awaiting an investigator, nationwide."""
    states = QUEUE_STATES.get(actor.role, ())
    qs = cases_for(actor).filter(state__in=states)
    if actor.role == Role.ORGAN_HEAD and actor.organisation.kind == "cabinet_office":
        qs = cases_for(actor).filter(Q(state=State.QUESTIONNAIRE_SUBMITTED) | Q(organ=actor.organisation,
                                                                                  state__in=states))
    return qs.order_by("stage_due_on", "id")


def complaints_queue_for(actor):
    """Complaints waiting for a handler (the organ head) or a decision (the handler)."""
    if actor.assignment is None:
        return Complaint.objects.none()
    if actor.role == Role.ORGAN_HEAD:
        return Complaint.objects.filter(case__organ=actor.organisation, state=ComplaintState.FILED).order_by("due_on")
    if actor.role == Role.COMPLAINT_HANDLER:
        return Complaint.objects.filter(handler=actor.account, state=ComplaintState.ASSIGNED).order_by("due_on")
    return Complaint.objects.none()


# --- what each side is shown --------------------------------------------------------------------

def nominator_status(case: AssessmentCase) -> dict:
    """What the nominating side may know (DOMAIN §6 step 7): whether the case is in progress,
    consented or not, favourable or not once notified, and valid until. Never the state name of
    an unnotified decision, never answers, findings or reasons."""
    if case.state in (State.REFUSED, State.NOT_CONSENTED):
        status, consented = "not_consented", False
    elif case.state == State.DISCONTINUED:
        status, consented = "discontinued", None
    elif case.state in (State.NOMINATED, State.NOTICE_GIVEN):
        status, consented = "awaiting_consent", None
    elif case.notified_at is not None:
        status, consented = "notified", True
    else:
        status, consented = "in_progress", True
    out = {"case": case.pk, "person": case.person_id, "status": status, "consented": consented,
           "favourable": None, "valid_until": None}
    if status == "notified":
        clearance = Clearance.objects.filter(case=case).first()
        if clearance is not None:
            out["favourable"] = clearance.favourable
            out["valid_until"] = clearance.valid_until
    return out


def case_status(actor, case: AssessmentCase, *, on: dt.date | None = None) -> dict:
    """The case as the actor may see it: the nominating side gets ``nominator_status``; the subject,
    the organ and the case's workers get the state and its clock."""
    decision = policy.decide(actor, "assessment.view", case)
    if not decision.allowed:
        raise NotFound
    if decision.code == "status_only":
        return nominator_status(case)
    on = on or timezone.localdate()
    return {
        "case": case.pk, "person": case.person_id, "state": case.state, "tier": case.tier, "trigger": case.trigger,
        "organ": case.organ_id, "nominated_at": case.nominated_at, "stage_entered_at": case.stage_entered_at,
        "stage_due_on": case.stage_due_on, "overdue": is_overdue(case, on), "notified_at": case.notified_at,
        "closed": case.state in TERMINAL, "reasons_waived": case.reasons_waived,
        "questionnaire_sha256": case.questionnaire_sha256 or None,
    }


def inquiry_log_for(actor, case: AssessmentCase) -> list[dict]:
    """The inquiries made about the subject — recipient kind and organisation, method, dates; never
    names, questions or answers. For the subject once the result is notified."""
    policy.require(actor, "assessment.view_inquiry_log", case)
    return [{"recipient_kind": i.recipient_kind, "recipient_organisation": i.recipient_organisation,
             "method": i.method, "sent_on": i.sent_on, "answered_on": i.answered_on}
            for i in Inquiry.objects.filter(case=case).order_by("sent_on", "id")]


def events_for(actor, case: AssessmentCase):
    """The case's history (who did what when); the nominating side is not shown it."""
    decision = policy.decide(actor, "assessment.view", case)
    if not decision.allowed or decision.code == "status_only":
        raise NotFound
    return case.events.order_by("at", "id")


def questionnaire_progress(actor, case: AssessmentCase) -> list[dict]:
    """The completeness view: each section's version, completeness and error count, from stored
    flags (nothing decrypted)."""
    policy.require(actor, "assessment.save_questionnaire", case)
    from .questionnaire import SECTIONS

    rows = {r.section: r for r in case.sections.all()}
    return [{"section": s.code, "item": s.item, "title_ja": s.title_ja, "title_en": s.title_en,
             "version": rows[s.code].version if s.code in rows else 0,
             "saved_at": rows[s.code].saved_at if s.code in rows else None,
             "complete": rows[s.code].is_complete if s.code in rows else False,
             "errors": rows[s.code].error_count if s.code in rows else None} for s in SECTIONS]


def reveal_case_file(actor, case: AssessmentCase, *, purpose: str) -> dict:
    """The case file for a case worker (investigator, adjudicators, complaint handler) or the
    subject: answers, findings, inquiries with answers and the latest reasons — each part only if
    the policy lets this actor read it, each read audited with ``purpose``. Parts the actor may not
    read are left out (and not asked for, so no denial is logged for them)."""
    from hozen.crypto import reveal, reveal_many

    def may(action, target) -> bool:
        return policy.decide(actor, action, target).allowed

    out: dict = {"answers": {}, "findings": {}, "inquiries": [], "reasons": None}
    for row in case.sections.select_related("case"):
        if may("assessment.read_answers", row):
            out["answers"][row.section] = reveal(actor, row, "content", purpose=purpose)
    for finding in case.findings.select_related("case"):
        if may("assessment.read_investigation", finding):
            out["findings"][finding.item] = reveal(actor, finding, "text", purpose=purpose)
    for inquiry in case.inquiries.select_related("case"):
        if may("assessment.read_investigation", inquiry):
            out["inquiries"].append({"id": inquiry.pk, "recipient_kind": inquiry.recipient_kind,
                                     "recipient_organisation": inquiry.recipient_organisation,
                                     "sent_on": inquiry.sent_on, "answered_on": inquiry.answered_on,
                                     **reveal_many(actor, inquiry, ["recipient_name", "question", "response"],
                                                   purpose=purpose)})
    adjudication = case.adjudications.select_related("case").order_by("-round").first()
    if adjudication is not None and may("assessment.read_reasons", adjudication):
        out["reasons"] = {"outcome": adjudication.outcome, "round": adjudication.round,
                          "reasons": reveal(actor, adjudication, "reasons", purpose=purpose)}
    return out


def result_for_subject(actor, case: AssessmentCase) -> dict:
    """The notified result as the subject receives it: outcome, valid until, and the reasons per
    item unless they asked in advance not to receive them (read and audited as subject access)."""
    from hozen.crypto import reveal

    policy.require(actor, "assessment.view", case)
    adjudication = (Adjudication.objects.filter(case=case, notified_at__isnull=False).select_related("case")
                    .order_by("-round").first())
    if adjudication is None:
        raise NotFound
    clearance = Clearance.objects.filter(case=case).first()
    reasons = None
    if not adjudication.reasons_waived:
        texts = reveal(actor, adjudication, "reasons", purpose="subject_access")
        reasons = [{"item": i.code, "label_ja": i.label_ja, "label_en": i.label_en, "reason": texts[i.code]}
                   for i in ITEMS]
    return {"outcome": adjudication.outcome, "favourable": adjudication.outcome == Outcome.FAVOURABLE,
            "notified_at": adjudication.notified_at, "valid_until": clearance.valid_until if clearance else None,
            "reasons_waived": adjudication.reasons_waived, "reasons": reasons}


# --- exemptions, clearances, notices ---------------------------------------------------------

def exemptions_for(actor, *, state: str | None = None):
    qs = Exemption.objects.filter(policy.scope(actor, "assessment.view_exemption", Exemption)).select_related(
        "person", "basis", "organ")
    return qs.filter(state=state) if state else qs


def exemption_for(actor, pk) -> Exemption:
    try:
        exemption = Exemption.objects.select_related("person", "basis", "organ").get(pk=pk)
    except (Exemption.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not policy.decide(actor, "assessment.view_exemption", exemption).allowed:
        raise NotFound
    return exemption


def exemption_explained(exemption: Exemption) -> dict:
    """Why no case opened (or why one did), for the nominator: the basis and the decision."""
    basis = exemption.basis
    return {"state": exemption.state, "basis_tier": basis.tier, "basis_organ": basis.organ_id,
            "basis_notified_on": basis.notified_on, "window_years": exemption.window_years,
            "decided_at": exemption.decided_at, "reason": exemption.reason, "case": exemption.case_id}


def clearances_for(actor, *, on: dt.date | None = None):
    return (Clearance.objects.filter(policy.scope(actor, "assessment.view_clearance", Clearance))
            .select_related("person", "organ"))


def renewals_due(actor, *, within_days: int = 180, on: dt.date | None = None):
    """Favourable results ending within ``within_days`` (renewal reminders before expiry)."""
    on = on or timezone.localdate()
    return (clearances_for(actor).filter(favourable=True, ended_on__isnull=True, suspended_at__isnull=True,
                                         valid_until__gte=on, valid_until__lte=on + dt.timedelta(days=within_days))
            .order_by("valid_until"))


def notices_for(actor):
    """Notices to the actor's side; an expired notice keeps its row, not its facts."""
    return (BusinessNotice.objects.filter(policy.scope(actor, "assessment.view_notice", BusinessNotice))
            .select_related("case__person").order_by("-issued_at"))


def duties_of(actor):
    """The cases the actor works now, by duty."""
    if actor.account is None:
        return CaseDuty.objects.none()
    return CaseDuty.objects.filter(account=actor.account, ended_at__isnull=True).select_related("case")


def statistics(*, start: dt.date, end: dt.date) -> dict:
    """Counts oversight needs (DOMAIN §8): performed, not consented, unfavourable, complaints,
    adverse-treatment reports. Counts only; they survive shredding."""
    def between(field):
        return {f"{field}__date__gte": start, f"{field}__date__lte": end}

    cases = AssessmentCase.objects
    return {
        "nominated": cases.filter(**between("nominated_at")).count(),
        "notified": cases.filter(**between("notified_at")).count(),
        "favourable": Clearance.objects.filter(favourable=True, notified_on__gte=start, notified_on__lte=end).count(),
        "unfavourable": Clearance.objects.filter(favourable=False, notified_on__gte=start, notified_on__lte=end).count(),
        "refused": cases.filter(state=State.REFUSED, **between("closed_at")).count(),
        "consent_withdrawn": cases.filter(state=State.NOT_CONSENTED, **between("closed_at")).count(),
        "exemptions_confirmed": Exemption.objects.filter(state="confirmed", **between("decided_at")).count(),
        "complaints": Complaint.objects.filter(**between("filed_at")).count(),
        "adverse_treatment_reports": AdverseTreatmentReport.objects.filter(**between("filed_at")).count(),
    }
