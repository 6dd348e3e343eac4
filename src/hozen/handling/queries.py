"""Reads for the handling screens, API and CLI: handler lists, the explanation, briefing status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from hozen.access import policy
from hozen.core.errors import NotFound
from hozen.core.models import Account

from . import briefings, conditions
from .models import BriefingAcknowledgement, EndReason, HandlerEntry, ReviewCampaign


def designation_for_keeper(actor, pk):
    """A designation whose list the actor keeps: 404 when not visible, 403 (policy) for a wrong role."""
    from hozen.designation.queries import designation_for

    designation = designation_for(actor, pk)
    policy.require(actor, "handling.list.view", designation)
    return designation


def designation_by_reference_for_keeper(actor, reference: str):
    from hozen.designation.models import Designation

    pk = Designation.objects.filter(reference=reference).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound
    return designation_for_keeper(actor, pk)


@dataclass(frozen=True)
class Row:
    entry: HandlerEntry
    status: str  # active | lapsed | ended
    detail: str  # the lapse or end reason, for the keeper

    @property
    def review_due(self) -> bool:
        return self.status == "active" and self.entry.review_due <= timezone.localdate()

    @property
    def end_label(self) -> str:
        """Why the entry ended or lapsed, for screens ("" while active)."""
        return str(END_REASON_LABELS.get(self.detail, self.detail)) if self.status != "active" else ""


def _rows(entries) -> list[Row]:
    """Entries with their status as the dates and facts decide today: an entry that has lapsed
    (end date passed, departure, role revoked, contract or designation ended) is "lapsed" at once,
    before the daily job records it (ARCHITECTURE rule 9)."""
    from .services import lapse_reasons

    lapsed = lapse_reasons(entries, timezone.localdate())
    out = []
    for e in entries:
        if e.ended_at is not None:
            out.append(Row(e, "ended", e.end_reason))
        elif e.pk in lapsed:
            out.append(Row(e, "lapsed", lapsed[e.pk]))  # the daily job will record it; access already ended
        else:
            out.append(Row(e, "active", ""))
    return out


def handler_list(actor, designation, *, include_ended: bool = False) -> list[Row]:
    """The actor's organisation's list for one designation (asks the policy first). An entry that
    has lapsed by its dates or facts shows as lapsed at once, before the daily job records it."""
    policy.require(actor, "handling.list.view", designation)
    qs = (HandlerEntry.objects.filter(designation=designation, organisation=actor.organisation)
          .select_related("account__person", "designation", "organisation", "contract__certification")
          .order_by("ended_at", "account__person__family_name_kana", "id"))
    if not include_ended:
        qs = qs.filter(ended_at__isnull=True)
    return _rows(list(qs))


def entry_for(actor, pk) -> HandlerEntry:
    """One entry the actor may see (its keepers, the person listed); 404 alike for missing and forbidden."""
    from hozen import audit

    try:
        entry = (HandlerEntry.objects.select_related("designation", "organisation", "account__person")
                 .filter(pk=int(pk)).first())
    except (ValueError, TypeError, OverflowError):
        entry = None
    if entry is None:
        audit.record(actor, "handling.handler.view", {"type": "handling.handlerentry", "id": str(pk)[:40]},
                     outcome="denied", details={"reason": "not_found"})
        raise NotFound
    decision = policy.decide(actor, "handling.handler.view", entry)
    if not decision.allowed:
        # Audited with the entry; the caller hears 404 exactly as for a missing one.
        audit.record_denial(actor, decision, "handling.handler.view", entry)
        raise NotFound
    return entry


def staff_candidates(actor, designation):
    """Accounts of the keeper's organisation not on this list yet (for the add form)."""
    policy.require(actor, "handling.handler.add", designation)
    listed = HandlerEntry.objects.filter(designation=designation, ended_at__isnull=True).values("account_id")
    return (Account.objects.filter(is_active=True, role_assignments__organisation=actor.organisation,
                                   role_assignments__revoked_at__isnull=True)
            .exclude(pk__in=listed).select_related("person").distinct().order_by("person__family_name_kana", "pk"))


def staff_account_for(actor, designation, account_id) -> Account:
    """A candidate by id: only the keeper's own staff (others look missing)."""
    try:
        return (Account.objects.filter(is_active=True, role_assignments__organisation=actor.organisation,
                                       role_assignments__revoked_at__isnull=True)
                .select_related("person").distinct().get(pk=account_id))
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def account_by_username_for(actor, username: str) -> Account:
    account = Account.objects.filter(username=username, is_active=True).first()
    if account is None:
        raise NotFound
    return account


def office_holder_for(actor, username: str) -> Account:
    """The person an exempt office is recorded for: for a security officer only their own organ's
    head (anyone else looks missing); the server's operator and the Cabinet Office's system
    administrator may name any account (the policy then says who may be recorded)."""
    from hozen.core.roles import OrganisationKind, Role

    accounts = Account.objects.filter(username=username, is_active=True)
    if not (actor.is_system and actor.channel == "cli"):
        if actor.assignment is None:
            raise NotFound
        if not (actor.role == Role.SYSADMIN and actor.organisation.kind == OrganisationKind.CABINET_OFFICE):
            accounts = accounts.filter(role_assignments__organisation=actor.organisation,
                                       role_assignments__role=Role.ORGAN_HEAD,
                                       role_assignments__revoked_at__isnull=True).distinct()
    account = accounts.first()
    if account is None:
        raise NotFound
    return account


def eligibility_for(actor, designation, account: Account, *, department: str = "", contract=None):
    """Why a candidate can or cannot be added (coarse about their assessment: least knowledge).

    It tells the list keeper whether the candidate holds a valid favourable assessment: a read about
    an assessed person, so it is on the candidate's "who has read my data" (issue 12 §7)."""
    from hozen.assessment.reads import shown

    policy.require(actor, "handling.handler.add", designation)
    if contract is None and department:
        from .services import _contract_for

        contract = _contract_for(designation, actor.organisation, department)
    found = conditions.eligibility(account_id=account.pk, designation=designation, organisation=actor.organisation,
                                   department=department, contract=contract, owner=actor)
    shown(actor, "handler_eligibility", [account.person], purpose="handler_list_keeping")
    return found


def reviews_for(actor):
    """Open review campaigns of the actor's organisation (keepers only; others see none)."""
    if actor.assignment is None:
        return ReviewCampaign.objects.none()
    rows = (ReviewCampaign.objects.filter(organisation=actor.organisation, closed_at__isnull=True)
            .select_related("designation").order_by("due_on", "id"))
    return [r for r in rows if policy.decide(actor, "handling.review", r.designation).allowed]


def my_entries(actor):
    """The actor's own entries (open and ended), newest first."""
    if actor.account is None:
        return HandlerEntry.objects.none()
    return (HandlerEntry.objects.filter(account=actor.account).select_related("designation", "organisation")
            .order_by("ended_at", "-added_at"))


def my_rows(actor, *, limit: int | None = None) -> list[Row]:
    """The actor's own entries with their status as the dates decide today (active, lapsed, ended)."""
    qs = my_entries(actor).select_related("account", "contract__certification")
    return _rows(list(qs[:limit] if limit else qs))


# --- explanation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Explanation:
    designation_id: int | None
    reference: str | None  # shown only to someone who may know the designation
    tier: str | None  # likewise (for the briefing link)
    allowed: bool
    code: str
    reason_ja: str
    reason_en: str
    conditions: list[conditions.Condition]

    def reason(self, language: str | None) -> str:
        return self.reason_en if (language or "ja").startswith("en") else self.reason_ja


def _knows(actor, designation) -> bool:
    """Whether the actor may learn that this designation exists: ever on its list, or may view it."""
    return (HandlerEntry.objects.filter(designation_id=designation.pk, account=actor.account).exists()
            or policy.decide(actor, "designation.view", designation).allowed)


def explainable_designation(actor, reference: str) -> int | None:
    """The id behind a reference typed on the explain screen, only when the actor may know it; None
    for an unknown reference and for one the actor may not know alike."""
    from hozen.designation.models import Designation

    if actor.account is None:
        return None
    d = Designation.objects.filter(reference=(reference or "").strip()).first()
    if d is None or not _knows(actor, d):
        return None
    return d.pk


def explain(actor, designation) -> Explanation:
    """Every condition of `designation.material.read` for the actor, with pass/fail and why.

    Only the actor's own facts: never who else is listed, never another person's data. Someone
    never listed learns only that they are not on the list (the designation's state stays hidden).
    """
    from hozen.designation.models import Designation

    policy.require(actor, "designation.material.explain", designation)
    pk = designation if isinstance(designation, int) else getattr(designation, "pk", None)
    decision = policy.decide(actor, "designation.material.read", pk)
    if decision.code == "designation_not_in_force":
        # Ended material: what the vault applies to it (still a valid handler, or the SDS successor's rule).
        decision = policy.decide(actor, "designation.material.read_ended", pk)
    rows = conditions.evaluate(account_id=actor.account.pk, designation=pk, owner=actor)
    reference = tier = None
    if pk is not None:
        d = Designation.objects.filter(pk=pk).first()
        if d is not None:
            if _knows(actor, d):
                reference, tier = d.reference, d.tier
    return Explanation(pk, reference, tier, decision.allowed, decision.code, decision.reason_ja, decision.reason_en,
                       rows)


# --- briefings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BriefingStatus:
    briefing: briefings.Briefing
    acknowledgement: BriefingAcknowledgement | None
    current: bool
    due_on: dt.date | None  # when it must be acknowledged again


def briefing_status(actor, tier: str) -> BriefingStatus:
    policy.require(actor, "handling.briefing.view", None)
    briefing = briefings.current(tier)
    ack = (BriefingAcknowledgement.objects.filter(account=actor.account, tier=tier)
           .order_by("-acknowledged_at", "-id").first())
    current = False
    due_on = None
    if ack is not None:
        age = dt.timedelta(days=briefings.max_age_days())
        due_on = timezone.localdate(ack.acknowledged_at + age)
        current = (ack.rules_pack_id == briefing.pack_id and ack.briefing_version == briefing.version
                   and ack.text_sha256 == briefing.sha256 and ack.acknowledged_at + age >= timezone.now())
    return BriefingStatus(briefing, ack, current, due_on)


END_REASON_LABELS = dict(EndReason.choices)


def kept_designations(actor):
    """Designations in force (by their dates) whose list the actor keeps, with their open entry counts."""
    from django.db.models import Count

    from hozen.access.rules.handling import BUSINESS_KEEPERS, ORGAN_KEEPERS
    from hozen.core.roles import OrganisationKind
    from hozen.designation.models import Designation, State, state_q

    if actor.assignment is None:
        return Designation.objects.none()
    org = actor.organisation
    keepers = BUSINESS_KEEPERS if org.kind == OrganisationKind.BUSINESS else ORGAN_KEEPERS
    if actor.role not in keepers:
        return Designation.objects.none()
    # In force as the dates decide (rule 9): a term that ended yesterday is off the list today.
    in_force = state_q(State.DESIGNATED, timezone.localdate())
    return (Designation.objects.filter(Q(organisation=org) | Q(holders__organisation=org), in_force)
            .annotate(handlers=Count("handler_entries", filter=Q(handler_entries__organisation=org,
                                                                 handler_entries__ended_at__isnull=True),
                                     distinct=True))
            .distinct().order_by("-year", "-serial", "-id"))
