"""Writes for certifications and contracts (minimal until the business-certification issue).

Lock what you check (ARCHITECTURE rule 8): each service re-reads what it decides on inside its own
transaction (the organisations, the certification), whatever instance the caller passed. The audit
entries carry the values the replay compares (`hozen.operators.reconcile`): ids, codes and dates.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import rows
from hozen.core.errors import RuleViolation
from hozen.core.models import Organisation
from hozen.core.roles import OrganisationKind
from hozen.core.text import check_date, clean

from .models import Certification, Contract


@transaction.atomic(durable=True)
def record_certification(*, actor, organ: Organisation | int, business: Organisation | int,
                         certified_on: dt.date) -> Certification:
    """Record an organ's certification of a business (DOMAIN §4), as decided."""
    organ = rows.lock(Organisation, organ)
    business = Organisation.objects.get(pk=business.pk if isinstance(business, Organisation) else business)
    policy.require(actor, "certification.record", organ)
    if business.kind != OrganisationKind.BUSINESS:
        raise RuleViolation("not_a_business", f"{business.code} は事業者ではありません。",
                            f"{business.code} is not a business.", field="business")
    certified_on = check_date(certified_on, field="certified_on", label=("認定日", "Certification date"))
    cert = Certification.objects.create(organ=organ, business=business, certified_on=certified_on)
    audit.record(actor, "certification.recorded", cert, details={
        "organ": organ.code, "business": business.code, "certified_on": certified_on, "suspended_on": None,
        "revoked_on": None})
    return cert


@transaction.atomic(durable=True)
def record_contract(*, actor, certification: Certification | int, reference: str, form: str,
                    authorised_departments: list[str], valid_from: dt.date, valid_until: dt.date) -> Contract:
    """Record a contract under a certification (DOMAIN §4). The certification is read afresh and
    locked: a contract is recorded only under one not revoked or suspended today (dates decide,
    ARCHITECTURE rule 9). A reference is unique per organ (the database's constraint): a second
    contract with the same reference, even one recorded at the same moment, is refused clearly."""
    certification = rows.lock(Certification, certification, related=("organ", "business"))
    policy.require(actor, "contract.record", certification.organ)
    reference = clean(reference, field="reference", label=("契約番号", "Contract reference"),
                      max_length=Contract._meta.get_field("reference").max_length, min_visible=1, required=True)
    if form not in Contract.Form.values:
        raise RuleViolation("invalid_form", "契約の形態が不正です。", f"Unknown contract form {form!r}.", field="form")
    valid_from = check_date(valid_from, field="valid_from", label=("契約の開始日", "Contract start"))
    valid_until = check_date(valid_until, field="valid_until", label=("契約の終了日", "Contract end"))
    if valid_until < valid_from:
        raise RuleViolation("contract_ends_before_it_starts", "契約の終了日が開始日より前です。",
                            "The contract ends before it starts.", field="valid_until")
    on = timezone.localdate()
    if valid_from < certification.certified_on:
        raise RuleViolation("contract_before_certification",
                            f"契約の開始日は認定日（{certification.certified_on:%Y-%m-%d}）以降にしてください。",
                            f"A contract cannot start before its certification ({certification.certified_on:%Y-%m-%d}).",
                            field="valid_from")
    for ended_on, ja, en in ((certification.revoked_on, "取り消されています", "revoked"),
                             (certification.suspended_on, "停止されています", "suspended")):
        if ended_on is not None and ended_on <= on:
            raise RuleViolation("certification_not_active",
                                f"この認定は{ended_on:%Y-%m-%d}から{ja}。契約を記録できません。",
                                f"This certification is {en} since {ended_on:%Y-%m-%d}: no contract can be recorded "
                                "under it.", field="certification")
    if not isinstance(authorised_departments, list | tuple):
        raise RuleViolation("invalid_departments", "ESI を取り扱う部署は部署名の一覧で指定してください。",
                            "The departments allowed to handle ESI must be a list of names.",
                            field="authorised_departments")
    # Department names as handler entries store them (the same policy), so the two always match.
    departments = [clean(d, field="authorised_departments", label=(f"{i}番目の部署名", f"Department {i}"), max_length=200)
                   for i, d in enumerate(authorised_departments, start=1)]
    departments = list(dict.fromkeys(d for d in departments if d))
    if not departments:
        raise RuleViolation("no_departments", "ESI を取り扱う部署を1つ以上指定してください。",
                            "Name at least one department allowed to handle ESI.", field="authorised_departments")
    try:
        with transaction.atomic():
            contract = Contract.objects.create(
                organ=certification.organ, business=certification.business, certification=certification,
                reference=reference, form=form, authorised_departments=departments,
                valid_from=valid_from, valid_until=valid_until,
            )
    except IntegrityError:
        raise RuleViolation("duplicate_reference", f"契約番号 {reference} は既に記録されています。",
                            f"A contract with the reference {reference} is already recorded.",
                            field="reference") from None
    audit.record(actor, "contract.recorded", contract, details={
        "reference": reference, "form": form, "certification": certification.pk, "organ": certification.organ.code,
        "business": certification.business.code, "authorised_departments": departments, "valid_from": valid_from,
        "valid_until": valid_until, "terminated_on": None})
    return contract
