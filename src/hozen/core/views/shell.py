"""The UI shell: dashboards per role, role and language switches, profile."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from hozen.access import policy

from .. import queries, services
from ..errors import RuleViolation
from ..extensions import dashboard_context
from ..middleware import ACTIVE_ASSIGNMENT
from ..roles import Role
from .auth import safe_next


def home(request):
    return redirect("core:dashboard" if request.user.is_authenticated else "core:login")


@login_required
def dashboard(request):
    policy.require(request.actor, "dashboard.view")
    return _workspace(request, request.actor.role)


@login_required
def workspace(request, role: str):
    if role not in Role.values:
        raise Http404
    policy.require(request.actor, "workspace.view", role)
    return _workspace(request, role)


def _workspace(request, role: str):
    context = {"role": role, "role_label": Role(role).label}
    if role == Role.SYSADMIN:
        context["health"] = queries.system_health()
    context.update(dashboard_context(request.actor, role))
    return render(request, f"core/dashboards/{role}.html", context)


@login_required
@require_POST
def switch_role(request):
    try:
        wanted = int(request.POST.get("assignment", ""))
    except ValueError:
        raise Http404 from None
    assignment = next((a for a in request.assignments if a.pk == wanted), None)
    if assignment is None:
        raise Http404
    # The service reads the assignment afresh and refuses one revoked since this request began.
    assignment = services.switch_role(actor=request.actor, assignment=assignment.pk)
    request.session[ACTIVE_ASSIGNMENT] = assignment.pk
    return redirect(safe_next(request, default="core:dashboard"))


@require_POST
def set_language(request):
    """Works signed out (cookie) and signed in (kept on the account as well)."""
    language = request.POST.get("language", "")
    if not check_for_language(language) or language not in ("ja", "en"):
        language = "ja"
    if request.user.is_authenticated and request.actor is not None:
        try:
            services.set_language(actor=request.actor, language=language)
        except RuleViolation:  # pragma: no cover - language was validated above
            pass
    response = redirect(safe_next(request, default="core:home"))
    from django.conf import settings

    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE, secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
                        httponly=True)
    return response


@login_required
def profile(request):
    policy.require(request.actor, "profile.view", request.actor.account)
    return render(request, "core/profile.html", queries.profile_for(request.actor))


@login_required
@require_POST
def sign_out_everywhere(request):
    services.sign_out_everywhere(actor=request.actor)
    from django.contrib.auth import logout

    logout(request)
    return redirect("core:login")


@login_required
@require_http_methods(["GET", "POST"])
def change_password(request):
    """The person changes their password: the current one and their second factor. Then every
    session ends, this one too: they sign in again with the new password."""
    import dataclasses

    from django.contrib.auth import logout

    from .. import second_factor
    from ..forms import ChangePasswordForm

    has_factor = request.user.totpdevice_set.filter(confirmed=True).exists()
    form = ChangePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        proof = second_factor.check(request.user, form.cleaned_data["token"]) if has_factor else None
        if has_factor and proof is None:
            form.add_error("token", _("The code is not correct, or it has expired. Try the current code."))
        else:
            actor = dataclasses.replace(request.actor, second_factor=proof, second_factor_verified=proof is not None)
            try:
                services.change_password(actor=actor, old_password=form.cleaned_data["old_password"],
                                         new_password=form.cleaned_data["new_password"])
            except RuleViolation as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message(request.LANGUAGE_CODE))
            else:
                logout(request)
                messages.success(request, _("Your password was changed. Sign in with it now."))
                return redirect("core:login")
    if not has_factor:
        form.fields.pop("token")
    return render(request, "core/change_password.html", {"form": form})


@login_required
@require_POST
def set_email(request):
    """The person gives an address for notices; a confirmation link goes there."""
    from ..forms import EmailForm

    form = EmailForm(request.POST)
    if form.is_valid():
        try:
            services.request_email_verification(actor=request.actor, address=form.cleaned_data["email"])
        except RuleViolation as exc:
            messages.error(request, exc.message(request.LANGUAGE_CODE))
        else:
            messages.success(request, _("We sent a confirmation link to that address. Notices go there once you "
                                        "open it."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("core:profile")


@login_required
@require_POST
def set_notices(request):
    """Which e-mail notices the person keeps on (each a checkbox named after its kind)."""
    from ..notices import KINDS

    services.set_notice_preferences(actor=request.actor, on={k: k in request.POST for k in KINDS})
    messages.success(request, _("Your notice choices were saved."))
    return redirect("core:profile")


@require_http_methods(["GET", "POST"])
def verify_email(request, secret: str):
    """The link from the confirmation e-mail (signed in or out): a page with one button, so that a
    mail scanner that opens links confirms nothing; the POST confirms."""
    if request.method == "GET":
        return render(request, "core/verify_email.html", {})
    try:
        services.verify_email(secret=secret, request_id=getattr(request, "request_id", None))
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
    else:
        messages.success(request, _("Your e-mail address is confirmed. Notices will be sent there."))
    return redirect("core:profile" if request.user.is_authenticated else "core:login")


@login_required
@require_POST
def revoke_token(request, pk: int):
    """The owner ends one of their API tokens (audited)."""
    token = queries.own_token_for(request.actor, pk)  # 404: not the caller's
    try:
        services.revoke_api_token(actor=request.actor, token=token)
    except RuleViolation as exc:
        messages.error(request, exc.message(request.LANGUAGE_CODE))
    else:
        messages.success(request, _("Token hz_%(prefix)s_… no longer works.") % {"prefix": token.prefix})
    return redirect("core:profile")


@login_required
@require_POST
def regenerate_recovery_codes(request):
    try:
        codes = services.regenerate_recovery_codes(actor=request.actor)
    except services.ChangedMeanwhile as exc:  # the session was ended while this request ran
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect("core:profile")
    return render(request, "core/recovery_codes.html", {"codes": codes})
