"""The audit log over HTTP: signed checkpoints, entries and RFC 9162 proofs (auditor and oversight roles).

Contract (issue 4):
  GET /audit/checkpoint                          the latest signed checkpoint, text/plain note
  GET /audit/entries/{index}                     {"index", "leaf_hash", "entry"}
  GET /audit/proof/inclusion?index=&tree_size=   {"index", "tree_size", "audit_path"}
  GET /audit/proof/consistency?first=&second=    {"first", "second", "consistency_path"}
  GET /audit/my-reads?limit=&offset=             the signed-in subject's "who has read my data" list
Hashes are standard base64. A missing, malformed or out-of-range parameter of the log's endpoints is
answered 400 with `field` naming it (not Ninja's 422): parameters arrive as raw strings and are
checked here, so "12abc", "-1", "1.0" and sizes past the log are all the client's error, stated
plainly. `my-reads` is a list and is paged as every list (``hozen.api.paging``: 422 naming the
parameter).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Annotated, Any, Literal

from django.http import HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema
from pydantic import WithJsonSchema

from hozen.access import policy
from hozen.audit import queries
from hozen.core.errors import RuleViolation

from .errors import ErrorOut
from .paging import PageIn

router = Router(tags=["audit"])

_DECIMAL = re.compile(r"[0-9]{1,19}")
_MAX = 2**63 - 1  # a PostgreSQL bigint, as note.py bounds checkpoint sizes


class AuditEntryOut(Schema):
    index: int = Field(description="Leaf index in the log (0-based)")
    leaf_hash: str = Field(description="base64 SHA-256(0x00 || entry bytes), the leaf as the tree holds it")
    entry: dict[str, Any] = Field(description="The entry; serialised as canonical JSON (keys sorted, no spaces, "
                                  "UTF-8) it hashes to leaf_hash")


class InclusionProofIn(Schema):
    index: int = Field(ge=0, description="Leaf index to prove (0-based)")
    tree_size: int = Field(ge=1, description="Size of the tree to prove it in, e.g. a checkpoint's size")


class InclusionProofOut(Schema):
    index: int
    tree_size: int
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 inclusion path, bottom-up, base64 hashes")


class ConsistencyProofIn(Schema):
    first: int = Field(ge=0, description="Earlier tree size")
    second: int = Field(ge=0, description="Later tree size (at least first)")


class ConsistencyProofOut(Schema):
    first: int
    second: int
    consistency_path: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, base64 hashes")


def _bad_parameter(field: str, message_ja: str, message_en: str) -> RuleViolation:
    return RuleViolation("bad_parameter", message_ja, message_en, field=field)


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _whole_number(field: str, raw: str | None) -> int:
    if raw is None:
        raise _bad_parameter(field, f"{field} を指定してください。", f"{field} is required.")
    if not _DECIMAL.fullmatch(raw) or int(raw) > _MAX:
        raise _bad_parameter(field, f"{field} は 0 以上の整数で指定してください（{raw[:20]!r}）。",
                            f"{field} must be a whole number, 0 or more (got {raw[:20]!r}).")
    return int(raw)


def _query(request, schema: type[Schema]) -> Any:
    """Parse the schema's integer query parameters strictly; range rules from the schema's Field."""
    values = {}
    for name in schema.model_fields:
        given = request.GET.getlist(name)
        if len(given) > 1:
            raise _bad_parameter(name, f"{name} が複数指定されています。", f"{name} is given more than once.")
        values[name] = _whole_number(name, given[0] if given else None)
    for name, info in schema.model_fields.items():
        for rule in info.metadata:
            low = getattr(rule, "ge", None)
            if low is not None and values[name] < low:
                raise _bad_parameter(name, f"{name} は {low} 以上で指定してください。",
                                    f"{name} must be at least {low}.")
    return schema(**values)


def _query_docs(schema: type[Schema]) -> dict:
    """OpenAPI parameters for a schema parsed by `_query` (Ninja does not see them as arguments)."""
    props = schema.model_json_schema()["properties"]
    return {"parameters": [
        {"in": "query", "name": name, "required": True, "description": p.get("description", ""),
         "schema": {"type": "integer", "minimum": p.get("minimum", 0)}}
        for name, p in props.items()
    ]}


def _language(request) -> str:
    account = request.actor.account
    return account.language if account is not None else "ja"


def _bad(request, violation: RuleViolation):
    body = {"detail": violation.message(_language(request)), "code": violation.code, "field": violation.field}
    return JsonResponse(body, status=400, json_dumps_params={"ensure_ascii": False})


ERRORS = {400: ErrorOut, 403: ErrorOut}

#: A path parameter documented as an integer but received as the raw string, so "abc" gets our 400.
_RawIndex = Annotated[str, WithJsonSchema({"type": "integer", "minimum": 0, "description": "Leaf index (0-based)"})]


@router.get(
    "/checkpoint",
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)",
    description="Plain text: origin, tree size and base64 root hash, a blank line, then the Ed25519 signature "
    "line(s). Verify it with the log's verifier key (`hozen audit key`) before trusting it. Issued on demand if "
    "the log has none yet; the background job signs a new one every few minutes while the log grows.",
    response={403: ErrorOut},
    openapi_extra={"responses": {200: {"description": "The signed note", "content": {
        "text/plain": {"schema": {"type": "string"}, "example": "hozen.local/audit\n42\n<base64 root>\n\n"
                       "— hozen.local/audit <base64 signature>\n"}}}}},
)
def checkpoint(request):
    cp = queries.checkpoint_for(actor=request.actor)
    return HttpResponse(cp.note, content_type="text/plain; charset=utf-8")


@router.get(
    "/entries/{index}",
    summary="One audit entry by leaf index, with its leaf hash",
    response={200: AuditEntryOut, **ERRORS},
)
def entry(request, index: _RawIndex):
    policy.require(request.actor, "audit.read")  # a wrong role hears 403 before any 400
    try:
        found = queries.entry_for(actor=request.actor, index=_whole_number("index", index))
    except RuleViolation as exc:
        return _bad(request, exc)
    return {"index": found.index, "leaf_hash": _b64(found.leaf_hash), "entry": found.entry}


@router.get(
    "/proof/inclusion",
    summary="RFC 9162 inclusion proof of a leaf in a tree of a given size",
    response={200: InclusionProofOut, **ERRORS},
    openapi_extra=_query_docs(InclusionProofIn),
)
def inclusion_proof(request):
    policy.require(request.actor, "audit.read")
    try:
        params = _query(request, InclusionProofIn)
        path = queries.inclusion_proof_for(actor=request.actor, index=params.index, tree_size=params.tree_size)
    except RuleViolation as exc:
        return _bad(request, exc)
    return {"index": params.index, "tree_size": params.tree_size, "audit_path": [_b64(h) for h in path]}


@router.get(
    "/proof/consistency",
    summary="RFC 9162 consistency proof between two tree sizes",
    response={200: ConsistencyProofOut, **ERRORS},
    openapi_extra=_query_docs(ConsistencyProofIn),
)
def consistency_proof(request):
    policy.require(request.actor, "audit.read")
    try:
        params = _query(request, ConsistencyProofIn)
        path = queries.consistency_proof_for(actor=request.actor, first=params.first, second=params.second)
    except RuleViolation as exc:
        return _bad(request, exc)
    return {"first": params.first, "second": params.second, "consistency_path": [_b64(h) for h in path]}


# --- the assessed person's "who has read my data" (ARCHITECTURE rule 4; issue 6 §2) -----------------

class ReadOut(Schema):
    id: int = Field(description="The audit entry's id")
    time: dt.datetime
    role: str = Field(description="The reader's role code (system:<channel> for the system itself)")
    role_label: str
    organisation: str = Field(description="The reader's organisation code (empty for the system)")
    organisation_name: str
    purpose: str = Field(description="The purpose code the read was recorded with")
    purpose_label: str
    outcome: Literal["success", "denied", "failure"] = Field(
        description="success: read; denied: an attempt the policy refused; failure: the data could not be decrypted")
    outcome_label: str
    reader_shown: bool = Field(description="false for someone else's refused attempt: its role and organisation "
                               "are not shown (the auditors see them)")


class ReadsOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[ReadOut]


def _role_label(code: str) -> str:
    from django.utils.translation import gettext

    from hozen.core.roles import Role

    if code.startswith("system:"):
        return gettext("System (%(channel)s)") % {"channel": code.partition(":")[2]}
    try:
        return str(Role(code).label) if code else ""
    except ValueError:
        return code


@router.get(
    "/my-reads",
    summary="Who has read my data: every read of the signed-in subject's own personal data, newest first",
    description="The assessed person's list (the subject role only): for each read the reader's role and "
    "organisation, the time and the recorded purpose — never the reader's name. Every read that showed "
    "anything about them (`assessment.read`) or decrypted their data (`personal_data.read`), on every channel, "
    "and every refused attempt (`outcome` denied; who made it is shown only when it was the person "
    "themselves). The same reads as the page `/audit/my-reads/`, one item per read (the page groups them). "
    "Paged as every list: `limit` (1–200, default 50) and `offset` (422 naming the parameter otherwise).",
    response={200: ReadsOut, **ERRORS},
)
def my_reads(request, paging: Query[PageIn]):
    from django.utils import translation

    from hozen.core.roles import Role

    # The subject's workspace, as the portal asks it: any other role hears 403 with the policy's reason.
    policy.require(request.actor, "workspace.view", Role.SUBJECT)
    limit, offset = paging.limit, paging.offset
    language = _language(request)
    entries = queries.reads_of_person_for(actor=request.actor, person=request.actor.account.person)
    total = entries.count()
    rows = queries.read_rows(entries[offset:offset + limit], actor=request.actor, language=language)
    with translation.override(language):
        items = [{"id": r.id, "time": r.time, "role": r.role, "role_label": _role_label(r.role),
                  "organisation": r.organisation, "organisation_name": r.organisation_name, "purpose": r.purpose,
                  "purpose_label": str(queries.PURPOSE_LABELS.get(r.purpose, r.purpose)), "outcome": r.outcome,
                  "outcome_label": queries.read_outcome_label(r.outcome), "reader_shown": r.reader_shown}
                 for r in rows]
    return {"total": total, "limit": limit, "offset": offset, "items": items}
