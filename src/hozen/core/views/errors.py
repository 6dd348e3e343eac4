"""Error pages in the site's layout and the person's language (issue 15).

Django's own handlers would render the templates too, but without the next step (whom to ask) and,
for a CSRF failure, without the request (no header, no language). Under /api/ nothing is rendered
here: ``hozen.api.middleware.ApiErrorMiddleware`` turns every error there into the API's JSON.
"""

from __future__ import annotations

import logging

from django.http import HttpResponseForbidden, HttpResponseNotFound, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from .. import guidance

log = logging.getLogger("hozen.core")

API_PREFIX = "/api/"


def _api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def not_found(request, exception=None):
    """Missing and not visible read the same (STYLE: reads): nothing here depends on the record."""
    if _api(request):
        return HttpResponseNotFound(content_type="text/plain")
    return render(request, "404.html", guidance.for_not_found(request), status=404)


def permission_denied(request, exception=None):
    if _api(request):
        return HttpResponseForbidden(content_type="text/plain")
    return render(request, "403.html", {"signed_in": guidance.for_not_found(request)["signed_in"]}, status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the form was open too long, or the session changed in another window."""
    if _api(request):
        return HttpResponseForbidden(content_type="text/plain")
    return render(request, "403_csrf.html", {"signed_in": guidance.for_not_found(request)["signed_in"]},
                  status=403)


_LAST_RESORT = (
    "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>Hozen</title></head><body>"
    "<h1>システムで問題が発生しました / Something went wrong</h1>"
    "<p><a href=\"/\">ダッシュボードに戻る / Back to your dashboard</a></p></body></html>"
)


def server_error(request):
    """A static page (no context processors: whatever failed may fail again there), with the
    request id to quote to the help desk. Its language is the one already active for the request."""
    if _api(request):
        return HttpResponseServerError(content_type="text/plain")
    try:
        body = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    except Exception:  # the error page must not fail in turn
        log.exception("the 500 page could not be rendered")
        body = _LAST_RESORT
    return HttpResponseServerError(body)
