"""Reads for the staff workspaces (nominator, investigator, adjudicator, complaint handler, the
organ head's assignments), over ``queries`` and the policy.

Nothing here decrypts except ``complaint_text`` and ``adverse_report_text``, which go through
``hozen.crypto.reveal`` (the policy decides, the read is audited with its purpose). Lists are
filtered by ``policy.scope`` (through ``queries``) or by the actor's own active duties; single
reads raise ``NotFound`` alike for missing and forbidden rows (STYLE: reads).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from hozen.access import policy
from hozen.core.errors import NotFound
from hozen.core.models import Account, Person, RoleAssignment
from hozen.core.roles import OrganisationKind, Role

from . import queries
from .duties import DutyProposal
from .models import (
    AdverseTreatmentReport,
    AssessmentCase,
    BusinessNotice,
    CaseDuty,
    Clearance,
    Complaint,
    Exemption,
    Inquiry,
    InvestigationReturn,
)
from .states import OPEN, ComplaintState, ExemptionState, State

#: Policy codes that are about the person proposed for a duty, not about who assigns: the screen
#: shows them beside the field (the assigner may pick someone else).
CANDIDATE_CODES = frozenset({"candidate_lacks_role", "own_case", "nominator_cannot_take_duty", "worked_the_case",
                             "separation_of_duties"})

#: The purpose each worker's reading of a case file is recorded with.
READ_PURPOSES = {
    Role.INVESTIGATOR: "investigation",
    Role.ADJUDICATOR: "adjudication",
    Role.COMPLAINT_HANDLER: "complaint_handling",
}


def _today(on: dt.date | None = None) -> dt.date:
    return on or timezone.localdate()


def with_clock(cases, on: dt.date | None = None) -> list[dict]:
    """Each case with its stage's target date and whether it is overdue or due within 7 days."""
    on = _today(on)
    rows = []
    for case in cases:
        due = case.stage_due_on
        rows.append({"case": case, "due_on": due, "overdue": due is not None and due < on,
                     "due_soon": due is not None and on <= due <= on + dt.timedelta(days=7)})
    return rows


def clock_counts(rows: list[dict]) -> dict:
    return {"total": len(rows), "overdue": sum(r["overdue"] for r in rows), "due_soon": sum(r["due_soon"] for r in rows)}


def queue_counts(*querysets, on: dt.date | None = None) -> dict:
    """Total, overdue and due within 7 days of one or more queues of cases, counted by the
    database (a paginated queue is never loaded whole to be counted)."""
    on = _today(on)
    total = {"total": 0, "overdue": 0, "due_soon": 0}
    for qs in querysets:
        counts = qs.order_by().aggregate(
            total=Count("pk"), overdue=Count("pk", filter=Q(stage_due_on__lt=on)),
            due_soon=Count("pk", filter=Q(stage_due_on__gte=on, stage_due_on__lte=on + dt.timedelta(days=7))))
        for key in total:
            total[key] += counts[key] or 0
    return total


# --- the nominating side ----------------------------------------------------------------------

def nominated_cases(actor):
    """The cases the actor's organisation nominated (newest first), within the policy's scope."""
    if actor.organisation is None:
        return AssessmentCase.objects.none()
    return queries.cases_for(actor).filter(nominating_organisation=actor.organisation)


def nominator_statuses(cases) -> dict[int, dict]:
    """``queries.nominator_statuses``: the nominating side's three facts for a page of cases."""
    return queries.nominator_statuses(cases)


def nomination_rows(actor, cases) -> list[dict]:
    """Each case with ONLY what the nominator may know (``queries.nominator_status``: consented or
    not, favourable or not, valid until) and the notice it received (with its destruction date).
    No state name of an unnotified decision. A fixed number of queries whatever the page size."""
    cases = list(cases)
    notices: dict[int, BusinessNotice] = {}
    for notice in queries.notices_for(actor).filter(case__in=cases):
        notices.setdefault(notice.case_id, notice)  # the latest first
    statuses = nominator_statuses(cases)  # the three facts, nothing else (DOMAIN §6 step 7)
    on = _today()
    from hozen.rules.models import RulesPack

    pack_ids = {c.rules_pack_id for c in cases if c.state in _DECISION_STATES}
    packs = {p.pk: p for p in RulesPack.objects.filter(pk__in=pack_ids)} if pack_ids else {}
    return [{"case": case, "person": case.person, "notice": notices.get(case.pk), "status": statuses[case.pk],
             **nominator_clock(case, on, packs=packs)} for case in cases]


#: From the investigation's completion until the result is notified, the nominating side sees one
#: target date — the decision's — so that neither the date nor its changes tell it whether a
#: decision was made or which way (a concurrence stage exists only for an unfavourable one).
_DECISION_STATES = frozenset({"investigation_complete", "adjudicated_favourable",
                              "adjudicated_unfavourable_pending_concurrence", "adjudicated_unfavourable"})


def nominator_clock(case: AssessmentCase, on: dt.date | None = None, *, packs: dict | None = None) -> dict:
    """The target date the nominating side is shown for an open case, and whether it is overdue
    or due within 7 days (issue 6 §1 "Clocks": every queue, the nominator's too). Status only: the
    current stage's target up to the investigation's (first) completion; after it, the decision's
    target (completion + the pack's adjudication days), whatever happened since — a return to the
    investigator included. Nothing once the case
    is closed or notified."""
    on = _today(on)
    due = None
    # After notification (case.notified_at) the nominating side has its three facts and nothing more:
    # a complaint's re-examination must not show as a new stage, nor the old decision date as overdue.
    if case.notified_at is not None:
        return {"due_on": None, "overdue": False, "due_soon": False}
    # A case the adjudicator returned to the investigator (issue 15) keeps the decision's target: its
    # first completion stays recorded, so the nominating side is not told that it went back.
    if case.state in _DECISION_STATES | {"under_investigation"} and case.investigation_completed_at is not None:
        completed = timezone.localtime(case.investigation_completed_at).date()
        pack = (packs or {}).get(case.rules_pack_id) or case.rules_pack
        due = completed + dt.timedelta(days=pack.value("assessment.target_days.adjudication"))
    elif case.state in OPEN and case.state not in _DECISION_STATES:
        due = case.stage_due_on
    return {"due_on": due, "overdue": due is not None and due < on,
            "due_soon": due is not None and on <= due <= on + dt.timedelta(days=7)}


def nominations_for(actor, *, limit: int = 500) -> list[dict]:
    return nomination_rows(actor, nominated_cases(actor)[:limit])


def exemptions_of_nominator(actor):
    """Nominations held for a possible exemption, as the nominator sees them (basis and decision)."""
    if actor.organisation is None:
        return Exemption.objects.none()
    return queries.exemptions_for(actor).filter(nominating_organisation=actor.organisation).order_by(
        "-nominated_at", "-id")


def exemptions_to_decide(actor):
    """Pending exemptions the actor's organ must confirm or decline."""
    if actor.organisation is None:
        return Exemption.objects.none()
    return queries.exemptions_for(actor, state=ExemptionState.PENDING).filter(organ=actor.organisation)


def organ_cases(actor, *, state: str, action: str) -> list[dict]:
    """Cases of the actor's organ in ``state`` on which the policy lets the actor do ``action``
    (give notice, notify the result), with their clocks."""
    if actor.organisation is None:
        return []
    cases = queries.cases_for(actor, state=state).filter(organ=actor.organisation).order_by("stage_due_on", "id")
    return with_clock([c for c in cases[:200] if policy.decide(actor, action, c).allowed])


def results_to_notify(actor) -> list[dict]:
    rows = []
    for state in (State.ADJUDICATED_FAVOURABLE, State.ADJUDICATED_UNFAVOURABLE):
        rows += organ_cases(actor, state=state, action="assessment.notify_result")
    return sorted(rows, key=lambda r: (r["due_on"] or dt.date.max, r["case"].pk))


def clearances_to_report(actor, *, on: dt.date | None = None):
    """Favourable results the actor may report a change about (left, transferred, concerning
    event). Only favourable ones: a person found unfavourable handles nothing, so there is nothing
    to report, and listing them would keep showing the nominating side an unfavourable outcome
    long after its notice was destroyed on its timer (DOMAIN §6: business-side notices destroyed
    promptly after use; ``queries.nominator_status`` stops showing it then)."""
    if actor.organisation is None:
        return Clearance.objects.none()
    org = actor.organisation
    return (queries.clearances_for(actor).filter(Q(case__nominating_organisation=org) | Q(organ=org))
            .filter(ended_on__isnull=True, favourable=True).select_related("case", "person")
            .order_by("valid_until", "id"))


def clearance_for_report(actor, pk) -> Clearance:
    try:
        clearance = Clearance.objects.select_related("case", "person", "organ").get(pk=pk)
    except (Clearance.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not policy.decide(actor, "assessment.view_clearance", clearance).allowed:
        raise NotFound
    return clearance


def nominable_people(actor):
    """People with an active role in the actor's organisation (who it may nominate)."""
    if actor.organisation is None:
        return Person.objects.none()
    employed = RoleAssignment.objects.filter(account__person=OuterRef("pk"), organisation=actor.organisation,
                                             revoked_at__isnull=True)
    return Person.objects.filter(Exists(employed)).order_by("family_name_kana", "given_name_kana", "id")


def contracts_for_nomination(actor):
    """Contracts under which the actor (a business's protection officer) may nominate now."""
    from hozen.operators.models import Contract

    if actor.organisation is None or actor.role != Role.BUSINESS_OFFICER:
        return Contract.objects.none()
    contracts = Contract.objects.filter(business=actor.organisation).select_related("organ").order_by("reference")
    allowed = [c.pk for c in contracts if policy.decide(actor, "assessment.nominate", c).allowed]
    return Contract.objects.filter(pk__in=allowed).select_related("organ").order_by("reference")


def any_contract_of(actor):
    """One of the business's contracts, to ask the policy why none allows a nomination (None if it has none)."""
    from hozen.operators.models import Contract

    if actor.organisation is None:
        return None
    return Contract.objects.filter(business=actor.organisation).order_by("-valid_until").first()


# --- the workers of a case -----------------------------------------------------------------------

def my_cases(actor, *kinds: str, states=None):
    """Cases on which the actor holds one of ``kinds`` now (their queue), soonest target first:
    ``queries.duty_cases``, the same read as ``queries.queue_for`` for a case worker."""
    return queries.duty_cases(actor, *kinds, states=states)


def investigator_cases(actor):
    """The investigator's queue: the cases under investigation they are assigned to, soonest
    target date first (``queries.queue_for`` for an investigator)."""
    return my_cases(actor, CaseDuty.Kind.INVESTIGATOR, states=[State.UNDER_INVESTIGATION])


def investigator_rows(cases, *, on=None) -> list[dict]:
    """A page of the investigator's queue with its clock and each case's unanswered inquiries
    (one query for the page, by the inquiries' case index)."""
    rows = with_clock(cases, on)
    ids = [r["case"].pk for r in rows]
    pending = Counter(Inquiry.objects.filter(case_id__in=ids, answered_on__isnull=True)
                      .values_list("case_id", flat=True))
    # Cases the adjudicator sent back with a question still waiting for the answer (issue 15).
    returned = set(InvestigationReturn.objects.filter(case_id__in=ids, answered_at__isnull=True)
                   .values_list("case_id", flat=True)) if ids else set()
    for r in rows:
        r["pending_inquiries"] = pending.get(r["case"].pk, 0)
        r["returned"] = r["case"].pk in returned
    return rows


def investigator_queue(actor, *, on=None, limit: int | None = None) -> list[dict]:
    return investigator_rows(investigator_cases(actor)[:limit], on=on)


def returned_cases(actor):
    """The investigator's cases the adjudicator sent back with a question still unanswered (issue
    15, ``InvestigationReturn``), each with ``question_asked_at``: the part of ``investigator_cases``
    that waits for an answer, in the same order (soonest target date first, so overdue ones lead).
    A returned case is under investigation again with its clock restarted, so it is in the queue
    as well; this is the same rows the queue flags "returned with a question"."""
    open_question = InvestigationReturn.objects.filter(case=OuterRef("pk"), answered_at__isnull=True)
    return (investigator_cases(actor).annotate(question_asked_at=Subquery(open_question.values("asked_at")[:1]))
            .filter(question_asked_at__isnull=False))


def returned_rows(cases, *, on: dt.date | None = None) -> list[dict]:
    """Returned cases (``returned_cases``) with their clock and the day the question was asked."""
    rows = with_clock(cases, on)
    for r in rows:
        r["asked_on"] = timezone.localdate(r["case"].question_asked_at)
    return rows


def pending_inquiries(actor):
    """Unanswered inquiries of the cases the actor investigates now, the longest waiting first
    (read through the inquiry's case index from the actor's own duties, never by scanning every
    case under investigation)."""
    ids = queries.duty_case_ids(actor, CaseDuty.Kind.INVESTIGATOR, states=[State.UNDER_INVESTIGATION])
    if not ids:
        return Inquiry.objects.none()
    # No case-state condition here (it is in ``duty_case_ids``): the planner reads the inquiries
    # by their case index, never the cases under investigation by the state index.
    return (Inquiry.objects.filter(case_id__in=ids, answered_on__isnull=True).select_related("case")
            .order_by("sent_on", "id"))


def inquiry_rows(inquiries, *, on: dt.date | None = None) -> list[dict]:
    """Inquiries with their waiting time: recipient kind and organisation and the date sent
    (clear fields; names and questions stay encrypted)."""
    on = _today(on)
    return [{"inquiry": i, "case": i.case, "days": (on - i.sent_on).days} for i in inquiries]


def inquiries_awaiting(actor, *, on: dt.date | None = None, limit: int | None = None) -> list[dict]:
    """Inquiries the actor (an investigator) sent that have no answer yet."""
    return inquiry_rows(pending_inquiries(actor)[:limit], on=on)


def adjudicator_cases(actor) -> dict:
    """The adjudicator's three lists (querysets, soonest target first): cases to decide,
    concurrence requests, and cases assigned but not yet ready."""
    return {
        "decide": my_cases(actor, CaseDuty.Kind.ADJUDICATOR,
                           states=[State.INVESTIGATION_COMPLETE, State.UNDER_REEXAMINATION]),
        "concur": my_cases(actor, CaseDuty.Kind.CONCURRING_ADJUDICATOR,
                           states=[State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE]),
        "waiting": my_cases(actor, CaseDuty.Kind.ADJUDICATOR, states=[
            State.QUESTIONNAIRE_SUBMITTED, State.UNDER_INVESTIGATION,
            State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE]),
    }


def adjudicator_queue(actor, *, on=None, limit: int | None = None) -> dict:
    return {name: with_clock(qs[:limit], on) for name, qs in adjudicator_cases(actor).items()}


def worker_case(actor, pk, *kinds: str) -> AssessmentCase:
    """A case the actor works now in one of ``kinds``; NotFound otherwise (missing and forbidden alike)."""
    case = queries.case_for(actor, pk)
    if actor.account is None or not CaseDuty.objects.filter(case=case, account=actor.account, kind__in=kinds,
                                                            ended_at__isnull=True).exists():
        raise NotFound
    return case


def current_adjudication(case):
    """The latest round's outcome and concurrence (clear fields only; reasons stay encrypted)."""
    return case.adjudications.order_by("-round").first()


def inquiries_of(case):
    """The case's inquiries, clear fields only (for forms that name an inquiry)."""
    return list(Inquiry.objects.filter(case=case).order_by("sent_on", "id"))


def findings_recorded(case) -> set[str]:
    return set(case.findings.values_list("item", flat=True))


def finding_versions(case) -> dict[str, dict]:
    """Each recorded finding's version, revision and time of recording, by item (nothing decrypted):
    what the investigator's page shows and its finding form names when it revises one."""
    return {item: {"version": version, "revision": revision, "recorded_at": at}
            for item, version, revision, at in case.findings.values_list("item", "version", "revision", "recorded_at")}


def duty_holders(case) -> list[CaseDuty]:
    return list(CaseDuty.objects.filter(case=case).select_related("account__person").order_by("assigned_at", "id"))


# --- assignments (the organ head's delegate; the Cabinet Office's head for investigators) -------

def may_assign(actor, action: str, case, kind: str) -> bool:
    """Whether the actor may assign ``kind`` on ``case`` at all. The rule checks the assigner first,
    then the candidate: a denial about the candidate (here the actor themselves, who never holds
    the duty's role) means the assigner part passed."""
    if actor.account is None:
        return False
    decision = policy.decide(actor, action, DutyProposal(case, kind, actor.account))
    return decision.allowed or decision.code in CANDIDATE_CODES


def candidates(case, kind: str):
    """Accounts holding the role the duty needs, where the policy looks for it: investigators of the
    Cabinet Office, adjudicators and complaint handlers of the deciding organ. The policy still
    decides each one (separation of duties) when the form is sent."""
    if kind == CaseDuty.Kind.INVESTIGATOR:
        where = Q(role=Role.INVESTIGATOR, organisation__kind=OrganisationKind.CABINET_OFFICE)
    elif kind in (CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR):
        where = Q(role=Role.ADJUDICATOR, organisation_id=case.organ_id)
    else:
        where = Q(role=Role.COMPLAINT_HANDLER, organisation_id=case.organ_id)
    held = RoleAssignment.objects.filter(where, account=OuterRef("pk"), revoked_at__isnull=True)
    return Account.objects.filter(Exists(held), is_active=True).select_related("person").order_by("username")


def assignment_cases(actor) -> dict:
    """What the organ head's delegate has to assign (querysets, soonest target first, each a
    stable order for paging): investigators (the Cabinet Office's head, nationwide), adjudicators
    and concurring adjudicators (the deciding organ's head)."""
    none = AssessmentCase.objects.none()
    out = {"investigator": none, "adjudicator": none, "concurring_adjudicator": none}
    if actor.role != Role.ORGAN_HEAD or actor.organisation is None:
        return out
    active = CaseDuty.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    visible = queries.cases_for(actor)
    if actor.organisation.kind == OrganisationKind.CABINET_OFFICE:
        out["investigator"] = visible.filter(state=State.QUESTIONNAIRE_SUBMITTED).order_by("stage_due_on", "id")
    own = visible.filter(organ=actor.organisation)
    out["adjudicator"] = own.filter(
        state__in=[State.QUESTIONNAIRE_SUBMITTED, State.UNDER_INVESTIGATION, State.INVESTIGATION_COMPLETE,
                   State.UNDER_REEXAMINATION]).exclude(Exists(active.filter(kind=CaseDuty.Kind.ADJUDICATOR))
                                                       ).order_by("stage_due_on", "id")
    out["concurring_adjudicator"] = own.filter(
        state=State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE).exclude(
        Exists(active.filter(kind=CaseDuty.Kind.CONCURRING_ADJUDICATOR))).order_by("stage_due_on", "id")
    return out


# --- complaints and adverse-treatment reports ---------------------------------------------------

def complaint_rows(actor, complaints=None, *, on: dt.date | None = None) -> list[dict]:
    """A page of the actor's complaint queue (``queries.complaints_queue_for`` when not given)
    with each one's target date and whether it is overdue."""
    on = _today(on)
    if complaints is None:
        complaints = queries.complaints_queue_for(actor)
    return [{"complaint": c, "case": c.case, "due_on": c.due_on, "overdue": c.due_on is not None and c.due_on < on}
            for c in complaints]


def complaint_counts(actor, *, on: dt.date | None = None) -> dict:
    """How many complaints wait for the actor, and how many of them are overdue (counted by the database)."""
    return queries.complaints_queue_for(actor).order_by().aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=_today(on))))


def complaint_for(actor, pk) -> Complaint:
    """A complaint for its handler (to decide) or its organ's head (to assign); NotFound otherwise."""
    try:
        complaint = Complaint.objects.select_related("case", "case__organ", "handler__person").get(pk=pk)
    except (Complaint.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    mine = actor.role == Role.COMPLAINT_HANDLER and actor.account is not None and complaint.handler_id == actor.account.pk
    organ = (actor.role == Role.ORGAN_HEAD and actor.organisation is not None
             and complaint.case.organ_id == actor.organisation.pk)
    if not (mine or organ):
        raise NotFound
    return complaint


def complaint_text(actor, complaint: Complaint, *, purpose: str = "complaint_handling") -> str:
    """The complaint's text, read through the policy (only its handler) and audited."""
    from hozen.crypto import reveal

    return reveal(actor, complaint, "text", purpose=purpose)


def decided_complaints(actor, *, limit: int = 20):
    if actor.account is None or actor.role != Role.COMPLAINT_HANDLER:
        return Complaint.objects.none()
    return Complaint.objects.filter(handler=actor.account, state=ComplaintState.DECIDED).order_by("-decided_at")[:limit]


def adverse_reports_for(actor):
    """Adverse-treatment reports to the actor's organ (its head's delegate); never to the employer."""
    if actor.role != Role.ORGAN_HEAD or actor.organisation is None:
        return AdverseTreatmentReport.objects.none()
    # Open reports first (by filing), then the decided ones, latest decision first: the same
    # order on both databases (NULLs placed explicitly), stable for paging.
    return (AdverseTreatmentReport.objects.filter(case__organ=actor.organisation)
            .select_related("case", "employer")
            .order_by(F("decided_at").desc(nulls_first=True), "filed_at", "id"))


def adverse_report_for(actor, pk) -> AdverseTreatmentReport:
    try:
        report = AdverseTreatmentReport.objects.select_related("case", "employer").get(pk=pk)
    except (AdverseTreatmentReport.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if not policy.decide(actor, "assessment.read_adverse_report", report).allowed or actor.role != Role.ORGAN_HEAD:
        raise NotFound
    return report


def adverse_report_text(actor, report, *, purpose: str = "adverse_treatment_handling") -> str:
    from hozen.crypto import reveal

    return reveal(actor, report, "text", purpose=purpose)


# --- dashboards -------------------------------------------------------------------------------

def nominator_summary(actor, *, on: dt.date | None = None) -> dict:
    cases = nominated_cases(actor)
    # Once the side's notice is destroyed on its retention timer, neither the outcome nor the fact
    # of a refusal is shown any more (``queries.nominator_status``): the counts leave those out too.
    destroyed = BusinessNotice.objects.filter(case=OuterRef("pk"), recipient=OuterRef("nominating_organisation"),
                                              expired_at__isnull=False)
    kept = BusinessNotice.objects.filter(case=OuterRef("pk"), recipient=OuterRef("nominating_organisation"),
                                         expired_at__isnull=True)
    shown = cases.exclude(Exists(destroyed) & ~Exists(kept))
    counts = {
        "awaiting_consent": cases.filter(state__in=[State.NOMINATED, State.NOTICE_GIVEN]).count(),
        "not_consented": shown.filter(state__in=[State.REFUSED, State.NOT_CONSENTED]).count(),
        "notified": shown.filter(notified_at__isnull=False).exclude(
            state__in=[State.REFUSED, State.NOT_CONSENTED, State.DISCONTINUED]).count(),
    }
    counts["in_progress"] = cases.filter(state__in=list(OPEN), notified_at__isnull=True).exclude(
        state__in=[State.NOMINATED, State.NOTICE_GIVEN]).count()
    return {"nominations": cases.count(), "by_status": counts,
            "exemptions_pending": exemptions_of_nominator(actor).filter(state=ExemptionState.PENDING).count(),
            "renewals_due": list(queries.renewals_due(actor, on=on)[:10])}
