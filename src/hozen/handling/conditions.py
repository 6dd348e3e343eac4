"""The conditions of DOMAIN §5 for reading or handling designated material, in one place.

`check()` is the policy's fast path (first failing condition, or None); `evaluate()` returns every
condition with pass/fail and a reason for the explain screen and API. Both run the same condition
functions over the same facts (`facts.py`), so the decision and its explanation cannot disagree.

Conditions, in the order a denial names them:
  designation         the designation is in force (designated and not past its term)
  handler_list        an open, current entry on the designation's handler list (need to know);
                      lapsed by its end date, or by the person leaving or transferring
  assessment          a valid favourable assessment of the designation's tier (not expired, not
                      suspended, not ended), or an exempt office of the rules pack in force
  contract            business staff only: an active certification and contract of the holding
                      organ with the listed business, covering the listed department
  briefing            the briefing of the rules pack in force acknowledged, within the max age

Someone who was never on the list hears only "not on the handler list": nothing about the
designation's state leaks to them.

Material of a designation that is no longer in force: `check_ended` (every condition but
"designation" for expired or cancelled material; the SDS successor's conditions for material moved
to SDS). The handler-list condition also lapses when the person's role in the listing
organisation is revoked (`role_revoked`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.utils import timezone

from hozen.access.policy import Decision, allow, deny

from . import briefings, facts

ORDER = ("designation", "handler_list", "assessment", "contract", "briefing")

#: condition → (reason code, Japanese, English) of the denial it causes.
DENIALS = {
    "handler_list": ("not_on_handler_list", "この指定の取扱者名簿に記載されていません（知る必要がありません）。",
                     "You are not on the handler list of this designation (no need to know)."),
    "designation": ("designation_not_in_force", "この指定は有効ではありません（有効期間満了又は解除）。",
                    "This designation is no longer in force (expired or cancelled)."),
    "assessment": ("no_valid_assessment", "この区分の有効な適性評価（適性あり）がありません。",
                   "You hold no valid favourable aptitude assessment of this tier."),
    "contract": ("no_active_contract", "所属部署を対象とする有効な認定・契約がありません。",
                 "No active certification and contract covers your department."),
    "briefing": ("briefing_not_acknowledged", "現在の取扱いの義務の説明を確認していません。",
                 "You have not acknowledged the current briefing on handling obligations."),
}
DECISIONS: dict[str, Decision] = {name: deny(*spec) for name, spec in DENIALS.items()}
NOT_SIGNED_IN = deny("not_signed_in", "サインインが必要です。", "You need to sign in.")
NO_DESIGNATION = DECISIONS["handler_list"]  # missing and not listed look the same
ALLOWED = allow("handler")

LABELS = {
    "handler_list": ("取扱者名簿への記載（知る必要）", "On the handler list (need to know)"),
    "designation": ("指定が有効であること", "Designation in force"),
    "assessment": ("有効な適性評価", "Valid aptitude assessment"),
    "contract": ("事業者の認定・契約と所属部署", "Business certification, contract and department"),
    "briefing": ("取扱いの義務の説明の確認", "Briefing acknowledged"),
}

# Detail codes → (ja, en) for the explanation; coarse ones for a third party (the add form).
DETAILS = {
    "listed": ("記載されています。", "You are listed."),
    "not_listed": ("記載されていません。", "Not listed."),
    "entry_ended": ("記載は終了しています。", "The entry has ended."),
    "not_started": ("記載の開始日前です。", "The entry has not started yet."),
    "end_date_passed": ("記載の終了日を過ぎています。", "The entry's end date has passed."),
    "left": ("退職の報告により記載は失効しました。", "The entry lapsed: leaving the employer was reported."),
    "transferred": ("異動の報告により記載は失効しました。", "The entry lapsed: a transfer was reported."),
    "role_revoked": ("記載した組織での役割が取り消されたため、記載は失効しました。",
                     "The entry lapsed: your role in the listing organisation was revoked."),
    "in_force": ("指定は有効です。", "The designation is in force."),
    "not_in_force": ("指定は有効ではありません。", "The designation is not in force."),
    "hidden": ("（名簿に記載されていないため表示しません）", "(not shown: you are not on the list)"),
    "valid": ("有効です。", "Valid."),
    "exempt_office": ("適性評価を要しない職にあります。", "Exempt office holder."),
    "expired": ("有効期間が満了しています。", "Expired."),
    "suspended": ("再評価のため停止されています。", "Suspended for a re-assessment."),
    "ended": ("終了しています。", "Ended."),
    "unfavourable": ("有効な適性評価がありません。", "No valid favourable assessment."),
    "none": ("この区分の適性評価がありません。", "No assessment of this tier."),
    "not_valid": ("この区分の有効な適性評価がありません。", "No valid favourable assessment of this tier."),
    "not_applicable": ("行政機関の職員には適用されません。", "Does not apply to staff of an organ."),
    "contract_active": ("有効な契約が所属部署を対象としています。", "An active contract covers the department."),
    "no_contract": ("契約がありません。", "No contract."),
    "contract_inactive": ("契約又は認定が有効ではありません。", "The contract or certification is not active."),
    "certification_suspended": ("事業者の認定が停止されています。", "The business's certification is suspended."),
    "certification_revoked": ("事業者の認定が取り消されています。", "The business's certification is revoked."),
    "contract_terminated": ("契約が終了しています。", "The contract is terminated."),
    "wrong_organ": ("契約の相手方が指定の保有機関ではありません。", "The contract is not with the holding organ."),
    "department_not_covered": ("所属部署が契約の対象外です。", "The department is not covered by the contract."),
    "acknowledged": ("確認済みです。", "Acknowledged."),
    "never": ("まだ確認していません。", "Not yet acknowledged."),
    "pack_changed": ("規則が改定されたため、再確認が必要です。", "The rules changed: acknowledge again."),
    "too_old": ("前回の確認から期間が経過したため、再確認が必要です。", "Acknowledged too long ago: acknowledge again."),
    "no_pack": ("有効なルールパックがありません。", "No rules pack is in force."),
}


@dataclass(frozen=True)
class Condition:
    name: str
    passed: bool
    applicable: bool
    detail: str
    code: str  # the denial code this condition causes when it fails

    def label(self, language: str | None) -> str:
        ja, en = LABELS[self.name]
        return en if (language or "ja").startswith("en") else ja

    def reason(self, language: str | None) -> str:
        ja, en = DETAILS.get(self.detail, (self.detail, self.detail))
        return en if (language or "ja").startswith("en") else ja


# --- time, cheaply (the cached path must stay in microseconds) --------------------------------------

_clock: list = [None, None, None]


def _now() -> tuple[dt.date, dt.datetime]:
    second = int(time.time())
    if _clock[0] != second:
        now = timezone.now()
        _clock[:] = [second, timezone.localdate(now), now]
    return _clock[1], _clock[2]


# --- the conditions -------------------------------------------------------------------------------------

class _Ctx:
    __slots__ = ("account_id", "person_id", "cache", "today", "now", "d", "entry", "ever", "ended", "_person",
                 "_pack")

    def __init__(self, account_id, cache, today, now, d, entry, ever, person_id=None):
        self.account_id, self.cache, self.today, self.now = account_id, cache, today, now
        self.d, self.entry, self.ever, self.person_id = d, entry, ever, person_id
        self._person = self._pack = False
        self.ended = False  # evaluating material of an ended designation (`check_ended`)

    @property
    def person(self):
        if self._person is False:
            self._person = facts.person(self.cache, self.account_id, self.person_id)
        return self._person

    @property
    def pack(self):
        if self._pack is False:
            self._pack = facts.pack(self.cache, self.d.tier, self.today)
        return self._pack


def _handler_list(c: _Ctx) -> tuple[bool, str]:
    e = c.entry
    if e is None:
        return False, "not_listed"
    if e.ended_at is not None and not (c.ended and e.end_reason == "designation_ended"):
        # Ended material: an entry closed only because the designation ended still stands, with
        # every other condition below (end date, departure, role) still applied to it.
        return False, "entry_ended"
    if e.starts_on > c.today:
        return False, "not_started"
    if e.ends_on < c.today and not (c.ended and e.ends_on >= c.d.term_end):
        # Ended material: an end date that ran to the designation's own term end meant "while it is
        # designated", not an earlier end of this person's need to know.
        return False, "end_date_passed"
    person = c.person
    if person is not None and e.organisation_id not in person.organisations:
        return False, "role_revoked"  # left or moved out of the listing organisation (role revoked)
    if person is not None and person.departures:
        added_on = timezone.localdate(e.added_at)
        for kind, occurred_on, reported_at in person.departures:
            # DOMAIN §6 step 8: a reported departure ends the need to know from the day it occurs.
            if occurred_on <= c.today and (reported_at >= e.added_at or occurred_on > added_on):
                return False, kind
    return True, "listed"


def _designation(c: _Ctx) -> tuple[bool, str]:
    if c.d.state == "designated" and c.d.term_end >= c.today:
        return True, "in_force"
    return False, "not_in_force"


def _assessment(c: _Ctx) -> tuple[bool, str]:
    person = c.person
    if person is None:
        return False, "none"
    best = "none"
    rank = {"none": 0, "unfavourable": 1, "ended": 2, "expired": 3, "suspended": 4, "valid": 5}
    for cl in person.clearances:
        if cl.tier != c.d.tier:
            continue
        status = cl.status(c.today)
        if status == "valid":
            return True, "valid"
        if rank[status] > rank[best]:
            best = status
    pack = c.pack
    if pack is not None and pack.exempt_offices:
        for office, since, until in person.offices:
            if office in pack.exempt_offices and since <= c.today and (until is None or until >= c.today):
                return True, "exempt_office"  # DOMAIN §5: exempt from the assessment condition only
    return False, best


def _contract(c: _Ctx) -> tuple[bool, str]:
    e = c.entry
    if e is None or not e.is_business:
        return True, "not_applicable"
    k = e.contract
    if k is None:
        return False, "no_contract"
    if not k.is_active(c.today):
        return False, _why_inactive(k, c.today)
    if k.organ_id != c.d.organisation_id or k.business_id != e.organisation_id:
        return False, "wrong_organ"
    if e.department not in k.departments:
        return False, "department_not_covered"
    return True, "contract_active"


def _why_inactive(k, on: dt.date) -> str:
    """The organ's measure behind an inactive contract, when there is one (DOMAIN §4): the person
    sees that the certification is suspended or revoked, or the contract terminated."""
    if k.revoked_on is not None and k.revoked_on <= on:
        return "certification_revoked"
    if k.suspended_on is not None and k.suspended_on <= on:
        return "certification_suspended"
    if k.terminated_on is not None and k.terminated_on <= on:
        return "contract_terminated"
    return "contract_inactive"


def _briefing(c: _Ctx) -> tuple[bool, str]:
    pack = c.pack
    if pack is None:
        return False, "no_pack"
    person = c.person
    ack = person.acks.get(c.d.tier) if person is not None else None
    if ack is None:
        return False, "never"
    if ack.rules_pack_id != pack.pk or ack.briefing_version != pack.briefing_version \
            or ack.text_sha256 != pack.briefing_sha256:
        return False, "pack_changed"
    if ack.acknowledged_at + dt.timedelta(days=briefings.max_age_days()) < c.now:
        return False, "too_old"
    return True, "acknowledged"


CHECKS = (("designation", _designation), ("handler_list", _handler_list), ("assessment", _assessment),
          ("contract", _contract), ("briefing", _briefing))


def _context(account_id, designation, owner, person_id=None) -> _Ctx | Decision:
    cache = facts.for_request(owner)
    today, now = _now()
    pk = designation if isinstance(designation, int) else getattr(designation, "pk", None)
    if pk is None:
        return NO_DESIGNATION
    d, entry, ever = facts.listing(cache, pk, account_id, person_id)
    if not ever:
        return NO_DESIGNATION  # never listed, or no such designation: the same answer
    return _Ctx(account_id, cache, today, now, d, entry, ever, person_id)


def check(actor, designation) -> Decision:
    """The policy's answer for `designation.material.read` / `.handle`."""
    account = actor.account
    if account is None:
        return NOT_SIGNED_IN
    if not account.is_active:
        return DECISIONS["handler_list"]
    ctx = _context(account.pk, designation, actor, account.person_id)
    if isinstance(ctx, Decision):
        return ctx
    for name, fn in CHECKS:
        if not fn(ctx)[0]:
            return DECISIONS[name]
    return ALLOWED


ENDED_STATES = ("expired", "cancelled")
ENDED_ALLOWED = allow("former_handler")
SDS_ALLOWED = allow("sds_handler")
MOVED_TO_SDS = deny("moved_to_sds", "この指定は特定秘密へ移行しました。特定秘密の取扱者名簿と適性評価に従って閲覧できます。",
                    "This designation moved to SDS: access follows the SDS designation's handler list and "
                    "clearance, and you do not meet them.")


def check_ended(actor, designation, _depth: int = 0) -> Decision:
    """Material of a designation that is no longer in force (DOMAIN §2: it keeps its new marking).

    Expired or cancelled (or past its term before the expiry job ran): every condition of `check`
    except "in force" — a valid handler of the list (an entry closed only because the designation
    ended still counts), with a valid assessment of the tier, the contract, and the briefing.
    Moved to SDS: the material is now SDS, so access follows the SDS successor designation (its
    handler list, SDS clearance, SDS briefing), or is refused with `moved_to_sds`. In force (or a
    draft): exactly `check`.
    """
    account = actor.account
    if account is None:
        return NOT_SIGNED_IN
    if not account.is_active:
        return NO_DESIGNATION
    ctx = _context(account.pk, designation, actor, account.person_id)
    if isinstance(ctx, Decision):
        pk = designation if isinstance(designation, int) else getattr(designation, "pk", None)
        d = facts.designation(facts.for_request(actor), pk) if pk is not None else None
        if d is not None and d.state == "moved_to_sds":
            return _moved(actor, d.pk, ever_listed=False, depth=_depth)
        return ctx
    d = ctx.d
    if d.state == "moved_to_sds":
        return _moved(actor, d.pk, ever_listed=True, depth=_depth)
    if not (d.state in ENDED_STATES or (d.state == "designated" and d.term_end < ctx.today)):
        return check(actor, designation)
    ctx.ended = True
    for name, fn in CHECKS:
        if name != "designation" and not fn(ctx)[0]:
            return DECISIONS[name]
    return ENDED_ALLOWED


def _moved(actor, pk: int, *, ever_listed: bool, depth: int) -> Decision:
    d = facts.designation(facts.for_request(actor), pk)
    successor = d.successor_id if d is not None else None
    if successor is None or depth > 3:
        return MOVED_TO_SDS if ever_listed else NO_DESIGNATION
    decision = check(actor, successor)
    if decision.code == "designation_not_in_force":
        decision = check_ended(actor, successor, depth + 1)
    if decision.allowed:
        return SDS_ALLOWED
    if decision.code != NO_DESIGNATION.code:
        return decision  # on the SDS list, failing a condition of their own there
    return MOVED_TO_SDS if ever_listed else NO_DESIGNATION


def readable_designation_ids(actor) -> list[int]:
    """The designations `check` allows for the actor (for `policy.scope`): the same functions over
    the actor's open entries, read at once."""
    account = actor.account
    if account is None or not account.is_active:
        return []
    cache = facts.for_request(actor)
    ids = facts.preload_listings(cache, account.pk)
    return [pk for pk in ids if check(actor, pk).allowed]


def evaluate(*, account_id: int, designation, owner=None, third_party: bool = False) -> list[Condition]:
    """Every condition with pass/fail for one account and designation.

    For the account itself (`third_party=False`) the details say why; for someone else (a list
    keeper checking a candidate) the assessment detail is coarse: valid or not, never suspended or
    expired (least knowledge, ARCHITECTURE rule 4).
    """
    ctx = _context(account_id, designation, owner)
    if isinstance(ctx, Decision):
        # Missing, or never listed: the same answer either way (no existence oracle). Nothing about
        # the designation — its state, its tier, hence which assessment counts — is theirs to learn.
        return [Condition(name, False, True, "not_listed" if name == "handler_list" else "hidden",
                          DENIALS[name][0]) for name, _ in CHECKS]
    out: list[Condition] = []
    for name, fn in CHECKS:
        passed, detail = fn(ctx)
        if third_party and name == "assessment" and not passed:
            detail = "not_valid"
        out.append(Condition(name, passed, detail != "not_applicable", detail, DENIALS[name][0]))
    return out


def eligibility(*, account_id: int, designation, organisation, department: str = "", contract=None,
                owner=None) -> list[Condition]:
    """Whether a candidate may be added to a list: the conditions a list keeper must see before
    adding (assessment, designation in force, and for business staff the contract and department),
    evaluated on the entry the keeper proposes. The briefing comes after adding, before first access."""
    from hozen.core.roles import OrganisationKind

    cache = facts.for_request(owner)
    today, now = _now()
    pk = designation if isinstance(designation, int) else designation.pk
    d = facts.designation(cache, pk)
    if d is None:
        raise ValueError(f"no designation {pk}")
    contract_facts = None
    if contract is not None:
        cert = contract.certification
        contract_facts = facts.ContractFacts(
            contract.pk, contract.organ_id, contract.business_id, contract.valid_from, contract.valid_until,
            contract.terminated_on, tuple(contract.authorised_departments or ()), cert.certified_on,
            cert.suspended_on, cert.revoked_on)
    hypothetical = facts.EntryFacts(0, organisation.pk, organisation.kind == OrganisationKind.BUSINESS, department,
                                    today, today, now, None, "", contract_facts)
    ctx = _Ctx(account_id, cache, today, now, d, hypothetical, True)
    out = []
    for name, fn in CHECKS:
        if name in ("handler_list", "briefing"):
            continue
        passed, detail = fn(ctx)
        if name == "assessment" and not passed:
            detail = "not_valid"  # least knowledge: never why (ARCHITECTURE rule 4)
        out.append(Condition(name, passed, detail != "not_applicable", detail, DENIALS[name][0]))
    return out
