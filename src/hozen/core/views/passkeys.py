"""Passkeys (issue 14 §4): added and removed on the profile, used at the second-factor step.

The ceremonies run in the browser (static/hozen/passkeys.js: no inline script) against the JSON
endpoints here; each endpoint is thin: the checks are in hozen.core.passkeys, the writes in the
services. Answers are JSON ``{"code", "detail"}`` on refusal (the detail in the person's language),
``{"redirect"}`` on success.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnCredential

from hozen.access.policy import PolicyDenied, audit_unrecorded_denial

from .. import passkeys, services
from ..errors import NotFound, RuleViolation
from .auth import safe_next

#: The largest ceremony answer read (a passkey's answer is a few kilobytes).
BODY_MAX = 64 * 1024


def _refusal(request, code: str, detail: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _json_body(request) -> dict:
    if len(request.body) > BODY_MAX:
        raise RuleViolation("passkey_answer_too_large", "パスキーの応答が大きすぎます。",
                            "The passkey answer is too large.", field="passkey")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise passkeys.ceremony_failed()
    return data


def _json_view(view):
    """A signed-in JSON endpoint: refusals as JSON (a policy denial 403, audited as on any page)."""
    @never_cache
    @require_POST
    def wrapped(request, *args, **kwargs):
        language = getattr(request, "LANGUAGE_CODE", "ja")
        if not request.user.is_authenticated or request.actor is None:
            return _refusal(request, "not_signed_in", _("You need to sign in."), 403)
        try:
            return view(request, *args, **kwargs)
        except PolicyDenied as exc:
            audit_unrecorded_denial(request.actor, exc)
            return _refusal(request, exc.decision.code, exc.decision.reason(language), 403)
        except NotFound:
            return _refusal(request, "not_found", _("Not found."), 404)
        except RuleViolation as exc:
            return _refusal(request, exc.code, exc.message(language), getattr(exc, "status", 422))
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- on the profile ----------------------------------------------------------------------------------

@_json_view
def add_begin(request):
    """The options to make a passkey: only for whom the policy would let add one, and only with a
    name that will be accepted (checked before the person touches their authenticator)."""
    from hozen.access import policy

    policy.require(request.actor, "otp.passkey_add", request.actor.account)
    services.clean_passkey_name(_json_body(request).get("name"))
    return JsonResponse(passkeys.begin_registration(request))


@_json_view
def add_complete(request):
    """The browser's new passkey, checked against this session's challenge, saved under its name."""
    data = _json_body(request)
    registration = passkeys.verify_registration(request, data.get("credential"))
    services.add_passkey(actor=request.actor, name=data.get("name"), registration=registration)
    messages.success(request, _("The passkey was added. You can use it at your next sign-in."))
    # Without a fragment: from the profile to "/profile/#passkeys" would only scroll, not reload.
    return JsonResponse({"redirect": reverse("core:profile")})


@login_required
@require_POST
def remove(request, pk: int):
    used_now = getattr(request.user, "otp_device", None)
    removed = services.remove_passkey(actor=request.actor, passkey=pk)  # someone else's or gone: 404
    if isinstance(used_now, WebAuthnCredential) and used_now.pk == removed["passkey"]:
        # django-otp no longer finds the device this session was confirmed with: the session asks
        # for the second factor again (the authenticator app or a recovery code), and says why.
        messages.success(request, _("The passkey was removed. This sign-in was confirmed with it, so confirm "
                                    "it is you once more with your authenticator app or a recovery code."))
    else:
        messages.success(request, _("The passkey was removed."))
    return redirect(reverse("core:profile") + "#passkeys")


# --- at the second-factor step -----------------------------------------------------------------------

@_json_view
def sign_in_begin(request):
    """The options to confirm the sign-in with one of this account's passkeys."""
    if request.user.is_verified():
        return JsonResponse({"redirect": safe_next(request)})
    return JsonResponse(passkeys.begin_authentication(request))


@_json_view
def sign_in_complete(request):
    """The passkey's answer: the session is verified with that passkey (django-otp), and the
    sign-in recorded as `password+passkey`."""
    if request.user.is_verified():
        return JsonResponse({"redirect": safe_next(request)})
    try:
        assertion = passkeys.verify_assertion(request, _json_body(request))
    except RuleViolation:  # counted as a wrong code is (issue 12 §8)
        services.record_failed_sign_in(actor=request.actor, username=request.user.username, reason="passkey")
        raise
    destination = safe_next(request)
    device = services.use_passkey(actor=request.actor, assertion=assertion)
    otp_login(request, device)
    services.record_sign_in(actor=request.actor, method="password+passkey")
    return JsonResponse({"redirect": destination})
