"""/api/v1/handling: handler lists (取扱者名簿), briefings and "why can't I open this?".

Thin: every read goes through ``hozen.handling.queries``, every write through
``hozen.handling.services``. A designation the caller may not see is 404 like a missing one; a
wrong role is 403 with the policy's reason code; a broken rule is 422 with its code and field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status

from hozen.handling import queries, services

from .designation import READ_ERRORS, WRITE_ERRORS, In, IsoDate
from .paging import PageIn, page

router = Router(tags=["handling"])


class ConditionOut(Schema):
    name: Literal["designation", "handler_list", "assessment", "contract", "briefing"]
    passed: bool
    applicable: bool = Field(description="False where the condition does not apply (contract, for organ staff)")
    hidden: bool = Field(description="True where the answer is withheld (someone never listed learns nothing "
                         "about the designation)")
    code: str = Field(description="The denial code this condition causes when it fails")
    label: str
    reason: str


class ExplainOut(Schema):
    designation_id: int | None
    reference: str | None = Field(description="Shown only to someone who may know the designation")
    allowed: bool
    code: str = Field(description="`handler` when allowed; else the first failing condition's code: "
                      "designation_not_in_force, not_on_handler_list, no_valid_assessment, no_active_contract, "
                      "briefing_not_acknowledged")
    reason: str
    conditions: list[ConditionOut]


class EntryOut(Schema):
    id: int
    designation_id: int
    designation: str | None
    account: str = Field(description="User name of the listed person")
    name: str
    organisation: str
    department: str
    starts_on: dt.date
    ends_on: dt.date
    review_due: dt.date
    last_confirmed_on: dt.date | None
    status: Literal["active", "lapsed", "ended"]
    end_reason: str = Field(description="removed, review_removed, end_date, left, transferred, contract_ended, "
                            "designation_ended (empty while active)")


class AddIn(In):
    account: str = Field(max_length=64, description="User name of a person of the caller's organisation")
    department: str = Field("", max_length=200, description="Business staff: a department the contract allows")
    ends_on: IsoDate | None = Field(None, description="Default: the designation's (or contract's) end")
    reason: str = Field("", max_length=300, description="Why the person needs to know")


class BriefingOut(Schema):
    tier: Literal["esi", "sds"]
    rules_pack: str
    version: int
    title: str
    paragraphs: list[str]
    text_sha256: str = Field(description="Send it back with the acknowledgement")
    acknowledged_at: dt.datetime | None
    current: bool = Field(description="True when the caller's acknowledgement covers this text and is recent enough")
    acknowledge_again_by: dt.date | None


class AcknowledgeIn(In):
    tier: Literal["esi", "sds"] = "esi"
    text_sha256: str = Field(min_length=64, max_length=64, description="The hash of the text the person read")


class AcknowledgementOut(Schema):
    id: int
    tier: str
    rules_pack: str
    briefing_version: int
    text_sha256: str
    signature: str
    acknowledged_at: dt.datetime


class HandlerReviewOut(Schema):
    id: int
    designation_id: int
    designation: str | None
    opened_on: dt.date
    due_on: dt.date


def _language(request) -> str:
    account = request.actor.account
    return account.language if account is not None else "ja"


def _conditions(rows, language) -> list[dict]:
    return [{"name": c.name, "passed": c.passed, "applicable": c.applicable, "hidden": c.detail == "hidden",
             "code": c.code, "label": c.label(language), "reason": c.reason(language)} for c in rows]


def _entry(row) -> dict:
    e = row.entry
    return {"id": e.pk, "designation_id": e.designation_id, "designation": e.designation.reference,
            "account": e.account.username, "name": e.account.person.full_name,
            "organisation": e.organisation.code,
            "department": e.department, "starts_on": e.starts_on, "ends_on": e.ends_on, "review_due": e.review_due,
            "last_confirmed_on": e.last_confirmed_on, "status": row.status,
            "end_reason": e.end_reason or (row.detail if row.status == "lapsed" else "")}


def _row_for(request, entry):
    rows = queries.handler_list(request.actor, entry.designation, include_ended=True)
    return next(r for r in rows if r.entry.pk == entry.pk)


@router.get("/explain/{int:designation_id}", response={200: ExplainOut, **READ_ERRORS},
            summary="Why can't I open this? Every condition of reading the designation's material, for the caller",
            description="Only the caller's own facts. Someone never on the list learns only that they are not "
            "on it; an unknown id answers the same way (no existence oracle).")
def explain(request, designation_id: int):
    x = queries.explain(request.actor, designation_id)
    language = _language(request)
    return {"designation_id": designation_id, "reference": x.reference, "allowed": x.allowed, "code": x.code,
            "reason": x.reason(language), "conditions": _conditions(x.conditions, language)}


@router.get("/designations/{int:designation_id}/handlers", response={200: list[EntryOut], **READ_ERRORS},
            summary="The caller's organisation's handler list of a designation (list keepers)")
def list_handlers(request, designation_id: int, response: HttpResponse, paging: Query[PageIn],
                  include_ended: bool = False):
    d = queries.designation_for_keeper(request.actor, designation_id)
    return [_entry(r) for r in page(response, queries.handler_list(request.actor, d, include_ended=include_ended),
                                    paging)]


class EligibilityQuery(Schema):
    account: str = Field(max_length=64)
    department: str = Field("", max_length=200)


@router.get("/designations/{int:designation_id}/eligibility", response={200: list[ConditionOut], **READ_ERRORS},
            summary="Whether a person of the caller's organisation can be added, condition by condition",
            description="The assessment condition says only valid or not (least knowledge).")
def eligibility(request, designation_id: int, params: Query[EligibilityQuery]):
    d = queries.designation_for_keeper(request.actor, designation_id)
    account = queries.staff_account_for(request.actor, d, _account_id(request, params.account))
    rows = queries.eligibility_for(request.actor, d, account, department=params.department)
    return _conditions(rows, _language(request))


def _account_id(request, username: str) -> int:
    return queries.account_by_username_for(request.actor, username).pk


@router.post("/designations/{int:designation_id}/handlers", response={201: EntryOut, **WRITE_ERRORS},
             summary="Add a person of the caller's organisation to the list (422 says which condition fails)")
def add_handler(request, designation_id: int, payload: AddIn):
    d = queries.designation_for_keeper(request.actor, designation_id)
    account = queries.staff_account_for(request.actor, d, _account_id(request, payload.account))
    entry = services.add_handler(actor=request.actor, designation=d, account=account, ends_on=payload.ends_on,
                                 reason=payload.reason, department=payload.department)
    return Status(201, _entry(_row_for(request, entry)))


@router.post("/handlers/{int:entry_id}/remove", response={200: EntryOut, **WRITE_ERRORS},
             summary="Remove a person from the list; their access ends at once")
def remove_handler(request, entry_id: int):
    entry = queries.entry_for(request.actor, entry_id)
    entry = services.remove_handler(actor=request.actor, entry=entry)
    return _entry(_row_for(request, entry))


@router.post("/handlers/{int:entry_id}/confirm", response={200: EntryOut, **WRITE_ERRORS},
             summary="Review: confirm the person still needs to know (schedules the next review)")
def confirm_handler(request, entry_id: int):
    entry = services.confirm_handler(actor=request.actor, entry=queries.entry_for(request.actor, entry_id))
    return _entry(_row_for(request, entry))


@router.get("/reviews", response={200: list[HandlerReviewOut], **READ_ERRORS},
            summary="Open review campaigns of the caller's organisation's lists")
def reviews(request, response: HttpResponse, paging: Query[PageIn]):
    return [{"id": r.pk, "designation_id": r.designation_id, "designation": r.designation.reference,
             "opened_on": r.opened_on, "due_on": r.due_on} for r in page(response, queries.reviews_for(request.actor),
                                                                        paging)]


@router.get("/me/entries", response={200: list[EntryOut], **READ_ERRORS},
            summary="The caller's own handler list entries")
def my_entries(request, response: HttpResponse, paging: Query[PageIn]):
    # Status as the dates decide today: an entry past its end date is "lapsed" before the daily job runs.
    return [_entry(row) for row in page(response, queries.my_rows(request.actor), paging)]


class TierQuery(Schema):
    tier: Literal["esi", "sds"] = "esi"


@router.get("/briefing", response={200: BriefingOut, **READ_ERRORS},
            summary="The briefing text in force for a tier and whether the caller's acknowledgement covers it")
def briefing(request, params: Query[TierQuery]):
    status = queries.briefing_status(request.actor, params.tier)
    b, language = status.briefing, _language(request)
    return {"tier": params.tier, "rules_pack": f"{b.pack_code} v{b.pack_version}", "version": b.version,
            "title": b.title(language), "paragraphs": list(b.paragraphs(language)), "text_sha256": b.sha256,
            "acknowledged_at": status.acknowledgement.acknowledged_at if status.acknowledgement else None,
            "current": status.current, "acknowledge_again_by": status.due_on}


@router.post("/briefing/acknowledge", response={201: AcknowledgementOut, **WRITE_ERRORS},
             summary="Acknowledge the briefing (signed; recorded in the audit log)")
def acknowledge(request, payload: AcknowledgeIn):
    ack = services.acknowledge_briefing(actor=request.actor, tier=payload.tier, text_sha256=payload.text_sha256,
                                        language=_language(request))
    return Status(201, {"id": ack.pk, "tier": ack.tier, "rules_pack": str(ack.rules_pack),
                        "briefing_version": ack.briefing_version, "text_sha256": ack.text_sha256,
                        "signature": ack.signature, "acknowledged_at": ack.acknowledged_at})


class OfficeHoldingIn(In):
    account: str = Field(max_length=64, description="User name of the office holder")
    office: str = Field(max_length=64, description="A code of the rules pack's exempt_office_holders, e.g. "
                        "minister_of_state")
    since: IsoDate
    until: IsoDate | None = None


class OfficeHoldingOut(Schema):
    id: int
    account: str
    office: str
    since: dt.date
    until: dt.date | None


@router.post("/office-holdings", response={201: OfficeHoldingOut, **WRITE_ERRORS},
             summary="Record an exempt political office: passes the assessment condition only",
             description="By the Cabinet Office's system administrator for anyone, or by an organ's security "
             "officer for the organ's own head (anyone else looks missing: 404); never for oneself "
             "(403 `not_for_yourself`). Audit entry `handling.office.recorded`.")
def record_office_holding(request, payload: OfficeHoldingIn):
    account = queries.office_holder_for(request.actor, payload.account)
    holding = services.record_office_holding(actor=request.actor, account=account, office=payload.office,
                                             since=payload.since, until=payload.until)
    return Status(201, {"id": holding.pk, "account": account.username, "office": holding.office,
                        "since": holding.since, "until": holding.until})
