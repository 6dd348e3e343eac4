"""The nominating side's workspace (DOMAIN §6 steps 1, 2, 7, 8): an organ's security officer for
its staff, a business's protection officer for its employees under a contract.

They nominate (one, or a CSV file, all or nothing), see detected exemptions, and see their
nominations with ONLY consented or not, favourable or not, valid until (``queries.nominator_status``);
the organ's side also gives notice, confirms or declines exemptions and notifies results. Reported
changes (left, transferred, concerning event) go through ``services.report_event``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.roles import Role

from .. import importer, queries, services, staff_queries
from ..forms_staff import (
    ExemptionCheckForm,
    ExemptionDecisionForm,
    NominationFileForm,
    NominationForm,
    NoticeForm,
    ReportEventForm,
)
from ..models import AssessmentCase, Clearance, Exemption
from .staff_common import found, gate, language, permitted, posted, shown

PER_PAGE = 50
#: The side lists of the workspace show the first ones (the soonest to act on).
LIST_LIMIT = 200
NOMINATORS = (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER)


def _contracts(request):
    """A business nominates under a contract; an organ nominates its own staff (no contract)."""
    if request.actor.role == Role.BUSINESS_OFFICER:
        return staff_queries.contracts_for_nomination(request.actor)
    return None


def _may_nominate(request):
    """403 with the policy's reason unless the actor may nominate: an organ its own staff, a
    business under one of its active contracts. Returns the business's contracts (None for an organ)."""
    contracts = _contracts(request)
    if contracts is None:
        policy.require(request.actor, "assessment.nominate", request.actor.organisation)
    elif not contracts.exists():
        policy.require(request.actor, "assessment.nominate", staff_queries.any_contract_of(request.actor))
    return contracts


@login_required
@require_GET
def workspace(request):
    """Everything the nominating side does, on one page: what to do first, then the lists."""
    actor = request.actor
    role = gate(request, *NOMINATORS)
    on = timezone.localdate()
    page = Paginator(staff_queries.nominated_cases(actor), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "role": role,
        "nominations": staff_queries.nomination_rows(actor, page),
        "page": page,
        "exemptions": staff_queries.exemptions_of_nominator(actor)[:LIST_LIMIT],
        "renewals": list(queries.renewals_due(actor, on=on)[:LIST_LIMIT]),
        # Each result's status on the day (dates decide: an expired result shows as expired today).
        "clearances": [{"clearance": c, "status": c.status(on)}
                       for c in staff_queries.clearances_to_report(actor)[:LIST_LIMIT]],
        "today": on,
    }
    if role == Role.SECURITY_OFFICER:
        context.update(_organ_todo(actor))
    response = render(request, "assessment/staff/nominator.html", context)
    # Every person the page names (issue 12 §7): the nominations, exemptions and results as the
    # nominating side; the organ's to-do lists as the organ.
    shown(request, *context["nominations"], *context["exemptions"], *context["renewals"], *context["clearances"])
    if role == Role.SECURITY_OFFICER:
        shown(request, *context["to_give_notice"], *context["to_notify"], *context["exemptions_to_decide"],
              purpose="organ_procedure")
    return response


def _organ_todo(actor) -> dict:
    return {
        "organ_side": True,
        "to_give_notice": staff_queries.organ_cases(actor, state="nominated", action="assessment.give_notice"),
        "to_notify": staff_queries.results_to_notify(actor),
        "exemptions_to_decide": list(staff_queries.exemptions_to_decide(actor)),
    }


@login_required
@require_http_methods(["GET", "POST"])
def nominate(request):
    actor = request.actor
    gate(request, *NOMINATORS)
    contracts = _may_nominate(request)
    form = NominationForm(posted(request), people=staff_queries.nominable_people(actor), contracts=contracts)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            result = services.nominate(actor=actor, **data)
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            if result.exemption is not None:
                messages.info(request, _("An earlier favourable result may exempt this person: no case was opened. "
                                         "The organ confirms or declines the exemption."))
            else:
                messages.success(request, _("The candidate was nominated."))
            return redirect("assessment:staff_nominations")
    check = ExemptionCheckForm(request.GET or None, prefix="check", people=staff_queries.nominable_people(actor),
                               contracts=contracts)
    exemption_hint = None
    if request.GET and check.is_valid():
        try:
            exemption_hint = services.detect_exemption(actor=actor, person=check.cleaned_data["person"],
                                                       contract=check.cleaned_data.get("contract"),
                                                       tier=check.cleaned_data["tier"])
        except RuleViolation as exc:
            check.add_error(None, exc.message(language(request)))
        checked = True
    else:
        checked = False
    response = render(request, "assessment/staff/nominate.html",
                      {"form": form, "check": check, "checked": checked, "exemption_hint": exemption_hint})
    if checked and not check.errors:  # whether the person has an earlier result that may exempt them
        shown(request, check.cleaned_data["person"], purpose="exemption")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def nominate_file(request):
    """Bulk nomination from CSV: every line is checked first (the file's format and people by
    ``importer.parse_csv``, then the nomination rules by ``services.nominate_many``), problems are
    listed with their line numbers, and one bad line writes nothing (all or nothing)."""
    actor = request.actor
    gate(request, *NOMINATORS)
    contracts = _may_nominate(request)
    form = NominationFileForm(posted(request), request.FILES or None, contracts=contracts)
    line_errors: list[dict] = []
    result = None
    lang = language(request)
    if request.method == "POST" and form.is_valid():
        try:
            rows = importer.parse_csv(form.cleaned_data["file"])
        except importer.ImportFailed as exc:
            line_errors = [{"line": e.line, "field": e.field or "", "message": e.message_ja if lang == "ja"
                            else e.message_en} for e in exc.errors]
        else:
            processed: list[int] = []
            try:
                nominations = services.nominate_many(actor=actor, rows=[r.fields for r in rows],
                                                     contract=form.cleaned_data.get("contract"),
                                                     progress=processed.append)
            except services.NominationRowsInvalid as exc:
                line_errors = [{"line": rows[index].line, "field": field or "",
                                "message": ja if lang == "ja" else en} for index, field, ja, en in exc.errors]
            except RuleViolation as exc:
                form.add_violation(exc, lang)
            else:
                result = {"rows": len(rows), "processed": processed[-1] if processed else 0,
                          "cases": sum(1 for n in nominations if n.case),
                          "exemptions": sum(1 for n in nominations if n.exemption)}
                messages.success(request, ngettext("%(n)d line was processed: the file was nominated.",
                                                   "%(n)d lines were processed: the file was nominated.",
                                                   result["processed"]) % {"n": result["processed"]})
        if line_errors:
            bad = len({e["line"] for e in line_errors})
            form.add_error("file", ngettext("%(n)d line has a problem; nothing was nominated.",
                                            "%(n)d lines have problems; nothing was nominated.", bad) % {"n": bad})
    return render(request, "assessment/staff/nominate_file.html",
                  {"form": form, "line_errors": line_errors, "result": result})


@login_required
@require_http_methods(["GET", "POST"])
def exemption(request, pk):
    """The organ confirms (with a reason) or declines a detected exemption; the nominator sees
    the basis and the decision."""
    actor = request.actor
    item = found(request, Exemption, pk, lambda: queries.exemption_for(actor, pk), asked="assessment.view_exemption")
    explained = queries.exemption_explained(item)
    can_decide = item.state == "pending" and policy.decide(actor, "assessment.confirm_exemption", item).allowed
    form = ExemptionDecisionForm(posted(request))
    if request.method == "POST":
        policy.require(actor, "assessment.confirm_exemption", item)
        if form.is_valid():
            decide = services.confirm_exemption if form.cleaned_data["decision"] == "confirm" else \
                services.decline_exemption
            try:
                decide(actor=actor, exemption=item, reason=form.cleaned_data["reason"])
            except RuleViolation as exc:
                form.add_violation(exc, language(request))
            else:
                messages.success(request, _("The decision on the exemption was recorded."))
                return redirect("assessment:staff_exemption", pk=item.pk)
    response = render(request, "assessment/staff/exemption.html",
                      {"exemption": item, "explained": explained, "form": form, "can_decide": can_decide})
    shown(request, item, purpose="exemption")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def give_notice(request, pk):
    """DOMAIN §6 step 2: the organ gives the written notice (in Japanese or English)."""
    actor = request.actor
    case = _organ_case(request, pk)
    permitted(request, "assessment.give_notice", case)
    form = NoticeForm(posted(request), initial={"language": "ja"})
    if request.method == "POST" and form.is_valid():
        try:
            services.give_notice(actor=actor, case=case, language=form.cleaned_data["language"])
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The notice was given. The person consents or refuses in their portal."))
            return redirect(_home(actor))
    response = render(request, "assessment/staff/case_action.html", {
        "case": case, "form": form, "status": queries.nominator_status(case),
        "title": _("Give the written notice"), "submit": _("Give the notice"),
        "explain": _("The notice states the seven items, the methods of investigation, that the person may refuse "
                     "and that refusing brings no disadvantage.")})
    shown(request, case, purpose="organ_procedure")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def notify_result(request, pk):
    """DOMAIN §6 step 7: the subject receives result and reasons (unless waived); the nominating
    side receives only consented, favourable or not, and valid until."""
    actor = request.actor
    case = _organ_case(request, pk)
    permitted(request, "assessment.notify_result", case)
    if request.method == "POST":
        try:
            services.notify_result(actor=actor, case=case)
        except RuleViolation as exc:
            messages.error(request, exc.message(language(request)))
        else:
            messages.success(request, _("The result was notified to the person and to the nominating side."))
            return redirect(_home(actor))
    response = render(request, "assessment/staff/case_action.html", {
        "case": case, "form": None, "status": queries.nominator_status(case),
        "title": _("Notify the result"), "submit": _("Notify the result"),
        "explain": _("The person receives the result and the reasons (unless they asked not to receive them); "
                     "the nominating side receives only: consented, favourable or not, valid until.")})
    shown(request, case, purpose="organ_procedure")
    return response


def _organ_case(request, pk):
    """The case for one of the organ's steps; a page read (GET) that finds none is a refused read."""
    return found(request, AssessmentCase, pk, lambda: queries.case_for(request.actor, pk), asked="assessment.view")


def _home(actor) -> str:
    return "assessment:staff_assignments" if actor.role == Role.ORGAN_HEAD else "assessment:staff_nominations"


@login_required
@require_http_methods(["GET", "POST"])
def report_event(request, pk):
    """DOMAIN §6 step 8: the employer or the organ reports a change (left, transferred, concerning event)."""
    actor = request.actor
    clearance = found(request, Clearance, pk, lambda: staff_queries.clearance_for_report(actor, pk),
                      asked="assessment.view_clearance")
    permitted(request, "assessment.report_event", clearance)
    form = ReportEventForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.report_event(actor=actor, clearance=clearance, kind=data["kind"], occurred_on=data["occurred_on"],
                                  new_post=data["new_post"], description=data["description"] or None)
        except RuleViolation as exc:
            form.add_violation(exc, language(request))
        else:
            messages.success(request, _("The change was reported."))
            return redirect("assessment:staff_nominations")
    response = render(request, "assessment/staff/report_event.html", {
        "clearance": clearance, "form": form, "status": clearance.status(timezone.localdate())})
    shown(request, clearance, purpose="aftercare_report")
    return response
