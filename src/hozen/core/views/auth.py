"""Sign-in with password then second factor; enrolment; sign-out; lock-out."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import unquote, urlencode, urlsplit

import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import lockout, services
from ..actor import Actor
from ..errors import RuleViolation
from ..forms import EnrolForm, NewPasswordForm, SignInForm, TokenForm
from ..middleware import client_ip

#: Characters a path to redirect to never holds as such (they arrive percent-encoded when meant).
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_NEXT_MAX = 2000


def _site_path(request, value: str | None) -> str | None:
    """`value` when it is a path of this site (issue 12 §4), else None: a relative path that
    `url_has_allowed_host_and_scheme` accepts and that resolves to one of our pages. Never a
    pattern name (`redirect` would try to reverse "abc" and fail with a 500), never another host
    ("//evil", "https://evil", "/\\evil"), never a header-splitting or control character."""
    if not value or len(value) > _NEXT_MAX or _UNSAFE.search(value):
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    if not url_has_allowed_host_and_scheme(value, {request.get_host()}, require_https=request.is_secure()):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    try:
        resolve(unquote(parts.path))
    except Resolver404:
        return None
    return value


def safe_next(request, default: str = "core:dashboard") -> str:
    """Where to go after sign-in, the second factor or a language switch: the `next` field (or
    query parameter) when it is a path of this site, otherwise the default page's path. Always a
    path, so a redirect to it cannot fail."""
    return _given_next(request) or reverse(default)


def _given_next(request) -> str | None:
    """The `next` the person was sent with, if it is safe: carried through the second-factor step."""
    for value in (request.POST.get("next"), request.GET.get("next")):
        path = _site_path(request, value)
        if path is not None:
            return path
    return None


def with_next(name: str, given: str | None) -> str:
    """The path of the named page, carrying a (safe) `next` on to it when there is one."""
    path = reverse(name)
    return f"{path}?{urlencode({'next': given})}" if given else path


@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.user.is_authenticated:
        return redirect("core:dashboard")
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip().lower()
        ip = client_ip(request)
        with lockout.password_check(username, ip) as lock:
            if lock is not None:
                return _locked(request, lock)
            delay = lockout.delay_for(ip)  # many failures from this address: slowed, never locked
            if delay:
                time.sleep(delay)
            account = authenticate(request, username=username, password=form.cleaned_data["password"])
            if account is None:
                services.record_failed_sign_in(actor=request.actor, username=username, reason="password")
        if account is None:
            form.add_error(None, _("The user name or password is not correct."))
        else:
            # Where to go next is settled before the session exists: nothing after login() can fail.
            given = _given_next(request)
            login(request, account, backend="django.contrib.auth.backends.ModelBackend")
            if account.needs_second_factor or account.totpdevice_set.filter(confirmed=True).exists():
                return redirect(with_next("core:otp_verify", given))
            actor = Actor.for_account(account, None, channel="web", request_id=request.request_id,
                                      ip=client_ip(request))
            services.record_sign_in(actor=actor, method="password")
            return redirect(given or reverse("core:dashboard"))
    return render(request, "core/sign_in.html", {"form": form})


def _locked(request, lock) -> HttpResponse:
    """The lock page: why, and when it ends (Japan time), with a Retry-After."""
    until = timezone.localtime(lock.until)
    if lock.kind == "busy":
        message = _("Too many sign-ins are in progress from your network at the moment. Try again in a few "
                    "seconds.")
    elif lock.kind == "pair":
        message = _("Too many failed sign-in attempts for this user name from this device. Signing in is locked "
                    "until %(time)s. If you need access sooner, ask your system administrator to unlock it.")
    else:
        message = _("Too many failed sign-in attempts for this user name. Signing in is locked until %(time)s. "
                    "If you need access sooner, ask your system administrator to unlock it.")
    response = render(request, "core/sign_in.html",
                      {"form": SignInForm(), "locked_message": message % {"time": f"{until:%H:%M}"}}, status=429)
    response["Retry-After"] = str(max(1, int((lock.until - timezone.now()).total_seconds())))
    return response


def locked_out(request, *args, **kwargs):
    """django-axes calls this when the (user name, address) pair reaches the limit (AXES_LOCKOUT_CALLABLE)."""
    username = (request.POST.get("username") or "").strip().lower()
    lock = lockout.lock_for(username, client_ip(request))
    return _locked(request, lock or lockout.Lock("pair", timezone.now() + lockout.cool_off()))


@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if not request.user.is_authenticated:
        return redirect("core:login")
    if request.user.is_verified():
        return redirect(safe_next(request))
    if not request.user.totpdevice_set.filter(confirmed=True).exists():
        return redirect(with_next("core:otp_enrol", _given_next(request)))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = services.normalise_code(form.cleaned_data["token"])
        device = match_token(request.user, token)
        if device is None:
            services.record_failed_sign_in(actor=request.actor, username=request.user.username, reason="second_factor")
            form.add_error("token", _("The code is not correct, or it has expired. Try the current code."))
        else:
            destination = safe_next(request)
            otp_login(request, device)
            method = "password+recovery_code" if device.__class__.__name__ == "StaticDevice" else "password+totp"
            services.record_sign_in(actor=request.actor, method=method)
            return redirect(destination)
    return render(request, "core/otp_verify.html",
                  {"form": form, "has_passkey": request.user.webauthncredential_set.filter(confirmed=True).exists()})


def _qr_data_uri(device: TOTPDevice) -> str:
    # A standalone SVG document (with its xmlns, which svg_inline leaves out: as an <img> source
    # without it no browser draws anything), with a quiet zone of four modules.
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


#: The session key holding the hash of the enrolment link the person opened (issue 14 §3).
ENROLMENT_LINK = "hozen_enrolment_link"


@require_GET
def enrolment_link(request, secret: str):
    """The administrator's link after a second-factor reset: kept (as its hash) in this browser's
    session, through sign-in, for the enrolment page."""
    request.session[ENROLMENT_LINK] = services.hash_token_secret(secret[:100])
    return redirect("core:otp_enrol" if request.user.is_authenticated else "core:login")


@require_http_methods(["GET", "POST"])
def otp_enrol(request):
    if not request.user.is_authenticated:
        return redirect("core:login")
    has_confirmed = request.user.totpdevice_set.filter(confirmed=True).exists()
    if has_confirmed and not request.user.is_verified():
        # Someone holding only the password must not be able to enrol a new phone.
        return redirect(with_next("core:otp_verify", _given_next(request)))
    device = request.user.totpdevice_set.filter(confirmed=False).first()
    form = EnrolForm(request.POST or None)
    link_hash = request.session.get(ENROLMENT_LINK)
    try:
        if request.method == "POST" and form.is_valid():
            # No enrolment in progress any more (a reset removed it): the service says so.
            codes = services.confirm_totp_enrolment(actor=request.actor, device=device.pk if device else None,
                                                    token=form.cleaned_data["token"], link_hash=link_hash)
            request.session.pop(ENROLMENT_LINK, None)
            otp_login(request, device)
            services.record_sign_in(actor=request.actor, method="password+totp_enrolment")
            return render(request, "core/recovery_codes.html", {"codes": codes, "continue_to": safe_next(request)})
        if device is None or request.user.enrolment_needs_link:
            device = services.start_totp_enrolment(actor=request.actor, link_hash=link_hash)
    except services.ChangedMeanwhile as exc:
        # Confirmed in another window, removed by an administrator's reset, or the session ended a
        # moment ago: this page's secret is no longer the one to confirm. Say so on the page that
        # is now the next step (the code step, or sign-in once the session has ended).
        messages.error(request, exc.message(request.LANGUAGE_CODE))
        return redirect(with_next("core:otp_verify", _given_next(request)))
    except RuleViolation as exc:
        if exc.code == services.ENROLMENT_LINK_REQUIRED[0]:  # the password alone: no secret shown
            return render(request, "core/otp_enrol.html", {"link_required": exc.message(request.LANGUAGE_CODE)},
                          status=403)
        form.add_error("token", exc.message(request.LANGUAGE_CODE))
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "core/otp_enrol.html",
                  {"form": form, "qr": _qr_data_uri(device), "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))})


@require_POST
def sign_out(request):
    if request.user.is_authenticated and request.actor is not None:
        services.record_sign_out(actor=request.actor)
    logout(request)
    return redirect("core:login")


@require_http_methods(["GET", "POST"])
def password_reset(request, secret: str):
    """The person's one-time link from an administrator: a new password, once, before it expires."""
    reset = services.password_reset_for(secret)
    if reset is None:
        return render(request, "core/password_reset.html", {"unusable": True}, status=404)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = Actor.for_account(reset.account, None, channel="web", request_id=request.request_id,
                                  ip=client_ip(request))
        try:
            services.complete_password_reset(actor=actor, secret=secret, password=form.cleaned_data["password"])
        except RuleViolation as exc:
            form.add_error("password" if exc.field == "password" else None, exc.message(request.LANGUAGE_CODE))
        else:
            if request.user.is_authenticated:
                logout(request)
            messages.success(request, _("Your password was changed. Sign in with it now.")
                             if not reset.second_factor_lost else
                             _("Your password was changed. Sign in with it now; you will then set up a new "
                               "authenticator app."))
            return redirect("core:login")
    return render(request, "core/password_reset.html", {"form": form, "reset": reset})
