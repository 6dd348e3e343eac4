"""Request plumbing: request ids, security headers, the actor, the second-factor gate, refusal pages."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

from .actor import Actor

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
ACTIVE_ASSIGNMENT = "hozen_active_assignment"


class RequestIdMiddleware:
    """Every request gets an id; it goes into each audit entry and back in X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class SecurityHeadersMiddleware:
    """CSP without inline scripts, and a Permissions-Policy closing off device APIs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            response.setdefault("Cache-Control", "no-store")
        return response


#: The session key holding when the session's expiry was last pushed forward (epoch seconds).
SESSION_REFRESHED = "hozen_refreshed"


class SessionIdleMiddleware:
    """The idle sign-out (HOZEN_SESSION_IDLE_MINUTES) without a database write on every request.

    A session ends when it has not been saved for SESSION_COOKIE_AGE: Django pushes the expiry
    forward by saving the session, which with SESSION_SAVE_EVERY_REQUEST is a write transaction per
    page (on SQLite a commit to disk: a fifth of a dashboard's time, docs/benchmarks.md). Here a
    signed-in session is saved when it changed, or when its expiry was last pushed forward more than
    `REFRESH_SECONDS` ago. The idle limit is thus never longer than configured, and at most that
    much shorter; the page's idle warning (two minutes before, hozen.js) still comes first, and its
    "stay signed in" ping arrives long after the last refresh, so it always pushes the expiry forward.
    """

    REFRESH_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.session_key:  # a session cookie: the session is read anyway
            now = int(time.time())
            last = session.get(SESSION_REFRESHED)
            # (An expired or unknown session loses its key when read: nothing to refresh, none created.)
            if session.session_key and (not isinstance(last, int) or not 0 <= now - last < self.REFRESH_SECONDS):
                session[SESSION_REFRESHED] = now  # modified: SessionMiddleware saves it with a new expiry
        return self.get_response(request)


def client_ip(request) -> str | None:
    """The client's address, through the trusted proxies (hozen.core.lockout.client_ip)."""
    from .lockout import client_ip as through_proxies

    return through_proxies(request)


# Paths a signed-in account may reach before its second factor is verified or enrolled.
_OTP_EXEMPT = ("core:otp_verify", "core:otp_enrol", "core:logout", "core:set_language",
               "core:passkey_sign_in_begin", "core:passkey_sign_in_complete")


class ActorMiddleware:
    """Builds `request.actor` and holds back accounts that still owe their second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = None
        user = request.user
        if user.is_authenticated and not request.path.startswith(("/api/", settings.STATIC_URL)):
            assignments = list(user.active_assignments())
            chosen = None
            wanted = request.session.get(ACTIVE_ASSIGNMENT)
            for a in assignments:
                if a.pk == wanted:
                    chosen = a
            if chosen is None and assignments:
                chosen = assignments[0]
                request.session[ACTIVE_ASSIGNMENT] = chosen.pk
            request.assignments = assignments
            request.actor = Actor.for_account(user, chosen, channel="web", request_id=request.request_id,
                                              ip=client_ip(request), second_factor_verified=user.is_verified())
            # The language a user chose persists on the account, not only in a cookie.
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            if not user.is_verified() and user.needs_second_factor:
                exempt = {reverse(name) for name in _OTP_EXEMPT}
                if request.path not in exempt and not request.path.startswith(reverse("core:otp_enrol") + "link/"):
                    has_device = user.totpdevice_set.filter(confirmed=True).exists()
                    step = reverse("core:otp_verify" if has_device else "core:otp_enrol")
                    # The page asked for is carried on (checked again where it is used): after the
                    # second factor the person lands where they were going. Only a GET can be
                    # repeated that way.
                    if request.method == "GET":
                        step = f"{step}?{urlencode({'next': request.get_full_path()})}"
                    return redirect(step)
        elif not request.path.startswith(settings.STATIC_URL):
            request.actor = Actor(account=None, assignment=None, channel="web", request_id=request.request_id,
                                  system_name="anonymous", ip=client_ip(request))
        return self.get_response(request)

    def process_exception(self, request, exception):
        """Policy denials become 403 pages with the policy's reason; missing and forbidden reads 404."""
        from django.http import Http404
        from django.shortcuts import render

        from hozen.access.policy import PolicyDenied, audit_unrecorded_denial

        from . import guidance
        from .errors import NotFound

        if isinstance(exception, PolicyDenied):
            audit_unrecorded_denial(request.actor, exception)
            language = getattr(request, "LANGUAGE_CODE", "ja")
            code = exception.decision.code
            context = {"reason": exception.decision.reason(language), "code": code,
                       **guidance.for_denial(request, code, exception.target)}
            return render(request, "core/denied.html", context, status=403)
        if isinstance(exception, NotFound | OverflowError):  # an id beyond any stored one is a missing row
            raise Http404
        return None


class LanguageMiddleware:
    """Japanese unless the person chose English (cookie, or their account once signed in).

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: a government
    system in Japan opens in Japanese, and the choice to switch is the person's, kept per user.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        response.headers.setdefault("Vary", "Cookie")
        return response
