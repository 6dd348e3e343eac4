"""Screens of the organ's measures on a certified business (DOMAIN §4): the certification's page
(its state, contracts and measures) with the forms to suspend, restore and revoke it and to amend
or terminate a contract. Thin: reads through `queries`, writes through `services`; the policy
decides. A revocation is final, so it is reviewed before it is recorded: the review page shows
what will be recorded and sends back the certification's version it was shown with, and the
service refuses the confirmation if the certification changed since (a stale edit)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from hozen.access import policy
from hozen.core.errors import RuleViolation

from . import queries, services
from .forms import AmendForm, DatedMeasureForm, RestoreForm

CERT_MEASURES = {
    "suspend": ("certification.suspend", DatedMeasureForm, services.suspend_certification),
    "restore": ("certification.restore", RestoreForm, services.restore_certification),
    "revoke": ("certification.revoke", DatedMeasureForm, services.revoke_certification),
}


def _allowed(actor, action, target) -> bool:
    return policy.decide(actor, action, target).allowed


@login_required
@require_GET
def certification(request, pk):
    page = queries.certification_page(request.actor, pk)
    cert = page["certification"]
    page["may"] = {m: _allowed(request.actor, action, cert) for m, (action, _f, _s) in CERT_MEASURES.items()}
    page["may_contract"] = _allowed(request.actor, "contract.amend", cert)
    return render(request, "operators/certification.html", page)


def _measure_page(request, cert, measure, form, *, status=200, review=False):
    return render(request, "operators/measure.html", {"certification": cert, "measure": measure, "form": form,
                                                      "review": review}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def certification_measure(request, pk, measure):
    """Suspend, restore or revoke. A revocation goes through a review step (`step=review`, then
    `step=confirm`; `step=edit` goes back to the form with what was typed)."""
    cert = queries.certification_for(request.actor, pk)
    action, form_class, service = CERT_MEASURES[measure]
    policy.require(request.actor, action, cert)
    if request.method != "POST":
        return _measure_page(request, cert, measure, form_class(initial={"version": cert.version}))
    form = form_class(request.POST)
    step = request.POST.get("step", "")
    if not form.is_valid() or step == "edit":
        return _measure_page(request, cert, measure, form)
    data = dict(form.cleaned_data)
    if measure == "revoke" and step != "confirm":
        return _measure_page(request, cert, measure, form, review=True)
    try:
        service(actor=request.actor, certification=cert.pk, **data)
    except RuleViolation as exc:
        form.add_violation(exc, request.LANGUAGE_CODE)
        return _measure_page(request, cert, measure, form, status=exc.status)
    messages.success(request, {"suspend": _("The certification is suspended."),
                               "restore": _("The certification is restored."),
                               "revoke": _("The certification is revoked.")}[measure])
    return redirect("operators:certification", pk=cert.pk)


@login_required
@require_http_methods(["GET", "POST"])
def contract_measure(request, pk, measure):
    """Amend (departments) or terminate a contract."""
    contract = queries.contract_for(request.actor, pk)
    action = {"amend": "contract.amend", "terminate": "contract.terminate"}[measure]
    policy.require(request.actor, action, contract)
    form_class = AmendForm if measure == "amend" else DatedMeasureForm
    form = form_class(request.POST if request.method == "POST" else None, initial={"version": contract.version})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if measure == "amend":
            data["departments_added"] = AmendForm.lines(data["departments_added"])
            data["departments_removed"] = AmendForm.lines(data["departments_removed"])
            fn = services.amend_contract
        else:
            fn = services.terminate_contract
        try:
            fn(actor=request.actor, contract=contract.pk, **data)
        except RuleViolation as exc:
            form.add_violation(exc, request.LANGUAGE_CODE)
        else:
            messages.success(request, _("The contract is amended.") if measure == "amend"
                             else _("The contract's termination is recorded."))
            return redirect("operators:certification", pk=contract.certification_id)
    return render(request, "operators/contract_measure.html",
                  {"contract": contract, "measure": measure, "form": form}, status=400 if form.errors else 200)
