"""Writes for certifications and contracts (minimal until the business-certification issue)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.models import Organisation
from hozen.core.roles import OrganisationKind

from .models import Certification, Contract


@transaction.atomic(durable=True)
def record_certification(*, actor, organ: Organisation, business: Organisation, certified_on: dt.date) -> Certification:
    policy.require(actor, "certification.record", organ)
    if business.kind != OrganisationKind.BUSINESS:
        raise RuleViolation("not_a_business", f"{business.code} は事業者ではありません。",
                            f"{business.code} is not a business.", field="business")
    cert = Certification.objects.create(organ=organ, business=business, certified_on=certified_on)
    audit.record(actor, "certification.recorded", cert, details={"organ": organ.code, "business": business.code})
    return cert


@transaction.atomic(durable=True)
def record_contract(*, actor, certification: Certification, reference: str, form: str,
                    authorised_departments: list[str], valid_from: dt.date, valid_until: dt.date) -> Contract:
    policy.require(actor, "contract.record", certification.organ)
    if form not in Contract.Form.values:
        raise RuleViolation("invalid_form", "契約の形態が不正です。", f"Unknown contract form {form!r}.", field="form")
    if valid_until < valid_from:
        raise RuleViolation("contract_ends_before_it_starts", "契約の終了日が開始日より前です。",
                            "The contract ends before it starts.", field="valid_until")
    departments = [d.strip() for d in authorised_departments if d and d.strip()]
    if not departments:
        raise RuleViolation("no_departments", "ESI を取り扱う部署を1つ以上指定してください。",
                            "Name at least one department allowed to handle ESI.", field="authorised_departments")
    contract = Contract.objects.create(
        organ=certification.organ, business=certification.business, certification=certification,
        reference=reference, form=form, authorised_departments=departments,
        valid_from=valid_from, valid_until=valid_until,
    )
    audit.record(actor, "contract.recorded", contract, details={"reference": reference, "form": form})
    return contract
