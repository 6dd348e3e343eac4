"""Every write of handler lists and briefings: one use case per function, one transaction, audited.

DOMAIN §5. Who may act is the policy's (`hozen.access.rules.handling`); whether a person may be
listed is `conditions.eligibility`, the same condition functions the access decision runs.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.models import Account
from hozen.core.roles import OrganisationKind

from . import briefings, conditions
from .models import BriefingAcknowledgement, EndReason, HandlerEntry, OfficeHolding, ReviewCampaign


def today() -> dt.date:
    return timezone.localdate()


def review_interval_days() -> int:
    """How often a list keeper confirms each handler (periodic review campaign)."""
    return int(getattr(settings, "HOZEN_HANDLER_REVIEW_DAYS", 365))


def review_window_days() -> int:
    return int(getattr(settings, "HOZEN_HANDLER_REVIEW_WINDOW_DAYS", 30))


def _is_staff_of(account: Account, organisation) -> bool:
    return account.role_assignments.filter(organisation=organisation, revoked_at__isnull=True).exists()


def _contract_for(designation, business, department: str):
    """The active contract of the holding organ with the business that covers the department."""
    from hozen.operators.models import Contract

    on = today()
    for contract in (Contract.objects.filter(organ_id=designation.organisation_id, business=business)
                     .select_related("certification").order_by("-valid_until", "-id")):
        if contract.is_active(on) and department in (contract.authorised_departments or []):
            return contract
    return None


def refusal_message(failing: list[conditions.Condition]) -> tuple[str, str]:
    ja = "この人を取扱者名簿に記載できません: " + "、".join(
        f"{c.label('ja')}（{c.reason('ja')}）" for c in failing)
    en = "This person cannot be added to the handler list: " + "; ".join(
        f"{c.label('en')} ({c.reason('en')})" for c in failing)
    return ja, en


@transaction.atomic(durable=True)
def add_handler(*, actor, designation, account: Account, ends_on: dt.date | None = None, reason: str = "",
                department: str = "", contract=None) -> HandlerEntry:
    """Put `account` on the actor's organisation's handler list of `designation` (need to know).

    Business staff (a list kept by a business, for provided material) need a department the
    contract of the holding organ allows; the contract is found when not given. The entry ends on
    `ends_on` (default: the designation's term end, or the contract's end if sooner).
    """
    policy.require(actor, "handling.handler.add", designation)
    organisation = actor.organisation
    on = today()
    reason = (reason or "").strip()
    department = (department or "").strip()
    if len(reason) > 300:
        raise RuleViolation("reason_too_long", "理由は300文字以内で入力してください。",
                            "The reason must be at most 300 characters.", field="reason")
    if not isinstance(account, Account) or not account.is_active:
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
            contract = _contract_for(designation, organisation, department)
        elif contract.business_id != organisation.pk:
            raise RuleViolation("wrong_contract", "自社の契約を選んでください。", "Choose a contract of your business.",
                                field="contract")
    else:
        contract = None
    failing = [c for c in conditions.eligibility(account_id=account.pk, designation=designation,
                                                 organisation=organisation, department=department,
                                                 contract=contract, owner=actor) if not c.passed]
    if failing:
        ja, en = refusal_message(failing)
        raise RuleViolation("cannot_add_handler", ja, en, field="account")
    latest = designation.term_end
    if contract is not None:
        latest = min(latest, contract.valid_until)
    ends_on = ends_on or latest
    if not isinstance(ends_on, dt.date) or isinstance(ends_on, dt.datetime):
        raise RuleViolation("invalid_date", "日付を入力してください。", "Enter a date.", field="ends_on")
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
        raise RuleViolation("already_listed", "この人は既に取扱者名簿に記載されています。",
                            "This person is already on the handler list.", field="account") from None
    audit.record(actor, "handling.handler.added", entry, details={
        "designation": designation, "account_id": account.pk, "organisation": organisation.code,
        "contract": contract, "ends_on": ends_on})
    return entry


def _end(actor, entry: HandlerEntry, reason: str) -> HandlerEntry:
    entry.ended_at = timezone.now()
    entry.ended_by = actor.describe()
    entry.end_reason = reason
    entry.save(update_fields=["ended_at", "ended_by", "end_reason"])
    return entry


def _locked(entry: HandlerEntry) -> HandlerEntry:
    return HandlerEntry.objects.select_for_update().select_related("designation").get(pk=entry.pk)


@transaction.atomic(durable=True)
def remove_handler(*, actor, entry: HandlerEntry, reason: str = "") -> HandlerEntry:
    """Take a person off the list; their access ends with this transaction."""
    entry = _locked(entry)
    policy.require(actor, "handling.handler.remove", entry)
    if entry.ended_at is not None:
        raise RuleViolation("already_ended", "この記載は既に終了しています。", "This entry has already ended.")
    _end(actor, entry, EndReason.REMOVED)
    audit.record(actor, "handling.handler.removed", entry, details={
        "designation": entry.designation, "account_id": entry.account_id, "reason_given": bool(reason.strip())})
    _close_campaign_if_done(entry)
    return entry


@transaction.atomic(durable=True)
def confirm_handler(*, actor, entry: HandlerEntry) -> HandlerEntry:
    """Review: the keeper confirms the person still needs to know; the next review is scheduled."""
    entry = _locked(entry)
    policy.require(actor, "handling.handler.confirm", entry)
    if entry.ended_at is not None:
        raise RuleViolation("already_ended", "この記載は既に終了しています。", "This entry has already ended.")
    on = today()
    entry.last_confirmed_on = on
    entry.review_due = on + dt.timedelta(days=review_interval_days())
    entry.save(update_fields=["last_confirmed_on", "review_due"])
    audit.record(actor, "handling.handler.confirmed", entry, details={
        "designation": entry.designation, "account_id": entry.account_id, "next_review": entry.review_due})
    _close_campaign_if_done(entry)
    return entry


@transaction.atomic(durable=True)
def remove_at_review(*, actor, entry: HandlerEntry) -> HandlerEntry:
    entry = _locked(entry)
    policy.require(actor, "handling.handler.confirm", entry)
    if entry.ended_at is not None:
        raise RuleViolation("already_ended", "この記載は既に終了しています。", "This entry has already ended.")
    _end(actor, entry, EndReason.REVIEW_REMOVED)
    audit.record(actor, "handling.handler.removed", entry, details={
        "designation": entry.designation, "account_id": entry.account_id, "at_review": True})
    _close_campaign_if_done(entry)
    return entry


def _close_campaign_if_done(entry: HandlerEntry) -> None:
    campaign = ReviewCampaign.objects.filter(designation_id=entry.designation_id, organisation_id=entry.organisation_id,
                                             closed_at__isnull=True).first()
    if campaign is None:
        return
    pending = HandlerEntry.objects.filter(designation_id=entry.designation_id, organisation_id=entry.organisation_id,
                                          ended_at__isnull=True, review_due__lte=campaign.due_on).exists()
    if not pending:
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])


@transaction.atomic(durable=True)
def acknowledge_briefing(*, actor, tier: str = "esi", text_sha256: str | None = None,
                         language: str = "ja") -> BriefingAcknowledgement:
    """The actor acknowledges the briefing of the rules pack in force for `tier` (DOMAIN §5 (4)).

    `text_sha256`, when given, is the hash of the text the person read: if the text changed
    meanwhile (a new rules pack), nothing is recorded and they read the new one.
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
def record_office_holding(*, actor, account: Account, office: str, since: dt.date,
                          until: dt.date | None = None) -> OfficeHolding:
    """Record that a person holds an exempt office of the rules pack (DOMAIN §5)."""
    from hozen.rules.queries import current_pack

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
    if until is not None and until < since:
        raise RuleViolation("ends_before_it_starts", "終了日が開始日より前です。", "The end is before the start.",
                            field="until")
    holding = OfficeHolding.objects.create(account=account, office=office, since=since, until=until,
                                           recorded_by=actor.describe())
    audit.record(actor, "handling.office.recorded", holding, details={"account_id": account.pk, "office": office})
    return holding


# --- the daily job -----------------------------------------------------------------------------

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


@transaction.atomic(durable=True)
def lapse_and_review(*, actor, on: dt.date | None = None) -> dict:
    """Record the lapses the policy already applies (end date, departure, contract or designation
    ended) and open a review campaign for every list with entries due. Idempotent."""
    from hozen.assessment.models import ReportableEvent

    policy.require(actor, "handling.lapse", None)
    on = on or today()
    open_entries = list(HandlerEntry.objects.select_for_update(of=("self",))
                        .filter(ended_at__isnull=True)
                        .select_related("designation", "contract__certification", "account"))
    person_ids = {e.account.person_id for e in open_entries}
    departures: dict = {}
    for person_id, kind, occurred_on, reported_at in (ReportableEvent.objects
                                                       .filter(clearance__person_id__in=person_ids,
                                                               kind__in=("left", "transferred"))
                                                       .values_list("clearance__person_id", "kind", "occurred_on",
                                                                    "reported_at")):
        departures.setdefault(person_id, []).append((kind, occurred_on, reported_at))
    from hozen.core.models import RoleAssignment

    staff_of = set(RoleAssignment.objects.filter(account_id__in={e.account_id for e in open_entries},
                                                 revoked_at__isnull=True)
                   .values_list("account_id", "organisation_id"))
    lapsed = 0
    for entry in open_entries:
        reason = _lapse_reason(entry, on, departures, staff_of)
        if reason is None:
            continue
        _end(actor, entry, reason)
        audit.record(actor, "handling.handler.lapsed", entry, details={
            "designation": entry.designation, "account_id": entry.account_id, "reason": reason})
        lapsed += 1
    opened = 0
    due_by = on + dt.timedelta(days=review_window_days())
    lists = (HandlerEntry.objects.filter(ended_at__isnull=True, review_due__lte=due_by)
             .values_list("designation_id", "organisation_id").distinct())
    for designation_id, organisation_id in set(lists):
        if ReviewCampaign.objects.filter(designation_id=designation_id, organisation_id=organisation_id,
                                         closed_at__isnull=True).exists():
            continue
        campaign = ReviewCampaign.objects.create(designation_id=designation_id, organisation_id=organisation_id,
                                                 opened_on=on, due_on=due_by)
        audit.record(actor, "handling.review.opened", campaign, details={
            "designation_id": designation_id, "organisation_id": organisation_id, "due_on": due_by})
        opened += 1
    return {"lapsed": lapsed, "reviews_opened": opened}
