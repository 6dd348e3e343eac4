"""Screens for handler lists, briefings and "why can't I open this?". Thin views over this app's
services and queries; every page asks the policy before it shows anything."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.roles import OrganisationKind, Role

from . import queries, services
from .forms import AddHandlerForm, BriefingForm, ExplainForm

_HANDLERS = gettext_lazy("Handler lists")
_NEED_TO_KNOW = gettext_lazy("Need to know and briefing")

#: Navigation entries per role (hozen.core.extensions).
NAV: dict = {
    Role.ESI_MANAGER: [(_HANDLERS, "handling:index")],
    Role.SECURITY_OFFICER: [(_HANDLERS, "handling:index")],
    Role.BUSINESS_OFFICER: [(_HANDLERS, "handling:index")],
    Role.SUBJECT: [(_NEED_TO_KNOW, "handling:index")],
}


#: Rows a dashboard panel shows; the handler-list page has the rest.
DASHBOARD_ROWS = 5


def dashboard_context(actor, role: str) -> dict:
    """The keepers' dashboards (issue 15 §1): the handler lists they keep, the reviews of those
    lists that are due (soonest first), with counts matching the handler-list page."""
    if actor is None or actor.role != role or role not in (Role.SECURITY_OFFICER, Role.BUSINESS_OFFICER):
        return {}
    kept = queries.kept_designations(actor)
    reviews = queries.reviews_for(actor)
    return {"kept_lists": kept[:DASHBOARD_ROWS], "kept_count": kept.count(),
            "list_reviews": reviews[:DASHBOARD_ROWS], "list_review_count": len(reviews)}


def _conditions(rows, language):
    """Conditions as the template shows them, in the page's language."""
    return [{"name": c.name, "passed": c.passed, "applicable": c.applicable, "hidden": c.detail == "hidden",
             "label": c.label(language), "reason": c.reason(language), "code": c.code} for c in rows or []]


def _to_list(designation):
    return redirect("handling:list", pk=designation.pk)


@login_required
@require_GET
def index(request):
    actor = request.actor
    return render(request, "handling/index.html", {
        "kept": queries.kept_designations(actor)[:200],
        "reviews": queries.reviews_for(actor),
        "mine": queries.my_rows(actor, limit=200),
        "briefings": [queries.briefing_status(actor, tier) for tier in ("esi", "sds")],
        "explain_form": ExplainForm(),
    })


@login_required
@require_GET
def handler_list(request, pk):
    d = queries.designation_for_keeper(request.actor, pk)
    show_ended = request.GET.get("ended") == "1"
    return render(request, "handling/list.html", {
        "d": d, "rows": queries.handler_list(request.actor, d, include_ended=show_ended), "show_ended": show_ended,
        "can_add": d.is_in_force,  # by its dates (rule 9), not only the recorded state
    })


@login_required
@require_http_methods(["GET", "POST"])
def add(request, pk):
    actor = request.actor
    d = queries.designation_for_keeper(actor, pk)
    policy.require(actor, "handling.handler.add", d)
    business = actor.organisation.kind == OrganisationKind.BUSINESS
    form = AddHandlerForm(request.POST if request.method == "POST" else None,
                          candidates=queries.staff_candidates(actor, d), business=business)
    eligibility = None
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.add_handler(actor=actor, designation=d, account=data["account"], ends_on=data.get("ends_on"),
                                 reason=data.get("reason", ""), department=data.get("department", ""))
        except RuleViolation as exc:
            form.add_violation(exc, request.LANGUAGE_CODE)
            if exc.code == "cannot_add_handler":
                # The add form says why someone cannot be added: the conditions, one by one.
                eligibility = queries.eligibility_for(actor, d, data["account"],
                                                      department=data.get("department", ""))
        else:
            messages.success(request, _("The person was added to the handler list."))
            return _to_list(d)
    return render(request, "handling/add.html", {"d": d, "form": form,
                                                 "eligibility": _conditions(eligibility, request.LANGUAGE_CODE)})


def _entry_action(request, pk, fn, message):
    entry = queries.entry_for(request.actor, pk)
    try:
        fn(actor=request.actor, entry=entry)
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
    else:
        messages.success(request, message)
    return _to_list(entry.designation)


@login_required
@require_POST
def remove(request, pk):
    return _entry_action(request, pk, services.remove_handler, _("The person was removed from the handler list."))


@login_required
@require_POST
def confirm(request, pk):
    return _entry_action(request, pk, services.confirm_handler, _("The need to know was confirmed."))


@login_required
@require_POST
def review_remove(request, pk):
    return _entry_action(request, pk, services.remove_at_review, _("The person was removed from the handler list."))


@login_required
@require_http_methods(["GET", "POST"])
def briefing(request):
    actor = request.actor
    tier = request.POST.get("tier") or request.GET.get("tier") or "esi"
    if tier not in ("esi", "sds"):
        tier = "esi"
    status = queries.briefing_status(actor, tier)
    form = BriefingForm(request.POST if request.method == "POST" else None,
                        initial={"text_sha256": status.briefing.sha256, "tier": tier})
    if request.method == "POST" and form.is_valid():
        try:
            services.acknowledge_briefing(actor=actor, tier=form.cleaned_data["tier"],
                                          text_sha256=form.cleaned_data["text_sha256"], language=request.LANGUAGE_CODE)
        except RuleViolation as exc:
            form.add_error(None, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("Your acknowledgement was recorded."))
            return redirect(f"{request.path}?tier={tier}")
    language = request.LANGUAGE_CODE
    return render(request, "handling/briefing.html", {
        "status": status, "form": form, "tier": tier, "title": status.briefing.title(language),
        "paragraphs": status.briefing.paragraphs(language)})


@login_required
@require_GET
def explain_lookup(request):
    form = ExplainForm(request.GET or None)
    if form.is_valid():
        pk = queries.explainable_designation(request.actor, form.cleaned_data["reference"])
        if pk is not None:
            return redirect("handling:explain", pk=pk)
        # Unknown, or not the person's to know: the same page either way (no existence oracle, no id).
        explanation = queries.explain(request.actor, None)
        return render(request, "handling/explain.html", {
            "x": explanation, "reason": explanation.reason(request.LANGUAGE_CODE),
            "conditions": _conditions(explanation.conditions, request.LANGUAGE_CODE)})
    return render(request, "handling/explain_lookup.html", {"form": form})


@login_required
@require_GET
def explain(request, pk):
    explanation = queries.explain(request.actor, pk)
    return render(request, "handling/explain.html", {
        "x": explanation, "reason": explanation.reason(request.LANGUAGE_CODE),
        "conditions": _conditions(explanation.conditions, request.LANGUAGE_CODE)})
