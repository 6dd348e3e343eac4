"""Every write of handler lists and briefings: one use case per function, one transaction, audited.

DOMAIN §5. Who may act is the policy's (`hozen.access.rules.handling`); whether a person may be
listed is `conditions.eligibility`, the same condition functions the access decision runs.

Lock what you check (ARCHITECTURE rule 8): each service re-reads the rows it decides on inside its
own transaction (`hozen.core.rows.lock`), whatever instance the caller passed, and saves only the
fields it changes. Adding someone depends on the designation being in force, so it locks the
designation row first (the designation services lock it too: a cancellation, expiry or move to SDS
and an addition are applied in one order, never interleaved), then the entry's own rows. The audit
entries carry what the replay needs (`hozen.handling.reconcile`): state, end reason, dates, ids.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import notices, rows
from hozen.core.errors import NotFound, RuleViolation
from hozen.core.models import Account
from hozen.core.roles import OrganisationKind
from hozen.core.text import check_date, clean

from . import briefings, conditions
from .locking import lock_designation
from .models import BriefingAcknowledgement, EndReason, HandlerEntry, OfficeHolding, ReviewCampaign

OPEN, ENDED = "open", "ended"


def today() -> dt.date:
    return timezone.localdate()


def review_interval_days() -> int:
    """How often a list keeper confirms each handler (periodic review campaign)."""
    return int(getattr(settings, "HOZEN_HANDLER_REVIEW_DAYS", 365))


def review_window_days() -> int:
    return int(getattr(settings, "HOZEN_HANDLER_REVIEW_WINDOW_DAYS", 30))


def _is_staff_of(account: Account, organisation) -> bool:
    return account.role_assignments.filter(organisation=organisation, revoked_at__isnull=True).exists()


def _contract_for(designation, business, department: str, *, lock: bool = False):
    """The active contract of the holding organ with the business that covers the department
    (`lock`: the one chosen is locked for the caller's transaction, so it is decided on as it is)."""
    from hozen.operators.models import Contract

    on = today()
    for contract in (Contract.objects.filter(organ_id=designation.organisation_id, business=business)
                     .select_related("certification").order_by("-valid_until", "-id")):
        if contract.is_active(on) and department in (contract.authorised_departments or []):
            return rows.lock(Contract, contract, related=("certification",)) if lock else contract
    return None


def refusal_message(failing: list[conditions.Condition]) -> tuple[str, str]:
    ja = "この人を取扱者名簿に記載できません: " + "、".join(
        f"{c.label('ja')}（{c.reason('ja')}）" for c in failing)
    en = "This person cannot be added to the handler list: " + "; ".join(
        f"{c.label('en')} ({c.reason('en')})" for c in failing)
    return ja, en


def _entry_details(entry: HandlerEntry, **extra) -> dict:
    """What every lifecycle entry of a handler entry records (ids, codes and dates only), so the
    log replays to the row (`hozen.handling.reconcile`)."""
    return {"designation": {"type": "designation.designation", "id": str(entry.designation_id)},
            "account_id": entry.account_id, "state": OPEN if entry.ended_at is None else ENDED,
            "ends_on": entry.ends_on, "review_due": entry.review_due, **extra}


@transaction.atomic(durable=True)
def add_handler(*, actor, designation, account: Account | int, ends_on: dt.date | None = None, reason: str = "",
                department: str = "", contract=None) -> HandlerEntry:
    """Put `account` on the actor's organisation's handler list of `designation` (need to know).

    Business staff (a list kept by a business, for provided material) need a department the
    contract of the holding organ allows; the contract is found when not given. The entry ends on
    `ends_on` (default: the designation's term end, or the contract's end if sooner).

    `designation` and `account` are instances or ids: both are read afresh and locked here, the
    designation first (`locking.lock_designation`: one lock order with the designation services),
    so an addition and a cancellation of the same designation are applied one after the other: the
    addition either comes first, or sees the designation ended and is refused. Whether it is in force is decided
    on its dates today (ARCHITECTURE rule 9), not on what the daily job has recorded. Two keepers
    adding the same person at once: the database's partial unique constraint (one open entry per
    person and designation) refuses the second with `already_listed`.
    """
    designation = lock_designation(designation, related=("organisation",))
    policy.require(actor, "handling.handler.add", designation)
    organisation = actor.organisation
    on = today()
    reason = _need_to_know(reason)
    department = clean(department, field="department", label=("所属部署", "Department"),
                       max_length=HandlerEntry._meta.get_field("department").max_length)
    account_pk = account.pk if isinstance(account, Account) else account
    try:
        account = rows.lock(Account, account_pk)
    except NotFound:
        account = None
    if account is None or not account.is_active:
        raise RuleViolation("unknown_account", "アカウントが見つかりません。", "No such account.", field="account")
    if not _is_staff_of(account, organisation):
        raise RuleViolation("not_staff", "記載できるのは自組織の職員のみです。",
                            "Only your own organisation's staff can be put on its list.", field="account")
    is_business = organisation.kind == OrganisationKind.BUSINESS
    if is_business:
        if not department:
            raise RuleViolation("department_required", "所属部署を入力してください。", "Enter the department.",
                                field="department")
        if contract is None:
            contract = _contract_for(designation, organisation, department, lock=True)
        else:
            from hozen.operators.models import Contract

            contract = rows.lock(Contract, contract, related=("certification",))
            if contract.business_id != organisation.pk:
                raise RuleViolation("wrong_contract", "自社の契約を選んでください。",
                                    "Choose a contract of your business.", field="contract")
    else:
        contract = None
    # Facts read afresh (owner=None): the designation as locked, not as this request first saw it.
    failing = [c for c in conditions.eligibility(account_id=account.pk, designation=designation,
                                                 organisation=organisation, department=department,
                                                 contract=contract, owner=None) if not c.passed]
    if failing:
        ja, en = refusal_message(failing)
        raise RuleViolation("cannot_add_handler", ja, en, field="account")
    latest = designation.term_end
    if contract is not None:
        latest = min(latest, contract.valid_until)
    ends_on = check_date(ends_on or latest, field="ends_on", label=("取扱いの終了日", "Need to know until"))
    if ends_on < on:
        raise RuleViolation("ends_in_past", "終了日は今日以降にしてください。", "The end date cannot be in the past.",
                            field="ends_on")
    if ends_on > latest:
        raise RuleViolation("ends_after_designation", f"終了日は {latest:%Y-%m-%d} 以前にしてください（指定又は契約の終了日）。",
                            f"The end date must be on or before {latest:%Y-%m-%d} (the designation's or contract's end).",
                            field="ends_on")
    try:
        with transaction.atomic():
            entry = HandlerEntry.objects.create(
                designation=designation, organisation=organisation, account=account, department=department,
                contract=contract, reason=reason, starts_on=on, ends_on=ends_on, added_by=actor.describe(),
                review_due=on + dt.timedelta(days=review_interval_days()))
    except IntegrityError:
        # DOMAIN §5: one open entry per person and designation (the partial unique constraint).
        raise RuleViolation("already_listed", "この人は既に取扱者名簿に記載されています。",
                            "This person is already on the handler list.", field="account") from None
    audit.record(actor, "handling.handler.added", entry, details=_entry_details(
        entry, organisation=organisation.code, contract=contract, starts_on=on))
    if not _briefed(account, designation.tier, on):  # told only that a briefing waits, never what for
        notices.queue(account, "briefing_due", "dashboard")
    return entry


def _briefed(account: Account, tier: str, on: dt.date) -> bool:
    """Whether the person acknowledged the current briefing of `tier` within its maximum age."""
    try:
        briefing = briefings.current(tier, on)
    except RuleViolation:  # no pack in force: nothing to be briefed on
        return True
    since = timezone.now() - dt.timedelta(days=briefings.max_age_days())
    return BriefingAcknowledgement.objects.filter(account=account, tier=tier, text_sha256=briefing.sha256,
                                                  acknowledged_at__gte=since).exists()


def _need_to_know(reason) -> str:
    """Why a person needs to know (or why they are taken off): one line, as the list shows it."""
    return clean(reason, field="reason", label=("理由", "Reason"),
                 max_length=HandlerEntry._meta.get_field("reason").max_length)


def _end(actor, entry: HandlerEntry, reason: str) -> HandlerEntry:
    rows.change(entry, ended_at=timezone.now(), ended_by=actor.describe(), end_reason=reason)
    return entry


def _locked(entry: HandlerEntry | int) -> HandlerEntry:
    """The entry (an instance or an id) read afresh and locked for this transaction (rule 8)."""
    return rows.lock(HandlerEntry, entry, related=("designation", "organisation"))


def _check_open(entry: HandlerEntry) -> None:
    if entry.ended_at is not None:
        raise RuleViolation("already_ended", "この記載は既に終了しています。", "This entry has already ended.")


def _ended_details(entry: HandlerEntry, **extra) -> dict:
    return _entry_details(entry, end_reason=entry.end_reason, ended_at=entry.ended_at, **extra)


@transaction.atomic(durable=True)
def remove_handler(*, actor, entry: HandlerEntry | int, reason: str = "") -> HandlerEntry:
    """Take a person off the list; their access ends with this transaction. Two removals of one
    entry at once: the second waits for the first and finds the entry ended (`already_ended`)."""
    entry = _locked(entry)
    policy.require(actor, "handling.handler.remove", entry)
    _check_open(entry)
    reason = _need_to_know(reason)  # checked like any typed text; the log records only whether one was given
    _end(actor, entry, EndReason.REMOVED)
    audit.record(actor, "handling.handler.removed", entry,
                 details=_ended_details(entry, reason_given=bool(reason)))
    _close_campaign_if_done(actor, entry)
    return entry


#: What a lapse reason means, for a keeper told why an entry can no longer be confirmed.
LAPSES = {
    EndReason.END_DATE: ("記載の終了日を過ぎています", "its end date has passed"),
    EndReason.LEFT: ("退職が報告されています", "leaving the employer was reported"),
    EndReason.TRANSFERRED: ("異動が報告されています", "a transfer was reported"),
    EndReason.ROLE_REVOKED: ("記載した組織での役割が取り消されています", "the person's role in the listing organisation was revoked"),
    EndReason.CONTRACT_ENDED: ("契約又は認定が有効ではありません", "the contract or certification is no longer active"),
    EndReason.DESIGNATION_ENDED: ("指定が有効ではありません", "the designation is no longer in force"),
}


@transaction.atomic(durable=True)
def confirm_handler(*, actor, entry: HandlerEntry | int) -> HandlerEntry:
    """Review: the keeper confirms the person still needs to know; the next review is scheduled.

    An entry that has already lapsed by its dates or facts (end date passed, departure, role
    revoked, contract or designation ended) is not confirmed, even before the daily job records
    the lapse (ARCHITECTURE rule 9): the keeper removes it and lists the person again if need be."""
    entry = _locked(entry)
    policy.require(actor, "handling.handler.confirm", entry)
    _check_open(entry)
    on = today()
    lapsed = lapse_reasons([entry], on).get(entry.pk)
    if lapsed is not None:
        ja, en = LAPSES[lapsed]
        raise RuleViolation("entry_lapsed", f"この記載は失効しているため確認できません（{ja}）。",
                            f"This entry has lapsed and cannot be confirmed ({en}).")
    if entry.last_confirmed_on == on:
        # Issue 12 §5: a confirmation is a fact; the same one twice on one day (a double click, two
        # keepers at once: the entry's lock orders them) is refused, not logged again.
        raise RuleViolation("already_confirmed_today", "この記載は本日既に確認されています。",
                            "This entry was already confirmed today.")
    rows.change(entry, last_confirmed_on=on, review_due=on + dt.timedelta(days=review_interval_days()))
    audit.record(actor, "handling.handler.confirmed", entry,
                 details=_entry_details(entry, next_review=entry.review_due, last_confirmed_on=on))
    _close_campaign_if_done(actor, entry)
    return entry


@transaction.atomic(durable=True)
def remove_at_review(*, actor, entry: HandlerEntry | int) -> HandlerEntry:
    entry = _locked(entry)
    policy.require(actor, "handling.handler.confirm", entry)
    _check_open(entry)
    _end(actor, entry, EndReason.REVIEW_REMOVED)
    audit.record(actor, "handling.handler.removed", entry, details=_ended_details(entry, at_review=True))
    _close_campaign_if_done(actor, entry)
    return entry


def _close_campaign_if_done(actor, entry: HandlerEntry) -> None:
    """Close the list's open review campaign once no open entry is due within it. The campaign row
    is locked before the count, so two confirmations of the last two entries of one list are
    counted one after the other (the second sees the first committed) and the campaign closes."""
    pk = (ReviewCampaign.objects.filter(designation_id=entry.designation_id, organisation_id=entry.organisation_id,
                                        closed_at__isnull=True).values_list("pk", flat=True).first())
    if pk is None:
        return
    campaign = rows.lock(ReviewCampaign, pk)
    if campaign.closed_at is not None:
        return
    pending = HandlerEntry.objects.filter(designation_id=entry.designation_id, organisation_id=entry.organisation_id,
                                          ended_at__isnull=True, review_due__lte=campaign.due_on).exists()
    if not pending:
        rows.change(campaign, closed_at=timezone.now())
        audit.record(actor, "handling.review.closed", campaign, details={
            "designation_id": campaign.designation_id, "organisation_id": campaign.organisation_id,
            "state": "closed", "closed_at": campaign.closed_at})


@transaction.atomic(durable=True)
def acknowledge_briefing(*, actor, tier: str = "esi", text_sha256: str | None = None,
                         language: str = "ja") -> BriefingAcknowledgement:
    """The actor acknowledges the briefing of the rules pack in force for `tier` (DOMAIN §5 (4)).

    `text_sha256`, when given, is the hash of the text the person read: if the text changed
    meanwhile (a new rules pack), nothing is recorded and they read the new one. An
    acknowledgement only adds a row (the latest counts), so two at once are both true records.
    """
    policy.require(actor, "handling.briefing.acknowledge", None)
    if tier not in ("esi", "sds"):
        raise RuleViolation("invalid_tier", "区分は esi 又は sds です。", "The tier must be esi or sds.", field="tier")
    briefing = briefings.current(tier, today())
    if text_sha256 is not None and text_sha256 != briefing.sha256:
        raise RuleViolation("briefing_changed", "説明の内容が更新されました。最新の内容を確認してください。",
                            "The briefing has changed; read the current text.", field="text_sha256")
    now = timezone.now()
    language = "en" if (language or "ja").startswith("en") else "ja"
    ack = BriefingAcknowledgement.objects.create(
        account=actor.account, rules_pack_id=briefing.pack_id, tier=tier, briefing_version=briefing.version,
        text_sha256=briefing.sha256, language=language,
        signature=briefings.signature(account_id=actor.account.pk, briefing=briefing, acknowledged_at=now),
        acknowledged_at=now)
    audit.record(actor, "handling.briefing.acknowledged", ack, details={
        "account_id": actor.account.pk, "rules_pack": f"{briefing.pack_code} v{briefing.pack_version}",
        "briefing_version": briefing.version, "text_sha256": briefing.sha256, "signature": ack.signature})
    return ack


@transaction.atomic(durable=True)
def record_office_holding(*, actor, account: Account | int, office: str, since: dt.date,
                          until: dt.date | None = None) -> OfficeHolding:
    """Record that a person holds an exempt office of the rules pack (DOMAIN §5). The account is
    read afresh and locked: the policy asks about its roles as they are now."""
    from hozen.rules.queries import current_pack

    account = rows.lock(Account, account)
    policy.require(actor, "handling.office.record", account)
    on = today()
    codes = set()
    for tier in ("esi", "sds"):
        try:
            pack = current_pack(tier, on)
        except RuleViolation:
            continue
        if pack.has("exempt_office_holders"):
            codes |= {o["code"] for o in pack.value("exempt_office_holders")}
    if office not in codes:
        raise RuleViolation("unknown_office", f"職 {office!r} は適性評価を要しない職の一覧にありません。",
                            f"{office!r} is not an exempt office in the rules packs in force.", field="office")
    since = check_date(since, field="since", label=("就任日", "Holding since"))
    if until is not None:
        until = check_date(until, field="until", label=("退任日", "Holding until"))
    if until is not None and until < since:
        raise RuleViolation("ends_before_it_starts", "終了日が開始日より前です。", "The end is before the start.",
                            field="until")
    # Issue 12 §5: a holding is a fact; the same office from the same day recorded again is refused
    # (the account's lock orders two recordings at once).
    if OfficeHolding.objects.filter(account=account, office=office, since=since).exists():
        raise RuleViolation("office_holding_already_recorded",
                            f"この人の{since:%Y-%m-%d}からの職 {office} は既に記録されています。",
                            f"This person's holding of {office} since {since:%Y-%m-%d} is already recorded.",
                            field="since")
    holding = OfficeHolding.objects.create(account=account, office=office, since=since, until=until,
                                           recorded_by=actor.describe())
    audit.record(actor, "handling.office.recorded", holding, details={
        "account_id": account.pk, "office": office, "since": since, "until": until})
    return holding


# --- lapses: what the dates and facts already decided -----------------------------------------------

def _lapse_reason(entry: HandlerEntry, on: dt.date, departures: dict, staff_of: set) -> str | None:
    d = entry.designation
    if d.state != "designated" or d.term_end < on:
        return EndReason.DESIGNATION_ENDED
    if entry.ends_on < on:
        return EndReason.END_DATE
    if entry.contract_id is not None and not entry.contract.is_active(on):
        return EndReason.CONTRACT_ENDED
    added_on = timezone.localdate(entry.added_at)
    for kind, occurred_on, reported_at in departures.get(entry.account.person_id, ()):
        if occurred_on <= on and (reported_at >= entry.added_at or occurred_on > added_on):
            return EndReason.LEFT if kind == "left" else EndReason.TRANSFERRED
    if (entry.account_id, entry.organisation_id) not in staff_of:
        return EndReason.ROLE_REVOKED
    return None


def lapse_reasons(entries, on: dt.date) -> dict[int, str]:
    """Why each open entry has lapsed on `on` (entry id -> end reason; absent while it holds): the
    facts the access decision applies at once, read for all the entries together (two reads)."""
    from hozen.assessment.models import ReportableEvent
    from hozen.core.models import RoleAssignment

    entries = [e for e in entries if e.ended_at is None]
    if not entries:
        return {}
    person_ids = {e.account.person_id for e in entries}
    departures: dict = {}
    for person_id, kind, occurred_on, reported_at in (ReportableEvent.objects
                                                       .filter(clearance__person_id__in=person_ids,
                                                               kind__in=("left", "transferred"))
                                                       .values_list("clearance__person_id", "kind", "occurred_on",
                                                                    "reported_at")):
        departures.setdefault(person_id, []).append((kind, occurred_on, reported_at))
    staff_of = set(RoleAssignment.objects.filter(account_id__in={e.account_id for e in entries},
                                                 revoked_at__isnull=True)
                   .values_list("account_id", "organisation_id"))
    out = {}
    for entry in entries:
        reason = _lapse_reason(entry, on, departures, staff_of)
        if reason is not None:
            out[entry.pk] = reason
    return out


@transaction.atomic(durable=True)
def lapse_and_review(*, actor, on: dt.date | None = None) -> dict:
    """Record the lapses the policy already applies (end date, departure, contract or designation
    ended) and open a review campaign for every list with entries due. Idempotent.

    The job never makes anything end: access ended on the date (rule 9); this writes it on the row,
    audits it and tells the keepers. The open entries are locked (a removal at the same moment
    either comes first, and the job skips the entry, or waits for the job)."""
    policy.require(actor, "handling.lapse", None)
    on = on or today()
    open_entries = list(HandlerEntry.objects.select_for_update(of=("self",), no_key=True)
                        .filter(ended_at__isnull=True)
                        .select_related("designation", "contract__certification", "account")
                        .order_by("pk"))
    reasons = lapse_reasons(open_entries, on)
    lapsed = 0
    for entry in open_entries:
        reason = reasons.get(entry.pk)
        if reason is None:
            continue
        _end(actor, entry, reason)
        audit.record(actor, "handling.handler.lapsed", entry, details=_ended_details(entry, reason=reason))
        notices.queue(entry.account, "handler_entry_ending", "dashboard")
        _close_campaign_if_done(actor, entry)  # a review waits for nobody whose entry has lapsed
        lapsed += 1
    opened = 0
    due_by = on + dt.timedelta(days=review_window_days())
    lists = (HandlerEntry.objects.filter(ended_at__isnull=True, review_due__lte=due_by)
             .values_list("designation_id", "organisation_id").distinct())
    for designation_id, organisation_id in sorted(set(lists)):
        if ReviewCampaign.objects.filter(designation_id=designation_id, organisation_id=organisation_id,
                                         closed_at__isnull=True).exists():
            continue
        try:
            with transaction.atomic():
                campaign = ReviewCampaign.objects.create(designation_id=designation_id,
                                                         organisation_id=organisation_id, opened_on=on, due_on=due_by)
        except IntegrityError:
            continue  # one open campaign per list (the constraint): another run opened it just now
        audit.record(actor, "handling.review.opened", campaign, details={
            "designation_id": designation_id, "organisation_id": organisation_id, "due_on": due_by,
            "state": "open"})
        opened += 1
    return {"lapsed": lapsed, "reviews_opened": opened}
