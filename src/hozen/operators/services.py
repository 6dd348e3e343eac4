"""Writes for certifications and contracts: recording them as decided, and the organ's measures on
them (DOMAIN §4): suspending, restoring and revoking a certification, amending and terminating a
contract. Only the certifying organ's head decides (`hozen.access.rules.operators`).

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

from .models import Certification, CertificationChange, Contract

#: The fewest visible characters a measure's reason may have: enough to say why, not a tick box.
REASON_MIN_VISIBLE = 10
REASON_MAX_LENGTH = 4000


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
        "revoked_on": None, "version": cert.version})
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
        "valid_until": valid_until, "terminated_on": None, "version": contract.version})
    return contract


# --- the organ's measures (DOMAIN §4: suspension, restoration, revocation, amendment, termination) ----
#
# Dates (ARCHITECTURE rule 9, dates decide): a suspension, a revocation and a termination take effect
# on the date given, today or later, never earlier: access already granted under the old state is
# history the record must not contradict, so a measure is never backdated. A restoration takes
# effect today (the gate reads no end date of a suspension: restoring clears it). An amendment takes
# effect at once. The access gate reads these dates at every decision, so nothing waits for a job.


def _reason(value) -> str:
    return clean(value, field="reason", label=("理由", "Reason"), multiline=True, max_length=REASON_MAX_LENGTH,
                 min_visible=REASON_MIN_VISIBLE, required=True)


def _decided_by(actor) -> str:
    """Who took the measure, as the business reads it on the certification's page: the person's
    name (an organ's head signs its measures), never their account's user name (a sign-in secret
    half; issue 12: no user names shown to another organisation)."""
    if actor.account is None:
        return actor.system_name
    person = getattr(actor.account, "person", None)
    return person.full_name if person is not None and person.full_name else str(actor.role)


def _measure_date(on, *, not_before: dt.date, not_before_label: tuple[str, str], label: tuple[str, str]) -> dt.date:
    """`on` checked: a date, not before today (no backdating) and not before `not_before`."""
    on = check_date(on, field="on", label=label)
    today = timezone.localdate()
    if on < today:
        raise RuleViolation("measure_backdated",
                            f"{label[0]}は本日（{today:%Y-%m-%d}）以降にしてください。過去に遡って措置をとることはできません。",
                            f"{label[1]} cannot be before today ({today:%Y-%m-%d}): a measure is never backdated.",
                            field="on")
    if on < not_before:
        raise RuleViolation("measure_before_start",
                            f"{label[0]}は{not_before_label[0]}（{not_before:%Y-%m-%d}）以降にしてください。",
                            f"{label[1]} cannot be before {not_before_label[1]} ({not_before:%Y-%m-%d}).", field="on")
    return on


def _refuse_if_revoked(cert: Certification) -> None:
    if cert.revoked_on is not None:
        raise RuleViolation("certification_revoked",
                            f"この認定は{cert.revoked_on:%Y-%m-%d}付けで取り消されています。取消しは最終的なもので、"
                            "停止・回復はできません。",
                            f"This certification is revoked as of {cert.revoked_on:%Y-%m-%d}. A revocation is final: "
                            "it cannot be suspended or restored.", field="certification")


def _tell_business(business_id: int) -> None:
    """The business's protection officer is told that something waits on their dashboard (the
    notice names no certification, contract or reason: `hozen.core.notices`)."""
    from hozen.core import notices
    from hozen.core.roles import Role

    notices.queue_for_role(Role.BUSINESS_OFFICER, {business_id}, "certification_changed", "dashboard")


def _record_change(actor, cert: Certification, kind: str, on: dt.date, reason: str, *, contract=None,
                   added=(), removed=()) -> CertificationChange:
    return CertificationChange.objects.create(
        certification=cert, contract=contract, kind=kind, effective_on=on, reason=reason,
        departments_added=list(added), departments_removed=list(removed), decided_by=_decided_by(actor))


def _certification_details(cert: Certification, change: CertificationChange, **values) -> dict:
    # Ids, codes and dates only: the reason stays on the measure's row (no free text in the log).
    return {**values, "version": cert.version, "measure": change.pk, "business": cert.business.code}


@transaction.atomic(durable=True)
def suspend_certification(*, actor, certification: Certification | int, on: dt.date, reason: str,
                          version: int | str | None = None) -> Certification:
    """Suspend a certification from `on` (today or later): from that day no handler of the business
    reads ESI under it and no contract is recorded under it, until it is restored (DOMAIN §4, §5)."""
    cert = rows.lock(Certification, certification, related=("organ", "business"))
    policy.require(actor, "certification.suspend", cert)
    rows.check_version(cert, version)
    _refuse_if_revoked(cert)
    if cert.suspended_on is not None:
        raise RuleViolation("already_suspended",
                            f"この認定は既に{cert.suspended_on:%Y-%m-%d}付けで停止されています。",
                            f"This certification is already suspended as of {cert.suspended_on:%Y-%m-%d}.",
                            field="certification")
    reason = _reason(reason)
    on = _measure_date(on, not_before=cert.certified_on, not_before_label=("認定日", "the certification date"),
                       label=("停止の日", "The suspension date"))
    rows.change(cert, suspended_on=on)
    change = _record_change(actor, cert, CertificationChange.Kind.SUSPENDED, on, reason)
    audit.record(actor, "certification.suspended", cert,
                 details=_certification_details(cert, change, suspended_on=on))
    _tell_business(cert.business_id)
    return cert


@transaction.atomic(durable=True)
def restore_certification(*, actor, certification: Certification | int, on: dt.date | None = None, reason: str,
                          version: int | str | None = None) -> Certification:
    """End a suspension. It takes effect today (`on`, when given, must be today): the gate then lets
    the business's handlers read again, as far as nothing else has ended meanwhile (their handler
    entries, clearances and briefings are checked as always). A revoked certification stays revoked."""
    cert = rows.lock(Certification, certification, related=("organ", "business"))
    policy.require(actor, "certification.restore", cert)
    rows.check_version(cert, version)
    _refuse_if_revoked(cert)
    if cert.suspended_on is None:
        raise RuleViolation("not_suspended", "この認定は停止されていません。回復するものがありません。",
                            "This certification is not suspended: there is nothing to restore.",
                            field="certification")
    reason = _reason(reason)
    today = timezone.localdate()
    if on is not None:
        on = check_date(on, field="on", label=("回復の日", "The restoration date"))
        if on != today:
            raise RuleViolation("restoration_today_only",
                                f"回復は本日（{today:%Y-%m-%d}）付けでのみ記録できます。",
                                f"A restoration takes effect today ({today:%Y-%m-%d}); it cannot be dated otherwise.",
                                field="on")
    rows.change(cert, suspended_on=None)
    change = _record_change(actor, cert, CertificationChange.Kind.RESTORED, today, reason)
    audit.record(actor, "certification.restored", cert,
                 details=_certification_details(cert, change, suspended_on=None, restored_on=today))
    _tell_business(cert.business_id)
    return cert


@transaction.atomic(durable=True)
def revoke_certification(*, actor, certification: Certification | int, on: dt.date, reason: str,
                         version: int | str | None = None) -> Certification:
    """Revoke a certification from `on` (today or later). Final: a revoked certification is never
    suspended, restored or revoked again, and its contracts end with it (the gate reads the date)."""
    cert = rows.lock(Certification, certification, related=("organ", "business"))
    policy.require(actor, "certification.revoke", cert)
    rows.check_version(cert, version)
    _refuse_if_revoked(cert)
    reason = _reason(reason)
    on = _measure_date(on, not_before=cert.certified_on, not_before_label=("認定日", "the certification date"),
                       label=("取消しの日", "The revocation date"))
    rows.change(cert, revoked_on=on)
    change = _record_change(actor, cert, CertificationChange.Kind.REVOKED, on, reason)
    audit.record(actor, "certification.revoked", cert, details=_certification_details(cert, change, revoked_on=on))
    _tell_business(cert.business_id)
    return cert


def _lock_contract(contract) -> Contract:
    return rows.lock(Contract, contract, related=("organ", "business", "certification"))


def _refuse_if_ended(contract: Contract, today: dt.date, what: tuple[str, str]) -> None:
    if contract.terminated_on is not None and contract.terminated_on <= today:
        raise RuleViolation("contract_terminated",
                            f"この契約は{contract.terminated_on:%Y-%m-%d}付けで終了しています。{what[0]}できません。",
                            f"This contract is terminated as of {contract.terminated_on:%Y-%m-%d}: it cannot be "
                            f"{what[1]}.", field="contract")
    if contract.valid_until < today:
        raise RuleViolation("contract_expired",
                            f"この契約は{contract.valid_until:%Y-%m-%d}に期間が満了しています。{what[0]}できません。",
                            f"This contract ended on {contract.valid_until:%Y-%m-%d}: it cannot be {what[1]}.",
                            field="contract")


def _department_names(values, field: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise RuleViolation("invalid_departments", "部署は部署名の一覧で指定してください。",
                            "Departments must be given as a list of names.", field=field)
    names = [clean(d, field=field, label=(f"{i}番目の部署名", f"Department {i}"), max_length=200)
             for i, d in enumerate(values, start=1)]
    return list(dict.fromkeys(n for n in names if n))


@transaction.atomic(durable=True)
def amend_contract(*, actor, contract: Contract | int, departments_added=(), departments_removed=(), reason: str,
                   version: int | str | None) -> Contract:
    """Add or remove departments allowed to handle ESI under a contract, at once (DOMAIN §4, §5):
    a handler listed in a removed department loses access at the next decision. `version` is the
    contract's version the person saw (required: a stale amendment is refused whole, 409).

    Whether departments may be added depends on the certification: it is locked shared first (the
    order its measures take, certification before contract), so a suspension or revocation recorded
    at the same moment is either seen here or waits for this amendment (lock what you check)."""
    certification_id = Contract.objects.filter(pk=getattr(contract, "pk", contract)).values_list(
        "certification_id", flat=True).first()
    if certification_id is not None:
        rows.lock(Certification, certification_id, shared=True)
    contract = _lock_contract(contract)
    policy.require(actor, "contract.amend", contract)
    rows.check_version(contract, version, required=True)
    today = timezone.localdate()
    _refuse_if_ended(contract, today, ("変更", "amended"))
    added = _department_names(departments_added, "departments_added")
    removed = _department_names(departments_removed, "departments_removed")
    if not added and not removed:
        raise RuleViolation("nothing_to_amend", "追加又は削除する部署を指定してください。",
                            "Name at least one department to add or to remove.", field="departments_added")
    current = list(contract.authorised_departments or [])
    both = [d for d in added if d in removed]
    if both:
        raise RuleViolation("department_added_and_removed", f"同じ部署（{both[0]}）を追加と削除の両方に指定しています。",
                            f"The department {both[0]} is both added and removed.", field="departments_removed")
    already = [d for d in added if d in current]
    if already:
        raise RuleViolation("department_already_allowed", f"部署「{already[0]}」は既にこの契約の対象です。",
                            f"The department {already[0]} is already allowed by this contract.",
                            field="departments_added")
    missing = [d for d in removed if d not in current]
    if missing:
        raise RuleViolation("department_not_in_contract", f"部署「{missing[0]}」はこの契約の対象ではありません。",
                            f"The department {missing[0]} is not allowed by this contract.",
                            field="departments_removed")
    departments = [d for d in current if d not in removed] + added
    if not departments:
        raise RuleViolation("no_departments_left",
                            "全ての部署を削除することはできません。ESI の取扱いを終えるには契約を終了してください。",
                            "A contract cannot be left with no department: terminate it instead.",
                            field="departments_removed")
    cert = contract.certification
    if added and not cert.is_active(today):
        raise RuleViolation("certification_not_active",
                            "認定が有効ではないため、部署を追加できません（削除はできます）。",
                            "The certification is not active: departments can be removed, not added.",
                            field="departments_added")
    reason = _reason(reason)
    rows.change(contract, authorised_departments=departments)
    change = _record_change(actor, cert, CertificationChange.Kind.AMENDED, today, reason, contract=contract,
                            added=added, removed=removed)
    audit.record(actor, "contract.amended", contract, details={
        "authorised_departments": departments, "departments_added": added, "departments_removed": removed,
        "version": contract.version, "measure": change.pk, "business": contract.business.code})
    _tell_business(contract.business_id)
    return contract


@transaction.atomic(durable=True)
def terminate_contract(*, actor, contract: Contract | int, on: dt.date, reason: str,
                       version: int | str | None = None) -> Contract:
    """Terminate a contract from `on` (today or later, within its term): from that day no handler
    reads ESI under it (DOMAIN §4, e.g. for misuse of assessment information, §6). Final."""
    contract = _lock_contract(contract)
    policy.require(actor, "contract.terminate", contract)
    rows.check_version(contract, version)
    if contract.terminated_on is not None:
        raise RuleViolation("already_terminated",
                            f"この契約は既に{contract.terminated_on:%Y-%m-%d}付けで終了が記録されています。",
                            f"This contract's termination is already recorded, as of "
                            f"{contract.terminated_on:%Y-%m-%d}.", field="contract")
    today = timezone.localdate()
    _refuse_if_ended(contract, today, ("終了", "terminated"))
    reason = _reason(reason)
    on = _measure_date(on, not_before=contract.valid_from, not_before_label=("契約の開始日", "the contract's start"),
                       label=("契約の終了日", "The termination date"))
    if on > contract.valid_until:
        raise RuleViolation("termination_after_end",
                            f"契約は{contract.valid_until:%Y-%m-%d}に満了します。終了日はそれ以前にしてください。",
                            f"The contract ends on {contract.valid_until:%Y-%m-%d} anyway: terminate it on or "
                            "before that day.", field="on")
    rows.change(contract, terminated_on=on)
    change = _record_change(actor, contract.certification, CertificationChange.Kind.TERMINATED, on, reason,
                            contract=contract)
    audit.record(actor, "contract.terminated", contract, details={
        "terminated_on": on, "version": contract.version, "measure": change.pk, "business": contract.business.code})
    _tell_business(contract.business_id)
    return contract
