"""The HTTP API: /api/v1/, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.utils.translation import get_language
from ninja import NinjaAPI
from ninja.errors import ValidationError

from hozen import __version__
from hozen.access.policy import PolicyDenied, audit_unrecorded_denial
from hozen.core.errors import NotFound, RuleViolation

from .auth import TokenAuth

api = NinjaAPI(
    title="Hozen API",
    version=__version__,
    description="Hozen (保全): ESI designations, aptitude assessments, access and oversight. "
    "Authenticate with `Authorization: Bearer <token>` (`hozen tokens create USERNAME`).",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
)


def _language(request) -> str:
    actor = getattr(request, "actor", None)
    if actor is not None and actor.account is not None:
        return actor.account.language
    return get_language() or "ja"


@api.exception_handler(PolicyDenied)
def policy_denied(request, exc: PolicyDenied):
    audit_unrecorded_denial(getattr(request, "actor", None), exc)
    return api.create_response(
        request, {"detail": exc.decision.reason(_language(request)), "code": exc.decision.code}, status=403
    )


@api.exception_handler(NotFound)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Not found.", "code": "not_found"}, status=404)


@api.exception_handler(OverflowError)
def out_of_range(request, exc):
    # An id or number beyond what the database can hold (SQLite: 2**63 and up): bad input, not a 500.
    return api.create_response(request, {"detail": "A number in the request is out of range.",
                                         "code": "out_of_range"}, status=400)


@api.exception_handler(RuleViolation)
def rule_violation(request, exc: RuleViolation):
    """422 for a broken rule; 409 for an edit of an older version (with the stored version, whose
    ETag the response carries); 428 for an edit that named no version (If-Match missing)."""
    body = {"detail": exc.message(_language(request)), "code": exc.code}
    if exc.field:
        body["field"] = exc.field
    current = getattr(exc, "current_version", None)
    if current is not None:
        body["current_version"] = current
    response = api.create_response(request, body, status=exc.status)
    if current is not None:
        response["ETag"] = f'"{current}"'
    return response


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    """422 naming each field at fault: {"detail": [...], "fields": ["language"], "message": "..."}."""
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        fields.append(".".join(loc) or "body")
    message = "; ".join(f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, exc.errors, strict=False))
    return api.create_response(request, {"detail": exc.errors, "fields": fields, "message": message}, status=422)


from . import assessment as _assessment  # noqa: E402  (registers the routes)
from . import audit as _audit  # noqa: E402  (registers the routes)
from . import core as _core  # noqa: E402,F401  (registers the routes)
from . import designation as _designation  # noqa: E402  (registers the routes)
from . import handling as _handling  # noqa: E402  (registers the routes)
from . import vault as _vault  # noqa: E402  (registers the routes)

api.add_router("", _core.router)
api.add_router("/audit", _audit.router)
api.add_router("/designations", _designation.router)
api.add_router("/assessment", _assessment.router)
api.add_router("/handling", _handling.router)
api.add_router("/vault", _vault.router)
