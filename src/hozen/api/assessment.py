"""Aptitude assessments (適性評価) over HTTP: every step of DOMAIN §6 and what each side may see.

Thin: reads through ``hozen.assessment.queries`` (a case the caller may not see is 404, exactly like
a missing one), writes through ``hozen.assessment.services``, which ask the policy (403 with its
reason code, audited) and apply the rules (422 with the rule's ``code`` and the ``field`` at fault;
nothing is written). The same rules as the screens: the nominating side (a business's protection
officer, an organ's security officer) gets status only — consented or not, favourable or not,
valid until — and every request for answers, findings or reasons is refused with ``status_only``;
a system administrator reads no case content (``no_assessment_content``); an investigator,
adjudicator or complaint handler only the cases they are assigned to.

Consent, refusal and withdrawal need the subject's own second factor *in the request*: a bearer
token alone is not the subject's signature, so ``totp_code`` (the current code of their
authenticator, or a recovery code) is checked as at sign-in, and a wrong or missing code is
refused by the policy with ``second_factor_required``. The code is spent only if the action
succeeds (``hozen.core.second_factor``): a consent refused for the case's state leaves a recovery
code usable and a TOTP code unused; two actions racing with one code get it once (409
``second_factor_used`` for the other).

Edited records carry a version: a questionnaire section and a finding answer their reads with an
``ETag`` (the version, quoted) and want it back in ``If-Match`` on ``PUT``: 428 ``version_required``
without it, 409 ``stale_edit`` when the record changed since (a second tab, a colleague), and
nothing is written either way. A section or finding not saved yet is version 0: ``If-Match: "0"``.

People are named by their account's user name (``username``) or, for candidates, ``person_id``.
Dates are ISO ``YYYY-MM-DD`` strings, times ISO 8601 with an offset. Input schemas refuse fields
they do not name (422).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Header, Query, Router, Schema, Status
from pydantic import ConfigDict

from hozen.assessment import queries, reads, services
from hozen.assessment.models import (
    AdverseTreatmentReport,
    AssessmentCase,
    CaseDuty,
    Complaint,
    Inquiry,
    ReportableEvent,
)
from hozen.assessment.questionnaire import SECTIONS
from hozen.assessment.validation import QuestionnaireInvalid
from hozen.core import rows, second_factor
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.text import clean

from .designation import ConflictOut, ErrorOut, InvalidOut, IsoDate, Text
from .paging import PageIn, window
from .paging import page as paged

router = Router(tags=["assessment"])


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class FieldErrorOut(Schema):
    path: str = Field(description="section.path of the answer at fault, e.g. employment_10y.jobs[1].ended_on")
    code: str
    message: str


class RowErrorOut(Schema):
    row: int = Field(description="Index of the row in `rows`, from 0")
    field: str | None
    message: str


class ManyErrorsOut(Schema):
    """422 for a questionnaire or a bulk nomination: every problem at once (nothing written)."""

    detail: str
    code: str
    field: str | None = None
    errors: list[FieldErrorOut] | list[RowErrorOut]


READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut | InvalidOut}
#: Consent, refusal, withdrawal: 409 ``second_factor_used`` when another action spent the code first.
SIGNED_ERRORS = {**WRITE_ERRORS, 409: ErrorOut}
#: Edits that name the version they change (If-Match): 409 stale, 428 without it.
VERSIONED_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 428: ConflictOut}

IF_MATCH_DOC = ("The ETag of your read (the record's `version`, quoted: `\"3\"`), or `\"0\"` when the record has "
                "never been saved. The change is made only if the record is still that version: otherwise 409 "
                "`stale_edit` (428 `version_required` without this header) and nothing is written.")

StateCode = Literal[
    "nominated", "notice_given", "consented", "refused", "questionnaire_submitted", "under_investigation",
    "investigation_complete", "adjudicated_favourable", "adjudicated_unfavourable_pending_concurrence",
    "adjudicated_unfavourable", "notified", "under_reexamination", "not_consented", "discontinued"]
SectionCode = Literal[tuple(s.code for s in SECTIONS)]  # type: ignore[valid-type]
ItemCode = Literal["item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7"]


def _language(request) -> str:
    return request.actor.account.language if request.actor.account is not None else "ja"


def _case(request, case_id: int) -> AssessmentCase:
    return queries.case_for(request.actor, case_id)  # 404: missing or not visible


def _read_case(request, case_id: int, view: str) -> AssessmentCase:
    """A case for a read (GET): 404 when missing or not visible, and then a refused read in the log,
    naming the case's person when it exists (issue 12 §7)."""
    return reads.case_for(request.actor, case_id, view=view)


def _shown(request, view: str, rows, body, *, purpose: str | None = None):
    """The response shows ``rows``: one read per person named, on their "who has read my data"
    list (issue 12 §7), in one statement; then ``body``."""
    reads.shown(request.actor, view, rows, purpose=purpose)
    return body


def _read(request, view: str, rows, make, *, purpose: str | None = None):
    """``make()`` the body of a read the policy allows, and record it: also when it answers 404 for
    something not there yet (a result not notified, a paper not kept), which says that much about
    the person. A refusal (PolicyDenied) is recorded by ``reads.require`` instead."""
    try:
        body = make()
    except NotFound:
        reads.shown(request.actor, view, rows, purpose=purpose)
        raise
    return _shown(request, view, rows, body, purpose=purpose)


def _listed(request, rows, *, purpose: str | None = None) -> list:
    """A page of a list, recorded as shown (one read per person it names, one statement)."""
    rows = list(rows)
    reads.shown(request.actor, reads.view_name(request), rows, purpose=purpose)
    return rows


def _duty_account(request, case, kind: str, action: str, username: str):
    """The account named for a duty on ``case``, among those who could take it (the candidates the
    screen offers). Anyone else, whether an account of that name exists or not, gets the policy's
    one refusal (``candidate_lacks_role``) once the caller's own right to assign is checked: no
    answer tells a caller whether a username exists in another organisation (issue 12 §8)."""
    from hozen.access import policy
    from hozen.assessment import staff_queries
    from hozen.assessment.duties import DutyProposal

    account = staff_queries.candidates(case, kind).filter(username=(username or "").strip().lower()).first()
    if account is None:
        policy.require(request.actor, action, DutyProposal(case, kind, None))
    return account


# --- cases: what each side may see ---------------------------------------------------------------------

class CaseOut(Schema):
    """A case as the caller may see it. ``view`` says which: ``full`` (the subject, the organ, the
    case's workers: state and clock) or ``status_only`` (the nominating side: status, consented,
    favourable, valid until — nothing else)."""

    id: int
    view: Literal["full", "status_only"]
    person: int = Field(description="The assessed person's id")
    person_name: str
    status: str | None = Field(None, description="status_only: awaiting_consent, in_progress, not_consented, "
                               "discontinued, notified, notice_destroyed")
    consented: bool | None = None
    favourable: bool | None = None
    valid_until: dt.date | None = None
    state: StateCode | None = None
    tier: str | None = None
    trigger: str | None = None
    organ: str | None = None
    nominated_at: dt.datetime | None = None
    stage_entered_at: dt.datetime | None = None
    stage_due_on: dt.date | None = Field(None, description="The current stage's target date")
    overdue: bool | None = None
    notified_at: dt.datetime | None = None
    closed: bool | None = None
    reasons_waived: bool | None = None
    questionnaire_sha256: str | None = None


def _case_out(request, case: AssessmentCase, status: dict | None = None) -> dict:
    status = status if status is not None else queries.case_status(request.actor, case)
    out = {"id": case.pk, "person": case.person_id, "person_name": str(case.person)}
    if "state" in status:
        out.update(view="full", **{k: v for k, v in status.items() if k not in ("case", "person", "organ")},
                   organ=case.organ.code)
    else:
        out.update(view="status_only", **{k: v for k, v in status.items() if k not in ("case", "person")})
    return out


class CaseListIn(PageIn):
    state: StateCode | None = None


class CaseListOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[CaseOut]


def _page(request, qs, filters) -> dict:
    total = qs.count()
    cases = list(qs[filters.offset:filters.offset + filters.limit])
    statuses = queries.case_statuses(request.actor, cases)  # a fixed number of queries per page
    items = [_case_out(request, c, statuses[c.pk]) for c in cases]
    reads.shown(request.actor, reads.view_name(request), cases)  # one statement for the page
    return {"total": total, "limit": filters.limit, "offset": filters.offset, "items": items}


@router.get("/cases", response={200: CaseListOut, 422: InvalidOut},
            summary="Cases the caller may see, newest nomination first (each as the caller may see it)")
def list_cases(request, filters: Query[CaseListIn]):
    return _page(request, queries.cases_for(request.actor, state=filters.state), filters)


@router.get("/queue", response={200: CaseListOut, 422: InvalidOut},
            summary="Cases awaiting the caller's role, the soonest target date first (overdue ones lead)")
def queue(request, filters: Query[CaseListIn]):
    return _page(request, queries.queue_for(request.actor, state=filters.state or None), filters)


@router.get("/cases/{int:case_id}", response={200: CaseOut, **READ_ERRORS},
            summary="One case as the caller may see it (404 when missing or not visible)")
def get_case(request, case_id: int):
    case = _read_case(request, case_id, "get_case")
    return _shown(request, "get_case", [case], _case_out(request, case))


class EventOut(Schema):
    kind: str
    at: dt.datetime
    by: dict[str, Any]
    state_from: str
    state_to: str


@router.get("/cases/{int:case_id}/events", response={200: list[EventOut], **READ_ERRORS},
            summary="The case's history (not shown to the nominating side)")
def case_events(request, case_id: int):
    case = _read_case(request, case_id, "case_events")
    return _shown(request, "case_events", [case], [
        {"kind": e.kind, "at": e.at, "by": e.actor, "state_from": e.state_from, "state_to": e.state_to}
        for e in queries.events_for(request.actor, case, view="case_events")])


# --- nomination and exemptions ------------------------------------------------------------------------------

class NominationFields(In):
    tier: Literal["esi", "sds"] = "esi"
    trigger: Literal["new", "ten_year_renewal"] = "new"
    department: str = Field(max_length=200)
    post: str = Field(max_length=200)
    listing_agreed_on: IsoDate | None = Field(description="The day the candidate agreed to be listed (required)")
    dispatched_worker: bool = False
    employing_agency: str = Field("", max_length=200, description="Required for a dispatched worker, only for one")


class NominateIn(NominationFields):
    person_id: int | None = Field(None, description="The candidate (or username)")
    username: str | None = Field(None, max_length=64, description="The candidate's account (or person_id)")
    contract_id: int | None = Field(None, description="A business nominates under its contract with the organ")


class ExemptionOut(Schema):
    id: int
    person: int
    state: Literal["pending", "confirmed", "declined"]
    organ: str
    tier: str
    basis_tier: str
    basis_notified_on: dt.date
    window_years: int
    decided_at: dt.datetime | None
    reason: str
    case: int | None


class NominationOut(Schema):
    case: CaseOut | None = Field(description="The case opened, or null when the nomination is held as an exemption")
    exemption: ExemptionOut | None


def _exemption_out(e) -> dict:
    explained = queries.exemption_explained(e)
    return {"id": e.pk, "person": e.person_id, "state": e.state, "organ": e.organ.code, "tier": e.tier,
            "basis_tier": explained["basis_tier"], "basis_notified_on": explained["basis_notified_on"],
            "window_years": e.window_years, "decided_at": e.decided_at, "reason": e.reason, "case": e.case_id}


def _contract(request, contract_id: int | None):
    """The caller's own organisation's contract: another business's contract answers exactly as a
    missing one (issue 12 §6, no existence oracle), whatever the caller's role."""
    if contract_id is None:
        return None
    from hozen.operators.models import Contract

    own = request.actor.organisation
    contract = (Contract.objects.select_related("organ", "business").filter(pk=contract_id, business=own).first()
                if own is not None else None)
    if contract is None:
        raise RuleViolation("unknown_contract", "その契約はありません。", "No such contract.", field="contract_id")
    return contract


@router.post("/nominations", response={201: NominationOut, **WRITE_ERRORS},
             summary="Nominate a candidate (organ security officer for its staff; business protection officer "
             "under a contract)",
             description="Opens a case, or — when an earlier favourable result from the same organ may exempt "
             "the person (Art. 12(1)(i)) — holds the nomination as an exemption for the organ to confirm.")
def nominate(request, payload: NominateIn):
    data = payload.model_dump()
    contract = _contract(request, data.pop("contract_id"))
    # The service finds the candidate among the nominator's staff: one answer for a missing and a
    # foreign person or account (issue 12 §6).
    result = services.nominate(actor=request.actor, person=data.pop("person_id"), username=data.pop("username"),
                               contract=contract, **data)
    return Status(201, {"case": _case_out(request, result.case) if result.case else None,
                        "exemption": _exemption_out(result.exemption) if result.exemption else None})


class BulkRowIn(NominationFields):
    person_id: int | None = None
    username: str | None = Field(None, max_length=64)


class BulkNominateIn(In):
    contract_id: int | None = None
    rows: list[BulkRowIn] = Field(min_length=1, max_length=100_000)


class BulkNominationOut(Schema):
    rows: int
    cases: list[int] = Field(description="Ids of the cases opened, in row order")
    exemptions: list[int] = Field(description="Ids of nominations held as possible exemptions")


@router.post("/nominations/bulk", response={201: BulkNominationOut, 403: ErrorOut, 422: ManyErrorsOut | InvalidOut},
             summary="Nominate many candidates at once: all rows or none",
             description="Every row is checked first; if any is wrong, 422 lists every bad row (index from 0, "
             "field, message) and nothing is written.")
def nominate_bulk(request, payload: BulkNominateIn):
    contract = _contract(request, payload.contract_id)
    rows = []
    for row in payload.rows:
        data = row.model_dump()
        person_id, username = data.pop("person_id"), data.pop("username")
        # Found by the service among the nominator's staff (one answer for missing and foreign: issue 12 §6).
        rows.append({**({"person": person_id} if person_id is not None else {}),
                     **({"username": username} if username is not None else {}), **data})
    try:
        results = services.nominate_many(actor=request.actor, rows=rows, contract=contract)
    except services.NominationRowsInvalid as exc:
        language = _language(request)
        return Status(422, {"detail": exc.message(language), "code": exc.code, "field": exc.field,
                            "errors": [{"row": i, "field": field, "message": ja if language == "ja" else en}
                                       for i, field, ja, en in exc.errors]})
    return Status(201, {"rows": len(results), "cases": [r.case.pk for r in results if r.case],
                        "exemptions": [r.exemption.pk for r in results if r.exemption]})


@router.get("/exemptions", response={200: list[ExemptionOut]},
            summary="Nominations held as possible exemptions: the nominator's (why no case opened) and the organ's "
            "(to confirm or decline)")
def list_exemptions(request, response: HttpResponse, paging: Query[PageIn],
                    state: Literal["pending", "confirmed", "declined"] | None = None):
    rows = paged(response, queries.exemptions_for(request.actor, state=state), paging)
    return [_exemption_out(e) for e in _listed(request, rows, purpose="exemption")]


@router.get("/exemptions/{int:exemption_id}", response={200: ExemptionOut, **READ_ERRORS})
def get_exemption(request, exemption_id: int):
    from hozen.assessment.models import Exemption

    exemption = reads.lookup(request.actor, "get_exemption", Exemption, exemption_id,
                             lambda: queries.exemption_for(request.actor, exemption_id),
                             asked="assessment.view_exemption")
    return _shown(request, "get_exemption", [exemption], _exemption_out(exemption), purpose="exemption")


class ReasonIn(In):
    reason: Text = Field(description="Procedural: write no personal details")


@router.post("/exemptions/{int:exemption_id}/confirm", response={200: ExemptionOut, **WRITE_ERRORS},
             summary="The organ confirms, with a reason, that no concern has arisen: no case opens")
def confirm_exemption(request, exemption_id: int, payload: ReasonIn):
    exemption = queries.exemption_for(request.actor, exemption_id)
    return _exemption_out(services.confirm_exemption(actor=request.actor, exemption=exemption, reason=payload.reason))


@router.post("/exemptions/{int:exemption_id}/decline", response={201: CaseOut, **WRITE_ERRORS},
             summary="The organ declines the exemption: the nomination opens a case as submitted")
def decline_exemption(request, exemption_id: int, payload: ReasonIn):
    exemption = queries.exemption_for(request.actor, exemption_id)
    case = services.decline_exemption(actor=request.actor, exemption=exemption, reason=payload.reason)
    return Status(201, _case_out(request, queries.case_for(request.actor, case.pk)))


# --- notice, consent --------------------------------------------------------------------------------------

class NoticeIn(In):
    language: Literal["ja", "en"] = "ja"


def _done(request, case: AssessmentCase) -> dict:
    return _case_out(request, queries.case_for(request.actor, case.pk))


@router.post("/cases/{int:case_id}/notice", response={200: CaseOut, **WRITE_ERRORS},
             summary="Give the written notice (告知) of the seven items, the methods and the right to refuse")
def give_notice(request, case_id: int, payload: NoticeIn):
    return _done(request, services.give_notice(actor=request.actor, case=_case(request, case_id),
                                               language=payload.language))


class SecondFactorIn(In):
    totp_code: str = Field(min_length=6, max_length=32, description="The current code of the subject's own "
                           "authenticator (or one of their recovery codes), checked as at sign-in")


def _with_second_factor(request, code: str):
    """The caller, with ``second_factor_verified`` true only if ``code`` is their own current code,
    and the proof the service spends if (and only if) the action succeeds. Checked here, before the
    service's transaction: a wrong code counts against the throttle even though the call is refused.
    A bearer token is not a signature: the policy's consent rule needs this proof per request."""
    proof = second_factor.check(request.actor.account, code)
    return dataclasses.replace(request.actor, second_factor_verified=proof is not None, second_factor=proof)


SIGNED_DOC = ("The code is checked now and spent only if the action succeeds: a refused call (wrong state, "
              "already decided) leaves it usable. 409 `second_factor_used` when another action used the same "
              "code at the same time (nothing written).")


@router.post("/cases/{int:case_id}/consent", response={200: CaseOut, **SIGNED_ERRORS},
             summary="The subject consents (同意), with their own second factor; nobody else can",
             description=SIGNED_DOC)
def consent(request, case_id: int, payload: SecondFactorIn):
    case = _case(request, case_id)
    return _done(request, services.consent(actor=_with_second_factor(request, payload.totp_code), case=case))


@router.post("/cases/{int:case_id}/refuse", response={200: CaseOut, **SIGNED_ERRORS},
             summary="The subject refuses, with their own second factor (allowed; no disadvantage may follow)",
             description=SIGNED_DOC)
def refuse(request, case_id: int, payload: SecondFactorIn):
    case = _case(request, case_id)
    return _done(request, services.refuse(actor=_with_second_factor(request, payload.totp_code), case=case))


@router.post("/cases/{int:case_id}/withdraw", response={200: CaseOut, **SIGNED_ERRORS},
             summary="The subject withdraws their consent (or agreement to be listed) until the result is notified",
             description=SIGNED_DOC)
def withdraw(request, case_id: int, payload: SecondFactorIn):
    case = _case(request, case_id)
    return _done(request, services.withdraw_consent(actor=_with_second_factor(request, payload.totp_code), case=case))


class WaiveIn(In):
    waived: bool = Field(description="true: do not give me the reasons; false: take that back")


@router.post("/cases/{int:case_id}/waive-reasons", response={200: CaseOut, **WRITE_ERRORS},
             summary="The subject asks in advance not to receive the reasons (until the adjudication)")
def waive_reasons(request, case_id: int, payload: WaiveIn):
    return _done(request, services.waive_reasons(actor=request.actor, case=_case(request, case_id),
                                                 waived=payload.waived))


# --- questionnaire ---------------------------------------------------------------------------------------

class SectionProgressOut(Schema):
    section: str
    item: str | None
    title_ja: str
    title_en: str
    version: int
    saved_at: dt.datetime | None
    complete: bool
    errors: int | None
    prefilled: bool = Field(description="Carried over from the last accepted answers")
    needs_confirmation: bool = Field(description="Prefilled and not yet confirmed (submission waits for it)")


@router.get("/cases/{int:case_id}/questionnaire/progress", response={200: list[SectionProgressOut], **READ_ERRORS},
            summary="The completeness view: each section's version, completeness and error count (nothing decrypted)")
def questionnaire_progress(request, case_id: int):
    case = _read_case(request, case_id, "questionnaire_progress")
    return _shown(request, "questionnaire_progress", [case],
                  queries.questionnaire_progress(request.actor, case, view="questionnaire_progress"))


@router.get("/cases/{int:case_id}/questionnaire", response={200: dict[str, dict[str, Any]], **READ_ERRORS},
            summary="The questionnaire's answers by section (the subject; the case's investigator, adjudicators "
            "and complaint handler). Every read is audited and on the subject's list of reads")
def questionnaire_answers(request, case_id: int):
    case = _read_case(request, case_id, "questionnaire_answers")
    return _shown(request, "questionnaire_answers", [case], queries.answers_for(
        request.actor, case, purpose=_purpose(request), view="questionnaire_answers"))


class SubmittedOut(Schema):
    sha256: str = Field(description="SHA-256 of the canonical JSON of what was submitted (also in the audit entry)")
    case: CaseOut


@router.post("/cases/{int:case_id}/questionnaire/submit",
             response={200: SubmittedOut, 403: ErrorOut, 404: ErrorOut, 422: ManyErrorsOut | ErrorOut},
             summary="Submit the questionnaire: refused while any section is missing, incomplete or unconfirmed "
             "(every error listed)")
def submit_questionnaire(request, case_id: int):
    case = _case(request, case_id)
    try:
        sha256 = services.submit_questionnaire(actor=request.actor, case=case)
    except QuestionnaireInvalid as exc:
        return _many_errors(request, exc)
    return {"sha256": sha256, "case": _done(request, case)}


@router.get("/cases/{int:case_id}/questionnaire/{section}", response={200: dict[str, Any], **READ_ERRORS},
            summary="One section's answers (resume a draft on another device)",
            description="The response's ETag is the section's version: send it back in If-Match to save the "
            "section. A section never saved is 404 here and version 0 (`If-Match: \"0\"`; the progress "
            "list gives every section's version).")
def questionnaire_section(request, case_id: int, section: SectionCode, response: HttpResponse):
    case = _read_case(request, case_id, "questionnaire_section")
    found = queries.section_answers_for(request.actor, case, section=section, purpose=_purpose(request),
                                        view="questionnaire_section")
    reads.shown(request.actor, "questionnaire_section", [case])  # a section never saved: that is shown too
    if found is None:
        raise NotFound
    content, version = found
    response["ETag"] = f'"{version}"'  # the version of the row the answers came from
    return content


def _purpose(request) -> str:
    """The purpose a read is recorded with: the reader's role's (``reads.purpose_of``)."""
    return reads.purpose_of(request.actor)


def _purpose_of_duty(request) -> str:
    """The purpose a case worker's read is recorded with, as on the screens."""
    from hozen.assessment.staff_queries import READ_PURPOSES

    return "subject_access" if request.actor.role == "subject" else READ_PURPOSES.get(request.actor.role, "case_work")


class SectionIn(In):
    content: dict[str, Any] = Field(description="The section's answers as the questionnaire schema names them")


class SavedSectionOut(Schema):
    section: str
    version: int
    changed: bool = Field(description="false: the same content was already saved (nothing written)")
    complete: bool = Field(description="Would pass submission's full check")
    errors: list[FieldErrorOut] = Field(description="Problems to show beside the fields; the draft is saved anyway")


def _field_errors(errors, language: str) -> list[dict]:
    return [{"path": e.full_path, "code": e.code, "message": e.message_ja if language == "ja" else e.message_en}
            for e in errors]


def _many_errors(request, exc: QuestionnaireInvalid):
    language = _language(request)
    return Status(422, {"detail": exc.message(language), "code": exc.code, "field": exc.field,
                        "errors": _field_errors(exc.errors, language)})


@router.put("/cases/{int:case_id}/questionnaire/{section}",
            response={200: SavedSectionOut, **VERSIONED_ERRORS, 422: ManyErrorsOut | ErrorOut | InvalidOut},
            summary="Save one section's draft (idempotent: the same content again changes nothing)",
            description="Requires `If-Match` with the section's ETag from your read (`\"0\"` for a section never "
            "saved; the progress list gives each section's `version`): 428 `version_required` without it, 409 "
            "`stale_edit` when the section was saved elsewhere since (another tab or device) — nothing is written "
            "either way; read it again, then save. Saving the content already stored answers `changed: false` "
            "whatever version you name (a retried save is harmless). Only content the questionnaire cannot hold "
            "is refused (422 `questionnaire_malformed`, every problem listed); anything else is saved, and its "
            "problems come back in `errors` beside their paths. The response's ETag is the new version.")
def save_section(request, case_id: int, section: SectionCode, payload: SectionIn, response: HttpResponse,
                 if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    case = _case(request, case_id)
    try:
        saved = services.save_questionnaire_section(actor=request.actor, case=case.pk, section=section,
                                                    content=payload.content,
                                                    version=rows.version_from_if_match(if_match), require_version=True)
    except QuestionnaireInvalid as exc:
        return _many_errors(request, exc)
    response["ETag"] = rows.etag(saved.section)
    return {"section": section, "version": saved.section.version, "changed": saved.changed,
            "complete": saved.is_complete, "errors": _field_errors(saved.errors, _language(request))}


@router.post("/cases/{int:case_id}/questionnaire/{section}/confirm",
             response={200: SavedSectionOut, **WRITE_ERRORS, 409: ConflictOut},
             summary="Confirm a section carried over from the last accepted answers, as it stands",
             description="With `If-Match`, only the version you read is confirmed (409 `stale_edit` if the section "
             "changed since). The response's ETag is the section's version.")
def confirm_section(request, case_id: int, section: SectionCode, response: HttpResponse,
                    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    saved = services.confirm_questionnaire_section(actor=request.actor, case=_case(request, case_id).pk,
                                                   section=section, version=rows.version_from_if_match(if_match))
    response["ETag"] = rows.etag(saved.section)
    return {"section": section, "version": saved.section.version, "changed": saved.changed,
            "complete": saved.is_complete, "errors": _field_errors(saved.errors, _language(request))}


# --- investigation -----------------------------------------------------------------------------------------

class AssignIn(In):
    username: str = Field(max_length=64, description="The account to give the duty to")


@router.post("/cases/{int:case_id}/investigator", response={200: CaseOut, **WRITE_ERRORS},
             summary="The Cabinet Office's organ head assigns (or reassigns) the investigator")
def assign_investigator(request, case_id: int, payload: AssignIn):
    case = _case(request, case_id)
    investigator = _duty_account(request, case, CaseDuty.Kind.INVESTIGATOR, "assessment.assign_investigator",
                                 payload.username)
    return _done(request, services.assign_investigator(actor=request.actor, case=case, investigator=investigator))


class InquiryIn(In):
    recipient_kind: Literal[tuple(Inquiry.RecipientKind.values)]  # type: ignore[valid-type]
    recipient_organisation: str = Field(max_length=200, description="Shown to the subject after notification")
    recipient_name: Text = Field(description="Encrypted; never shown to the subject")
    question: Text
    sent_on: IsoDate
    method: Literal[tuple(Inquiry.Method.values)] = "question"  # type: ignore[valid-type]


class InquiryOut(Schema):
    id: int
    recipient_kind: str
    recipient_organisation: str
    method: str
    sent_on: dt.date
    answered_on: dt.date | None
    recipient_name: str | None = None
    question: str | None = None
    response: str | None = None


@router.post("/cases/{int:case_id}/inquiries", response={201: InquiryOut, **WRITE_ERRORS},
             summary="Record an inquiry (照会) to a superior, colleague, acquaintance, public office or organisation")
def record_inquiry(request, case_id: int, payload: InquiryIn):
    inquiry = services.record_inquiry(actor=request.actor, case=_case(request, case_id), **payload.model_dump())
    return Status(201, {"id": inquiry.pk, "recipient_kind": inquiry.recipient_kind,
                        "recipient_organisation": inquiry.recipient_organisation, "method": inquiry.method,
                        "sent_on": inquiry.sent_on, "answered_on": inquiry.answered_on})


@router.get("/cases/{int:case_id}/inquiries", response={200: list[InquiryOut], **READ_ERRORS},
            summary="The inquiries with names, questions and answers (the case's workers only)")
def list_inquiries(request, case_id: int):
    case = _read_case(request, case_id, "list_inquiries")
    return _shown(request, "list_inquiries", [case], queries.inquiries_for(
        request.actor, case, purpose=_purpose_of_duty(request), view="list_inquiries"))


class ResponseIn(In):
    response: Text
    answered_on: IsoDate


def _inquiry(request, inquiry_id: int) -> Inquiry:
    inquiry = Inquiry.objects.select_related("case").filter(pk=inquiry_id).first()
    if inquiry is None:
        raise NotFound
    queries.case_for(request.actor, inquiry.case_id)  # 404 unless the case is visible
    return inquiry


@router.post("/inquiries/{int:inquiry_id}/response", response={200: InquiryOut, **WRITE_ERRORS},
             summary="Record the answer to an inquiry")
def record_response(request, inquiry_id: int, payload: ResponseIn):
    inquiry = services.record_inquiry_response(actor=request.actor, inquiry=_inquiry(request, inquiry_id),
                                               **payload.model_dump())
    return {"id": inquiry.pk, "recipient_kind": inquiry.recipient_kind,
            "recipient_organisation": inquiry.recipient_organisation, "method": inquiry.method,
            "sent_on": inquiry.sent_on, "answered_on": inquiry.answered_on}


class InterviewIn(In):
    at: dt.datetime = Field(description="ISO 8601 with an offset, e.g. 2026-06-10T10:00:00+09:00")


@router.post("/cases/{int:case_id}/interview", response={200: CaseOut, **WRITE_ERRORS},
             summary="Schedule the interview: only once every inquiry is answered (material gathered)")
def schedule_interview(request, case_id: int, payload: InterviewIn):
    return _done(request, services.schedule_interview(actor=request.actor, case=_case(request, case_id),
                                                      at=payload.at))


class FindingIn(In):
    text: Text


class FindingOut(Schema):
    text: str
    revision: int
    version: int = Field(description="The finding's version (its ETag): send it in If-Match to revise it")
    recorded_at: dt.datetime


@router.put("/cases/{int:case_id}/findings/{item}",
            response={200: FindingOut, **VERSIONED_ERRORS, 422: ErrorOut | InvalidOut},
            summary="Record the finding on one of the seven items (a new revision replaces the last)",
            description="Requires `If-Match` with the finding's ETag from your read (`\"0\"` for an item with no "
            "finding yet): 428 `version_required` without it, 409 `stale_edit` when the finding was revised since "
            "(another tab, a colleague) — nothing is written either way. The response's ETag is the new version.")
def record_finding(request, case_id: int, item: ItemCode, payload: FindingIn, response: HttpResponse,
                   if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    finding = services.record_finding(actor=request.actor, case=_case(request, case_id).pk, item=item,
                                      text=payload.text, version=rows.version_from_if_match(if_match),
                                      require_version=True)
    response["ETag"] = rows.etag(finding)
    # The text as stored (the service refused what the text policy refuses; the row now holds ciphertext).
    return {"text": clean(payload.text, field="text", multiline=True), "revision": finding.revision,
            "version": finding.version, "recorded_at": finding.recorded_at}


@router.get("/cases/{int:case_id}/findings", response={200: dict[str, FindingOut], **READ_ERRORS},
            summary="The findings per item (the case's workers only; never the nominating side or the subject)")
def list_findings(request, case_id: int):
    case = _read_case(request, case_id, "list_findings")
    return _shown(request, "list_findings", [case], queries.findings_for(
        request.actor, case, purpose=_purpose_of_duty(request), view="list_findings"))


@router.get("/cases/{int:case_id}/findings/{item}", response={200: FindingOut, **READ_ERRORS},
            summary="One item's finding (the case's workers only), with its version as the ETag",
            description="404 while no finding is recorded for the item: it is version 0 (`If-Match: \"0\"`). Each "
            "read is audited.")
def get_finding(request, case_id: int, item: ItemCode, response: HttpResponse):
    case = _read_case(request, case_id, "get_finding")
    findings = queries.findings_for(request.actor, case, purpose=_purpose_of_duty(request), item=item,
                                    view="get_finding")
    reads.shown(request.actor, "get_finding", [case])  # an item without a finding: that is shown too
    if item not in findings:
        raise NotFound
    response["ETag"] = f'"{findings[item]["version"]}"'
    return findings[item]


class CompleteIn(In):
    summary: Text = Field(description="The investigator's case summary for the adjudicator (required; encrypted). "
                          "Completing a returned case again replaces the earlier summary")
    answer: Text | None = Field(None, description="The answer to the adjudicator's open question (required when "
                                "the case was returned with one, refused otherwise: `no_question_to_answer`; "
                                "encrypted)")


@router.post("/cases/{int:case_id}/investigation/complete", response={200: CaseOut, **WRITE_ERRORS},
             summary="Complete the investigation: at least one inquiry answered and none unanswered before the "
             "interview, the interview held, a finding per item, and the case summary for the adjudicator")
def complete_investigation(request, case_id: int, payload: CompleteIn):
    return _done(request, services.complete_investigation(actor=request.actor, case=_case(request, case_id),
                                                          summary=payload.summary, answer=payload.answer))


class SummaryOut(Schema):
    text: str
    recorded_at: dt.datetime


@router.get("/cases/{int:case_id}/summary", response={200: SummaryOut | None, **READ_ERRORS},
            summary="The investigator's case summary for the adjudicator (the case's workers only; null before "
            "the investigation is completed). Each read is audited")
def case_summary(request, case_id: int):
    case = _read_case(request, case_id, "case_summary")
    return _shown(request, "case_summary", [case], queries.summary_for(
        request.actor, case, purpose=_purpose_of_duty(request), view="case_summary"))


# --- adjudication and notification ----------------------------------------------------------------------

@router.post("/cases/{int:case_id}/adjudicator", response={200: CaseOut, **WRITE_ERRORS},
             summary="The deciding organ's head assigns the adjudicator")
def assign_adjudicator(request, case_id: int, payload: AssignIn):
    case = _case(request, case_id)
    adjudicator = _duty_account(request, case, CaseDuty.Kind.ADJUDICATOR, "assessment.assign_adjudicator",
                                payload.username)
    return _done(request, services.assign_adjudicator(actor=request.actor, case=case, adjudicator=adjudicator))


@router.post("/cases/{int:case_id}/concurring-adjudicator", response={200: CaseOut, **WRITE_ERRORS},
             summary="Assign the second adjudicator who must concur with an unfavourable decision")
def assign_concurring(request, case_id: int, payload: AssignIn):
    case = _case(request, case_id)
    adjudicator = _duty_account(request, case, CaseDuty.Kind.CONCURRING_ADJUDICATOR,
                                "assessment.assign_concurring_adjudicator", payload.username)
    return _done(request, services.assign_concurring_adjudicator(actor=request.actor, case=case,
                                                                 adjudicator=adjudicator))


class AdjudicateIn(In):
    outcome: Literal["favourable", "unfavourable"]
    reasons: dict[ItemCode, Text] = Field(description="A reason for each of item_1 … item_7")


class AdjudicationOut(Schema):
    round: int
    outcome: str
    decided_at: dt.datetime
    concurrence: str | None
    rules_pack: str
    reasons_waived: bool
    notified_at: dt.datetime | None
    reasons: dict[str, str] | None = None


def _adjudication_out(a) -> dict:
    return {"round": a.round, "outcome": a.outcome, "decided_at": a.decided_at, "concurrence": a.concurrence or None,
            "rules_pack": str(a.rules_pack), "reasons_waived": a.reasons_waived, "notified_at": a.notified_at}


@router.post("/cases/{int:case_id}/adjudication", response={200: AdjudicationOut, **WRITE_ERRORS},
             summary="Decide favourable or unfavourable with reasons per item (the assigned adjudicator)")
def adjudicate(request, case_id: int, payload: AdjudicateIn):
    return _adjudication_out(services.adjudicate(actor=request.actor, case=_case(request, case_id),
                                                 outcome=payload.outcome, reasons=dict(payload.reasons)))


class ReturnIn(In):
    question: Text = Field(description="The adjudicator's question to the investigator (required; encrypted)")


class ReturnOut(Schema):
    id: int
    asked_at: dt.datetime
    answered_at: dt.datetime | None
    question: str | None = None
    answer: str | None = None


@router.post("/cases/{int:case_id}/return", response={200: CaseOut, **WRITE_ERRORS},
             summary="Instead of deciding, the case's adjudicator returns the case to the investigator with a "
             "question: under investigation again, a new target date; answered by completing the investigation "
             "again")
def return_to_investigation(request, case_id: int, payload: ReturnIn):
    case = _case(request, case_id)
    services.return_to_investigation(actor=request.actor, case=case, question=payload.question)
    return _done(request, case)


@router.get("/cases/{int:case_id}/returns", response={200: list[ReturnOut], **READ_ERRORS},
            summary="The adjudicator's questions to the investigator and the answers, oldest first (the case's "
            "workers only). Each read is audited")
def list_returns(request, case_id: int):
    case = _read_case(request, case_id, "returns")
    return _shown(request, "returns", [case], queries.returns_for(
        request.actor, case, purpose=_purpose_of_duty(request), view="returns"))


class ConcurIn(In):
    agree: bool


@router.post("/cases/{int:case_id}/concurrence", response={200: AdjudicationOut, **WRITE_ERRORS},
             summary="The second adjudicator concurs with an unfavourable decision (or sends it back)")
def concur(request, case_id: int, payload: ConcurIn):
    return _adjudication_out(services.concur(actor=request.actor, case=_case(request, case_id), agree=payload.agree))


@router.get("/cases/{int:case_id}/reasons", response={200: AdjudicationOut | None, **READ_ERRORS},
            summary="The latest decision with its reasons per item (its adjudicators, the complaint handler; the "
            "subject once notified unless they waived them). Never the nominating side")
def reasons(request, case_id: int):
    case = _read_case(request, case_id, "reasons")
    return _shown(request, "reasons", [case], queries.reasons_for(request.actor, case, purpose=_purpose(request),
                                                                   view="reasons"))


class ClearanceOut(Schema):
    id: int
    case: int
    person: int
    organ: str
    tier: str
    favourable: bool
    notified_on: dt.date
    valid_until: dt.date | None
    status: Literal["unfavourable", "ended", "suspended", "expired", "valid"]


def _clearance_out(c) -> dict:
    from django.utils import timezone

    return {"id": c.pk, "case": c.case_id, "person": c.person_id, "organ": c.organ.code, "tier": c.tier,
            "favourable": c.favourable, "notified_on": c.notified_on, "valid_until": c.valid_until,
            "status": c.status(timezone.localdate())}


@router.post("/cases/{int:case_id}/notify", response={200: ClearanceOut, **WRITE_ERRORS},
             summary="Notify the result: the subject's result (and reasons unless waived), the nominator's three "
             "facts, and the eligibility record valid for the pack's period")
def notify_result(request, case_id: int):
    return _clearance_out(services.notify_result(actor=request.actor, case=_case(request, case_id)))


class ResultOut(Schema):
    outcome: str
    favourable: bool
    notified_at: dt.datetime
    valid_until: dt.date | None
    reasons_waived: bool
    reasons: list[dict[str, str]] | None


@router.get("/cases/{int:case_id}/result", response={200: ResultOut, **READ_ERRORS},
            summary="The notified result as the subject receives it (the subject; the adjudicators and complaint "
            "handler)")
def result(request, case_id: int):
    case = _read_case(request, case_id, "result")
    return _read(request, "result", [case], lambda: queries.result_of(
        request.actor, case, purpose=_purpose_of_duty(request), view="result"))


class InquiryLogOut(Schema):
    recipient_kind: str
    recipient_organisation: str
    method: str
    sent_on: dt.date
    answered_on: dt.date | None


@router.get("/cases/{int:case_id}/inquiry-log", response={200: list[InquiryLogOut], **READ_ERRORS},
            summary="Inquiries made about me: recipient kind and organisation, method, dates — never names, "
            "questions or answers (the subject after notification; the case's workers)")
def inquiry_log(request, case_id: int):
    case = _read_case(request, case_id, "inquiry_log")
    return _shown(request, "inquiry_log", [case], queries.inquiry_log_for(request.actor, case, view="inquiry_log"))


# --- clearances, reported changes, notices, reminders ----------------------------------------------------

@router.get("/clearances", response={200: list[ClearanceOut]},
            summary="Eligibility records the caller may see (their own; their nominees' as status; their organ's)")
def list_clearances(request, response: HttpResponse, paging: Query[PageIn]):
    qs = queries.clearances_for(request.actor).order_by("-notified_on", "-id")
    return [_clearance_out(c) for c in _listed(request, paged(response, qs, paging))]


def _clearance(request, clearance_id: int):
    from hozen.access import policy
    from hozen.assessment.models import Clearance

    clearance = Clearance.objects.select_related("case", "organ").filter(pk=clearance_id).first()
    if clearance is None or not policy.decide(request.actor, "assessment.view_clearance", clearance).allowed:
        raise NotFound
    return clearance


class ReportEventIn(In):
    kind: Literal[tuple(ReportableEvent.Kind.values)]  # type: ignore[valid-type]
    occurred_on: IsoDate
    new_post: str = Field("", max_length=200, description="Required for a transfer")
    description: Text | None = Field(None, description="Only for a concerning event (encrypted)")


class ReportedEventOut(Schema):
    id: int
    kind: str
    occurred_on: dt.date
    case: int | None = Field(description="The re-assessment the concern opened or joined")


@router.post("/clearances/{int:clearance_id}/events", response={201: ReportedEventOut, **WRITE_ERRORS},
             summary="Report a change (left, transferred, concerning event) about a person with a result",
             description="A concern opens a re-assessment and suspends the result — or joins the assessment of the "
             "person already open at the same organ.")
def report_event(request, clearance_id: int, payload: ReportEventIn):
    record = services.report_event(actor=request.actor, clearance=_clearance(request, clearance_id),
                                   **payload.model_dump())
    case = record.case
    return Status(201, {"id": record.pk, "kind": record.kind, "occurred_on": record.occurred_on,
                        "case": case.pk if case is not None else None})


class NoticeOut(Schema):
    id: int
    case: int
    person: int
    consented: bool | None
    favourable: bool | None
    valid_until: dt.date | None
    issued_at: dt.datetime
    retain_until: dt.date = Field(description="The notice is destroyed after this day (its facts cleared)")
    expired: bool


@router.get("/notices", response={200: list[NoticeOut]},
            summary="Notices to the caller's side (nominator): consented, favourable, valid until — nothing else")
def list_notices(request, response: HttpResponse, paging: Query[PageIn]):
    return [{"id": n.pk, "case": n.case_id, "person": n.case.person_id, "consented": n.consented,
             "favourable": n.favourable, "valid_until": n.valid_until, "issued_at": n.issued_at,
             "retain_until": n.retain_until, "expired": n.expired_at is not None}
            for n in _listed(request, paged(response, queries.notices_for(request.actor).order_by("-issued_at", "-id"),
                                            paging))]


class ReminderOut(Schema):
    id: int
    clearance: int
    person: int
    recipient: str
    days_before: int
    valid_until: dt.date
    created_at: dt.datetime


@router.get("/reminders", response={200: list[ReminderOut]},
            summary="Renewal reminders addressed to the caller (their own result, or their side's nominees')")
def list_reminders(request, response: HttpResponse, paging: Query[PageIn]):
    return [{"id": r.pk, "clearance": r.clearance_id, "person": r.person_id, "recipient": r.recipient_kind,
             "days_before": r.days_before, "valid_until": r.valid_until, "created_at": r.created_at}
            for r in _listed(request, paged(response, queries.reminders_for(request.actor), paging))]


# --- complaints and adverse-treatment reports ---------------------------------------------------------------

class TextIn(In):
    text: Text


class ComplaintOut(Schema):
    id: int
    state: str
    filed_at: dt.datetime
    due_on: dt.date | None
    outcome: str | None
    decided_at: dt.datetime | None
    text: str | None = None
    outcome_reasons: str | None = None


def _complaint_out(c) -> dict:
    return {"id": c.pk, "state": c.state, "filed_at": c.filed_at, "due_on": c.due_on, "outcome": c.outcome or None,
            "decided_at": c.decided_at}


@router.post("/cases/{int:case_id}/complaints", response={201: ComplaintOut, **WRITE_ERRORS},
             summary="The subject files a written complaint (苦情) about the assessment or its result")
def file_complaint(request, case_id: int, payload: TextIn):
    complaint = services.file_complaint(actor=request.actor, case=_case(request, case_id), text=payload.text)
    return Status(201, _complaint_out(complaint))


@router.get("/cases/{int:case_id}/complaints", response={200: list[ComplaintOut], **READ_ERRORS},
            summary="The case's complaints with their text and outcome (the subject; each one's handler)")
def list_complaints(request, case_id: int):
    case = _read_case(request, case_id, "list_complaints")
    return _shown(request, "list_complaints", [case], queries.complaints_of(
        request.actor, case, purpose=_purpose(request), view="list_complaints"))


@router.get("/complaints/queue", response={200: list[ComplaintOut]},
            summary="Complaints awaiting a handler (the organ head) or a decision (the handler), soonest target "
                    "date first, then by id")
def complaints_queue(request, response: HttpResponse, paging: Query[PageIn]):
    rows = paged(response, queries.complaints_queue_for(request.actor), paging)
    return [_complaint_out(c) for c in _listed(request, rows)]


def _complaint(request, complaint_id: int, *, to_decide: bool = False) -> Complaint:
    """The complaint if the caller may see its case; 404 alike for missing and forbidden.

    ``to_decide``: the complaint's own handler finds it by the complaint too. Their duty on the
    case ends with their decision, so a second decision sent at the same moment (another tab, a
    retry) would otherwise be told the complaint does not exist; the service tells it the
    complaint is already decided. Nothing else of the case opens to them by this."""
    complaint = Complaint.objects.select_related("case").filter(pk=queries._pk(complaint_id)).first()
    if complaint is None:
        raise NotFound
    account = request.actor.account
    if not (to_decide and account is not None and complaint.handler_id == account.pk):
        queries.case_for(request.actor, complaint.case_id)
    return complaint


@router.post("/complaints/{int:complaint_id}/handler", response={200: ComplaintOut, **WRITE_ERRORS},
             summary="The organ head's delegate gives the complaint to a handler who never worked the case")
def assign_complaint_handler(request, complaint_id: int, payload: AssignIn):
    complaint = _complaint(request, complaint_id)
    handler = _duty_account(request, complaint.case, CaseDuty.Kind.COMPLAINT_HANDLER,
                            "assessment.assign_complaint_handler", payload.username)
    complaint = services.assign_complaint_handler(actor=request.actor, complaint=complaint, handler=handler)
    return _complaint_out(complaint)


class DecisionIn(In):
    outcome: str = Field(max_length=32)
    reasons: Text


@router.post("/complaints/{int:complaint_id}/decision", response={200: ComplaintOut, **WRITE_ERRORS},
             summary="The handler decides (not_upheld, corrected, re_examination); the outcome is notified in writing")
def decide_complaint(request, complaint_id: int, payload: DecisionIn):
    complaint = services.decide_complaint(actor=request.actor,
                                          complaint=_complaint(request, complaint_id, to_decide=True).pk,
                                          outcome=payload.outcome, reasons=payload.reasons)
    return _complaint_out(complaint)


class AdverseIn(In):
    kind: Literal[tuple(AdverseTreatmentReport.Kind.values)]  # type: ignore[valid-type]
    text: Text


class AdverseOut(Schema):
    id: int
    kind: str
    employer: str
    filed_at: dt.datetime
    outcome: str | None
    decided_at: dt.datetime | None


class AdverseListItemOut(AdverseOut):
    case: int


def _adverse_out(r) -> dict:
    return {"id": r.pk, "kind": r.kind, "employer": r.employer.code, "filed_at": r.filed_at,
            "outcome": r.outcome or None, "decided_at": r.decided_at}


@router.post("/cases/{int:case_id}/adverse-treatment", response={201: AdverseOut, **WRITE_ERRORS},
             summary="The subject reports being penalised for refusing, failing or complaining; it goes to the organ, "
             "never to the employer")
def report_adverse_treatment(request, case_id: int, payload: AdverseIn):
    report = services.report_adverse_treatment(actor=request.actor, case=_case(request, case_id),
                                               kind=payload.kind, text=payload.text)
    return Status(201, _adverse_out(report))


class AdverseDetailOut(AdverseOut):
    case: int
    text: str | None = Field(None, description="null once the case's file is destroyed")
    outcome_reasons: str | None = None
    notified_at: dt.datetime | None = None


def _adverse_detail(report, texts: dict) -> dict:
    return {**_adverse_out(report), "case": report.case_id, "notified_at": report.notified_at, **texts}


def _adverse_purpose(request) -> str:
    return "subject_access" if request.actor.role == "subject" else "adverse_treatment_handling"


class AdverseListOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[AdverseListItemOut]


@router.get("/adverse-treatment", response={200: AdverseListOut, 422: InvalidOut},
            summary="Adverse-treatment reports the caller may read, newest first: the subject their own, the "
            "deciding organ's head its organ's (to find the ones to decide) — never the employer. No text here")
def list_adverse_treatment(request, paging: Query[PageIn], decided: bool | None = None):
    qs = queries.adverse_reports_for(request.actor, decided=decided)
    return {"total": qs.count(), "limit": paging.limit, "offset": paging.offset,
            "items": [{**_adverse_out(r), "case": r.case_id}
                      for r in _listed(request, window(qs, paging), purpose=_adverse_purpose(request))]}


@router.get("/adverse-treatment/{int:report_id}", response={200: AdverseDetailOut, **READ_ERRORS},
            summary="One adverse-treatment report with its text and, once decided, the reasons (read and audited)")
def get_adverse_treatment(request, report_id: int):
    report = queries.adverse_report_for(request.actor, report_id, view="get_adverse_treatment")
    return _shown(request, "get_adverse_treatment", [report], _adverse_detail(
        report, queries.adverse_report_texts(request.actor, report, purpose=_adverse_purpose(request))),
        purpose=_adverse_purpose(request))


@router.get("/cases/{int:case_id}/adverse-treatment", response={200: list[AdverseDetailOut], **READ_ERRORS},
            summary="The case's adverse-treatment reports with text and outcome (the subject; the deciding organ's "
            "head). Refused with the policy's reason for anyone else, the employer included")
def list_case_adverse_treatment(request, case_id: int):
    case = _read_case(request, case_id, "list_case_adverse_treatment")
    rows = queries.adverse_reports_of(request.actor, case, purpose=_adverse_purpose(request),
                                      view="list_case_adverse_treatment")
    return _shown(request, "list_case_adverse_treatment", [case], [_adverse_detail(r, texts) for r, texts in rows],
                  purpose=_adverse_purpose(request))


@router.post("/adverse-treatment/{int:report_id}/decision", response={200: AdverseOut, **WRITE_ERRORS},
             summary="The deciding organ's head decides on the report and notifies the subject")
def decide_adverse_treatment(request, report_id: int, payload: DecisionIn):
    report = AdverseTreatmentReport.objects.select_related("case", "employer").filter(pk=report_id).first()
    if report is None:
        raise NotFound
    queries.case_for(request.actor, report.case_id)
    report = services.decide_adverse_treatment(actor=request.actor, report=report, outcome=payload.outcome,
                                               reasons=payload.reasons)
    return _adverse_out(report)


# --- the subject's papers: the written notice, and the PDFs (告知書, 同意書, 結果通知書, copies) --------

Language = Literal["ja", "en"]

_PDF = {200: {"description": "The PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                   "format": "binary"}}}}}


def _pdf(body: bytes, filename: str, sha256: str | None = None):
    from django.http import HttpResponse

    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    if sha256:
        response["X-Content-SHA256"] = sha256
    return response


class NoticeSectionOut(Schema):
    heading: str
    paragraphs: list[str]


class NoticeTextOut(Schema):
    language: str
    given_in: str = Field(description="The language the organ gave the notice in")
    notice_given_at: dt.datetime
    sections: list[NoticeSectionOut] = Field(description="The seven items (the Act's labels), the methods, the "
                                             "right to refuse, no disadvantage, withdrawal, reasons, complaints")


@router.get("/cases/{int:case_id}/notice", response={200: NoticeTextOut, **READ_ERRORS},
            summary="The written notice (告知) as the subject reads it, in Japanese or English (the subject; the "
            "deciding organ). The same text as the portal's notice page and the kept PDF")
def notice_text(request, case_id: int, language: Language | None = None):
    from hozen.assessment import papers, portal_queries
    from hozen.documents import assessment as documents

    case = _read_case(request, case_id, "notice_text")
    reads.require(request.actor, "assessment.read_papers", case, view="notice_text")
    reads.shown(request.actor, "notice_text", [case])  # the notice, or that none was given yet
    if case.notice_given_at is None:
        raise NotFound
    given_in = portal_queries.notice_language(case)
    language = language or given_in
    return {"language": language, "given_in": given_in, "notice_given_at": case.notice_given_at,
            "sections": [{"heading": h, "paragraphs": p}
                         for h, p in documents.notice_sections(language, papers.ITEM_DATA)]}


@router.get("/cases/{int:case_id}/notice.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="告知書: the notice PDF exactly as kept when the notice was given (SHA-256 in X-Content-SHA256)",
            openapi_extra={"responses": _PDF})
def notice_pdf(request, case_id: int, language: Language = "ja"):
    from hozen.assessment.models import CaseDocument

    case = _read_case(request, case_id, "notice_pdf")
    reads.require(request.actor, "assessment.read_papers", case, view="notice_pdf")
    return _read(request, "notice_pdf", [case], lambda: _kept_pdf(request, case, CaseDocument.Kind.NOTICE, language,
                                                                   "notice"))


@router.get("/cases/{int:case_id}/consent.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="同意書 (or the record of refusal or withdrawal) exactly as kept at the latest declaration",
            openapi_extra={"responses": _PDF})
def consent_pdf(request, case_id: int, language: Language = "ja"):
    from hozen.assessment.models import CaseDocument

    case = _read_case(request, case_id, "consent_pdf")
    reads.require(request.actor, "assessment.read_papers", case, view="consent_pdf")
    return _read(request, "consent_pdf", [case], lambda: _kept_pdf(request, case, CaseDocument.Kind.CONSENT_RECORD,
                                                                    language, "consent"))


def _kept_pdf(request, case, kind: str, language: str, name: str):
    from hozen.assessment import papers

    body, sha256 = papers.kept_pdf(request.actor, case, kind, language, purpose=_purpose(request))
    return _pdf(body, f"assessment-{case.pk}-{name}-{language}.pdf", sha256)


@router.get("/cases/{int:case_id}/result.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="結果通知書: the notified result with the reasons per item unless waived (the subject once "
            "notified; the adjudicators and complaint handler)", openapi_extra={"responses": _PDF})
def result_pdf(request, case_id: int, language: Language = "ja"):
    from hozen.assessment import papers

    case = _read_case(request, case_id, "result_pdf")
    return _read(request, "result_pdf", [case], lambda: _pdf(
        papers.result_pdf(request.actor, case, language, purpose=_purpose_of_duty(request)),
        f"assessment-{case.pk}-result-{language}.pdf"))


@router.get("/cases/{int:case_id}/questionnaire.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="The copy of exactly what the subject submitted, with its SHA-256 (also in X-Content-SHA256)",
            openapi_extra={"responses": _PDF})
def questionnaire_pdf(request, case_id: int, language: Language = "ja"):
    from hozen.assessment import papers

    case = _read_case(request, case_id, "questionnaire_pdf")
    if case.questionnaire_sha256:
        reads.require(request.actor, "assessment.read_answers", case, view="questionnaire_pdf")

    def make():
        body, sha256 = papers.questionnaire_copy_pdf(request.actor, case, language, purpose=_purpose(request))
        return _pdf(body, f"assessment-{case.pk}-questionnaire-{sha256[:12]}.pdf", sha256)

    return _read(request, "questionnaire_pdf", [case], make)


@router.get("/complaints/{int:complaint_id}/outcome.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="The written outcome of a decided complaint (the subject; its handler)",
            openapi_extra={"responses": _PDF})
def complaint_outcome_pdf(request, complaint_id: int, language: Language = "ja"):
    from hozen.assessment import papers

    complaint = reads.lookup(request.actor, "complaint_outcome_pdf", Complaint, complaint_id,
                             lambda: _complaint(request, complaint_id), asked="assessment.read_complaint")
    reads.require(request.actor, "assessment.read_complaint", complaint, view="complaint_outcome_pdf")
    return _read(request, "complaint_outcome_pdf", [complaint], lambda: _pdf(
        papers.complaint_outcome_pdf(request.actor, complaint, language, purpose=_purpose(request)),
        f"assessment-{complaint.case_id}-complaint-{complaint.pk}-{language}.pdf"))


@router.get("/adverse-treatment/{int:report_id}/decision.pdf", response={**READ_ERRORS, 422: ErrorOut},
            summary="The organ's written decision on an adverse-treatment report (the subject; the deciding organ)",
            openapi_extra={"responses": _PDF})
def adverse_decision_pdf(request, report_id: int, language: Language = "ja"):
    from hozen.assessment import papers

    report = queries.adverse_report_for(request.actor, report_id, view="adverse_decision_pdf")
    return _read(request, "adverse_decision_pdf", [report], lambda: _pdf(
        papers.adverse_decision_pdf(request.actor, report, language, purpose=_adverse_purpose(request)),
        f"assessment-{report.case_id}-adverse-treatment-{report.pk}-{language}.pdf"), purpose=_adverse_purpose(request))
