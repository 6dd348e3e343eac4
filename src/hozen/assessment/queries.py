"""Reads for the assessment screens and API; lists filtered by ``policy.scope``, single reads
404 alike for missing and forbidden rows (STYLE: reads).

Nothing here decrypts. Personal data is read with ``hozen.crypto.reveal``/``reveal_many`` (the
policy decides per model, and the read is audited); ``reveal_case_file`` gathers the usual reads
of a case file for one viewer with one purpose. What the nominating side gets is shaped by
``nominator_status``: the three facts, nothing else.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q
from django.utils import timezone

from hozen.access import policy
from hozen.core.errors import NotFound
from hozen.core.roles import Role

from . import reads
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


def _pk(value) -> int | None:
    """A row id from a path or form value, or None: out-of-range ids (SQLite overflows at 2**63) are
    missing rows, never a server error."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 2**62 else None


def case_for(actor, pk) -> AssessmentCase:
    try:
        case = (AssessmentCase.objects.select_related("person", "organ", "nominating_organisation", "rules_pack",
                                                      "contract").get(pk=_pk(pk)))
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


#: The duty kinds each case worker's role holds (their queue is the cases of their own duties).
WORKER_DUTIES = {
    Role.INVESTIGATOR: (CaseDuty.Kind.INVESTIGATOR,),
    Role.ADJUDICATOR: (CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR),
    Role.COMPLAINT_HANDLER: (CaseDuty.Kind.COMPLAINT_HANDLER,),
}


def duty_case_ids(actor, *kinds: str, states=None) -> list[int]:
    """The ids of the cases the actor holds one of ``kinds`` on now (in one of ``states`` if
    given), read from the duty index (``assessment_duty_queue``: account, kind, ended_at) and the
    cases' primary key. Fetched first, as a list, so that the queue is then read by primary key."""
    if actor.account is None or not kinds:
        return []
    duties = CaseDuty.objects.filter(account=actor.account, kind__in=kinds, ended_at__isnull=True)
    if states is not None:
        duties = duties.filter(case__state__in=list(states))
    return sorted(set(duties.values_list("case_id", flat=True)))


def duty_cases(actor, *kinds: str, states=None):
    """Cases on which the actor holds one of ``kinds`` now (a worker's queue), soonest target
    date first, within the policy's scope. The one implementation behind ``queue_for`` for the
    case workers and the staff workspaces' queues (``staff_queries``).

    The state is tested on the duties' cases (``duty_case_ids``), not again in this query: with a
    ``state IN (...)`` condition here, SQLite's planner (no statistics) prefers the queue index
    (state, target date) to avoid the sort, and walks every case of the state nationwide — a
    hundred thousand at a million cases (issue 6 benchmark) — testing each against the list.
    Without it, both databases read the few cases by primary key and sort them."""
    ids = duty_case_ids(actor, *kinds, states=states)
    if not ids:
        return AssessmentCase.objects.none()
    return cases_for(actor).filter(pk__in=ids).order_by("stage_due_on", "id")


def queue_for(actor, *, state: str | None = None):
    """Cases awaiting the actor's role (only those in ``state`` if given), the soonest target date
    first (overdue ones lead). A case worker's are the cases of their own duties (read from the
    duty index first); the Cabinet Office's head sees the cases awaiting an investigator, nationwide."""
    states = QUEUE_STATES.get(actor.role, ())
    if actor.role in WORKER_DUTIES:
        # The state goes into the duties' read, not onto the queue's query (``duty_cases``).
        return duty_cases(actor, *WORKER_DUTIES[actor.role],
                          states=[s for s in states if state is None or s == state])
    qs = cases_for(actor).filter(state__in=states)
    if actor.role == Role.ORGAN_HEAD and actor.organisation.kind == "cabinet_office":
        qs = cases_for(actor).filter(Q(state=State.QUESTIONNAIRE_SUBMITTED) | Q(organ=actor.organisation,
                                                                                  state__in=states))
    if state is not None:
        qs = qs.filter(state=state)
    return qs.order_by("stage_due_on", "id")


def complaints_queue_for(actor):
    """Complaints waiting for a handler (the organ head) or a decision (the handler)."""
    if actor.assignment is None:
        return Complaint.objects.none()
    # Soonest target date first, then by id: a stable order for paging.
    if actor.role == Role.ORGAN_HEAD:
        qs = Complaint.objects.filter(case__organ=actor.organisation, state=ComplaintState.FILED)
    elif actor.role == Role.COMPLAINT_HANDLER:
        qs = Complaint.objects.filter(handler=actor.account, state=ComplaintState.ASSIGNED)
    else:
        return Complaint.objects.none()
    return qs.select_related("case", "case__person").order_by(F("due_on").asc(nulls_last=True), "id")


# --- what each side is shown --------------------------------------------------------------------

def nominator_status(case: AssessmentCase) -> dict:
    """What the nominating side may know (DOMAIN §6 step 7): whether the case is in progress,
    consented or not, favourable or not once notified, and valid until. Never the state name of
    an unnotified decision, never answers, findings or reasons. One case of ``nominator_statuses``
    (the rule lives there once)."""
    return nominator_statuses([case])[case.pk]


def nominator_statuses(cases) -> dict[int, dict]:
    """``nominator_status`` for a page of cases, by case id, in two queries whatever the page size
    (the nominator's list and the API's case list are queue pages: issue 6 benchmark).

    The case's own fields say awaiting consent, not consented, discontinued, in progress or
    notified. The facts come from the side's notice, and go with it: once the latest notice to
    the nominating side is destroyed on its retention timer (DOMAIN §6: business-side notices
    destroyed promptly after use), neither the outcome nor the fact of a refusal is shown any
    more. The clearance gives favourable or not and valid until."""
    cases = list(cases)
    if not cases:
        return {}
    ids = [c.pk for c in cases]
    notices: dict[tuple[int, int], BusinessNotice] = {}
    for notice in BusinessNotice.objects.filter(case_id__in=ids).only(
            "id", "case_id", "recipient_id", "issued_at", "expired_at").order_by("-issued_at", "-id"):
        notices.setdefault((notice.case_id, notice.recipient_id), notice)  # the latest first
    clearances: dict[int, Clearance] = {}
    for clearance in Clearance.objects.filter(case_id__in=ids).only(
            "id", "case_id", "favourable", "valid_until").order_by("id"):
        clearances.setdefault(clearance.case_id, clearance)
    out = {}
    for case in cases:
        status = _status_from_state(case)
        if status["status"] in ("notified", "not_consented"):
            notice = notices.get((case.pk, case.nominating_organisation_id))
            if notice is not None and notice.expired_at is not None:
                status.update(status="notice_destroyed", consented=None)
                out[case.pk] = status
                continue
        if status["status"] == "notified" and case.pk in clearances:
            status["favourable"] = clearances[case.pk].favourable
            status["valid_until"] = clearances[case.pk].valid_until
        out[case.pk] = status
    return out


def _status_from_state(case: AssessmentCase) -> dict:
    """What the case's own fields say, before the notice and the clearance are consulted."""
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
    return {"case": case.pk, "person": case.person_id, "status": status, "consented": consented,
            "favourable": None, "valid_until": None}


def case_status(actor, case: AssessmentCase, *, on: dt.date | None = None) -> dict:
    """The case as the actor may see it: the nominating side gets ``nominator_status``; the subject,
    the organ and the case's workers get the state and its clock."""
    return case_statuses(actor, [case], on=on)[case.pk]


def case_statuses(actor, cases, *, on: dt.date | None = None) -> dict[int, dict]:
    """``case_status`` for a page of cases, by case id: the policy decides each row, and the
    status-only rows' facts are read together (``nominator_statuses``), not two queries a row.
    NotFound if the actor may not see one of them (missing and forbidden look the same)."""
    cases = list(cases)
    on = on or timezone.localdate()
    status_only, out = [], {}
    for case in cases:
        decision = policy.decide(actor, "assessment.view", case)
        if not decision.allowed:
            raise NotFound
        if decision.code == "status_only":
            status_only.append(case)
            continue
        out[case.pk] = {
            "case": case.pk, "person": case.person_id, "state": case.state, "tier": case.tier,
            "trigger": case.trigger, "organ": case.organ_id, "nominated_at": case.nominated_at,
            "stage_entered_at": case.stage_entered_at, "stage_due_on": case.stage_due_on,
            "overdue": is_overdue(case, on), "notified_at": case.notified_at, "closed": case.state in TERMINAL,
            "reasons_waived": case.reasons_waived, "questionnaire_sha256": case.questionnaire_sha256 or None,
        }
    out.update(nominator_statuses(status_only))
    return out


def inquiry_log_for(actor, case: AssessmentCase, *, view: str = "inquiry_log") -> list[dict]:
    """The inquiries made about the subject — recipient kind and organisation, method, dates; never
    names, questions or answers. For the subject once the result is notified; a refusal is a refused
    read naming the person (``reads.require``)."""
    reads.require(actor, "assessment.view_inquiry_log", case, view=view)
    return [{"recipient_kind": i.recipient_kind, "recipient_organisation": i.recipient_organisation,
             "method": i.method, "sent_on": i.sent_on, "answered_on": i.answered_on}
            for i in Inquiry.objects.filter(case=case).order_by("sent_on", "id")]


def events_for(actor, case: AssessmentCase, *, view: str = "events"):
    """The case's history (who did what when); the nominating side is not shown it (404, recorded as
    a refused read naming the person)."""
    decision = policy.decide(actor, "assessment.view", case)
    if not decision.allowed or decision.code == "status_only":
        reads.refused(actor, view, case, reason=decision.code, asked="assessment.view")
        raise NotFound
    return case.events.order_by("at", "id")


def questionnaire_progress(actor, case: AssessmentCase, *, view: str = "questionnaire_progress") -> list[dict]:
    """The completeness view: each section's version, completeness and error count, from stored
    flags (nothing decrypted). The subject's own: anyone else is a refused read."""
    reads.require(actor, "assessment.save_questionnaire", case, view=view)
    from .questionnaire import SECTIONS

    rows = {r.section: r for r in case.sections.all()}
    return [{"section": s.code, "item": s.item, "title_ja": s.title_ja, "title_en": s.title_en,
             "version": rows[s.code].version if s.code in rows else 0,
             "saved_at": rows[s.code].saved_at if s.code in rows else None,
             "complete": rows[s.code].is_complete if s.code in rows else False,
             "errors": rows[s.code].error_count if s.code in rows else None,
             # carried over from the last accepted answers and not yet confirmed by the subject
             "prefilled": s.code in rows and rows[s.code].prefilled_from_id is not None,
             "needs_confirmation": s.code in rows and rows[s.code].prefilled_from_id is not None
             and rows[s.code].confirmed_at is None} for s in SECTIONS]


def reveal_case_file(actor, case: AssessmentCase, *, purpose: str) -> dict:
    """The case file for a case worker (investigator, adjudicators, complaint handler) or the
    subject: answers, findings, inquiries with answers and the latest reasons — each part only if
    the policy lets this actor read it, each read audited with ``purpose``. Parts the actor may not
    read are left out (and not asked for, so no denial is logged for them)."""
    from hozen.crypto import reveal, reveal_many

    def may(action, target) -> bool:
        return policy.decide(actor, action, target).allowed

    out: dict = {"answers": {}, "findings": {}, "inquiries": [], "reasons": None, "summary": None, "returns": []}
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
    from .models import CaseSummary

    summary = CaseSummary.objects.filter(case=case).select_related("case").first()
    if summary is not None and may("assessment.read_investigation", summary):
        out["summary"] = reveal(actor, summary, "text", purpose=purpose)
    from .models import InvestigationReturn

    out["returns"] = [
        {"asked_at": r.asked_at, "answered_at": r.answered_at,
         **reveal_many(actor, r, ["question", "answer"], purpose=purpose)}
        for r in InvestigationReturn.objects.filter(case=case).select_related("case").order_by("asked_at", "id")
        if may("assessment.read_investigation", r)]
    adjudication = case.adjudications.select_related("case").order_by("-round").first()
    if adjudication is not None and may("assessment.read_reasons", adjudication):
        out["reasons"] = {"outcome": adjudication.outcome, "round": adjudication.round,
                          "reasons": reveal(actor, adjudication, "reasons", purpose=purpose)}
    return out


def reveal_findings(actor, case: AssessmentCase, *, purpose: str) -> dict[str, dict]:
    """The findings of a case by item, each with its text (an audited read with ``purpose``), its
    version, revision and time of recording: the investigator's page of all seven findings, which
    shows each finding's text in the field that revises it (issue 15 "casework on one screen")."""
    from hozen.crypto import reveal

    out = {}
    for finding in case.findings.select_related("case").order_by("item"):
        if policy.decide(actor, "assessment.read_investigation", finding).allowed:
            out[finding.item] = {"text": reveal(actor, finding, "text", purpose=purpose), "version": finding.version,
                                 "revision": finding.revision, "recorded_at": finding.recorded_at}
    return out


def result_for_subject(actor, case: AssessmentCase, *, purpose: str = "subject_access", view: str = "result") -> dict:
    """The notified result as the subject receives it: outcome, valid until, and the reasons per
    item unless they asked in advance not to receive them (read and audited as subject access)."""
    from hozen.crypto import reveal

    reads.require(actor, "assessment.view", case, view=view)
    adjudication = (Adjudication.objects.filter(case=case, notified_at__isnull=False).select_related("case")
                    .order_by("-round").first())
    if adjudication is None:
        raise NotFound
    clearance = Clearance.objects.filter(case=case).first()
    reasons = None
    if not adjudication.reasons_waived:
        texts = reveal(actor, adjudication, "reasons", purpose=purpose)
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
        exemption = Exemption.objects.select_related("person", "basis", "organ").get(pk=_pk(pk))
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
    return (clearances_for(actor).filter(Clearance.in_force_q(on), valid_until__lte=on + dt.timedelta(days=within_days))
            .order_by("valid_until"))


def reminders_for(actor):
    """Renewal reminders addressed to the actor (their own as the person, or their side's), newest first."""
    from .models import RenewalReminder

    return (RenewalReminder.objects.filter(policy.scope(actor, "assessment.view_reminder", RenewalReminder))
            .select_related("person", "clearance").order_by("-created_at", "-id"))


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


# --- case content for the API (each asks the policy first: a refusal is a 403, audited) -----------

def answers_for(actor, case: AssessmentCase, *, section: str | None = None, purpose: str,
                view: str = "answers") -> dict[str, dict]:
    """Questionnaire answers by section (the subject, the case's workers); refused with the policy's
    reason before anything is read, even when no section is saved yet (a refused read naming the person)."""
    from hozen.crypto import reveal

    reads.require(actor, "assessment.read_answers", case, view=view)
    rows = case.sections.select_related("case").order_by("id")
    if section is not None:
        rows = rows.filter(section=section)
    return {row.section: reveal(actor, row, "content", purpose=purpose) for row in rows}


def section_answers_for(actor, case: AssessmentCase, *, section: str, purpose: str,
                        view: str = "section_answers") -> tuple[dict, int] | None:
    """One section's answers and the version of the very row they were read from (the API's body
    and ETag: read apart, a save committed between them would pair old answers with a new version,
    and the next save naming it would overwrite answers its client never saw). None when unsaved."""
    from hozen.crypto import reveal

    reads.require(actor, "assessment.read_answers", case, view=view)
    row = case.sections.select_related("case").filter(section=section).first()
    if row is None:
        return None
    return reveal(actor, row, "content", purpose=purpose), row.version


def findings_for(actor, case: AssessmentCase, *, purpose: str, item: str | None = None,
                 view: str = "findings") -> dict[str, dict]:
    """The investigation's findings per item (the case's workers only), each with its version (what
    a revision names); only ``item``'s when given."""
    from hozen.crypto import reveal

    reads.require(actor, "assessment.read_investigation", case, view=view)
    findings = case.findings.select_related("case")
    if item is not None:
        findings = findings.filter(item=item)
    return {f.item: {"text": reveal(actor, f, "text", purpose=purpose), "revision": f.revision,
                     "version": f.version, "recorded_at": f.recorded_at} for f in findings}


def summary_for(actor, case: AssessmentCase, *, purpose: str, view: str = "summary") -> dict | None:
    """The investigator's case summary for the adjudicator (the case's workers only, like the
    findings); None before the investigation is completed. Refused before anything is read."""
    from hozen.crypto import reveal

    from .models import CaseSummary

    reads.require(actor, "assessment.read_investigation", case, view=view)
    summary = CaseSummary.objects.filter(case=case).select_related("case", "recorded_by").first()
    if summary is None:
        return None
    return {"text": reveal(actor, summary, "text", purpose=purpose), "recorded_at": summary.recorded_at}


def returns_for(actor, case: AssessmentCase, *, purpose: str, view: str = "returns",
                open_only: bool = False) -> list[dict]:
    """The adjudicator's questions to the investigator (a case returned instead of decided, issue
    15) with the investigator's answers, oldest first: the case's workers only, like the findings;
    each read audited with ``purpose``. ``open_only``: the question still waiting for its answer."""
    from hozen.crypto import reveal_many

    from .models import InvestigationReturn

    reads.require(actor, "assessment.read_investigation", case, view=view)
    rows = InvestigationReturn.objects.filter(case=case).select_related("case").order_by("asked_at", "id")
    if open_only:
        rows = rows.filter(answered_at__isnull=True)
    return [{"id": r.pk, "asked_at": r.asked_at, "answered_at": r.answered_at,
             **reveal_many(actor, r, ["question", "answer"], purpose=purpose)} for r in rows]


def inquiries_for(actor, case: AssessmentCase, *, purpose: str, view: str = "inquiries") -> list[dict]:
    """Inquiries with names, questions and answers (the case's workers only)."""
    from hozen.crypto import reveal_many

    reads.require(actor, "assessment.read_investigation", case, view=view)
    return [{"id": i.pk, "recipient_kind": i.recipient_kind, "recipient_organisation": i.recipient_organisation,
             "method": i.method, "sent_on": i.sent_on, "answered_on": i.answered_on,
             **reveal_many(actor, i, ["recipient_name", "question", "response"], purpose=purpose)}
            for i in case.inquiries.select_related("case").order_by("sent_on", "id")]


def reasons_for(actor, case: AssessmentCase, *, purpose: str, view: str = "reasons") -> dict | None:
    """The latest adjudication with its reasons per item (its adjudicators, the complaint handler;
    the subject once notified unless waived). None when nothing is adjudicated yet."""
    from hozen.crypto import reveal

    adjudication = case.adjudications.select_related("case").order_by("-round").first()
    reads.require(actor, "assessment.read_reasons", adjudication if adjudication is not None else case, view=view)
    if adjudication is None:
        return None
    return {"round": adjudication.round, "outcome": adjudication.outcome, "decided_at": adjudication.decided_at,
            "concurrence": adjudication.concurrence or None, "rules_pack": str(adjudication.rules_pack),
            "reasons_waived": adjudication.reasons_waived, "notified_at": adjudication.notified_at,
            "reasons": reveal(actor, adjudication, "reasons", purpose=purpose)}


def result_of(actor, case: AssessmentCase, *, purpose: str = "subject_access", view: str = "result") -> dict:
    """``result_for_subject`` behind ``assessment.view_result`` (refused, audited, for anyone else).
    `purpose`: what the read is recorded with (a case worker's duty, not "subject_access")."""
    reads.require(actor, "assessment.view_result", case, view=view)
    return result_for_subject(actor, case, purpose=purpose, view=view)


def complaints_of(actor, case: AssessmentCase, *, purpose: str, view: str = "complaints") -> list[dict]:
    """The case's complaints the actor may read (the subject all of theirs, a handler the one
    given to them), with text and outcome; refused for anyone else."""
    from hozen.crypto import reveal_many

    rows = list(case.complaints.select_related("case").order_by("filed_at", "id"))
    readable = [c for c in rows if policy.decide(actor, "assessment.read_complaint", c).allowed]
    if not readable:
        reads.require(actor, "assessment.read_complaint", rows[0] if rows else Complaint(case=case), view=view)
    return [{"id": c.pk, "state": c.state, "filed_at": c.filed_at, "due_on": c.due_on, "outcome": c.outcome or None,
             "decided_at": c.decided_at,
             **reveal_many(actor, c, ["text", "outcome_reasons"], purpose=purpose)} for c in readable]


# --- adverse-treatment reports (the subject's own; the deciding organ's) --------------------------

def adverse_reports_for(actor, *, decided: bool | None = None):
    """Reports the actor may read, newest first: the subject their own, the deciding organ's head
    its organ's (``policy.scope``; never the employer). No text is read here."""
    qs = (AdverseTreatmentReport.objects
          .filter(policy.scope(actor, "assessment.read_adverse_report", AdverseTreatmentReport))
          .select_related("case", "employer"))
    if decided is not None:
        qs = qs.filter(decided_at__isnull=not decided)
    return qs.order_by("-filed_at", "-id")


def adverse_report_for(actor, pk, *, view: str = "adverse_report") -> AdverseTreatmentReport:
    """One report; NotFound alike for a missing one and one the actor may not read. Both are refused
    reads in the log (``reads.lookup``: the reason, and the person when the report exists)."""
    def find():
        report = (AdverseTreatmentReport.objects.select_related("case", "case__person", "employer")
                  .filter(pk=_pk(pk)).first())
        if report is None or not policy.decide(actor, "assessment.read_adverse_report", report).allowed:
            raise NotFound  # missing and forbidden look the same to the actor; the log tells them apart
        return report

    return reads.lookup(actor, view, AdverseTreatmentReport, pk, find, asked="assessment.read_adverse_report")


def adverse_report_texts(actor, report: AdverseTreatmentReport, *, purpose: str) -> dict:
    """The report's text and, once decided, the reasons for the outcome (read and audited);
    None for both once the case's file is destroyed."""
    from hozen.crypto import reveal_many

    if report.case.shredded_at is not None:
        return {"text": None, "outcome_reasons": None}
    fields = ["text", "outcome_reasons"] if report.decided_at else ["text"]
    texts = reveal_many(actor, report, fields, purpose=purpose)
    return {"text": texts["text"], "outcome_reasons": texts.get("outcome_reasons")}


def adverse_reports_of(actor, case: AssessmentCase, *, purpose: str,
                       view: str = "case_adverse_reports") -> list[tuple[AdverseTreatmentReport, dict]]:
    """A case's reports with their texts (the subject, the deciding organ's head); refused for
    anyone else with the policy's reason."""
    reads.require(actor, "assessment.read_adverse_report", case, view=view)
    rows = AdverseTreatmentReport.objects.filter(case=case).select_related("case", "employer").order_by("filed_at", "id")
    return [(r, adverse_report_texts(actor, r, purpose=purpose)) for r in rows]
