"""Every write of the designation registry: one use case per function, one transaction, audited.

DOMAIN §2 and §3. The rule checks live in rules.py; the policy decides who may act.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import notices, rows
from hozen.core.errors import RuleViolation
from hozen.core.models import Organisation
from hozen.core.text import clean, visible_length
from hozen.rules.queries import current_pack

from . import inputs, rules
from .models import (
    CorrectionRequest,
    Designation,
    DraftReturn,
    Event,
    Extension,
    Holder,
    Notification,
    Provision,
    Review,
    State,
    Tier,
    state_q,
)
from .periods import add_months, last_day_of_term
from .violations import Checks


def today() -> dt.date:
    return timezone.localdate()


def _event(actor, designation, kind, *, on=None, pack=None, **details) -> Event:
    return Event.objects.create(designation=designation, kind=kind, on=on or today(), actor=actor.describe(),
                                rules_pack=pack, details=details)


def _notify_holders(designation, kind: str) -> int:
    """A written notification to every holder and recipient, in the same transaction (DOMAIN §2).

    Holders and recipients with an organisation in Hozen get theirs in the app. A recipient
    outside Hozen (a foreign government or international organisation, the Diet, its boards or a
    court) gets a record too, addressed by name with no organisation: the holding organ sends it
    in writing and follows it on its list of notices sent. One per distinct recipient name.
    """
    recipients = {h.organisation_id for h in designation.holders.all()}
    outside: dict[str, Provision] = {}
    for p in designation.provisions.order_by("provided_on", "id"):
        if p.recipient_id:
            recipients.add(p.recipient_id)
        else:
            outside.setdefault(p.recipient_name.strip(), p)
    rows = [Notification(designation=designation, recipient_id=org, kind=kind, marking=designation.marking)
            for org in sorted(recipients)]
    rows += [Notification(designation=designation, recipient=None, recipient_name=name, provision=p, kind=kind,
                          marking=designation.marking) for name, p in outside.items()]
    Notification.objects.bulk_create(rows)
    return len(rows)


def _pack_for(tier: str, on: dt.date | None = None):
    return current_pack(tier, on or today())


# --- reading ------------------------------------------------------------------------------------

def read_designation(*, actor, pk) -> Designation:
    """One designation's record for its page or the API's detail, and the read in the audit log.

    Found as `queries.designation_for` finds it: NotFound alike for missing and forbidden. Each
    read is an entry `designation.read` naming the designation (its id, never its title); an
    attempt on one the actor may not see, or that does not exist, is an entry `designation.read`
    with outcome `denied` (the policy's reason code, or `not_found`), still answered 404.
    No transaction of its own: the one entry is the only write, and a refused read must be
    recorded although the call raises.
    """
    from hozen.core.errors import NotFound

    from . import queries

    try:
        designation = queries.designation_for(actor, pk)
    except NotFound:
        target = Designation.objects.filter(pk=pk).first() if str(pk).isdigit() else None
        if target is None:
            audit.record(actor, "designation.read", {"type": "designation.designation", "id": str(pk)[:40]},
                         outcome="denied", details={"reason": "not_found"})
        else:
            audit.record_denial(actor, policy.decide(actor, "designation.view", target), "designation.read", target)
        raise
    audit.record(actor, "designation.read", designation, details={"state": designation.state})
    return designation


# --- drafting -----------------------------------------------------------------------------------

def content_problems(pack, *, category, sub_item, designated_on, term_end, in_advance, advance_reason,
                     justification_category, justification_not_public, justification_harm) -> list[RuleViolation]:
    """Every content rule of a draft, in one place (the screens, the API and the CSV import), each
    checked on its own so that all the refusals are known at once. A value of None is one already
    refused (or not given): the rules that read it are skipped, not misled."""
    checks = Checks()
    if category is not None and sub_item is not None:
        with checks.check():
            rules.check_sub_item_of_pack(pack, category, sub_item)
    if designated_on is not None:
        with checks.check():
            rules.check_not_before_regime_start(pack, designated_on)
        if term_end is not None:
            with checks.check():
                rules.check_term_within_maximum(pack, designated_on, term_end)
    if advance_reason is not None:
        with checks.check():
            rules.check_advance_reason(bool(in_advance), advance_reason)
    checks.add(rules.justification_problems(justification_category, justification_not_public, justification_harm))
    return checks.violations


def check_content(pack, **content) -> None:
    """`content_problems`, refused: the one refusal, or `Violations` carrying them all."""
    checks = Checks()
    checks.add(content_problems(pack, **content))
    checks.raise_any()


def draft_problems(pack, fields: dict) -> list[RuleViolation]:
    """The refusals the draft services would give for `fields` (those a form accepted so far), without
    writing or locking anything: a form that found errors of its own shows these beside them, so
    a person sees every problem of their draft at once (issue 15)."""
    checks = Checks()
    values = inputs.clean_draft(fields, partial=True, checks=checks)
    if "protective_measure" in fields:
        with checks.check():
            _check_protective_measure(fields["protective_measure"])
    checks.add(content_problems(pack, **{k: values.get(k) for k in CONTENT}))
    return checks.violations


def _check_protective_measure(value) -> None:
    from .models import ProtectiveMeasure

    if value not in ProtectiveMeasure.values:
        raise RuleViolation("invalid_protective_measure", "保護措置は「表示」または「通知」を選んでください。",
                            "The protective measure must be marking or written notice.",
                            field="protective_measure")


def add_holding_organ(designation: Designation) -> Holder:
    """The holding organ's holder row, from the draft on. The `designation.view` scope of the
    organ roles is then one semi-join on the holder table (an organ's holder rows are its own
    designations, drafts included, and those provided to it), which the database answers from an
    index; `organisation = X OR held` could not be (benchmarks: the COUNT(*) read every row)."""
    return Holder.objects.get_or_create(designation=designation, organisation_id=designation.organisation_id,
                                        defaults={"since": designation.designated_on})[0]


def _follow_current_version(designation: Designation, pack, *, chosen: bool = False) -> str:
    """A draft made under an older version of the same rules pack follows the version in force
    when it is next edited or approved: its category and sub-item are taken, by code, from the
    current version (what the preparer chose keeps its meaning; a decision applies the rules in
    force when it is taken). Returns the older version's name when it re-mapped, else "".

    A category or sub-item the caller chose in this very call (`chosen`) is never re-mapped: one
    from another version or pack is refused by `rules.check_sub_item_of_pack`. A code the current
    version no longer has is refused with a clear error: the preparer must choose again.
    """
    old_item, old_category = designation.sub_item, designation.category
    if chosen or (old_item.pack_id == pack.pk and old_category.pack_id == pack.pk):
        return ""
    old_pack = old_item.pack
    if old_pack.code != pack.code:
        return ""  # another pack altogether (e.g. SDS): the rule check refuses it
    new_item = pack.sub_items.filter(code=old_item.code).first()
    new_category = pack.categories.filter(code=old_category.code).first()
    if new_item is None or new_category is None:
        raise RuleViolation(
            "sub_item_not_in_current_version",
            f"細目 {old_item.code} は現行の規則（{pack}）にありません。区分・細目を選び直してください。",
            f"Sub-item {old_item.code} is not in the rules pack now in force ({pack}); choose the category "
            "and sub-item again.", field="sub_item")
    designation.sub_item, designation.category = new_item, new_category
    return str(old_pack)


FIELDS = ("title", "summary", "category", "sub_item", "justification_category", "justification_not_public",
          "justification_harm", "in_advance", "advance_reason", "designated_on", "term_end", "protective_measure")


@transaction.atomic(durable=True)
def create_draft(*, actor, organisation: Organisation, tier: str = Tier.ESI, **fields) -> Designation:
    """An ESI manager prepares a draft; nothing is designated until the organ head approves it."""
    policy.require(actor, "designation.create", organisation)
    pack = _pack_for(tier)
    # Every independent check runs; all refusals at once (Violations), nothing written.
    checks = Checks()
    fields = inputs.clean_draft(fields, checks=checks)
    checks.add(content_problems(pack, **{k: fields.get(k) for k in CONTENT}))
    with checks.check():
        _check_protective_measure(fields.get("protective_measure"))
    checks.raise_any()
    designation = Designation(organisation=organisation, tier=tier, rules_pack=pack, prepared_by=actor.account,
                              **{k: fields[k] for k in FIELDS if k in fields})
    designation.save()
    add_holding_organ(designation)
    _event(actor, designation, Event.Kind.DRAFTED, pack=pack)
    audit.record(actor, "designation.drafted", designation,
                 details={"organisation": organisation.code, "state": State.DRAFT, "version": designation.version})
    # The organ head's delegates approve drafts: told only that one waits (never its title).
    notices.queue_for_role("organ_head", {organisation.pk}, "draft_decision", "designations")
    return designation


def _scratch(designation: Designation) -> Designation:
    """An unsaved copy to run the content rules on the draft as it would be saved: a refused
    change leaves the locked row as it was, and `rows.change` sees what differs."""
    return Designation(**{f.attname: getattr(designation, f.attname) for f in Designation._meta.concrete_fields})


def _locked(designation) -> Designation:
    """The designation (an instance or an id) read afresh and locked for this transaction (rule 8)."""
    return rows.lock(Designation, designation, related=("organisation", "category", "sub_item"))


CONTENT = ("category", "sub_item", "designated_on", "term_end", "in_advance", "advance_reason",
           "justification_category", "justification_not_public", "justification_harm")


@transaction.atomic(durable=True)
def update_draft(*, actor, designation: Designation | int, version: int | str | None, **fields) -> Designation:
    """Change a draft. `version` is the version the preparer opened (the form's hidden field, the
    API's If-Match): an edit of an older copy is refused (StaleEdit, 409) and one that names no
    version too (VersionRequired, 428): nobody overwrites a newer draft, or an approval, blindly."""
    designation = _locked(designation)
    policy.require(actor, "designation.update", designation)
    rows.check_version(designation, version, required=True)
    rules.check_editable(designation)
    if designation.state != State.DRAFT:
        raise RuleViolation("not_a_draft", "指定後の内容は変更できません（延長・解除の手続によります）。",
                            "A designation in force is changed only by extension or cancellation.")
    # Every independent check runs; all refusals at once (Violations), nothing written.
    checks = Checks()
    if "protective_measure" in fields:
        with checks.check():
            _check_protective_measure(fields["protective_measure"])
    values = inputs.clean_draft({key: fields[key] for key in FIELDS if key in fields}, partial=True, checks=checks)
    proposed = _scratch(designation)
    for key, value in values.items():
        setattr(proposed, key, value)
    pack = _pack_for(designation.tier)
    remapped = ""
    with checks.check():
        remapped = _follow_current_version(proposed, pack, chosen=bool({"category", "sub_item"} & set(fields)))
    failed = checks.failed
    checks.add(content_problems(pack, **{k: None if k in failed else getattr(proposed, k) for k in CONTENT}))
    checks.raise_any()
    # Saving a draft that was sent back resubmits it, changed or not: the return is answered.
    resubmitted = designation.returned_at is not None
    changed = rows.change(designation, rules_pack=pack, category=proposed.category, sub_item=proposed.sub_item,
                          **{k: v for k, v in values.items() if k not in ("category", "sub_item")},
                          **({"returned_at": None} if resubmitted else {}))
    if not changed:
        return designation
    details = {"fields": sorted(set(changed) - {"returned_at"}), "rules": str(pack), "state": designation.state,
               "version": designation.version}
    if remapped:
        details["remapped_from"] = remapped
    if resubmitted:
        DraftReturn.objects.filter(designation=designation, addressed_at__isnull=True).update(
            addressed_at=timezone.now())
        details["returned"] = False
    audit.record(actor, "designation.draft_updated", designation, details=details)
    if resubmitted:  # the organ head's delegates: the draft they sent back waits for them again
        notices.queue_for_role("organ_head", {designation.organisation_id}, "draft_decision", "designations")
    return designation


# --- designating ----------------------------------------------------------------------------------

class Reference(NamedTuple):
    year: int
    serial: int
    text: str


def _assign_reference(designation: Designation, year: int) -> Reference:
    """The next reference of the organ, tier and year. The organ's row is locked until the
    approval commits, so two approvals in one organ never take the same serial, and the serial is
    the largest committed one plus one: an approval that rolls back leaves no gap. The unique
    constraints on (organ, tier, year, serial) and on the reference back this in the database."""
    organisation = rows.lock(Organisation, designation.organisation_id)
    last = (Designation.objects.filter(organisation_id=designation.organisation_id, tier=designation.tier, year=year)
            .aggregate(m=Max("serial"))["m"]) or 0
    infix = "" if designation.tier == Tier.ESI else "SDS-"
    return Reference(year, last + 1, f"{organisation.code}-{infix}{year}-{last + 1:04d}")


@transaction.atomic(durable=True)
def approve(*, actor, designation: Designation | int, version: int | str | None = None,
            version_required: bool = False) -> Designation:
    """The organ head's delegate designates a draft (not the person who prepared it).

    The draft is locked for the approval's transaction, so an edit or a second approval waits and
    then finds it designated. `version` (the approval page sends the version it showed, the API
    its If-Match; both channels require it, `version_required`) must still be the draft's: the
    head approves exactly what they read. The reference number is taken inside this transaction,
    so a refused or rolled-back approval burns none.
    """
    designation = _locked(designation)
    policy.require(actor, "designation.approve", designation)
    rules.check_editable(designation)
    if designation.state != State.DRAFT:
        raise RuleViolation("not_a_draft", "この指定は既に承認されています。", "This designation is already approved.")
    _check_not_returned(designation)
    rows.check_version(designation, version, required=version_required)
    on = today()
    rules.check_term_not_ended(designation, on)
    pack = _pack_for(designation.tier)
    proposed = _scratch(designation)
    remapped = _follow_current_version(proposed, pack)
    check_content(pack, **{k: getattr(proposed, k) for k in CONTENT})
    reference = _assign_reference(designation, designation.designated_on.year)
    rows.change(designation, rules_pack=pack, category=proposed.category, sub_item=proposed.sub_item,
                year=reference.year, serial=reference.serial, reference=reference.text, state=State.DESIGNATED,
                approved_by=actor.account, approved_at=timezone.now(),
                review_due=add_months(designation.designated_on, pack.value("review.interval_months")))
    # The holding organ's row exists from the draft on; it holds the information from the designation date.
    Holder.objects.update_or_create(designation=designation, organisation=designation.organisation,
                                    defaults={"since": designation.designated_on})
    _event(actor, designation, Event.Kind.DESIGNATED, on=designation.designated_on, pack=pack,
           reference=designation.reference, term_end=designation.term_end.isoformat())
    details = {"reference": designation.reference, "rules": str(pack), "state": State.DESIGNATED,
               "term_end": designation.term_end, "approved_by": actor.account.username, "version": designation.version}
    if remapped:
        details["remapped_from"] = remapped
    audit.record(actor, "designation.designated", designation, details=details)
    return designation


def _check_not_returned(designation: Designation) -> None:
    """A draft sent back waits for its preparer: it is approved (or sent back again) only once they
    have saved it again, so a head never designates the text they asked to have changed."""
    if designation.returned_at is not None:
        raise RuleViolation(
            "draft_returned",
            "この指定案は作成者に差し戻されており、修正を待っています。作成者が保存し直した後に承認できます。",
            "This draft was sent back to its preparer and waits for their changes; it can be approved once "
            "they have saved it again.")


#: The longest comment a draft is sent back with (one screen of text).
RETURN_COMMENT_MAX = 2_000


@transaction.atomic(durable=True)
def return_draft(*, actor, designation: Designation | int, comment: str, version: int | str | None = None,
                 version_required: bool = False) -> DraftReturn:
    """Send a draft back (差戻し) to its preparer with a comment instead of approving it.

    Only someone who may approve the draft may (`designation.return`, the approval's rule: the
    organ head's delegate, never the preparer). The draft is locked as an approval locks it, so an
    approval and a return at once are applied in one order: the second finds the draft designated
    (`not_a_draft`) or sent back (`draft_returned`). `version` (the approval page's, the API's
    If-Match) must still be the draft's: the head sends back exactly what they read. The draft
    stays a draft; the ESI managers of the organ are told by e-mail that a draft was sent back.
    """
    designation = _locked(designation)
    policy.require(actor, "designation.return", designation)
    rules.check_editable(designation)
    if designation.state != State.DRAFT:
        raise RuleViolation("not_a_draft", "この指定は既に承認されています（差し戻せるのは指定案のみです）。",
                            "This designation is already approved: only a draft can be sent back.")
    _check_not_returned(designation)
    rows.check_version(designation, version, required=version_required)
    comment = clean(comment, field="comment", label=("差戻しの理由", "Comment"), multiline=True,
                    max_length=RETURN_COMMENT_MAX, min_visible=1, required=True)
    now = timezone.now()
    returned = DraftReturn.objects.create(designation=designation, comment=comment, returned_by=actor.account,
                                          returned_at=now, version=designation.version)
    rows.change(designation, returned_at=now)
    # No typed text in the log (issue 12 §8): the entry names the return, the comment stays on its row.
    audit.record(actor, "designation.draft_returned", designation,
                 details={"return": returned.pk, "state": designation.state, "returned": True,
                          "version": designation.version})
    notices.queue_for_role("esi_manager", {designation.organisation_id}, "draft_decision", "designations")
    return returned


# --- life after designation ---------------------------------------------------------------------

def _cap_exemption(pack, designation, claimed: str) -> str:
    """The absolute-cap exemption that applies: one the pack maps to the sub-item, or one the organ
    names (it must be in the pack's list). Empty when none applies."""
    mapped = pack.cap_exemptions(designation.sub_item) if designation.sub_item.pack_id == pack.pk else []
    if mapped:
        return mapped[0]["code"]
    claimed = (claimed or "").strip()
    if not claimed:
        return ""
    known = {e["code"] for e in (pack.value("cumulative.absolute_cap_exempt_categories") or [])}
    if claimed not in known:
        raise RuleViolation("unknown_cap_exemption", f"適用除外の区分 {claimed} は規則にありません。",
                            f"{claimed} is not an exemption in {pack}.", field="cap_exemption")
    return claimed


@transaction.atomic(durable=True)
def extend(*, actor, designation: Designation | int, new_end: dt.date, reason: str,
           cabinet_approval_ref: str = "", cap_exemption: str = "") -> Designation:
    """DOMAIN §2: extend within the pack's caps; every extension re-marks and re-notifies. Only a
    designation in force today: once its term end has passed it has expired (rule 9)."""
    designation = _locked(designation)
    policy.require(actor, "designation.extend", designation)
    pack = _pack_for(designation.tier)
    reason = inputs.reason(reason, label=("延長の理由", "Reason for the extension"))
    new_end = inputs.day(new_end, field="new_end", label=("新しい満了日", "New term end"))
    cabinet_approval_ref = clean(cabinet_approval_ref, field="cabinet_approval_ref",
                                 label=("内閣の承認の記録番号", "Cabinet approval reference"),
                                 max_length=Extension._meta.get_field("cabinet_approval_ref").max_length)
    cap_exemption = clean(cap_exemption, field="cap_exemption", label=("適用除外の区分", "Absolute-cap exemption"),
                          max_length=Extension._meta.get_field("cap_exemption").max_length)
    exemption = _cap_exemption(pack, designation, cap_exemption)
    rules.check_extension(pack, designation, new_end, cabinet_approval_ref, bool(exemption), today())
    Extension.objects.create(designation=designation, previous_end=designation.term_end, new_end=new_end,
                             reason=reason, cabinet_approval_ref=cabinet_approval_ref, rules_pack=pack,
                             decided_by=actor.account, cap_exemption=exemption)
    previous = designation.term_end
    rows.change(designation, term_end=new_end)
    _event(actor, designation, Event.Kind.EXTENDED, pack=pack, previous_end=previous.isoformat(),
           new_end=new_end.isoformat(), cabinet_approval_ref=cabinet_approval_ref)
    notified = _notify_holders(designation, Notification.Kind.EXTENDED)
    audit.record(actor, "designation.extended", designation,
                 details={"until": new_end, "previous_end": previous, "rules": str(pack), "notified": notified,
                          "state": designation.state, "term_end": new_end, "version": designation.version})
    return designation


def _end(actor, designation: Designation, state: str, kind_event: str, kind_notice: str, on: dt.date,
         reason: str) -> dict:
    """End a locked designation in `state` on `on`; returns the audit details every ending records
    (the state, the end date, how many were notified, the version)."""
    rows.change(designation, state=state, ended_on=on, end_reason=reason, review_due=None)
    _event(actor, designation, kind_event, on=on, pack=_pack_for(designation.tier))
    notified = _notify_holders(designation, kind_notice)
    return {"notified": notified, "state": state, "ended_on": on, "version": designation.version}


@transaction.atomic(durable=True)
def cancel(*, actor, designation: Designation | int, reason: str) -> Designation:
    """DOMAIN §2: cancel as soon as a requirement fails; markings change, holders are told."""
    designation = _locked(designation)
    policy.require(actor, "designation.cancel", designation)
    rules.check_in_force(designation, today(), message_ja="指定中の指定のみ解除できます。",
                         message_en="Only a designation in force can be cancelled.")
    reason = inputs.reason(reason, label=("解除の理由", "Reason for the cancellation"))
    details = _end(actor, designation, State.CANCELLED, Event.Kind.CANCELLED, Notification.Kind.CANCELLED,
                   today(), reason)
    audit.record(actor, "designation.cancelled", designation, details=details)
    return designation


@transaction.atomic(durable=True)
def review(*, actor, designation: Designation | int, requirements_met: bool, note: str = "") -> Review:
    """The yearly (configurable) review: requirements still met, or cancellation."""
    designation = _locked(designation)
    policy.require(actor, "designation.review", designation)
    on = today()
    rules.check_in_force(designation, on, message_ja="指定中の指定のみ見直せます。",
                         message_en="Only a designation in force is reviewed.")
    pack = _pack_for(designation.tier)
    note = inputs.reason(note, field="note", label=("見直しの記録", "Review note"), required=not requirements_met)
    if requirements_met:
        next_due = add_months(on, pack.value("review.interval_months"))
        row = Review.objects.create(designation=designation, reviewed_on=on, outcome=Review.Outcome.REQUIREMENTS_MET,
                                    note=note, next_due=next_due, rules_pack=pack, reviewed_by=actor.account)
        rows.change(designation, review_due=next_due)
        _event(actor, designation, Event.Kind.REVIEWED, pack=pack, next_due=next_due.isoformat())
        audit.record(actor, "designation.reviewed", designation,
                     details={"outcome": row.outcome, "state": designation.state, "version": designation.version})
        return row
    row = Review.objects.create(designation=designation, reviewed_on=on, outcome=Review.Outcome.CANCEL, note=note,
                                rules_pack=pack, reviewed_by=actor.account)
    details = _end(actor, designation, State.CANCELLED, Event.Kind.CANCELLED, Notification.Kind.CANCELLED, on, note)
    audit.record(actor, "designation.reviewed", designation, details={"outcome": row.outcome, **details})
    return row


@transaction.atomic(durable=True)
def expire_due(*, actor, on: dt.date | None = None) -> int:
    """The daily job records what the dates already decided (rule 9): designations whose term has
    ended are expired from the day after their term end (every decision already treats them so);
    the job writes the state, the ledger event and the notices to every holder (DOMAIN §2)."""
    policy.require(actor, "designation.expire")
    on = on or today()
    count = 0
    for designation in (Designation.objects.select_for_update(no_key=True).filter(state=State.DESIGNATED, term_end__lt=on)
                        .order_by("pk")):
        details = _end(actor, designation, State.EXPIRED, Event.Kind.EXPIRED, Notification.Kind.EXPIRED,
                       designation.term_end + dt.timedelta(days=1), "")
        audit.record(actor, "designation.expired", designation, details=details)
        count += 1
    return count


@transaction.atomic(durable=True)
def remind_reviews_due(*, actor, on: dt.date | None = None) -> int:
    """The daily job: an in-app notice to the holding organ's ESI managers for each designation in
    force whose review is due (today) or overdue, once per designation and due date (idempotent)."""
    from .models import ReviewReminder

    policy.require(actor, "designation.expire")
    on = on or today()
    due = (Designation.objects.filter(state_q(State.DESIGNATED, on), review_due__lte=on)
           .exclude(review_reminders__due=F("review_due")).values_list("pk", "organisation_id", "review_due"))
    rows = [ReviewReminder(designation_id=pk, organisation_id=org, due=when, overdue=when < on)
            for pk, org, when in due]
    ReviewReminder.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        audit.record(actor, "designation.review_reminders", {"type": "designation.review_reminder", "id": str(on)},
                     details={"count": len(rows), "on": on})
        notices.queue_for_role("esi_manager", {r.organisation_id for r in rows}, "review_due", "dashboard")
    return len(rows)


@transaction.atomic(durable=True)
def move_to_sds(*, actor, designation: Designation | int, reason: str, sds_category, sds_sub_item,
                term_end: dt.date, justification_harm: str) -> Designation:
    """One item is ESI or SDS, never both: cancel the ESI designation and create the SDS one, linked."""
    designation = _locked(designation)
    policy.require(actor, "designation.move_to_sds", designation)
    on = today()
    message = ("指定中の重要経済安保情報のみ特定秘密へ移行できます。", "Only an ESI designation in force can move to SDS.")
    rules.check_in_force(designation, on, message_ja=message[0], message_en=message[1])
    if designation.tier != Tier.ESI:
        raise RuleViolation("not_designated", *message)
    reason = inputs.reason(reason, label=("移行の理由", "Reason for the move"))
    justification_harm = inputs.reason(justification_harm, field="justification_harm",
                                       label=("要件（漏えいによる著しい支障）の理由", "Why a leak would significantly hinder"))
    term_end = inputs.day(term_end, field="term_end", label=("特定秘密の指定の満了日", "Term end of the SDS designation"))
    sds_pack = _pack_for(Tier.SDS, on)
    successor = Designation(
        organisation=designation.organisation, tier=Tier.SDS, rules_pack=sds_pack, title=designation.title,
        summary=designation.summary, category=sds_category, sub_item=sds_sub_item,
        justification_category=designation.justification_category,
        justification_not_public=designation.justification_not_public,
        justification_harm=justification_harm, designated_on=on, term_end=term_end,
        protective_measure=designation.protective_measure, prepared_by=actor.account,
    )
    rules.check_sub_item_of_pack(sds_pack, sds_category, sds_sub_item)
    rules.check_term_within_maximum(sds_pack, on, term_end)
    rules.check_justifications(successor.justification_category, successor.justification_not_public,
                               justification_harm)
    reference = _assign_reference(successor, on.year)
    successor.year, successor.serial, successor.reference = reference
    successor.state = State.DESIGNATED
    successor.approved_by = actor.account
    successor.approved_at = timezone.now()
    successor.review_due = add_months(on, sds_pack.value("review.interval_months"))
    successor.save()
    Holder.objects.create(designation=successor, organisation=successor.organisation, since=on)
    _event(actor, successor, Event.Kind.DESIGNATED, pack=sds_pack, predecessor=designation.reference)
    # The SDS designation's own lifecycle entry: the log names its designation as it names any other.
    audit.record(actor, "designation.designated", successor, details={
        "reference": successor.reference, "rules": str(sds_pack), "state": State.DESIGNATED,
        "term_end": term_end, "approved_by": actor.account.username, "predecessor": designation.reference,
        "version": successor.version})
    rows.change(designation, successor=successor)
    details = _end(actor, designation, State.MOVED_TO_SDS, Event.Kind.MOVED_TO_SDS, Notification.Kind.MOVED_TO_SDS,
                   on, reason)
    audit.record(actor, "designation.moved_to_sds", designation,
                 details={"successor": successor.reference, **details})
    return successor


ARCHIVES_KEY = "archives.transfer_on_refused_approval"


def _refusal_note(pack) -> tuple[str, str]:
    return (rules._TO_VERIFY_JA, rules._TO_VERIFY_EN) if pack.has(ARCHIVES_KEY) and pack.is_to_verify(
        ARCHIVES_KEY) else ("", "")


@transaction.atomic(durable=True)
def record_refused_cabinet_approval(*, actor, designation: Designation | int, requested_end: dt.date,
                                    refusal_ref: str, reason: str = "") -> Designation:
    """DOMAIN §2 (to verify for ESI): an extension past the Cabinet-approval threshold whose
    approval the Cabinet refused. Where the pack's `archives.transfer_on_refused_approval` holds,
    the designation ends and its files go to the National Archives; markings change and every
    holder and recipient is notified, as for any other ending. The audit entry and the event say
    the value applied is awaiting confirmation when the pack flags it."""
    designation = _locked(designation)
    policy.require(actor, "designation.extend", designation)
    on = today()
    rules.check_in_force(designation, on, message_ja="指定中の指定のみ記録できます。",
                         message_en="Only a designation in force can have a refused approval recorded.")
    pack = _pack_for(designation.tier)
    ja, en = _refusal_note(pack)
    if not (pack.has(ARCHIVES_KEY) and pack.value(ARCHIVES_KEY)):
        raise RuleViolation("no_archives_transfer_in_pack",
                            f"適用される規則（{pack}）には、承認が得られない場合の移管の定めがありません。{ja}",
                            f"The rules pack that applies ({pack}) provides no transfer to the archives.{en}")
    requested_end = inputs.day(requested_end, field="requested_end",
                               label=("延長で求めた満了日", "Term end the extension asked for"))
    refusal_ref = clean(refusal_ref, field="refusal_ref", label=("内閣の不承認の記録番号", "Reference of the Cabinet's refusal"),
                        max_length=Extension._meta.get_field("cabinet_approval_ref").max_length, min_visible=1,
                        required=True)
    reason = inputs.reason(reason, label=("備考", "Note"), required=False)
    threshold = pack.value("cumulative.cabinet_approval_threshold_years")
    if requested_end <= last_day_of_term(designation.designated_on, threshold):
        raise RuleViolation(
            "cabinet_approval_not_needed",
            f"通算{threshold}年を超えない延長には内閣の承認は不要です（不承認の記録はできません）。",
            f"An extension within {threshold} years in total needs no Cabinet approval, so none can be refused.",
            field="requested_end")
    rows.change(designation, state=State.TRANSFERRED, ended_on=on, review_due=None,
                end_reason=reason or f"Cabinet approval refused ({refusal_ref})")
    to_verify = pack.is_to_verify(ARCHIVES_KEY)
    event = _event(actor, designation, Event.Kind.TRANSFERRED, on=on, pack=pack, refusal_ref=refusal_ref,
           requested_end=requested_end.isoformat(), to_verify=to_verify)
    notified = _notify_holders(designation, Notification.Kind.TRANSFERRED)
    audit.record(actor, "designation.transferred_to_archives", designation,
                 # No typed text in the log (issue 12 §8): the refusal's reference is on the ledger event.
                 details={"event": event.pk, "rules": str(pack), "to_verify": to_verify,
                          "notified": notified, "state": State.TRANSFERRED, "ended_on": on,
                          "version": designation.version})
    return designation


# --- written notifications ----------------------------------------------------------------------

@transaction.atomic(durable=True)
def acknowledge_notification(*, actor, notification: Notification) -> Notification:
    """A holder or recipient confirms it received the written notice (and re-marked its copies);
    the sending organ and oversight see which notices are still unacknowledged."""
    notification = rows.lock(Notification, notification)
    policy.require(actor, "designation.notification.acknowledge", notification)
    if notification.acknowledged_at is not None:
        raise RuleViolation("already_acknowledged", "この通知は受領確認済みです。",
                            "This notice has already been acknowledged.")
    rows.change(notification, acknowledged_at=timezone.now(), acknowledged_by=actor.describe())
    audit.record(actor, "designation.notification_acknowledged", notification,
                 details={"designation": notification.designation_id, "kind": notification.kind})
    return notification


# --- oversight corrections ----------------------------------------------------------------------

@transaction.atomic(durable=True)
def request_correction(*, actor, designation: Designation, kind: str, request: str) -> CorrectionRequest:
    designation = _locked(designation)
    policy.require(actor, "designation.request_correction", designation)
    if kind not in CorrectionRequest.Kind.values:
        raise RuleViolation("invalid_kind", "是正要求の種類が不正です。", f"Unknown correction kind {kind!r}.", field="kind")
    request = inputs.reason(request, field="request", label=("是正要求の内容", "What must be corrected"))
    row = CorrectionRequest.objects.create(designation=designation, kind=kind, request=request,
                                           requested_by=actor.describe())
    _event(actor, designation, Event.Kind.CORRECTION_REQUESTED, correction_kind=kind, correction=row.pk)
    audit.record(actor, "designation.correction_requested", designation, details={"kind": kind, "correction": row.pk})
    return row


@transaction.atomic(durable=True)
def answer_correction(*, actor, correction: CorrectionRequest, answer: str) -> CorrectionRequest:
    correction = rows.lock(CorrectionRequest, correction, related=("designation",))
    policy.require(actor, "designation.answer_correction", correction.designation)
    if correction.answered_at is not None:
        raise RuleViolation("already_answered", "この是正要求には回答済みです。", "This request is already answered.")
    answer = inputs.reason(answer, field="answer", label=("回答", "Answer"))
    rows.change(correction, answer=answer, answered_by=actor.describe(), answered_at=timezone.now())
    _event(actor, correction.designation, Event.Kind.CORRECTION_ANSWERED, correction=correction.pk)
    audit.record(actor, "designation.correction_answered", correction.designation,
                 details={"correction": correction.pk})
    return correction


# --- provisions ---------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def record_provision(*, actor, designation: Designation, recipient_kind: str, basis: str, provided_on: dt.date,
                     items: str, recipient: Organisation | None = None, recipient_name: str = "",
                     contract=None, equivalence_finding: str = "", handler_list: list[str] | None = None) -> Provision:
    """DOMAIN §3: basis, recipient, items, date and the recipient's handler list, always. Only
    under a designation in force on the provision date (locked, so a cancellation waits or wins)."""
    designation = _locked(designation)
    policy.require(actor, "provision.create", designation)
    if designation.state != State.DESIGNATED:
        raise RuleViolation("not_designated", "指定中の情報のみ提供を記録できます。",
                            "Only information under a designation in force can be provided.")
    on = today()
    rules.check_term_not_ended(designation, on)
    # Only under a designation in force on the provision date: not before its designation date.
    provided_on = inputs.day(provided_on, field="provided_on", label=("提供日", "Provision date"),
                             earliest=designation.designated_on)
    if provided_on > designation.term_end:
        raise RuleViolation("provided_after_term_end", "提供日が指定の有効期間の満了日より後です。",
                            "The provision date is after the designation's term end.", field="provided_on")
    kinds = Provision.RecipientKind
    if recipient_kind not in kinds.values:
        raise RuleViolation("invalid_recipient_kind", "提供先の種類が不正です。",
                            f"Unknown recipient kind {recipient_kind!r}.", field="recipient_kind")
    basis = inputs.reason(basis, field="basis", label=("提供の根拠", "Legal basis"), min_visible=1)
    items = inputs.reason(items, field="items", label=("提供した内容", "What was provided"), min_visible=1)
    recipient_name = clean(recipient_name, field="recipient_name", label=("提供先の名称", "Recipient name"),
                           max_length=Provision._meta.get_field("recipient_name").max_length)
    equivalence_finding = inputs.reason(equivalence_finding, field="equivalence_finding",
                                        label=("同等の保護措置に関する判断", "Finding of equivalent protection"),
                                        required=False)
    if handler_list is not None and not isinstance(handler_list, list | tuple):
        raise RuleViolation("invalid_handler_list", "提供先の取扱者名簿は氏名の一覧で記録してください。",
                            "The recipient's handler list must be a list of names.", field="handler_list")
    handlers = [clean(h, field="handler_list", label=(f"提供先の取扱者名簿の{i}人目", f"Recipient's handler list, name {i}"),
                      max_length=200) for i, h in enumerate(handler_list or [], start=1)]
    handlers = [h for h in handlers if h]
    if not handlers:
        raise RuleViolation("handler_list_required", "提供先の取扱者名簿を記録してください。",
                            "Record the recipient's handler list.", field="handler_list")
    if recipient_kind in (kinds.ORGAN, kinds.BUSINESS) and recipient is None:
        raise RuleViolation("recipient_required", "提供先を選んでください。", "Choose the recipient.", field="recipient")
    if recipient_kind == kinds.ORGAN and recipient.kind not in ("administrative_organ", "cabinet_office"):
        raise RuleViolation("recipient_not_an_organ", "提供先が行政機関ではありません。",
                            "The recipient is not an administrative organ.", field="recipient")
    if recipient_kind == kinds.BUSINESS:
        if contract is not None:  # decided on the contract as stored now, locked after the designation
            from hozen.operators.models import Contract

            contract = rows.lock(Contract, contract, related=("certification",))
        if contract is None or contract.business_id != recipient.pk or contract.organ_id != designation.organisation_id:
            raise RuleViolation("contract_required", "適合事業者への提供には、当該行政機関との契約が必要です。",
                                "A provision to a business needs its contract with this organ.", field="contract")
        if not contract.is_active(provided_on):
            raise RuleViolation("contract_not_active", "認定または契約が提供日に有効ではありません。",
                                "The business's certification or contract is not active on the provision date.",
                                field="contract")
    if recipient_kind in (kinds.FOREIGN, kinds.DIET_OR_COURT) and not recipient_name:
        raise RuleViolation("recipient_name_required", "提供先の名称を記載してください。",
                            "Name the recipient.", field="recipient_name")
    if recipient_kind == kinds.FOREIGN and visible_length(equivalence_finding) < 10:
        raise RuleViolation("equivalence_finding_required",
                            "外国政府等への提供には、同等の保護措置に関する判断の記録が必要です。",
                            "A provision abroad needs the recorded finding of equivalent protection.",
                            field="equivalence_finding")
    recipient_name = recipient_name or (recipient.name_ja if recipient else "")
    # Issue 12 §5: a provision is a fact; the same one recorded twice (a double submission, a
    # retried import) is refused. The designation's lock orders two identical ones at once.
    if Provision.objects.filter(designation=designation, recipient_kind=recipient_kind, recipient=recipient,
                                recipient_name=recipient_name, provided_on=provided_on, basis=basis,
                                items=items).exists():
        raise RuleViolation("duplicate_provision",
                            f"同じ提供（{provided_on:%Y-%m-%d}、同じ提供先・根拠・内容）は既に記録されています。",
                            f"This provision ({provided_on:%Y-%m-%d}, same recipient, basis and items) is already "
                            "recorded.", field="provided_on")
    row = Provision.objects.create(
        designation=designation, recipient_kind=recipient_kind, recipient=recipient,
        recipient_name=recipient_name, contract=contract,
        basis=basis, provided_on=provided_on, items=items, equivalence_finding=equivalence_finding,
        handler_list=handlers, recorded_by=actor.describe(),
    )
    if recipient is not None:
        Holder.objects.get_or_create(designation=designation, organisation=recipient, defaults={"since": provided_on})
    _event(actor, designation, Event.Kind.PROVIDED, on=provided_on, recipient_kind=recipient_kind, provision=row.pk)
    audit.record(actor, "provision.recorded", row, details={"designation": designation.pk, "kind": recipient_kind})
    return row
