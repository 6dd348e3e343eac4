"""The API's one error shape: every failure under /api/ answers it, and every operation documents it.

Every error response under ``/api/`` is ``application/json`` with the same object (issue 12 §3)::

    {"detail": "...", "code": "stable_code", "field": "title", ...}

``detail`` is for people, in the caller's language; ``code`` is for programs and never changes;
a 5xx adds ``request_id``, the request's ``X-Request-ID`` (quote it when reporting a problem: the
server's log has the traceback under that id; every response carries the header, but other error
bodies leave it out so that the 404 of a forbidden record and of a missing one are byte for byte
the same). Optional members: ``field`` (the input at fault),
``fields`` (every input at fault), ``errors`` (each problem of a request refused whole: a
questionnaire, a bulk nomination, input that does not parse), ``current_version`` (409/428 on
versioned records) and ``limit`` (413: the largest body accepted, in bytes).

Three places keep the promise:
- the Ninja exception handlers below (``install``) render what the handlers raise;
- ``hozen.api.middleware.ApiErrorMiddleware`` turns anything else under ``/api/`` that is not in
  this shape (Django's 404 for a malformed path, a 405, an HTML 500 from a middleware) into it;
- ``document`` rewrites the generated OpenAPI once, so that every operation lists every error
  status it can answer with this one schema, instead of 119 decorators each saying it again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from hozen.core.errors import NotFound, RuleViolation

log = logging.getLogger("hozen.api")

#: Every error status the API answers with, and what each means (the OpenAPI descriptions).
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read: a body that is not valid JSON or not UTF-8, a malformed header. "
         "`field` names the part at fault where there is one.",
    401: "No valid bearer token (`Authorization: Bearer hz_…`), or the token's account, role or "
         "assignment is no longer active.",
    403: "Refused by the policy: `code` is the policy's reason code (e.g. `wrong_role`, `status_only`).",
    404: "Not found: missing, not visible to the caller (the two look the same), or a malformed path.",
    405: "The path exists but not with this method (`Allow` lists the methods it has).",
    409: "Conflict: the record changed since the version named in `If-Match` (`stale_edit`, with "
         "`current_version`), a rule's race was lost, or a request with the same `Idempotency-Key` "
         "is still running (`idempotency_key_in_progress`; retry after `Retry-After` seconds).",
    413: "The request body is larger than the API accepts; `limit` is the largest size, in bytes.",
    415: "The body's `Content-Type` is not one this operation reads (`application/json`, or "
         "`multipart/form-data` for uploads).",
    422: "Input refused with nothing written: `code` names the rule (e.g. `invalid_input`, "
         "`duplicate_key`, `invalid_character`, `idempotency_key_reused`), `field`/`fields` the input at "
         "fault, `errors` each problem when there are several.",
    428: "The edit named no version: send the ETag of your read in `If-Match` (`version_required`).",
    429: "Too many requests: retry after `Retry-After` seconds.",
    500: "An unexpected error on the server. Nothing is revealed but `request_id`, under which the server "
         "logged what happened.",
}

#: The code an error answers with when nothing more specific was said.
DEFAULT_CODES: dict[int, str] = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "body_too_large", 415: "unsupported_media_type",
    422: "invalid_input", 428: "precondition_required", 429: "too_many_requests", 500: "server_error",
    503: "unavailable",
}

_DEFAULT_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("リクエストを読み取れません。", "The request cannot be read."),
    401: ("認証が必要です（Authorization: Bearer にトークンを指定してください）。",
          "Authentication required (a bearer token in the Authorization header)."),
    403: ("この操作は許可されていません。", "This action is not allowed."),
    404: ("見つかりません。", "Not found."),
    405: ("このパスではこのメソッドは使えません。", "This method is not allowed on this path."),
    409: ("他の処理と競合しました。", "Conflict with another change."),
    413: ("リクエストが大きすぎます。", "The request is too large."),
    415: ("この形式の本文は受け付けません。", "This content type is not accepted."),
    422: ("入力内容に誤りがあります。", "The input is not valid."),
    428: ("前提条件（If-Match）が必要です。", "A precondition (If-Match) is required."),
    429: ("リクエストが多すぎます。しばらくしてから再試行してください。", "Too many requests: try again later."),
    500: ("サーバーで予期しないエラーが発生しました。お問い合わせの際はリクエスト ID をお伝えください。",
          "Unexpected error on the server. Quote the request id when you report it."),
    503: ("一時的に利用できません。", "Temporarily unavailable."),
}


class ErrorItemOut(Schema):
    """One problem of a request refused whole."""

    message: str = Field(description="What is wrong with this part")
    field: str | None = Field(None, description="The input at fault, e.g. `rows.2.username`")
    path: str | None = Field(None, description="Questionnaire answers: section.path, e.g. "
                             "`employment_10y.jobs[1].ended_on`")
    row: int | None = Field(None, description="Bulk input: the row's index, from 0")
    code: str | None = Field(None, description="The rule or check that failed")


class ErrorOut(Schema):
    """Every error the API answers with (4xx and 5xx)."""

    detail: str = Field(description="What is wrong, in the caller's language")
    code: str = Field(description="Stable code for programs, e.g. `not_found`, `wrong_role`, `stale_edit`, "
                      "`invalid_input`, `body_too_large`")
    request_id: str | None = Field(None, description="5xx: this request's id (also in the `X-Request-ID` header "
                                   "of every response): quote it when reporting the error")
    field: str | None = Field(None, description="The input at fault")
    fields: list[str] | None = Field(None, description="Every input at fault (input that does not parse)")
    errors: list[ErrorItemOut] | None = Field(None, description="Each problem, when a request is refused "
                                              "for several at once")
    current_version: int | None = Field(None, description="409/428: the stored version (also the ETag)")
    limit: int | None = Field(None, description="413: the largest body accepted, in bytes")


class ApiError(RuleViolation):
    """Bad input the API layer itself refuses (a body, a content type, a header, a parameter), with
    the status it answers: rendered by the same handler as a RuleViolation from a service."""

    def __init__(self, status: int, code: str, message_ja: str, message_en: str, *, field: str | None = None,
                 **extra: Any):
        super().__init__(code, message_ja, message_en, field=field)
        self.status = status
        self.extra = extra


def language(request: HttpRequest) -> str:
    """The caller's language: their account's choice once authenticated, else the request's."""
    actor = getattr(request, "actor", None)
    account = getattr(actor, "account", None)
    if account is not None:
        return account.language
    return get_language() or "ja"


def _request_id(request: HttpRequest) -> str:
    return getattr(request, "request_id", "") or ""


def body(request: HttpRequest, status: int, *, code: str | None = None, detail: str | None = None,
         **extra: Any) -> dict:
    """The error object for `status`; `detail` defaults to the status's message in the caller's language."""
    if detail is None:
        ja, en = _DEFAULT_MESSAGES.get(status, _DEFAULT_MESSAGES[400 if status < 500 else 500])
        detail = en if language(request).startswith("en") else ja
    out = {"detail": detail, "code": code or DEFAULT_CODES.get(status, "error")}
    out.update({k: v for k, v in extra.items() if v is not None})
    if status >= 500:
        # The one thing a 5xx says: which request, so the log's traceback can be found. Other errors
        # carry it in the X-Request-ID header only, so that a forbidden and a missing record's 404
        # stay byte for byte the same (no existence oracle).
        out["request_id"] = _request_id(request)
    return out


def response(request: HttpRequest, status: int, **kwargs: Any) -> HttpResponse:
    """An error response in the one shape. ASCII-escaped JSON: never fails to encode, whatever it names."""
    return HttpResponse(json.dumps(body(request, status, **kwargs)), status=status,
                        content_type="application/json; charset=utf-8")


def _field_name(loc: tuple | list) -> str:
    parts: list[str] = []
    for part in loc:
        if part in ("body", "payload", "query", "path", "header", "form", "file", "cookie", "filters", "params",
                    "page"):
            continue
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    return ".".join(parts).replace(".[", "[") or "body"


def validation_body(request: HttpRequest, exc: ValidationError) -> dict:
    """422 for input that does not parse, naming every field at fault (pydantic's messages in `errors`)."""
    items = []
    for err in exc.errors:
        items.append({"field": _field_name(err.get("loc", ())), "code": str(err.get("type", "invalid")),
                      "message": str(err.get("msg", "invalid"))})
    fields = list(dict.fromkeys(item["field"] for item in items))
    summary = "; ".join(f"{item['field']}: {item['message']}" for item in items)
    if language(request).startswith("en"):
        detail = f"The input is not valid: {summary}."
    else:
        detail = f"次の項目の入力に誤りがあります: {', '.join(fields)}（{summary}）。"
    return body(request, 422, code="invalid_input", detail=detail, field=fields[0] if fields else None,
                fields=fields, errors=items)


def install(api) -> None:
    """Register the handlers that render every exception of an operation in the one shape."""
    from hozen.access.policy import PolicyDenied, audit_unrecorded_denial

    def render(request, status: int, **kwargs):
        return api.create_response(request, body(request, status, **kwargs), status=status)

    @api.exception_handler(PolicyDenied)
    def policy_denied(request, exc: PolicyDenied):
        audit_unrecorded_denial(getattr(request, "actor", None), exc)
        return render(request, 403, code=exc.decision.code, detail=exc.decision.reason(language(request)))

    @api.exception_handler(NotFound)
    def not_found(request, exc):
        return render(request, 404)

    @api.exception_handler(Http404)
    def http_404(request, exc):
        return render(request, 404)

    @api.exception_handler(OverflowError)
    def out_of_range(request, exc):
        # An id or number beyond what the database can hold (SQLite: 2**63 and up): bad input, not a 500.
        en = language(request).startswith("en")
        return render(request, 400, code="out_of_range",
                      detail="A number in the request is out of range." if en else "リクエスト中の数値が範囲外です。")

    @api.exception_handler(RuleViolation)
    def rule_violation(request, exc: RuleViolation):
        """422 for a broken rule; 409 for an edit of an older version (with the stored version, whose
        ETag the response carries); 428 for an edit that named no version (If-Match missing); the
        API layer's own refusals (ApiError) with their status."""
        current = getattr(exc, "current_version", None)
        extra = dict(getattr(exc, "extra", {}))
        response = render(request, exc.status, code=exc.code, detail=exc.message(language(request)),
                          field=exc.field, current_version=current, **extra)
        if current is not None:
            response["ETag"] = f'"{current}"'
        if "retry_after" in extra:
            response["Retry-After"] = str(extra["retry_after"])
        return response

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        return api.create_response(request, validation_body(request, exc), status=422)

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request, exc):
        response = render(request, 401)
        response["WWW-Authenticate"] = 'Bearer realm="hozen"'
        return response

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        # Ninja wraps whatever the body parser raised in HttpError(400): show our own refusal instead.
        cause = exc.__cause__
        if isinstance(cause, RuleViolation):
            return rule_violation(request, cause)
        if isinstance(cause, RecursionError):
            en = language(request).startswith("en")
            return render(request, 400, code="malformed_body",
                          detail="The JSON body is nested too deeply." if en else "JSON の入れ子が深すぎます。")
        return render(request, exc.status_code)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request, exc):
        from .middleware import body_too_large

        return body_too_large(request, None)

    @api.exception_handler(TooManyFieldsSent)
    def too_many_fields(request, exc):
        return render(request, 400, code="too_many_fields")

    @api.exception_handler(Exception)
    def unexpected(request, exc: Exception):
        # Never a traceback or an HTML page to the client: the log keeps it, under the request id.
        log.error("unhandled error in %s %s (request %s)", request.method, request.path, _request_id(request),
                  exc_info=exc)
        return render(request, 500)


# --- the OpenAPI: every operation documents every error it can answer with ---------------------------

ERROR_REF = "#/components/schemas/Error"


def _error_component() -> tuple[dict, dict]:
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    schema["title"] = "Error"
    return schema, defs


def error_statuses(method: str, operation: dict) -> set[int]:
    """The error statuses an operation can answer with."""
    statuses = {400, 404, 413, 429, 500}
    if operation.get("security"):
        statuses |= {401, 403}
    if operation.get("parameters") or operation.get("requestBody") or method == "post":
        statuses.add(422)
    if operation.get("requestBody"):
        statuses.add(415)
    if method == "post":
        statuses.add(409)  # Idempotency-Key: the same key still running
    statuses |= {int(s) for s in operation.get("responses", {}) if str(s).isdigit() and int(s) >= 400}
    return statuses


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _prune(schema: dict) -> None:
    """Drop component schemas nothing refers to any more (the per-module error classes)."""
    components = schema.get("components", {}).get("schemas", {})
    reached: set[str] = set()
    _refs(schema.get("paths", {}), reached)
    pending = list(reached)
    while pending:
        name = pending.pop()
        inner: set[str] = set()
        _refs(components.get(name, {}), inner)
        for other in inner - reached:
            reached.add(other)
            pending.append(other)
    for name in list(components):
        if name not in reached:
            del components[name]


#: Answers at or above 400 that carry the operation's own body, not the error schema: the health
#: check's 503 is its ordinary answer (what is down), read by load balancers.
OWN_BODIES = {"/api/v1/health": {503}}


def document(schema: dict) -> dict:
    """Every error response of every operation: its status, what it means, and the one schema."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error, defs = _error_component()
    components.update(defs)
    components["Error"] = error
    for path, operations in schema.get("paths", {}).items():
        own = OWN_BODIES.get(path, set())
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            statuses = error_statuses(method, operation) - own
            for key in [k for k in responses if str(k).isdigit() and int(k) >= 400 and int(k) not in own]:
                del responses[key]
            for status in sorted(statuses):
                responses[status] = {"description": STATUS_DESCRIPTIONS[status],
                                     "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}
    _prune(schema)
    return schema
