"""Under /api/, every error is the API's one JSON error object, and no body is larger than the limit.

Ninja's handlers (``hozen.api.errors.install``) render what an operation raises. Some answers never
reach an operation: Django's 404 for a path no route matches (``/api/v1/assessment/cases/abc``), a
405 for a method a path does not have, a 400 for a host not served, an HTML 500 from a middleware.
This middleware, just inside the request-id middleware, turns every such answer under ``/api/``
into the same JSON object (a 5xx with ``request_id``), and refuses an oversized body with 413
naming the limit before anything reads it (Django's own check would answer an HTML "Bad Request" naming nothing).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import errors

log = logging.getLogger("hozen.api")

API_PREFIX = "/api/"


def body_limit(request: HttpRequest) -> int:
    """The largest body accepted, in bytes: uploads (multipart) up to the vault's limit plus room for
    the form around the file; anything else up to HOZEN_API_MAX_BODY_BYTES."""
    if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
        return settings.HOZEN_VAULT_MAX_BYTES + settings.HOZEN_API_MULTIPART_OVERHEAD_BYTES
    return settings.HOZEN_API_MAX_BODY_BYTES


def body_too_large(request: HttpRequest, limit: int | None) -> HttpResponse:
    limit = body_limit(request) if limit is None else limit
    en = errors.language(request).startswith("en")
    detail = (f"The request body is too large: the API accepts at most {limit:,} bytes." if en
              else f"リクエストの本文が大きすぎます（受け付けるのは {limit:,} バイトまでです）。")
    return errors.response(request, 413, code="body_too_large", detail=detail, limit=limit)


def _declared_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0  # as Django reads it: no body


def _in_shape(payload: object) -> bool:
    return (isinstance(payload, dict) and isinstance(payload.get("detail"), str)
            and isinstance(payload.get("code"), str))


def normalise(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error response under /api/ in the one shape, with the request id; other answers unchanged."""
    if response.status_code < 400 or getattr(response, "streaming", False):
        return response
    if response.status_code in errors.OWN_BODIES.get(request.path_info, ()):
        return response  # an operation's own documented body (the health check's 503)
    payload = None
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
    if _in_shape(payload):
        if response.status_code < 500 or payload.get("request_id"):
            return response
        payload["request_id"] = getattr(request, "request_id", "") or ""
    else:
        payload = errors.body(request, response.status_code)
    response.content = json.dumps(payload).encode()
    response["Content-Type"] = "application/json; charset=utf-8"
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class ApiErrorMiddleware:
    """Oversized bodies refused (413) and every error under /api/ in the API's one JSON shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if "\x00" in request.path_info:  # %00 in a path: nothing has that name, and no database takes it
            return errors.response(request, 404)
        limit = body_limit(request)
        if _declared_length(request) > limit:
            return body_too_large(request, limit)
        try:
            response = self.get_response(request)
        except Exception as exc:  # only what an inner middleware let through: never HTML, never a trace
            log.error("unhandled error in %s %s (request %s)", request.method, request.path,
                      getattr(request, "request_id", ""), exc_info=exc)
            return errors.response(request, 500)
        return normalise(request, response)
