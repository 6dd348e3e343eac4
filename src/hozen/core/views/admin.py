"""System administration screens: accounts, second-factor reset, organisations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from hozen.access import policy

from .. import lockout, queries, services
from ..errors import RuleViolation
from ..forms import ResetSecondFactorForm, StartPasswordResetForm, UnlockForm


@login_required
def accounts(request):
    policy.require(request.actor, "account.list")
    return render(request, "core/accounts.html", {"accounts": queries.accounts_for(request.actor)})


@login_required
@require_http_methods(["GET", "POST"])
def reset_second_factor(request, pk: int):
    account = queries.account_for(request.actor, pk)
    policy.require(request.actor, "otp.reset", account)
    form = ResetSecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_second_factor(actor=request.actor, account=account, reason=form.cleaned_data["reason"])
        except RuleViolation as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message(request.LANGUAGE_CODE))
        else:
            return _enrolment_link(request, account)
    return render(request, "core/reset_second_factor.html", {"form": form, "target": account})


@login_required
def organisations(request):
    policy.require(request.actor, "organisation.list")
    return render(request, "core/organisations.html", {"organisations": queries.organisations_for(request.actor)})


@login_required
@require_http_methods(["GET", "POST"])
def sign_in_locks(request):
    """User names locked out of signing in now, and the administrator's unlock (audited)."""
    policy.require(request.actor, "sign_in.unlock")
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.unlock_sign_in(actor=request.actor, username=form.cleaned_data["username"])
        except RuleViolation as exc:
            messages.error(request, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("%(user)s can sign in again.") % {"user": form.cleaned_data["username"]})
        return redirect("core:sign_in_locks")
    return render(request, "core/sign_in_locks.html", {"locks": lockout.locked_names()})


@login_required
@require_http_methods(["GET", "POST"])
def start_password_reset(request, pk: int):
    """An administrator makes a one-time password link for someone, shown once on this page."""
    account = queries.account_for(request.actor, pk)
    policy.require(request.actor, "password.reset", account)
    # Bound on every POST: an unticked box sends nothing, and an empty POST is still a request to act.
    form = StartPasswordResetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        reset, secret = services.start_password_reset(
            actor=request.actor, account=account, second_factor_lost=form.cleaned_data["second_factor_lost"])
        link = request.build_absolute_uri(reverse("core:password_reset", args=[secret]))
        return render(request, "core/password_reset_link.html", {"target": account, "reset": reset, "link": link})
    return render(request, "core/password_reset_start.html", {"form": form, "target": account})


def _enrolment_link(request, account):
    link, secret = services.start_enrolment_link(actor=request.actor, account=account)
    url = request.build_absolute_uri(reverse("core:enrolment_link", args=[secret]))
    return render(request, "core/enrolment_link.html", {"target": account, "reset": link, "link": url})


@login_required
@require_http_methods(["POST"])
def new_enrolment_link(request, pk: int):
    """A new enrolment link for someone whose second factor was reset (the first lost or expired)."""
    account = queries.account_for(request.actor, pk)
    try:
        return _enrolment_link(request, account)
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect("core:accounts")
