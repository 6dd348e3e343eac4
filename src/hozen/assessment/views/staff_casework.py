"""The workers of a case: the Cabinet Office's investigator (step 5), the adjudicators (step 6),
the complaint handler (step 9), and the organ head's delegate who assigns them.

A worker sees only the cases they are assigned to (``staff_queries.worker_case`` 404s alike for
missing and not assigned). Case pages show state, clocks and forms without decrypting anything;
the case file is a separate page (``staff_common.case_file``) whose every read is audited.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hozen.access import policy
from hozen.access.policy import PolicyDenied, audit_unrecorded_denial
from hozen.audit.queries import PURPOSE_LABELS
from hozen.core.errors import NotFound, RuleViolation, StaleEdit
from hozen.core.roles import Role

from .. import queries, reads, rules, services, staff_queries
from ..forms_staff import (
    AdjudicationForm,
    AdverseDecisionForm,
    AssignForm,
    ComplaintDecisionForm,
    CompleteForm,
    ConcurForm,
    FindingForm,
    InquiryForm,
    InquiryResponseForm,
    InterviewForm,
    ReturnForm,
)
from ..items import BY_CODE, ITEMS
from ..models import (
    AdverseTreatmentReport,
    AssessmentCase,
    CaseDuty,
    CaseSummary,
    Complaint,
    Inquiry,
    InvestigationReturn,
)
from .portal import AUTOSAVE_HEADER
from .staff_common import file_sections, found, gate, language, paginate, permitted, posted, shown

INVESTIGATOR = CaseDuty.Kind.INVESTIGATOR


# --- investigator -----------------------------------------------------------------------------

@login_required
@require_GET
def investigator_queue(request):
    gate(request, Role.INVESTIGATOR)
    cases = staff_queries.investigator_cases(request.actor)
    page = paginate(request, cases)
    rows = staff_queries.investigator_rows(page)
    response = render(request, "assessment/staff/investigator_queue.html",
                      {"rows": rows, "page": page, "counts": staff_queries.queue_counts(cases)})
    shown(request, *rows)
    return response


@login_required
@require_GET
def investigator_inquiries(request):
    gate(request, Role.INVESTIGATOR)
    page = paginate(request, staff_queries.pending_inquiries(request.actor))
    rows = staff_queries.inquiry_rows(page)
    response = render(request, "assessment/staff/investigator_inquiries.html", {"rows": rows, "page": page})
    shown(request, *rows)
    return response


def _open_question(request, case) -> dict | None:
    """The adjudicator's question waiting for this investigator's answer (read through the audited
    reveal, purpose ``investigation``); None when the case was not returned."""
    if case.state != "under_investigation" or not InvestigationReturn.objects.filter(
            case=case, answered_at__isnull=True).exists():
        return None
    found_rows = queries.returns_for(request.actor, case, purpose="investigation", view=reads.view_name(request),
                                     open_only=True)
    return found_rows[0] if found_rows else None


def _investigator_page(request, case, *, response_form=None, response_for=None, status: int = 200, **forms):
    versions = staff_queries.finding_versions(case)
    question = _open_question(request, case)
    defaults = {
        "inquiry_form": InquiryForm(prefix="inquiry", initial={"sent_on": timezone.localdate()}),
        "interview_form": InterviewForm(prefix="interview"),
        "complete_form": CompleteForm(prefix="complete", answering=question is not None),
    }
    defaults.update(forms)
    rows = []
    for inquiry in staff_queries.inquiries_of(case):
        form = response_form if inquiry.pk == response_for else None
        if form is None and inquiry.answered_on is None:
            form = InquiryResponseForm(prefix=f"response-{inquiry.pk}", initial={"answered_on": timezone.localdate()})
        rows.append({"inquiry": inquiry, "form": form})
    response = render(request, "assessment/staff/investigator_case.html", {
        "case": case, "status": queries.case_status(request.actor, case), "inquiry_rows": rows,
        "items": [{"item": i, "recorded": i.code in versions, "finding": versions.get(i.code)} for i in ITEMS],
        "can_act": case.state == "under_investigation", "question": question,
        **defaults}, status=status)
    shown(request, case)
    return response


@login_required
@require_GET
def investigator_case(request, pk):
    gate(request, Role.INVESTIGATOR, about=(AssessmentCase, pk))
    return _investigator_page(request, _worker_case(request, pk, INVESTIGATOR))


def _worker_case(request, pk, *kinds):
    """A case the actor works now in one of ``kinds``; a page read that finds none is a refused read."""
    return found(request, AssessmentCase, pk, lambda: staff_queries.worker_case(request.actor, pk, *kinds),
                 asked="assessment.view")


def _investigator_post(request, pk, form_class, prefix, call, success, form_key, **form_kwargs):
    gate(request, Role.INVESTIGATOR)
    case = staff_queries.worker_case(request.actor, pk, INVESTIGATOR)
    form = form_class(request.POST, prefix=prefix, **form_kwargs)
    if form.is_valid():
        try:
            call(case, form.cleaned_data)
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, success)
            return redirect("assessment:investigator_case", pk=case.pk)
    return _investigator_page(request, case, **{form_key: form})


@login_required
@require_POST
def investigator_inquiry(request, pk):
    def call(case, data):
        services.record_inquiry(actor=request.actor, case=case, **data)
    return _investigator_post(request, pk, InquiryForm, "inquiry", call, _("The inquiry was recorded."), "inquiry_form")


@login_required
@require_POST
def investigator_response(request, pk, inquiry_pk):
    gate(request, Role.INVESTIGATOR)
    case = staff_queries.worker_case(request.actor, pk, INVESTIGATOR)
    inquiry = Inquiry.objects.filter(case=case, pk=inquiry_pk).first()
    if inquiry is None:
        raise Http404
    form = InquiryResponseForm(request.POST, prefix=f"response-{inquiry.pk}")
    if form.is_valid():
        try:
            services.record_inquiry_response(actor=request.actor, inquiry=inquiry, **form.cleaned_data)
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The response was recorded."))
            return redirect("assessment:investigator_case", pk=case.pk)
    return _investigator_page(request, case, response_form=form, response_for=inquiry.pk)


@login_required
@require_POST
def investigator_interview(request, pk):
    def call(case, data):
        services.schedule_interview(actor=request.actor, case=case, at=data["at"])
    return _investigator_post(request, pk, InterviewForm, "interview", call, _("The interview was scheduled."),
                              "interview_form")


def _findings_page(request, case, *, bound=None, stale=None, status: int = 200):
    """The seven findings on one page (issue 15 "casework on one screen"): each item's current text
    in the field that revises it (read through the audited reveal, purpose ``investigation``; a
    form sent back with its errors reads them again, and that read is recorded too), its own form,
    saved by itself as the investigator works (``staff-findings.js``) or by its button."""
    purpose = staff_queries.READ_PURPOSES[Role.INVESTIGATOR]
    current = queries.reveal_findings(request.actor, case, purpose=purpose) if case.shredded_at is None else {}
    bound_item = bound.data.get("finding-item") if bound is not None else None
    rows = []
    for item in ITEMS:
        now = current.get(item.code)
        if bound_item == item.code:
            form = bound
        else:
            form = FindingForm.for_item(item, version=now["version"] if now else 0, text=now["text"] if now else "")
        rows.append({"item": item, "form": form, "finding": now,
                     "stale": stale if stale is not None and stale["item"] == item else None})
    response = render(request, "assessment/staff/investigator_findings.html", {
        "case": case, "status": queries.case_status(request.actor, case), "rows": rows,
        "recorded": len(current), "can_act": case.state == "under_investigation",
        "unplaced": bound if bound is not None and bound_item not in BY_CODE else None,
        "purpose_label": PURPOSE_LABELS.get(purpose, purpose), "autosave_header": AUTOSAVE_HEADER},
        status=status)
    shown(request, case, purpose=purpose)
    return response


def _errors_json(form) -> dict:
    return {name: [str(e) for e in errors] for name, errors in form.errors.items()}


@login_required
@require_http_methods(["GET", "POST"])
def investigator_finding(request, pk):
    """The page of all seven findings (GET), and the record or revision of one of them (POST).

    A POST from the page's autosave (header ``X-Hozen-Autosave: 1``) is answered with JSON: the
    new version, revision and time, or what is wrong. A revision of a finding changed since the
    page was opened (StaleEdit) is refused with 409: nothing is saved, the typed text stays, and the
    page (or the JSON) names the current version, so saving again replaces the newer finding
    knowingly."""
    autosave = request.method == "POST" and request.headers.get(AUTOSAVE_HEADER) == "1"
    lang = language(request)
    try:
        gate(request, Role.INVESTIGATOR, about=(AssessmentCase, pk))
        if request.method != "POST":
            return _findings_page(request, _worker_case(request, pk, INVESTIGATOR))
        case = staff_queries.worker_case(request.actor, pk, INVESTIGATOR)
    except (NotFound, PolicyDenied) as exc:
        if not autosave:
            raise
        # The page's script stops saving and says so (not "connection failed", not retried).
        gone = isinstance(exc, NotFound)
        return JsonResponse({"saved": False, "gone": True, "message": _(
            "This case is no longer yours to work on (reassigned, or your duty ended). Nothing was saved; "
            "copy your text if you need it.")}, status=404 if gone else 403)
    item = BY_CODE.get(request.POST.get("finding-item", ""))
    form = FindingForm.for_item(item, data=request.POST) if item else FindingForm(request.POST, prefix="finding")
    status = 400 if autosave else 200
    if form.is_valid():
        try:
            finding = services.record_finding(actor=request.actor, case=case.pk, item=item.code,
                                              text=form.cleaned_data["text"], version=form.seen_version(),
                                              require_version=True)
        except StaleEdit as exc:
            if autosave:
                return JsonResponse({"saved": False, "stale": True, "current_version": exc.current_version,
                                     "message": exc.message(lang)}, status=409)
            form.data = form.data.copy()
            form.data["finding-versions"] = f"{item.code}:{exc.current_version}"
            now = staff_queries.finding_versions(case).get(item.code)
            return _findings_page(request, case, bound=form, stale={"item": item, "now": now}, status=409)
        except RuleViolation as exc:
            if exc.code == "transition_not_allowed":  # the investigation is complete: nothing to revise here
                if autosave:
                    return JsonResponse({"saved": False, "gone": True, "message": exc.message(lang)}, status=409)
                messages.error(request, exc.message(lang))
                return redirect("assessment:investigator_case", pk=case.pk)
            form.add_violation(exc, lang)
            status = exc.status if autosave else 200
        else:
            if autosave:
                return JsonResponse({"saved": True, "version": finding.version, "revision": finding.revision,
                                     "saved_at": finding.recorded_at.isoformat()})
            messages.success(request, _("The finding was recorded."))
            return redirect(reverse("assessment:investigator_finding", args=[case.pk]) + f"#finding-{item.code}")
    if autosave:
        return JsonResponse({"saved": False, "errors": _errors_json(form),
                             "message": " ".join(str(e) for errors in form.errors.values() for e in errors)},
                            status=status)
    return _findings_page(request, case, bound=form)


@login_required
@require_POST
def investigator_complete(request, pk):
    gate(request, Role.INVESTIGATOR)
    case = staff_queries.worker_case(request.actor, pk, INVESTIGATOR)
    answering = InvestigationReturn.objects.filter(case=case, answered_at__isnull=True).exists()
    form = CompleteForm(request.POST, prefix="complete", answering=answering)
    if not form.is_valid():
        return _investigator_page(request, case, complete_form=form)
    try:
        services.complete_investigation(actor=request.actor, case=case, summary=form.cleaned_data["summary"],
                                        answer=form.cleaned_data.get("answer"))
    except RuleViolation as exc:
        if exc.field in form.fields:
            form.add_violation(exc, language(request))
            return _investigator_page(request, case, complete_form=form)
        messages.error(request, exc.message(language(request)))
        return redirect("assessment:investigator_case", pk=case.pk)
    messages.success(request, _("The investigation is complete; the case goes to the adjudicator."))
    return redirect("assessment:investigator_queue")


# --- adjudicators -----------------------------------------------------------------------------

@login_required
@require_GET
def adjudicator_queue(request):
    gate(request, Role.ADJUDICATOR)
    cases = staff_queries.adjudicator_cases(request.actor)
    pages = {name: paginate(request, qs, param=f"{name}_page") for name, qs in cases.items()}
    lists = {name: staff_queries.with_clock(page) for name, page in pages.items()}
    response = render(request, "assessment/staff/adjudicator_queue.html", {
        **lists, **{f"{name}_page": page for name, page in pages.items()},
        "counts": staff_queries.queue_counts(cases["decide"], cases["concur"])})
    shown(request, *(row for rows in lists.values() for row in rows))
    return response


def _adjudicator_page(request, case, *, concur_form=None, return_form=None):
    actor = request.actor
    adjudication = staff_queries.current_adjudication(case)
    may_decide = case.state in ("investigation_complete", "under_reexamination") and policy.decide(
        actor, "assessment.adjudicate", case).allowed
    may_return = case.state == "investigation_complete" and policy.decide(
        actor, "assessment.return_to_investigation", case).allowed
    returns = InvestigationReturn.objects.filter(case=case)
    may_concur = case.state == "adjudicated_unfavourable_pending_concurrence" and policy.decide(
        actor, "assessment.concur", case).allowed
    response = render(request, "assessment/staff/adjudicator_case.html", {
        "case": case, "status": queries.case_status(actor, case), "adjudication": adjudication,
        "duties": staff_queries.duty_holders(case), "inquiry_count": len(staff_queries.inquiries_of(case)),
        "findings_recorded": len(staff_queries.findings_recorded(case)),
        "has_summary": CaseSummary.objects.filter(case=case).exists(),
        "may_decide": may_decide, "may_concur": may_concur, "may_return": may_return,
        "returns_asked": returns.count(), "return_open": returns.filter(answered_at__isnull=True).exists(),
        "concur_form": concur_form or ConcurForm(),
        "return_form": return_form or ReturnForm(prefix="return"),
    })
    shown(request, case)
    return response


@login_required
@require_GET
def adjudicator_case(request, pk):
    gate(request, Role.ADJUDICATOR, about=(AssessmentCase, pk))
    return _adjudicator_page(request, _worker_case(request, pk, CaseDuty.Kind.ADJUDICATOR,
                                                   CaseDuty.Kind.CONCURRING_ADJUDICATOR))


DECIDABLE = ("investigation_complete", "under_reexamination")


def _decide_page(request, case, *, form=None, status: int = 200):
    """The decision with the case file beside it (issue 15 "casework on one screen"): the
    investigator's summary, the questions returned and their answers, and for each of the seven
    items the finding and the person's answers to the item's sections next to the field for its
    reason. The file is read through the audited reveal (purpose ``adjudication``), each time the
    page is shown: a form sent back with its errors shows the file again, and that read is recorded
    like the first."""
    purpose = staff_queries.READ_PURPOSES[Role.ADJUDICATOR]
    file = queries.reveal_case_file(request.actor, case, purpose=purpose)
    form = form or AdjudicationForm()
    sections = file_sections(file, language(request))
    earlier = (file["reasons"] or {}).get("reasons") or {}  # a re-examination: the last round's reasons
    items = [{"item": i, "finding": file["findings"].get(i.code), "field": form[f"reason_{i.code}"],
              "earlier": earlier.get(i.code), "sections": [s for s in sections if s["item"] == i.code]}
             for i in ITEMS]
    response = render(request, "assessment/staff/adjudicator_decide.html", {
        "case": case, "status": queries.case_status(request.actor, case), "form": form, "items": items,
        "background": [s for s in sections if s["item"] is None], "summary": file["summary"],
        "returns": file["returns"], "inquiries": file["inquiries"], "earlier_round": (file["reasons"] or {}).get("round"),
        "purpose_label": PURPOSE_LABELS.get(purpose, purpose)}, status=status)
    shown(request, case, purpose=purpose)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def adjudicator_decide(request, pk):
    """The decision page (GET: the form beside the case file, ``_decide_page``) and the decision.

    Recording a decision takes two steps (issue 15 "review before final"). The form's POST only
    shows the review page — the outcome and every reason as entered, nothing recorded — with
    "Confirm" and "Go back to edit". Confirm records it through the service with the review's token
    (``services.decision_review_token``): if the case changed since the review (a decision or a
    return in another window, a waiver of reasons), nothing is recorded and the form comes back
    with what was typed and the reason."""
    gate(request, Role.ADJUDICATOR, about=(AssessmentCase, pk))
    kinds = (CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR)
    if request.method != "POST":
        case = _worker_case(request, pk, *kinds)
        permitted(request, "assessment.adjudicate", case)
        if case.state not in DECIDABLE:
            messages.info(request, _("This case is not waiting for a decision."))
            return redirect("assessment:adjudicator_case", pk=case.pk)
        return _decide_page(request, case)
    case = staff_queries.worker_case(request.actor, pk, *kinds)
    policy.require(request.actor, "assessment.adjudicate", case)
    form = AdjudicationForm(request.POST)
    step = request.POST.get("step", "review")
    if case.state not in DECIDABLE and step != "confirm":
        # Decided or returned meanwhile: neither the form nor the file again (a confirmation goes on to
        # the service, whose refusal says what changed since the review).
        messages.error(request, _("This case is not waiting for a decision."))
        return redirect("assessment:adjudicator_case", pk=case.pk)
    if not form.is_valid() or step == "edit":
        return _decide_page(request, case, form=form)
    outcome, reasons = form.cleaned_data["outcome"], form.reasons()
    if step != "confirm":
        try:
            rules.check_reasons_per_item(reasons)  # the rule's own message before the review, not after
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
            return _decide_page(request, case, form=form)
        response = render(request, "assessment/staff/adjudicator_review.html", {
            "case": case, "status": queries.case_status(request.actor, case), "form": form, "outcome": outcome,
            "outcome_label": dict(form.fields["outcome"].choices).get(outcome, outcome),
            "reasons": [{"item": i, "text": reasons[i.code]} for i in ITEMS],
            "reviewed": services.decision_review_token(case, outcome=outcome, reasons=reasons)})
        shown(request, case)
        return response
    try:
        services.adjudicate(actor=request.actor, case=case, outcome=outcome, reasons=reasons,
                            reviewed=request.POST.get("reviewed", ""))
    except RuleViolation as exc:
        if exc.code == "changed_since_review":
            messages.error(request, exc.message(language(request)))
            case.refresh_from_db()
            if case.state not in DECIDABLE:  # decided or returned meanwhile: the case's page, as it now is
                response = _adjudicator_page(request, case)
                response.status_code = 409
                return response
            return _decide_page(request, case, form=form, status=409)
        form.add_violation(exc, language(request))
    else:
        if outcome == "unfavourable":
            messages.success(request, _("Recorded. An unfavourable outcome needs a second adjudicator's "
                                        "concurrence before it can be notified."))
        else:
            messages.success(request, _("Recorded. The organ notifies the result."))
        return redirect("assessment:adjudicator_queue")
    return _decide_page(request, case, form=form)


@login_required
@require_POST
def adjudicator_return(request, pk):
    """Instead of deciding, return the case to the investigator with a question (issue 15)."""
    gate(request, Role.ADJUDICATOR)
    case = staff_queries.worker_case(request.actor, pk, CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR)
    policy.require(request.actor, "assessment.return_to_investigation", case)
    form = ReturnForm(request.POST, prefix="return")
    if form.is_valid():
        try:
            services.return_to_investigation(actor=request.actor, case=case, question=form.cleaned_data["question"])
        except RuleViolation as exc:
            if exc.field not in form.fields:  # the case moved on (decided meanwhile): say so on its page
                messages.error(request, exc.message(language(request)))
                return redirect("assessment:adjudicator_case", pk=case.pk)
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The case went back to the investigator with your question. It returns to "
                                        "your queue when they answer."))
            return redirect("assessment:adjudicator_queue")
    return _adjudicator_page(request, case, return_form=form)


@login_required
@require_POST
def adjudicator_concur(request, pk):
    gate(request, Role.ADJUDICATOR)
    case = staff_queries.worker_case(request.actor, pk, CaseDuty.Kind.ADJUDICATOR, CaseDuty.Kind.CONCURRING_ADJUDICATOR)
    policy.require(request.actor, "assessment.concur", case)
    form = ConcurForm(request.POST)
    if form.is_valid():
        try:
            services.concur(actor=request.actor, case=case, agree=form.cleaned_data["agree"] == "yes")
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("Your concurrence decision was recorded."))
            return redirect("assessment:adjudicator_queue")
    return _adjudicator_page(request, case, concur_form=form)


# --- assignments by the organ head's delegate ------------------------------------------------

ASSIGN = {
    "investigator": ("assessment.assign_investigator", services.assign_investigator, "investigator"),
    "adjudicator": ("assessment.assign_adjudicator", services.assign_adjudicator, "adjudicator"),
    "concurring_adjudicator": ("assessment.assign_concurring_adjudicator", services.assign_concurring_adjudicator,
                               "adjudicator"),
}


@login_required
@require_GET
def assignments(request):
    """The organ head's delegate: cases awaiting an investigator (the Cabinet Office), an
    adjudicator or a concurring adjudicator; complaints awaiting a handler; notices and results."""
    actor = request.actor
    gate(request, Role.ORGAN_HEAD)
    pages = {name: paginate(request, qs, param=f"{name}_page")
             for name, qs in staff_queries.assignment_cases(actor).items()}
    complaints = paginate(request, queries.complaints_queue_for(actor), param="complaints_page")
    context = {
        "queue": {name: staff_queries.with_clock(page) for name, page in pages.items()},
        "pages": pages,
        "complaints": staff_queries.complaint_rows(actor, complaints),
        "complaints_page": complaints,
        "to_give_notice": staff_queries.organ_cases(actor, state="nominated", action="assessment.give_notice"),
        "to_notify": staff_queries.results_to_notify(actor),
        "exemptions_to_decide": list(staff_queries.exemptions_to_decide(actor)),
        "adverse_open": staff_queries.adverse_reports_for(actor).filter(decided_at__isnull=True).count(),
    }
    response = render(request, "assessment/staff/assignments.html", context)
    shown(request, *(row for rows in context["queue"].values() for row in rows), *context["complaints"],
          *context["to_give_notice"], *context["to_notify"], *context["exemptions_to_decide"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def assign(request, pk, kind):
    """Assign a duty on a case. Who may assign, and whether the person named may take the duty
    (separation of duties: never two duties on one case), are the policy's (ARCHITECTURE rule 5)."""
    if kind not in ASSIGN:
        raise Http404
    actor = request.actor
    action, service, argument = ASSIGN[kind]
    gate(request, Role.ORGAN_HEAD, about=(AssessmentCase, pk))
    case = found(request, AssessmentCase, pk, lambda: queries.case_for(actor, pk), asked="assessment.view")
    if not staff_queries.may_assign(actor, action, case, kind):
        permitted(request, action, _proposal(case, kind, actor.account), row=case)  # 403: the assigner's reason
    form = AssignForm(posted(request), accounts=staff_queries.candidates(case, kind))
    if request.method == "POST" and form.is_valid():
        try:
            service(actor=actor, case=case, **{argument: form.cleaned_data["account"]})
        except PolicyDenied as exc:  # the person named may not take this duty: say why, beside the field
            audit_unrecorded_denial(actor, exc)
            if exc.decision.code not in staff_queries.CANDIDATE_CODES:
                raise
            form.add_denial(exc, language(request), "account")
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The duty was assigned."))
            return redirect("assessment:staff_assignments")
    response = render(request, "assessment/staff/assign.html", {
        "case": case, "kind": kind, "kind_label": CaseDuty.Kind(kind).label, "form": form,
        "duties": staff_queries.duty_holders(case), "status": queries.case_status(actor, case)})
    shown(request, case)
    return response


def _proposal(case, kind, account):
    from ..duties import DutyProposal

    return DutyProposal(case, kind, account)


# --- complaints and adverse-treatment reports ------------------------------------------------

@login_required
@require_GET
def complaint_queue(request):
    gate(request, Role.COMPLAINT_HANDLER, Role.ORGAN_HEAD)
    page = paginate(request, queries.complaints_queue_for(request.actor))
    rows = staff_queries.complaint_rows(request.actor, page)
    decided = list(staff_queries.decided_complaints(request.actor))
    response = render(request, "assessment/staff/complaint_queue.html", {"rows": rows, "page": page,
                                                                         "decided": decided})
    shown(request, *rows, *decided)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def complaint(request, pk):
    """The handler reads the complaint (audited) and decides it; the outcome is notified in writing."""
    actor = request.actor
    gate(request, Role.COMPLAINT_HANDLER, about=(Complaint, pk))
    item = _complaint(request, pk)
    if request.method == "POST" and item.state == "decided":  # decided meanwhile (another window): say so
        messages.error(request, _("This complaint was decided in the meantime (in another window, or by "
                                  "someone else); your decision was not recorded."))
        return redirect("assessment:complaint_queue")
    permitted(request, "assessment.decide_complaint", item, row=item)
    form = ComplaintDecisionForm(posted(request))
    status = 200
    step = request.POST.get("step", "review") if request.method == "POST" else None
    if request.method == "POST" and form.is_valid() and step != "edit":
        # Two steps (issue 15 "review before final"): the review of the outcome and reasons as
        # entered, then the confirmation, which carries the review's token.
        if step != "confirm":
            try:
                rules.check_text(form.cleaned_data["reasons"], "reasons", what_ja="処理の理由", what_en="reasons")
            except RuleViolation as exc:
                form.add_violation(exc, language(request))
            else:
                outcome = form.cleaned_data["outcome"]
                response = render(request, "assessment/staff/complaint_review.html", {
                    "complaint": item, "form": form, "status": queries.case_status(actor, item.case),
                    "outcome_label": dict(form.fields["outcome"].choices).get(outcome, outcome),
                    "reasons": form.cleaned_data["reasons"],
                    "reviewed": services.complaint_review_token(item, **form.cleaned_data)})
                shown(request, item)
                return response
        else:
            try:
                services.decide_complaint(actor=actor, complaint=item, **form.cleaned_data,
                                          reviewed=request.POST.get("reviewed", ""))
            except RuleViolation as exc:
                if exc.code in ("changed_since_review", "transition_not_allowed"):
                    messages.error(request, exc.message(language(request)))
                    status = 409
                else:
                    form.add_violation(exc, language(request))
            else:
                messages.success(request, _("The complaint was decided and the outcome notified in writing."))
                return redirect("assessment:complaint_queue")
    if status == 409:  # the complaint as it is now; gone from this handler (reassigned): their queue
        try:
            item = staff_queries.complaint_for(actor, pk)
        except NotFound:
            return redirect("assessment:complaint_queue")
    text = staff_queries.complaint_text(actor, item) if item.state == "assigned" else None
    response = render(request, "assessment/staff/complaint.html", {
        "complaint": item, "text": text, "form": form, "status": queries.case_status(actor, item.case)},
        status=status)
    shown(request, item)
    return response


def _complaint(request, pk):
    """The complaint for its handler or its organ's head; a page read that finds none is a refused read."""
    return found(request, Complaint, pk, lambda: staff_queries.complaint_for(request.actor, pk),
                 asked="assessment.read_complaint")


@login_required
@require_http_methods(["GET", "POST"])
def complaint_assign(request, pk):
    """The organ head's delegate gives the complaint to a handler who never worked the case (the
    policy refuses anyone who has, with its reason beside the field)."""
    actor = request.actor
    gate(request, Role.ORGAN_HEAD, about=(Complaint, pk))
    item = _complaint(request, pk)
    kind = CaseDuty.Kind.COMPLAINT_HANDLER
    if not staff_queries.may_assign(actor, "assessment.assign_complaint_handler", item.case, kind):
        permitted(request, "assessment.assign_complaint_handler", _proposal(item.case, kind, actor.account), row=item)
    form = AssignForm(posted(request), accounts=staff_queries.candidates(item.case, kind))
    if request.method == "POST" and form.is_valid():
        try:
            services.assign_complaint_handler(actor=actor, complaint=item, handler=form.cleaned_data["account"])
        except PolicyDenied as exc:
            audit_unrecorded_denial(actor, exc)
            if exc.decision.code not in staff_queries.CANDIDATE_CODES:
                raise
            form.add_denial(exc, language(request), "account")
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The complaint was given to the handler."))
            return redirect("assessment:staff_assignments")
    response = render(request, "assessment/staff/assign.html", {
        "case": item.case, "complaint": item, "kind": kind, "kind_label": CaseDuty.Kind(kind).label, "form": form,
        "duties": staff_queries.duty_holders(item.case), "status": queries.case_status(actor, item.case)})
    shown(request, item)
    return response


@login_required
@require_GET
def adverse_reports(request):
    gate(request, Role.ORGAN_HEAD)
    page = paginate(request, staff_queries.adverse_reports_for(request.actor))
    response = render(request, "assessment/staff/adverse_reports.html", {"reports": page, "page": page})
    shown(request, *page, purpose="adverse_treatment_handling")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def adverse_report(request, pk):
    """The organ decides on an adverse-treatment report (never the employer) and notifies the person."""
    actor = request.actor
    gate(request, Role.ORGAN_HEAD, about=(AdverseTreatmentReport, pk))
    report = found(request, AdverseTreatmentReport, pk, lambda: staff_queries.adverse_report_for(actor, pk),
                   asked="assessment.read_adverse_report")
    permitted(request, "assessment.decide_adverse_treatment", report, row=report)
    form = AdverseDecisionForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.decide_adverse_treatment(actor=actor, report=report, **form.cleaned_data)
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The report was decided and the person notified."))
            return redirect("assessment:staff_adverse_reports")
    text = staff_queries.adverse_report_text(actor, report) if report.case.shredded_at is None else None
    response = render(request, "assessment/staff/adverse_report.html",
                      {"report": report, "text": text, "form": form})
    shown(request, report, purpose="adverse_treatment_handling")
    return response
