"""/api/v1/operators: the organ's measures on a certified business (DOMAIN §4).

Thin: reads through ``hozen.operators.queries`` (a certification or contract the caller may not see
is 404 like a missing one), writes through ``hozen.operators.services``. Only the certifying organ's
head decides (403 `wrong_role` / `other_organisation`); a broken rule is 422 with its code and
field; a measure on a copy older than the stored one is 409 `stale_edit`. Each read answers the
record's version as its ETag; send it back in ``If-Match`` (required to amend a contract).
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from ninja import Field, Header, Router, Schema

from hozen.core import rows
from hozen.operators import queries, services

from .designation import READ_ERRORS, VERSIONED_ERRORS, In, IsoDate

router = Router(tags=["operators"])

IF_MATCH_DOC = ("The record's ETag from your read (its `version`, quoted: `\"3\"`). The measure is taken only if "
                "the record is still that version; otherwise 409 and nothing is written.")
REASON_DOC = f"Why (at least {services.REASON_MIN_VISIBLE} visible characters; kept with the measure, never in the log)"


class CertificationOut(Schema):
    id: int
    organ: str
    business: str
    certified_on: dt.date
    suspended_on: dt.date | None
    revoked_on: dt.date | None
    active: bool = Field(description="Active today (dates decide)")
    version: int


class ContractOut(Schema):
    id: int
    reference: str
    certification_id: int
    form: str
    authorised_departments: list[str]
    valid_from: dt.date
    valid_until: dt.date
    terminated_on: dt.date | None
    active: bool = Field(description="In force today, under an active certification")
    version: int


class DatedMeasureIn(In):
    on: IsoDate = Field(description="Takes effect on this day: today or later, never backdated")
    reason: str = Field(max_length=services.REASON_MAX_LENGTH, description=REASON_DOC)


class RestoreIn(In):
    reason: str = Field(max_length=services.REASON_MAX_LENGTH, description=REASON_DOC)


class AmendIn(In):
    departments_added: list[str] = Field(default_factory=list, max_length=100)
    departments_removed: list[str] = Field(default_factory=list, max_length=100)
    reason: str = Field(max_length=services.REASON_MAX_LENGTH, description=REASON_DOC)


def _cert(cert, response: HttpResponse | None = None) -> dict:
    from django.utils import timezone

    if response is not None:
        response["ETag"] = rows.etag(cert)
    return {"id": cert.pk, "organ": cert.organ.code, "business": cert.business.code,
            "certified_on": cert.certified_on, "suspended_on": cert.suspended_on, "revoked_on": cert.revoked_on,
            "active": cert.is_active(timezone.localdate()), "version": cert.version}


def _contract(c, response: HttpResponse | None = None) -> dict:
    from django.utils import timezone

    if response is not None:
        response["ETag"] = rows.etag(c)
    return {"id": c.pk, "reference": c.reference, "certification_id": c.certification_id, "form": c.form,
            "authorised_departments": list(c.authorised_departments or []), "valid_from": c.valid_from,
            "valid_until": c.valid_until, "terminated_on": c.terminated_on,
            "active": c.is_active(timezone.localdate()), "version": c.version}


@router.get("/certifications/{int:certification_id}", response={200: CertificationOut, **READ_ERRORS},
            summary="A certification the caller may see (the certifying organ, the business, oversight)")
def certification(request, certification_id: int, response: HttpResponse):
    return _cert(queries.certification_for(request.actor, certification_id), response)


@router.post("/certifications/{int:certification_id}/suspend", response={200: CertificationOut, **VERSIONED_ERRORS},
             summary="Suspend a certification from a date (today or later); its handlers lose access from then",
             description="By the certifying organ's head. 422 `already_suspended`, `certification_revoked`, "
             "`measure_backdated`, `text_too_short`. Audit entry `certification.suspended`.")
def suspend(request, certification_id: int, payload: DatedMeasureIn, response: HttpResponse,
            if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    cert = queries.certification_for(request.actor, certification_id)
    cert = services.suspend_certification(actor=request.actor, certification=cert.pk, on=payload.on,
                                          reason=payload.reason, version=rows.version_from_if_match(if_match))
    return _cert(cert, response)


@router.post("/certifications/{int:certification_id}/restore", response={200: CertificationOut, **VERSIONED_ERRORS},
             summary="End a suspension today; the business's handlers read again",
             description="By the certifying organ's head. 422 `not_suspended`, `certification_revoked` (a "
             "revocation is final). Audit entry `certification.restored`.")
def restore(request, certification_id: int, payload: RestoreIn, response: HttpResponse,
            if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    cert = queries.certification_for(request.actor, certification_id)
    cert = services.restore_certification(actor=request.actor, certification=cert.pk, reason=payload.reason,
                                          version=rows.version_from_if_match(if_match))
    return _cert(cert, response)


@router.post("/certifications/{int:certification_id}/revoke", response={200: CertificationOut, **VERSIONED_ERRORS},
             summary="Revoke a certification from a date (today or later). Final",
             description="By the certifying organ's head. 422 `certification_revoked` when already revoked. "
             "Audit entry `certification.revoked`.")
def revoke(request, certification_id: int, payload: DatedMeasureIn, response: HttpResponse,
           if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    cert = queries.certification_for(request.actor, certification_id)
    cert = services.revoke_certification(actor=request.actor, certification=cert.pk, on=payload.on,
                                         reason=payload.reason, version=rows.version_from_if_match(if_match))
    return _cert(cert, response)


@router.get("/contracts/{int:contract_id}", response={200: ContractOut, **READ_ERRORS},
            summary="A contract the caller may see")
def contract(request, contract_id: int, response: HttpResponse):
    return _contract(queries.contract_for(request.actor, contract_id), response)


@router.post("/contracts/{int:contract_id}/amend", response={200: ContractOut, **VERSIONED_ERRORS},
             summary="Add or remove departments allowed to handle ESI, at once",
             description="By the certifying organ's head. Requires `If-Match` (428 without it, 409 when stale). "
             "422 `nothing_to_amend`, `department_already_allowed`, `department_not_in_contract`, "
             "`no_departments_left`, `contract_terminated`. Audit entry `contract.amended`.")
def amend(request, contract_id: int, payload: AmendIn, response: HttpResponse,
          if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    c = queries.contract_for(request.actor, contract_id)
    c = services.amend_contract(actor=request.actor, contract=c.pk, departments_added=payload.departments_added,
                                departments_removed=payload.departments_removed, reason=payload.reason,
                                version=rows.version_from_if_match(if_match))
    return _contract(c, response)


@router.post("/contracts/{int:contract_id}/terminate", response={200: ContractOut, **VERSIONED_ERRORS},
             summary="Terminate a contract from a date (today or later, within its term). Final",
             description="By the certifying organ's head. 422 `already_terminated`, `termination_after_end`, "
             "`measure_backdated`. Audit entry `contract.terminated`.")
def terminate(request, contract_id: int, payload: DatedMeasureIn, response: HttpResponse,
              if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH_DOC)):
    c = queries.contract_for(request.actor, contract_id)
    c = services.terminate_contract(actor=request.actor, contract=c.pk, on=payload.on, reason=payload.reason,
                                    version=rows.version_from_if_match(if_match))
    return _contract(c, response)
