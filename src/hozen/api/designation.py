"""Designations (指定), provisions (提供), the ledger (指定管理簿) and notifications over HTTP.

Thin: every read goes through ``hozen.designation.queries`` (lists filtered by the policy's scope;
a designation the caller may not see is 404, exactly like a missing one), every write through the
designation services, which ask the policy (403 with its reason) and apply the rules of DOMAIN §2–§3
(422 with the rule's ``code`` and the ``field`` at fault; nothing is written).

Categories and sub-items are given by their codes in the rules pack in force today (``1``,
``A-1``; ``hozen rules show jp-esi-2025`` lists them). Dates are ISO
``YYYY-MM-DD`` strings, both ways. Each handler has its own input and output schemas; a field
not named in a schema is refused (422), so a client sets exactly what the handler names.
"""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, WithJsonSchema

from hozen.access import policy
from hozen.core import rows
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.text import parse_date_text
from hozen.designation import export_services, import_services, importer, queries, services
from hozen.designation.models import CorrectionRequest, Provision, Tier, state_on
from hozen.designation.violations import Violations
from hozen.rules.queries import current_pack

from .errors import ApiError, ErrorOut, language
from .paging import PageIn, page

router = Router(tags=["designations"])


# --- shared schema pieces ------------------------------------------------------------------------------

_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any, info: ValidationInfo) -> dt.date:
    """Only the string form YYYY-MM-DD (no timestamps, datetimes or numbers). A string of that
    shape naming a day the calendar lacks (2025-02-30) is refused as such: 422
    `date_not_in_calendar` naming the field, in the caller's language (a RuleViolation, rendered
    by the API's handler), never "write YYYY-MM-DD" for a date that is written so."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_SHAPE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    field = info.field_name or "date"
    try:
        return parse_date_text(value, field=field, label=(field, field), separators="-")
    except RuleViolation as exc:  # `fields` as for every other input that does not parse
        raise ApiError(422, exc.code, exc.message_ja, exc.message_en, field=field, fields=[field]) from None


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date),
                    WithJsonSchema({"type": "string", "format": "date", "example": "2026-06-01"})]

StateCode = Literal["draft", "designated", "expired", "cancelled", "moved_to_sds", "transferred"]
MeasureCode = Literal["marking", "written_notice"]
Text = Annotated[str, Field(max_length=20_000)]


class In(Schema):
    """Input schemas refuse fields they do not name (STYLE: no field a client may set unless named)."""

    model_config = ConfigDict(extra="forbid")


#: The one error schema of the API (hozen.api.errors); the OpenAPI documents every error with it. The
#: names below stay for the response declarations that use them.
InvalidOut = ConflictOut = ErrorOut


READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut | InvalidOut}
#: Writes that name the version they change (If-Match): a stale one is 409, a missing one 428 on edits.
VERSIONED_ERRORS = {**WRITE_ERRORS, 409: ConflictOut, 428: ConflictOut}

IF_MATCH_DOC = ("The designation's ETag from your read (its `version`, quoted: `\"3\"`). The change is made only "
                "if the designation is still that version; otherwise 409 and nothing is written.")


class Out(BaseModel):
    """An answer the handler builds as plain dicts: validated by pydantic alone. Ninja's Schema wraps
    every value in an attribute getter (for ORM objects), which cost ten times as much: 0.4 ms of a
    25-row list page (docs/benchmarks.md, throughput). The OpenAPI schema is the same."""


class TaxonOut(Out):
    code: str
    name_ja: str
    name_en: str


class DesignationSummaryOut(Out):
    id: int
    reference: str | None = Field(description="e.g. METI-2026-0001; null while a draft")
    tier: Literal["esi", "sds"]
    state: StateCode
    organisation: str = Field(description="Holding organ's code")
    title: str
    category: str = Field(description="Category code in the designation's rules pack")
    sub_item: str = Field(description="Sub-item code in the designation's rules pack")
    designated_on: dt.date
    term_end: dt.date
    review_due: dt.date | None


class DraftReturnOut(Out):
    comment: str = Field(description="What the preparer should change")
    returned_at: dt.datetime
    returned_by: str = Field(description="User name of who sent the draft back")
    version: int = Field(description="The draft's version that was sent back")


class DesignationOut(Out):
    id: int
    reference: str | None
    tier: Literal["esi", "sds"]
    state: StateCode
    marking: str = Field(description="The marking documents carry in this state (empty for a draft)")
    organisation: str
    title: str
    summary: str
    category: TaxonOut
    sub_item: TaxonOut
    rules_pack: str = Field(description="The rules pack version the last decision applied, e.g. jp-esi-2025 v1")
    designated_on: dt.date
    term_end: dt.date
    protective_measure: MeasureCode
    justification_category: str
    justification_not_public: str
    justification_harm: str
    in_advance: bool
    advance_reason: str
    review_due: dt.date | None
    approved_at: dt.datetime | None
    ended_on: dt.date | None
    end_reason: str
    successor: str | None = Field(description="Reference of the SDS designation this one moved to")
    returned: DraftReturnOut | None = Field(None, description="A draft sent back to its preparer and not saved "
                                           "again since: who, when and the comment; null otherwise")
    version: int = Field(description="Goes up with every change; the ETag of this designation. Send it back in "
                         "If-Match to change the draft")
    created_at: dt.datetime
    updated_at: dt.datetime


#: A summary's columns, read as values (no model instances for a page of 50): output name → lookup.
SUMMARY_FIELDS = {"reference": "reference", "tier": "tier", "state": "state", "organisation": "organisation__code",
                  "title": "title", "category": "category__code", "sub_item": "sub_item__code",
                  "designated_on": "designated_on", "term_end": "term_end", "review_due": "review_due"}


def _summary(row: dict, on: dt.date | None = None) -> dict:
    out = {"id": row["id"], **{name: row[lookup] for name, lookup in SUMMARY_FIELDS.items()}}
    out["state"] = state_on(row["state"], row["term_end"], on or timezone.localdate())  # dates decide (rule 9)
    return out


def _taxon(row) -> dict:
    return {"code": row.code, "name_ja": row.name_ja, "name_en": row.name_en}


def _detail(d) -> dict:
    return {
        "id": d.pk, "reference": d.reference, "tier": d.tier, "state": d.state_on(), "marking": d.marking,
        "organisation": d.organisation.code, "title": d.title, "summary": d.summary,
        "category": _taxon(d.category), "sub_item": _taxon(d.sub_item), "rules_pack": str(d.rules_pack),
        "designated_on": d.designated_on, "term_end": d.term_end, "protective_measure": d.protective_measure,
        "justification_category": d.justification_category,
        "justification_not_public": d.justification_not_public, "justification_harm": d.justification_harm,
        "in_advance": d.in_advance, "advance_reason": d.advance_reason, "review_due": d.review_due,
        "approved_at": d.approved_at, "ended_on": d.ended_on, "end_reason": d.end_reason,
        "successor": d.successor.reference if d.successor_id else None, "version": d.version,
        "created_at": d.created_at, "updated_at": d.updated_at, "returned": _returned(d),
    }


def _returned(d) -> dict | None:
    """The open return of a draft (one query, only for a draft that was sent back)."""
    r = queries.open_return_for(d)
    if r is None:
        return None
    return {"comment": r.comment, "returned_at": r.returned_at, "returned_by": r.returned_by.username,
            "version": r.version}


def _visible(request, designation_id: int):
    """The designation if the caller may see it; NotFound (404) for missing and forbidden alike."""
    return queries.designation_for(request.actor, designation_id)


def _reloaded(request, designation_id: int, response: HttpResponse | None = None) -> dict:
    """The designation as stored now; with `response`, its version as the response's ETag."""
    d = queries.designation_for(request.actor, designation_id)
    if response is not None:
        response["ETag"] = rows.etag(d)
    return _detail(d)


# --- notifications and the ledger (before /{id} so their paths are never read as ids) ----------------------

class NotificationListIn(PageIn):
    unacknowledged: bool | None = Field(None, description="true: only notices not yet acknowledged")


class NotificationOut(Schema):
    id: int
    designation_id: int
    reference: str | None
    organisation: str = Field(description="The holding (sending) organ's code")
    recipient: str | None = Field(description="The code of the organisation the notice was sent to; null for a "
                                  "recipient outside Hozen (foreign body, the Diet or a court), which the "
                                  "holding organ sends in writing")
    recipient_name: str = Field(description="The recipient's name when it is outside Hozen, else empty")
    kind: Literal["extended", "expired", "cancelled", "moved_to_sds", "transferred_to_archives"]
    marking: str = Field(description="The marking the designation carries since this notice")
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None = Field(description="User name of who acknowledged it for the recipient")


def _notification(n) -> dict:
    return {"id": n.pk, "designation_id": n.designation_id, "reference": n.designation.reference,
            "organisation": n.designation.organisation.code,
            "recipient": n.recipient.code if n.recipient_id else None, "recipient_name": n.recipient_name,
            "kind": n.kind,
            "marking": n.marking, "created_at": n.created_at, "acknowledged_at": n.acknowledged_at,
            "acknowledged_by": (n.acknowledged_by or {}).get("account") if n.acknowledged_by else None}


class NotificationListOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[NotificationOut]


@router.get("/notifications", response={200: NotificationListOut}, summary="Written notifications (extension, "
            "expiry, cancellation, move to SDS) sent to the caller's organisation, newest first")
def list_notifications(request, filters: Query[NotificationListIn]):
    qs = queries.notifications_for(request.actor).select_related("designation__organisation", "recipient")
    if filters.unacknowledged is not None:
        qs = qs.filter(acknowledged_at__isnull=filters.unacknowledged)
    qs = qs.order_by("-created_at", "-id")
    total = qs.count()
    items = [_notification(n) for n in qs[filters.offset:filters.offset + filters.limit]]
    return {"total": total, "limit": filters.limit, "offset": filters.offset, "items": items}


@router.get("/notifications/sent", response={200: NotificationListOut, **READ_ERRORS},
            summary="Notices sent about the caller's organ's designations (oversight: every organ's), with "
            "their acknowledgement; unacknowledged first, oldest first",
            description="For the sending organ's roles and oversight (the ledger's readers); 403 otherwise.")
def list_notices_sent(request, filters: Query[NotificationListIn]):
    policy.require(request.actor, "ledger.view", request.actor.organisation)
    qs = queries.notices_sent_for(request.actor, unacknowledged=bool(filters.unacknowledged))
    if filters.unacknowledged is False:
        qs = qs.filter(acknowledged_at__isnull=False)
    total = qs.count()
    items = [_notification(n) for n in qs[filters.offset:filters.offset + filters.limit]]
    return {"total": total, "limit": filters.limit, "offset": filters.offset, "items": items}


@router.post("/notifications/{int:notification_id}/acknowledge", response={200: NotificationOut, **WRITE_ERRORS},
             summary="Acknowledge a notice sent to the caller's organisation (audited)",
             description="404 for a notice sent elsewhere; 422 `already_acknowledged` the second time.")
def acknowledge_notification(request, notification_id: int):
    notification = queries.notification_for(request.actor, notification_id)
    services.acknowledge_notification(actor=request.actor, notification=notification)
    return _notification(queries.notification_for(request.actor, notification_id))


@router.post("/notifications/sent/{int:notification_id}/delivered", response={200: NotificationOut, **WRITE_ERRORS},
             summary="Record that the holding organ delivered a written notice to a recipient outside Hozen (audited)",
             description="Only for a notice with no recipient organisation (foreign body, the Diet, a court), by "
             "the holding organ's roles; 404 otherwise; 422 `already_acknowledged` the second time.")
def record_notice_delivered(request, notification_id: int):
    notification = queries.notice_to_deliver_for(request.actor, notification_id)
    services.acknowledge_notification(actor=request.actor, notification=notification)
    return _notification(queries.notices_sent_for(request.actor).get(pk=notification_id))


class LedgerRowOut(Schema):
    organisation: str
    reference: str
    title: str
    category: str = Field(description="Code and Japanese name")
    sub_item: str = Field(description="Code and Japanese name")
    designated_on: dt.date
    term_end: dt.date
    protective_measure: str = Field(description="表示 or 通知")
    state: str = Field(description="指定中, 指定中（延長）, 満了, 解除 or 特定秘密へ移行")
    record: str = Field(description="Extensions and the end, one entry each, separated by ；")
    corrections: str = Field(description="Correction requests with their text and the organ's answer (or 未回答)")
    rules: str = Field(description="The rules pack version the designation applied")
    summary: str
    justification_category: str = Field(description="Requirement (1): falls in the category and sub-item")
    justification_not_public: str = Field(description="Requirement (2): not public")
    justification_harm: str = Field(description="Requirement (3): harm to national security if leaked")
    to_verify: str = Field(description="What the designation relies on that its rules pack flags \"to verify\" "
                           "(a sub-item awaiting confirmation, term figures), separated by ；; empty if nothing")


class LedgerOut(Schema):
    organisation: str
    rows: list[LedgerRowOut]


@router.get("/ledger/{organisation}", response={200: LedgerOut, **READ_ERRORS},
            summary="The designation ledger (指定管理簿) of one organ, as JSON (audited)",
            description="Every designation of the organ that was ever in force, oldest first. The organ's own "
            "roles and oversight may read it; each read is an audit entry `designation.ledger_exported`.")
def ledger(request, organisation: str):
    org = queries.ledger_organisation_for(request.actor, organisation)  # 404: missing or another organ's
    rows = import_services.export_ledger_rows(actor=request.actor, organisations=[org], fmt="json")
    return {"organisation": org.code, "rows": rows}


def _file(body: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file_docs(content_type: str, description: str) -> dict:
    return {"responses": {200: {"description": description, "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("/ledger/{organisation}/ledger.csv", response={**READ_ERRORS, 422: ErrorOut},
            summary="The designation ledger (指定管理簿) of one organ as CSV (UTF-8, Japanese headings; audited)",
            description="The same file as the ledger screen's CSV export, under the same policy: the organ's own "
            "roles and oversight. Audit entry `designation.ledger_exported` with format `csv`.",
            openapi_extra=_file_docs("text/csv", "The ledger as CSV"))
def ledger_csv(request, organisation: str):
    org = queries.ledger_organisation_for(request.actor, organisation)
    body = export_services.export_ledger(actor=request.actor, organisation=org, fmt="csv")
    stamp = timezone.localdate().strftime("%Y%m%d")
    return _file(body, "text/csv; charset=utf-8", f"designation-ledger-{org.code}-{stamp}.csv")


@router.get("/ledger/{organisation}/ledger.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="The designation ledger (指定管理簿) of one organ as a Japanese PDF (audited)",
            description="The same file as the ledger screen's PDF export, under the same policy. Audit entry "
            "`designation.ledger_exported` with format `pdf`.",
            openapi_extra=_file_docs("application/pdf", "The ledger as PDF"))
def ledger_pdf(request, organisation: str):
    org = queries.ledger_organisation_for(request.actor, organisation)
    body = export_services.export_ledger(actor=request.actor, organisation=org, fmt="pdf")
    stamp = timezone.localdate().strftime("%Y%m%d")
    return _file(body, "application/pdf", f"designation-ledger-{org.code}-{stamp}.pdf")


class PrepareLedgerIn(Schema):
    model_config = ConfigDict(extra="forbid")
    format: Literal["pdf", "csv"] = Field("pdf", description="The file to prepare")


class PreparedLedgerOut(Schema):
    id: int
    organisation: str
    format: str
    status: Literal["queued", "ready", "failed", "expired"] = Field(
        description="queued: being built by a worker; ready: download it from `file`; failed: the requester's "
        "role no longer allows the export (`failure` says why); expired: kept no longer (24 hours)")
    failure: str | None
    rows: int | None
    created_at: dt.datetime
    ready_at: dt.datetime | None
    expires_at: dt.datetime


def _prepared(p) -> dict:
    return {"id": p.pk, "organisation": p.organisation.code, "format": p.fmt, "status": p.status,
            "failure": p.failure or None, "rows": p.rows, "created_at": p.created_at, "ready_at": p.ready_at,
            "expires_at": p.expires_at}


@router.post("/ledger/{organisation}/prepared", response={202: PreparedLedgerOut, **WRITE_ERRORS},
             summary="Ask for the organ's ledger as a file built in the background (audited)",
             description="For a ledger too large for `ledger.pdf` on the spot (422 `ledger_too_large` there). "
             "Answers 202 at once; poll `prepared/{id}` until `status` is `ready`, then get `prepared/{id}/file` "
             "(only the requester, in the same role, within 24 hours). Audit entries "
             "`designation.ledger_requested`, `designation.ledger_prepared`, and `designation.ledger_exported` "
             "for each download.")
def prepare_ledger(request, organisation: str, payload: PrepareLedgerIn):
    org = queries.ledger_organisation_for(request.actor, organisation)
    prepared = export_services.request_ledger(actor=request.actor, organisation=org, fmt=payload.format)
    return Status(202, _prepared(queries.prepared_ledger_for(request.actor, org, prepared.pk)))


@router.get("/ledger/{organisation}/prepared/{int:prepared_id}", response={200: PreparedLedgerOut, **READ_ERRORS},
            summary="A ledger file asked for by the caller: its status",
            description="404 for anyone else's (or another role's) request.")
def prepared_ledger(request, organisation: str, prepared_id: int):
    org = queries.ledger_organisation_for(request.actor, organisation)
    return _prepared(queries.prepared_ledger_for(request.actor, org, prepared_id))


@router.get("/ledger/{organisation}/prepared/{int:prepared_id}/file", response={**READ_ERRORS, 422: ErrorOut},
            summary="Download a prepared ledger file (audited)",
            description="422 `prepared_ledger_not_ready` while it is queued, or once it failed or expired. Each "
            "download is an audit entry `designation.ledger_exported`.",
            openapi_extra={"responses": {200: {"description": "The ledger file", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string", "format": "binary"}}}}}})
def prepared_ledger_file(request, organisation: str, prepared_id: int):
    org = queries.ledger_organisation_for(request.actor, organisation)
    prepared = queries.prepared_ledger_for(request.actor, org, prepared_id)
    body = export_services.download_prepared(actor=request.actor, prepared=prepared)
    stamp = timezone.localtime(prepared.created_at).strftime("%Y%m%d")
    name = f"designation-ledger-{org.code}-{stamp}-{prepared.pk}.{prepared.fmt}"
    if prepared.fmt == "csv":
        return _file(body, "text/csv; charset=utf-8", name)
    return _file(body, "application/pdf", name)


class StatisticsIn(Schema):
    year: int | None = Field(None, ge=2025, le=2200, description="Only decisions, provisions and correction "
                             "requests of this calendar year")


class StatisticsOut(Schema):
    year: int | None
    organisation: str | None = Field(description="The organ counted; null: every organ (oversight)")
    by_state: dict[str, int] = Field(description="Designations (never drafts) by current state")
    in_force_by_category: dict[str, int]
    in_force_by_organ_and_category: list[dict[str, Any]]
    designated: int
    extended: int
    expired: int
    cancelled: int
    moved_to_sds: int
    transferred_to_archives: int
    correction_requests: int
    corrections_answered: int
    corrections_open: int
    provisions_by_recipient_kind: dict[str, int]


@router.get("/statistics", response={200: StatisticsOut, **READ_ERRORS},
            summary="Designation statistics (counts only): oversight sees every organ, an organ's head and ESI "
            "managers their own organ", description="Same policy as the statistics screen "
            "(`designation.statistics`); 403 for other roles.")
def statistics(request, filters: Query[StatisticsIn]):
    everyone = policy.decide(request.actor, "designation.statistics", None).allowed
    return queries.statistics(request.actor, year=filters.year,
                              organisation=None if everyone else request.actor.organisation)


class ReviewsDueIn(PageIn):
    within_days: int = Field(30, ge=0, le=366, description="Also reviews due within this many days")


class ReviewDueOut(DesignationSummaryOut):
    overdue: bool


class ReviewsDueOut(Out):
    total: int
    limit: int
    offset: int
    items: list[ReviewDueOut]


@router.get("/reviews-due", response={200: ReviewsDueOut, 403: ErrorOut, 422: ErrorOut | InvalidOut},
            summary="Designations in force the caller may see whose review is overdue or due soon, earliest first",
            description="The ESI manager's dashboard list (`designation.view` scope).")
def reviews_due(request, filters: Query[ReviewsDueIn]):
    today = timezone.localdate()
    qs = queries.reviews_due_for(request.actor, on=today, within_days=filters.within_days)
    total = qs.count()
    rows = qs.values("id", *SUMMARY_FIELDS.values())[filters.offset:filters.offset + filters.limit]
    return {"total": total, "limit": filters.limit, "offset": filters.offset,
            "items": [{**_summary(r), "overdue": r["review_due"] < today} for r in rows]}


# --- designations ----------------------------------------------------------------------------------------

class DesignationListIn(PageIn):
    organisation: str | None = Field(None, max_length=32, description="Holding organ's code")
    state: StateCode | None = None
    category: str | None = Field(None, max_length=16, description="Category code, e.g. 1")
    q: str | None = Field(None, max_length=200, description="Text in the reference number or the title")


class DesignationListOut(Out):
    total: int = Field(description="How many designations match, over all pages")
    limit: int
    offset: int
    items: list[DesignationSummaryOut]


@router.get("", response={200: DesignationListOut, 422: ErrorOut | InvalidOut},
            summary="Designations the caller may see, filtered, newest reference first",
            description="Order: year and serial of the reference, newest first, then id (stable between pages). "
            "Drafts (no reference yet) are visible to their organ only.")
def list_designations(request, filters: Query[DesignationListIn]):
    organisation = importer.organisation_by_code(filters.organisation) if filters.organisation else None
    qs = queries.designations_for(request.actor, organisation=organisation, state=filters.state,
                                  category=filters.category, search=(filters.q or "").strip())
    rows, total = queries.designation_page_and_total(qs, filters.offset, filters.offset + filters.limit,
                                                    fields=tuple(SUMMARY_FIELDS.values()))
    items = [_summary(row) for row in rows]
    return {"total": total, "limit": filters.limit, "offset": filters.offset, "items": items}


class DraftIn(In):
    title: str = Field(max_length=200)
    summary: Text = Field(description="Written so as not to reveal the designated information itself")
    category: str | None = Field(None, max_length=16,
                                 description="Category code in the ESI pack in force; empty: the sub-item's own")
    sub_item: str = Field(max_length=16, description="Sub-item code in the ESI pack in force, e.g. A-1")
    designated_on: IsoDate
    term_end: IsoDate = Field(description="At most the pack's maximum term after designated_on")
    protective_measure: MeasureCode
    justification_category: Text = Field(description="Requirement 1: falls in the category and sub-item")
    justification_not_public: Text = Field(description="Requirement 2: not public (非公知)")
    justification_harm: Text = Field(description="Requirement 3: a leak would hinder national security")
    in_advance: bool = Field(False, description="Designated before the information exists")
    advance_reason: Text = Field("", description="Required when in_advance")


@contextmanager
def _every_refusal(request):
    """A draft refused for several reasons at once (`Violations`): 422 with the first as `code`,
    `field` and `detail` (as a single refusal reads) and each in `errors` and `fields`."""
    try:
        yield
    except Violations as exc:
        raise ApiError(422, exc.code, exc.message_ja, exc.message_en, field=exc.field, fields=exc.fields,
                       errors=exc.items(language(request))) from None


def _esi_pack():
    return current_pack(Tier.ESI, timezone.localdate())


def _draft_fields(payload: dict, pack, *, current=None) -> dict:
    """Payload values as the services take them: codes resolved to the pack's rows."""
    fields = {k: v for k, v in payload.items() if k not in ("category", "sub_item")}
    if "sub_item" in payload or "category" in payload:
        sub_code = payload.get("sub_item") or (current.sub_item.code if current is not None else "")
        category, sub_item = importer.resolve_taxonomy(pack, payload.get("category"), sub_code)
        fields.update(category=category, sub_item=sub_item)
    return fields


@router.post("", response={201: DesignationOut, **WRITE_ERRORS},
             summary="Prepare a draft designation in the caller's organ (ESI manager)",
             description="The draft belongs to the organisation of the caller's active role. Nothing is "
             "designated until the organ head approves it (`/{id}/approve`).")
def create_draft(request, payload: DraftIn):
    fields = _draft_fields(payload.model_dump(), _esi_pack())
    organisation = request.actor.organisation
    if organisation is None:  # pragma: no cover - API actors always hold a role
        raise NotFound
    with _every_refusal(request):
        draft = services.create_draft(actor=request.actor, organisation=organisation, **fields)
    return Status(201, _reloaded(request, draft.pk))


@router.get("/{int:designation_id}", response={200: DesignationOut, **READ_ERRORS},
            summary="One designation (404 when missing or not visible to the caller); audited",
            description="Each read is an audit entry `designation.read` (a refused or missing one too, "
            "with outcome `denied`). The response's ETag is the designation's version: send it in If-Match "
            "to change the draft.")
def get_designation(request, designation_id: int, response: HttpResponse):
    d = services.read_designation(actor=request.actor, pk=designation_id)
    response["ETag"] = rows.etag(d)
    return _detail(d)


class DraftUpdateIn(In):
    """Only the fields given are changed; null means unchanged."""

    title: str | None = Field(None, max_length=200)
    summary: Text | None = None
    category: str | None = Field(None, max_length=16)
    sub_item: str | None = Field(None, max_length=16)
    designated_on: IsoDate | None = None
    term_end: IsoDate | None = None
    protective_measure: MeasureCode | None = None
    justification_category: Text | None = None
    justification_not_public: Text | None = None
    justification_harm: Text | None = None
    in_advance: bool | None = None
    advance_reason: Text | None = None


@router.patch("/{int:designation_id}", response={200: DesignationOut, **VERSIONED_ERRORS},
              summary="Change a draft (ESI manager of the organ); a designation in force is changed only "
              "by extension or cancellation",
              description="Requires `If-Match` with the ETag of your read: 428 `version_required` without it, 409 "
              "`stale_edit` when the draft changed since (someone else's edit, or its approval); nothing is "
              "written either way. The response carries the new ETag.")
def update_draft(request, designation_id: int, payload: DraftUpdateIn, response: HttpResponse,
                 if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    designation = _visible(request, designation_id)
    given = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    fields = _draft_fields(given, _esi_pack(), current=designation)
    with _every_refusal(request):
        services.update_draft(actor=request.actor, designation=designation.pk,
                              version=rows.version_from_if_match(if_match), **fields)
    return _reloaded(request, designation_id, response)


@router.post("/{int:designation_id}/approve", response={200: DesignationOut, **VERSIONED_ERRORS},
             summary="Designate a draft (the organ head's delegate; never the draft's preparer)",
             description="Requires `If-Match` with the ETag of the draft as read: it is designated only if it "
             "is still that version (409 `stale_edit` otherwise; 428 `version_required` without it): the head "
             "approves exactly what they read, never an edit made after.")
def approve(request, designation_id: int, response: HttpResponse,
            if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    services.approve(actor=request.actor, designation=_visible(request, designation_id).pk,
                     version=rows.version_from_if_match(if_match), version_required=True)
    return _reloaded(request, designation_id, response)


class DraftReturnIn(In):
    comment: str = Field(max_length=2_000, description="What the preparer should change (required, at most "
                         "2,000 characters)")


@router.post("/{int:designation_id}/return", response={200: DesignationOut, **VERSIONED_ERRORS},
             summary="Send a draft back to its preparer with a comment instead of approving it (whoever may "
             "approve it)",
             description="The draft stays a draft; its ESI managers see the comment (`returned`) and are told by "
             "e-mail. Requires `If-Match` with the ETag of the draft as read (409 `stale_edit` when it changed, "
             "428 `version_required` without it). 422 `not_a_draft` once approved, `draft_returned` while an "
             "earlier return waits for the preparer, `text_required` for an empty comment. Audit entry "
             "`designation.draft_returned` (without the comment).")
def return_draft(request, designation_id: int, payload: DraftReturnIn, response: HttpResponse,
                 if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    services.return_draft(actor=request.actor, designation=_visible(request, designation_id).pk,
                          comment=payload.comment, version=rows.version_from_if_match(if_match),
                          version_required=True)
    return _reloaded(request, designation_id, response)


class ExtendIn(In):
    new_end: IsoDate = Field(description="The new term end, at most the pack's extension maximum later")
    reason: Text
    cabinet_approval_ref: str = Field("", max_length=100,
                                      description="Required past the pack's cumulative threshold (30 years)")
    cap_exemption: str = Field("", max_length=64, description="Code of the absolute-cap exemption the organ relies "
                               "on (the pack's cumulative.absolute_cap_exempt_categories), if any")


@router.post("/{int:designation_id}/extend", response={200: DesignationOut, **WRITE_ERRORS},
             summary="Extend a designation in force (organ head); holders are notified")
def extend(request, designation_id: int, payload: ExtendIn):
    services.extend(actor=request.actor, designation=_visible(request, designation_id), new_end=payload.new_end,
                    reason=payload.reason, cabinet_approval_ref=payload.cabinet_approval_ref,
                    cap_exemption=payload.cap_exemption)
    return _reloaded(request, designation_id)


class RefusedApprovalIn(In):
    requested_end: IsoDate = Field(description="The term end the extension asked for (past the approval threshold)")
    refusal_ref: str = Field(max_length=100, description="Reference of the Cabinet's refusal")
    reason: str = ""


@router.post("/{int:designation_id}/refused-approval", response={200: DesignationOut, **WRITE_ERRORS},
             summary="Record that the Cabinet refused the approval an extension past the threshold needed",
             description="Under the rules pack's `archives.transfer_on_refused_approval` (flagged \"to verify\" for "
             "ESI) the designation ends in state `transferred`, its files go to the National Archives, markings "
             "change and every holder and recipient is notified. 422 `cabinet_approval_not_needed` when the "
             "requested end is within the threshold.")
def refused_approval(request, designation_id: int, payload: RefusedApprovalIn):
    d = _visible(request, designation_id)
    services.record_refused_cabinet_approval(actor=request.actor, designation=d, **payload.dict())
    return _reloaded(request, designation_id)


@router.get("/{int:designation_id}/document.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="The designation document (指定書) as a Japanese PDF (audited)",
            description="Same policy as the screen's PDF; audit entry `designation.document_exported`. 422 "
            "`not_designated` for a draft.", openapi_extra=_file_docs("application/pdf", "The 指定書"))
def document_pdf(request, designation_id: int):
    d = _visible(request, designation_id)
    body = export_services.export_document(actor=request.actor, designation=d)
    return _file(body, "application/pdf", f"designation-{d.reference}.pdf")


class CancelIn(In):
    reason: Text = Field(description="Which requirement no longer holds")


@router.post("/{int:designation_id}/cancel", response={200: DesignationOut, **WRITE_ERRORS},
             summary="Cancel a designation in force (organ head); markings change, holders are notified")
def cancel(request, designation_id: int, payload: CancelIn):
    services.cancel(actor=request.actor, designation=_visible(request, designation_id), reason=payload.reason)
    return _reloaded(request, designation_id)


class ReviewIn(In):
    requirements_met: bool
    note: Text = Field("", description="Required when a requirement no longer holds (the designation is cancelled)")


class ReviewOut(Schema):
    id: int
    reviewed_on: dt.date
    outcome: Literal["requirements_met", "cancel"]
    next_due: dt.date | None
    designation: DesignationOut


@router.post("/{int:designation_id}/review", response={200: ReviewOut, **WRITE_ERRORS},
             summary="Record the periodic review: requirements still met, or cancellation")
def review(request, designation_id: int, payload: ReviewIn):
    row = services.review(actor=request.actor, designation=_visible(request, designation_id),
                          requirements_met=payload.requirements_met, note=payload.note)
    return {"id": row.pk, "reviewed_on": row.reviewed_on, "outcome": row.outcome, "next_due": row.next_due,
            "designation": _reloaded(request, designation_id)}


class MoveToSdsIn(In):
    reason: Text
    category: str | None = Field(None, max_length=16, description="Category code in the SDS pack in force")
    sub_item: str = Field(max_length=16, description="Sub-item code in the SDS pack in force")
    term_end: IsoDate
    justification_harm: Text = Field(description="Why a leak would cause significant hindrance (著しい支障)")


@router.post("/{int:designation_id}/move-to-sds", response={201: DesignationOut, **WRITE_ERRORS},
             summary="Move an ESI designation to the SDS tier: cancels it and returns the new SDS designation")
def move_to_sds(request, designation_id: int, payload: MoveToSdsIn):
    designation = _visible(request, designation_id)
    category, sub_item = importer.resolve_taxonomy(current_pack(Tier.SDS, timezone.localdate()), payload.category,
                                                   payload.sub_item)
    successor = services.move_to_sds(actor=request.actor, designation=designation, reason=payload.reason,
                                     sds_category=category, sds_sub_item=sub_item, term_end=payload.term_end,
                                     justification_harm=payload.justification_harm)
    return Status(201, _reloaded(request, successor.pk))


# --- corrections (DOMAIN §8) -------------------------------------------------------------------------------

class CorrectionOut(Schema):
    id: int
    kind: Literal["cancel", "amend"]
    request: str
    requested_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None


def _correction(c: CorrectionRequest) -> dict:
    return {"id": c.pk, "kind": c.kind, "request": c.request, "requested_at": c.requested_at, "answer": c.answer,
            "answered_at": c.answered_at}


@router.get("/{int:designation_id}/corrections", response={200: list[CorrectionOut], **READ_ERRORS},
            summary="Correction requests of the oversight body on one designation, newest first")
def list_corrections(request, designation_id: int, response: HttpResponse, paging: Query[PageIn]):
    corrections = queries.corrections_for(_visible(request, designation_id)).order_by("-requested_at", "-id")
    return [_correction(c) for c in page(response, corrections, paging)]


class CorrectionIn(In):
    kind: Literal["cancel", "amend"]
    request: Text


@router.post("/{int:designation_id}/corrections", response={201: CorrectionOut, **WRITE_ERRORS},
             summary="Request a correction (the Independent Public Records Management Supervisor)")
def request_correction(request, designation_id: int, payload: CorrectionIn):
    row = services.request_correction(actor=request.actor, designation=_visible(request, designation_id),
                                      kind=payload.kind, request=payload.request)
    return Status(201, _correction(row))


class AnswerIn(In):
    answer: Text


@router.post("/{int:designation_id}/corrections/{int:correction_id}/answer",
             response={200: CorrectionOut, **WRITE_ERRORS},
             summary="Answer a correction request (the organ head)")
def answer_correction(request, designation_id: int, correction_id: int, payload: AnswerIn):
    designation = _visible(request, designation_id)
    correction = queries.correction_for(designation, correction_id)
    row = services.answer_correction(actor=request.actor, correction=correction, answer=payload.answer)
    return _correction(row)


# --- provisions (DOMAIN §3) --------------------------------------------------------------------------------

class ProvisionOut(Schema):
    id: int
    designation_id: int
    recipient_kind: Literal["organ", "business", "foreign", "diet_or_court"]
    recipient: str | None = Field(description="Recipient organisation's code (organ, business)")
    recipient_name: str
    contract: str | None = Field(description="Contract reference (business)")
    basis: str
    provided_on: dt.date
    items: str
    equivalence_finding: str
    handler_count: int = Field(description="Names on the recipient's handler list (the names are not returned)")
    recorded_at: dt.datetime


def _provision(p: Provision) -> dict:
    return {"id": p.pk, "designation_id": p.designation_id, "recipient_kind": p.recipient_kind,
            "recipient": p.recipient.code if p.recipient_id else None, "recipient_name": p.recipient_name,
            "contract": p.contract.reference if p.contract_id else None, "basis": p.basis,
            "provided_on": p.provided_on, "items": p.items, "equivalence_finding": p.equivalence_finding,
            "handler_count": len(p.handler_list or []), "recorded_at": p.recorded_at}


@router.get("/{int:designation_id}/provisions", response={200: list[ProvisionOut], **READ_ERRORS},
            summary="Provisions of one designation the caller may see (provider organ, recipient, oversight)")
def list_provisions(request, designation_id: int, response: HttpResponse, paging: Query[PageIn]):
    designation = _visible(request, designation_id)
    provisions = queries.provisions_for(request.actor, designation).order_by("-provided_on", "-id")
    return [_provision(p) for p in page(response, provisions, paging)]


class ProvisionIn(In):
    recipient_kind: Literal["organ", "business", "foreign", "diet_or_court"]
    recipient: str | None = Field(None, max_length=32, description="Organisation code (organ, business)")
    recipient_name: str = Field("", max_length=200, description="Foreign government, Diet board or court")
    contract: str | None = Field(None, max_length=64, description="Contract reference (business)")
    basis: Text = Field(description="Legal basis, e.g. 法第10条第1項")
    provided_on: IsoDate
    items: Text = Field(description="What was provided")
    equivalence_finding: Text = Field("", description="Required for a foreign recipient")
    handler_list: list[Annotated[str, Field(max_length=200)]] = Field(
        description="Names on the recipient's handler list", max_length=10_000)


@router.post("/{int:designation_id}/provisions", response={201: ProvisionOut, **WRITE_ERRORS},
             summary="Record a provision (ESI manager or organ head of the holding organ)")
def record_provision(request, designation_id: int, payload: ProvisionIn):
    designation = _visible(request, designation_id)
    recipient = importer.organisation_by_code(payload.recipient, "recipient") if payload.recipient else None
    contract = importer.contract_by_reference(designation.organisation, recipient, payload.contract or "")
    row = services.record_provision(
        actor=request.actor, designation=designation, recipient_kind=payload.recipient_kind, basis=payload.basis,
        provided_on=payload.provided_on, items=payload.items, recipient=recipient,
        recipient_name=payload.recipient_name, contract=contract, equivalence_finding=payload.equivalence_finding,
        handler_list=payload.handler_list,
    )
    return Status(201, _provision(queries.provisions_for(request.actor, designation).get(pk=row.pk)))

