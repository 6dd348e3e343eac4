"""Nomination (DOMAIN §6 step 1), exemptions (Art. 12(1)(i)) and the written notice (step 2).

A nomination either opens a case or, when an earlier favourable result may exempt the person,
is held as an ``Exemption`` for the organ to confirm (no case opens) or decline (the case opens).
Bulk nomination (all rows or none) is in ``bulk.py``, on the same checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import notices, rows
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.models import Account, Organisation, Person
from hozen.core.services import give_subject_roles
from hozen.core.text import forbidden_position
from hozen.operators.models import Contract
from hozen.rules.models import Tier
from hozen.rules.queries import current_pack

from .. import papers, rules, states
from ..models import AssessmentCase, CaseDocument, Clearance, Exemption, Trigger
from ._common import (
    CLOCK_FIELDS,
    event,
    hint,
    lock_person,
    locked,
    move,
    person_details,
    save_new_case,
    today,
)


@dataclass(frozen=True)
class Nomination:
    """What a nomination produced: a case, or an exemption awaiting the organ's confirmation."""

    case: AssessmentCase | None = None
    exemption: Exemption | None = None


class NominationRowsInvalid(RuleViolation):
    """Bulk nomination refused: ``errors`` lists every bad row as (index from 0, field, ja, en)."""

    def __init__(self, errors: list[tuple[int, str | None, str, str]]):
        self.errors = errors
        index, field, ja, en = errors[0]
        more = len(errors) - 1
        where = f"rows[{index}]" + (f".{field}" if field else "")
        super().__init__("nomination_rows_invalid",
                         f"{where}: {ja}" + (f"（ほか{more}件）。一件も登録していません。" if more else "（一件も登録していません）"),
                         f"{where}: {en}" + (f" (and {more} more)" if more else "") + "; nothing was nominated.",
                         field=where)


NOMINATION_FIELDS = ("trigger", "department", "post", "listing_agreed_on", "dispatched_worker", "employing_agency")


def _context(actor, contract: Contract | int | None, *, lock: bool = False) -> tuple[object, Organisation,
                                                                                      Organisation]:
    """(policy target, deciding organ, nominating organisation) for the actor's nomination. With
    ``lock`` (inside a nomination's transaction) the contract is read afresh and locked first — the
    policy asks whether it is active on the day — so it cannot end between the check and the write."""
    if contract is not None:
        if lock:
            contract = rows.lock(Contract, contract, related=("organ", "business", "certification"))
        return contract, contract.organ, contract.business
    if actor.organisation is None:
        policy.require(actor, "assessment.nominate", None)  # denied: no role
    return actor.organisation, actor.organisation, actor.organisation


def _prepared(person: Person, nominating: Organisation, organ: Organisation, row: dict, on: dt.date,
              *, employed_ids=None, open_keys=None, field: str = "person", starts: dict | None = None) -> dict:
    """A nomination row checked and cleaned, in one order for every channel: first whether the
    candidate is on the nominator's staff (so that nothing else is told about anyone else: issue 12
    §6), then the row's own fields, then the assessments already open."""
    rules.check_person_nominable(person, nominating, employed_ids=employed_ids, field=field)
    tier = row.get("tier") or Tier.ESI
    if tier not in Tier.values:
        raise RuleViolation("invalid_tier", f"区分 {tier!r} は不正です（esi 又は sds）。",
                            f"Unknown tier {tier!r}; use esi or sds.", field="tier")
    trigger = row.get("trigger") or Trigger.NEW
    dispatched = bool(row.get("dispatched_worker"))
    texts = rules.check_nomination_fields(
        on=on, trigger=trigger, department=row.get("department"), post=row.get("post"),
        listing_agreed_on=row.get("listing_agreed_on"), dispatched_worker=dispatched,
        employing_agency=row.get("employing_agency"), earliest_agreement=regime_start(tier, on, starts))
    fields = {"trigger": trigger, "department": texts["department"], "post": texts["post"],
              "listing_agreed_on": row.get("listing_agreed_on"), "dispatched_worker": dispatched,
              "employing_agency": texts["employing_agency"]}
    if open_keys is None:
        rules.check_no_open_case(person, organ, tier)
    else:  # bulk: the open cases and pending exemptions were read for every row at once
        rules.check_no_open_case_among(person, tier, *open_keys)
    return {"tier": tier, **fields}


def regime_start(tier: str, on: dt.date, cache: dict | None = None) -> dt.date:
    """The day the tier's regime came into force (the pack in force today says it): nothing of an
    assessment under it — an agreement to be listed — is dated earlier. ``cache`` keeps it per
    tier across the rows of a bulk nomination."""
    if cache is not None and tier in cache:
        return cache[tier]
    start = current_pack(tier, on).value("regime_start")
    if cache is not None:
        cache[tier] = start
    return start


def candidate(nominating: Organisation, *, person: Person | int | None, username: str | None) -> tuple[Person, str]:
    """The candidate named by ``person`` (a Person or its id) or ``username`` (their account),
    read afresh and locked (the person heads the lock order), and the field that named them.

    Nobody by that name or id is ``rules.not_nominable``, the same answer ``_prepared`` gives first
    for someone not on the nominator's staff: one status, code and message whether the account or
    person exists in another organisation or not at all (issue 12 §6). Asked only after the policy
    has allowed the actor to nominate."""
    if (person is None) == (username is None):
        raise RuleViolation("person_required", "評価対象者を person_id 又は username のいずれかで指定してください。",
                            "Name the candidate by person_id or by username (one of them).", field="person")
    field = "username" if username is not None else "person"
    if username is not None:
        pk = None
        if isinstance(username, str) and len(username) <= 150 and forbidden_position(username) is None:
            pk = (Account.objects.filter(username=username.strip().lower(), is_active=True)
                  .values_list("person_id", flat=True).first())
    else:
        pk = person.pk if isinstance(person, Person) else person
    if pk is None or isinstance(pk, bool):
        raise rules.not_nominable(nominating, field=field)
    try:
        person = lock_person(pk)
    except NotFound:
        raise rules.not_nominable(nominating, field=field) from None
    return person, field


def save_new_exemption(exemption: Exemption) -> Exemption:
    """Insert a held nomination; a concurrent nomination held first is a RuleViolation, not a crash
    (the database's one-pending-exemption constraint)."""
    try:
        with transaction.atomic():
            exemption.save()
    except IntegrityError:
        raise RuleViolation("exemption_pending", "この者については、評価の省略の確認が行政機関で保留中です。",
                            "A possible exemption of this person is awaiting the organ's confirmation.",
                            field="person") from None
    return exemption


def _open(actor, *, person, organ, nominating, contract, fields: dict, pack) -> Nomination:
    basis = None
    if fields["trigger"] == Trigger.NEW:
        basis = rules.detect_exemption(person, organ, fields["tier"], today(), pack)
    if basis is not None:
        exemption = save_new_exemption(Exemption(
            person=person, tier=fields["tier"], organ=organ, nominating_organisation=nominating, contract=contract,
            nominated_by=actor.account, basis=basis.clearance, window_years=basis.window_years, rules_pack=pack,
            nomination={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in fields.items()},
        ))
        audit.record(actor, "assessment.nominate", exemption, details={
            "subject_person_id": person.pk, "outcome": "possible_exemption", "basis": basis.clearance,
            "organ": organ.code, "tier": fields["tier"]})
        return Nomination(exemption=exemption)
    case = save_new_case(AssessmentCase(person=person, organ=organ, nominating_organisation=nominating,
                                        contract=contract, nominated_by=actor.account, rules_pack=pack, **fields))
    event(actor, case, "nominated", state_to=case.state, trigger=case.trigger, tier=case.tier,
          dispatched_worker=case.dispatched_worker)
    audit.record(actor, "assessment.nominate", case, details=person_details(
        case, organ=organ.code, nominator=nominating.code, tier=case.tier, trigger=case.trigger,
        contract=contract.reference if contract else None))
    give_subject_roles(actor=actor, people={person.pk: nominating}, case_ids={person.pk: case.pk})
    return Nomination(case=case)


@transaction.atomic(durable=True)
def nominate(*, actor, person: Person | int | None = None, username: str | None = None, trigger: str = Trigger.NEW,
             department: str, post: str, listing_agreed_on: dt.date | None, contract: Contract | None = None,
             tier: str = Tier.ESI, dispatched_worker: bool = False, employing_agency: str = "") -> Nomination:
    """An organ's security officer nominates its staff, or a business's protection officer its
    employee under an active contract of the deciding organ (the contract's organ). The candidate
    is named by ``person`` (a Person or its id) or by ``username``.

    Refused: anyone not on the nominator's staff (one answer for a missing and a foreign
    candidate: ``candidate``), no active contract, no recorded agreement to be listed, a dispatched
    worker without their employing agency, an assessment already in progress. When an earlier
    result may exempt the person, an ``Exemption`` awaits the organ instead of a case.

    The person's row is locked first, so two nominations of one person are decided one after the
    other (the second sees the first's case or exemption); the database's constraints back it.
    """
    target, organ, nominating = _context(actor, contract, lock=True)
    contract = target if contract is not None else None
    policy.require(actor, "assessment.nominate", target)
    person, field = candidate(nominating, person=person, username=username)
    on = today()
    fields = _prepared(person, nominating, organ, {
        "tier": tier, "trigger": trigger, "department": department, "post": post,
        "listing_agreed_on": listing_agreed_on, "dispatched_worker": dispatched_worker,
        "employing_agency": employing_agency}, on, field=field)
    pack = current_pack(fields["tier"], on)
    return _open(actor, person=person, organ=organ, nominating=nominating, contract=contract, fields=fields, pack=pack)


def detect_exemption(*, actor, person: Person, tier: str = Tier.ESI, contract: Contract | None = None,
                     on: dt.date | None = None) -> rules.ExemptionBasis | None:
    """Would a nomination now find a possible exemption? (A read for the nomination screen: the
    same question the nomination asks, under the same policy; nothing is written.)"""
    target, organ, _nominating = _context(actor, contract)
    policy.require(actor, "assessment.nominate", target)
    on = on or today()
    return rules.detect_exemption(person, organ, tier, on, current_pack(tier, on))


def _locked_exemption(exemption: Exemption | int) -> Exemption:
    """The exemption locked in its place in the lock order: its person first, then its basis (the
    earlier result the decision relies on), then the exemption itself."""
    seen = hint(Exemption, exemption)
    lock_person(seen.person_id)
    rows.lock(Clearance, seen.basis_id)
    return rows.lock(Exemption, seen.pk, related=("basis", "organ"))


@transaction.atomic(durable=True)
def confirm_exemption(*, actor, exemption: Exemption | int, reason: str) -> Exemption:
    """The organ confirms, with a recorded reason, that no concern has arisen since the earlier
    result: the exemption takes effect and no case opens (DOMAIN §6). The nominator sees why."""
    exemption = _locked_exemption(exemption)
    policy.require(actor, "assessment.confirm_exemption", exemption)
    row = states.check_in(states.EXEMPTION_TRANSITIONS, exemption.state, "assessment.confirm_exemption")
    reason = rules.check_exemption_reason(reason)
    # Still within the window today, and the earlier record still stands (no concern since).
    basis = rules.detect_exemption(exemption.person, exemption.organ, exemption.tier, today(), exemption.rules_pack)
    if basis is None or basis.clearance.pk != exemption.basis_id:
        raise RuleViolation("exemption_no_longer_applies",
                            "根拠とした評価結果による省略の要件を満たさなくなりました。評価を行ってください（省略しない）。",
                            "The earlier result no longer exempts the person; decline the exemption and assess.")
    rows.change(exemption, state=row.target, reason=reason, decided_by=actor.account, decided_at=timezone.now())
    audit.record(actor, "assessment.confirm_exemption", exemption, details={
        "subject_person_id": exemption.person_id, "basis": exemption.basis, "window_years": exemption.window_years,
        "state": exemption.state})
    return exemption


@transaction.atomic(durable=True)
def decline_exemption(*, actor, exemption: Exemption | int, reason: str) -> AssessmentCase:
    """The organ does not confirm the exemption: the nomination opens a case as submitted."""
    exemption = _locked_exemption(exemption)
    policy.require(actor, "assessment.decline_exemption", exemption)
    row = states.check_in(states.EXEMPTION_TRANSITIONS, exemption.state, "assessment.decline_exemption")
    reason = rules.check_exemption_reason(reason)
    fields = dict(exemption.nomination)
    if fields.get("listing_agreed_on"):
        fields["listing_agreed_on"] = dt.date.fromisoformat(fields["listing_agreed_on"])
    pack = current_pack(exemption.tier, today())
    case = save_new_case(AssessmentCase(
        person=exemption.person, organ=exemption.organ, nominating_organisation=exemption.nominating_organisation,
        contract=exemption.contract, nominated_by=exemption.nominated_by, rules_pack=pack,
        nominated_at=exemption.nominated_at, **fields))
    rows.change(exemption, state=row.target, reason=reason, case=case, decided_by=actor.account,
                decided_at=timezone.now())
    event(actor, case, "nominated", state_to=case.state, trigger=case.trigger, tier=case.tier,
          exemption_declined=exemption.pk)
    audit.record(actor, "assessment.decline_exemption", exemption, details={
        "subject_person_id": exemption.person_id, "case": case, "state": exemption.state})
    # The case opened here has its own first entry, as every case has (the log replays it).
    audit.record(actor, "assessment.nominate", case, details=person_details(
        case, organ=case.organ.code, nominator=case.nominating_organisation.code, tier=case.tier,
        trigger=case.trigger, contract=case.contract.reference if case.contract_id else None,
        exemption_declined=exemption.pk))
    give_subject_roles(actor=actor, people={case.person_id: case.nominating_organisation},
                       case_ids={case.person_id: case.pk})
    return case


@transaction.atomic(durable=True)
def give_notice(*, actor, case: AssessmentCase | int, language: str = "ja") -> AssessmentCase:
    """DOMAIN §6 step 2: the organ gives the written notice — the seven items, the methods, that
    refusal is allowed and that no disadvantage may follow from refusing."""
    case = locked(case)
    policy.require(actor, "assessment.give_notice", case)
    if language not in ("ja", "en"):
        raise RuleViolation("invalid_language", "告知の言語は ja 又は en です。", "The notice is in ja or en.",
                            field="language")
    move(actor, case, "assessment.give_notice", kind="notice_given", language=language)
    case.notice_given_at = timezone.now()
    case.save(update_fields=[*CLOCK_FIELDS, "notice_given_at"])
    # Issue 6 §1: a PDF of the notice is kept, as given (both languages; the hashes in the audit entry).
    hashes = papers.keep(case, CaseDocument.Kind.NOTICE)
    audit.record(actor, "assessment.give_notice", case, details=person_details(
        case, language=language, notice_pdf_sha256=hashes))
    notices.queue_for_person(case.person_id, "consent_awaited", "portal")  # says only: something waits
    return case
