"""Reads for the designation screens, API and exports; lists filtered by policy.scope."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.access import policy
from hozen.core.errors import NotFound
from hozen.core.prepared import PreparedRead

from .models import (
    STATE_LABELS,
    CorrectionRequest,
    Designation,
    DraftReturn,
    Notification,
    Provision,
    State,
    state_label,
    state_q,
)

#: Long texts no list shows: deferred, so a page's rows stay narrow. SQLite sorts whole rows (with
#: the joined ones) when it answers the scope from the holder index, so every byte of a row counts;
#: the rules pack (its source file and content, ~35 kB) is not joined at all (benchmarks: 85 → 10 ms).
LIST_DEFERRED = ("summary", "justification_category", "justification_not_public", "justification_harm",
                 "advance_reason", "end_reason")


def designations_for(actor, *, organisation=None, state: str | None = None, search: str = "",
                     category: str | None = None):
    """Designations the actor may see (the policy's scope), for lists: newest reference first,
    with the organ, category and sub-item joined and the long texts deferred (LIST_DEFERRED)."""
    qs = _for_lists(Designation.objects.filter(policy.scope(actor, "designation.view", Designation)))
    if organisation is not None:
        qs = qs.filter(organisation=organisation)
    if state:
        qs = qs.filter(state_q(state, timezone.localdate()))  # dates decide (rule 9)
    if category:
        qs = qs.filter(category__code=category)
    if search:
        qs = qs.filter(Q(reference__icontains=search) | Q(title__icontains=search))
    return qs.order_by("-year", "-serial", "-id")


def _for_lists(qs):
    return qs.select_related("organisation", "category", "sub_item").defer(*LIST_DEFERRED)


def designation_page(qs, start: int, stop: int, *, fields: tuple[str, ...] | None = None) -> list:
    """Rows `start:stop` of a `designations_for` list, in two steps: the page's ids first (the
    ordered scan reads only ids and sort keys), then those rows with their joins (as dicts of
    `fields`, e.g. ``"organisation__code"``, when given: the API builds no model instances).

    One query would build every visible row with its joins before keeping the first 25: SQLite
    answers the scope from the holder index and then sorts all the organ's rows (10,000 at
    100,000 designations: ~26 ms, against ~8 ms for the ids and <1 ms for the 25 rows). The ids
    came from the scoped query, so the second step needs no scope of its own.
    """
    ids = list(qs.values_list("pk", flat=True)[start:stop])
    if fields is not None:
        rows = {r["id"]: r for r in Designation.objects.filter(pk__in=ids).values("id", *fields)}
    else:
        # Whether each was extended, for its state label (指定中（延長）), in the same statement.
        from django.db.models import Exists, OuterRef

        from .models import Extension

        rows = {d.pk: d for d in _for_lists(Designation.objects.filter(pk__in=ids)).annotate(
            extended=Exists(Extension.objects.filter(designation=OuterRef("pk"))))}
    return [rows[pk] for pk in ids if pk in rows]


def designation_page_and_total(qs, start: int, stop: int, *, fields: tuple[str, ...]) -> tuple[list[dict], int]:
    """`designation_page` with the list's total, in one statement fewer: the page's ids carry the
    count of every matching row (``COUNT(*) OVER ()``, computed before the LIMIT, from the scan the
    count would make anyway). A page past the end has no row to carry it: then it is counted."""
    from django.db.models import Count, Window

    page = list(qs.annotate(_total=Window(Count("pk"))).values_list("pk", "_total")[start:stop])
    ids = [pk for pk, _total in page]
    total = page[0][1] if page else qs.count()
    rows = {r["id"]: r for r in Designation.objects.filter(pk__in=ids).values("id", *fields)} if ids else {}
    return [rows[pk] for pk in ids if pk in rows], total


#: One designation with everything its page and its API answer show; compiled once per process
#: (hozen.core.prepared): its nine joins cost more to compile than to run, on every audited read.
_ONE = PreparedRead(lambda pk: Designation.objects.select_related(
    "organisation", "category", "sub_item", "rules_pack", "prepared_by__person", "approved_by__person",
    "successor").filter(pk=pk), pk=-987_654_321_987)


def designation_for(actor, pk) -> Designation:
    try:
        pk = int(pk)
    except (ValueError, TypeError):
        raise NotFound from None
    if not -(2**63) <= pk < 2**63:  # beyond any id the database can hold
        raise NotFound
    designation = _ONE.first(pk=pk)
    if designation is None:
        raise NotFound
    if not policy.decide(actor, "designation.view", designation).allowed:
        raise NotFound  # missing and forbidden look the same
    return designation


def by_reference(actor, reference: str) -> Designation:
    row = Designation.objects.filter(reference=reference).values_list("pk", flat=True).first()
    if row is None:
        raise NotFound
    return designation_for(actor, row)


def reviews_due_for(actor, *, on: dt.date | None = None, within_days: int = 30):
    on = on or timezone.localdate()
    return (designations_for(actor).filter(state_q(State.DESIGNATED, on),
                                           review_due__lte=on + dt.timedelta(days=within_days))
            .order_by("review_due"))


def reviews_due_count(on: dt.date) -> int:
    return Designation.objects.filter(state_q(State.DESIGNATED, on), review_due__lte=on).count()


def notifications_for(actor):
    """Notices to the actor's organisation about designations the actor may see (a subject or an
    auditor working at a holder sees none: the scope, not the organisation alone, decides)."""
    if actor.organisation is None:
        return Notification.objects.none()
    visible = Designation.objects.filter(policy.scope(actor, "designation.view", Designation))
    return (Notification.objects.filter(recipient=actor.organisation, designation__in=visible)
            .select_related("designation").order_by("-created_at"))


def notification_for(actor, pk) -> Notification:
    """One notice sent to the actor's organisation (to acknowledge it); NotFound otherwise."""
    try:
        return notifications_for(actor).get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def notices_sent_for(actor, *, organisation=None, unacknowledged: bool = False, designation=None):
    """Notices about designations of the actor's organ (oversight: of every organ), for the
    sender to follow which recipients have not acknowledged yet; unacknowledged first, oldest first."""
    qs = (Notification.objects.filter(policy.scope(actor, "designation.notification.track", Notification))
          .select_related("designation", "designation__organisation", "recipient"))
    if organisation is not None:
        qs = qs.filter(designation__organisation=organisation)
    if designation is not None:
        qs = qs.filter(designation=designation)
    if unacknowledged:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.order_by(F("acknowledged_at").desc(nulls_first=True), "created_at", "id")


def notice_to_deliver_for(actor, pk) -> Notification:
    """A notice to a recipient outside Hozen about one of the actor's organ's designations, which
    the organ delivers in writing and records as delivered; NotFound otherwise."""
    try:
        return notices_sent_for(actor).get(pk=pk, recipient__isnull=True)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def provisions_for(actor, designation: Designation | None = None):
    qs = Provision.objects.filter(policy.scope(actor, "provision.view", Provision)).select_related(
        "designation", "recipient", "contract")
    if designation is not None:
        qs = qs.filter(designation=designation)
    return qs


def corrections_for(designation: Designation):
    return CorrectionRequest.objects.filter(designation=designation).order_by("-requested_at")


def ledger_rows(actor, organisation) -> list[dict]:
    """The designation ledger (指定管理簿) of one organ: every designation that was ever in force."""
    policy.require(actor, "ledger.view", organisation)
    return [ledger_row(d) for d in ledger_designations(actor, organisation)]


MEASURE_JA = {"marking": "表示", "written_notice": "通知"}


def ledger_row(d: Designation) -> dict:
    extensions = list(d.extensions.all())
    corrections = list(d.corrections.all())
    now = d.state_on()  # dates decide: a term that has ended reads as expired before the job records it
    record = [f"{e.decided_at:%Y-%m-%d} 延長 {e.previous_end:%Y-%m-%d}→{e.new_end:%Y-%m-%d}"
              + (f"（閣議承認 {e.cabinet_approval_ref}）" if e.cabinet_approval_ref else "") for e in extensions]
    ended_on = d.ended_on or (d.term_end + dt.timedelta(days=1) if now == State.EXPIRED else None)
    if ended_on:
        record.append(f"{ended_on:%Y-%m-%d} {STATE_LABELS[now][0]}"
                      + (f"（{d.successor.reference}）" if d.successor_id else ""))
    return {
        "reference": d.reference,
        "title": d.title,
        "category": f"{d.category.code} {d.category.name_ja}",
        "sub_item": f"{d.sub_item.code} {d.sub_item.name_ja}",
        "designated_on": d.designated_on,
        "term_end": d.term_end,
        "protective_measure": MEASURE_JA.get(d.protective_measure, d.protective_measure),
        "state": state_label(d, "ja"),  # the ledger is Japanese; the same label as the screen and the PDF
        "record": "；".join(record),
        "corrections": "；".join(correction_text(c) for c in corrections),
        "rules": str(d.rules_pack) if d.rules_pack_id else "",
        # DOMAIN §2: the ledger carries the summary and the justification of the three requirements.
        "summary": d.summary,
        "justification_category": d.justification_category,
        "justification_not_public": d.justification_not_public,
        "justification_harm": d.justification_harm,
        # What the designation relies on that the pack flags "to verify" (sub-item, term figures).
        "to_verify": "；".join(to_verify_notes(d)) if d.rules_pack_id else "",
    }


def correction_text(c: CorrectionRequest) -> str:
    """A correction request on the ledger: the request and the organ's answer, in full."""
    text = f"{c.requested_at:%Y-%m-%d} {c.get_kind_display()}：{c.request}"
    if c.answered_at:
        return f"{text}（{c.answered_at:%Y-%m-%d} 回答：{c.answer}）"
    return f"{text}（未回答）"


def to_verify_notes(d: Designation) -> list[str]:
    from .exports import to_verify_notes as notes

    return notes(d)


# --- for the screens (views ask these; none writes) ----------------------------------------------

LEDGER_ORGAN_KINDS = ("administrative_organ", "cabinet_office")


def ledger_designations(actor, organisation):
    """The designations on an organ's ledger, as model rows (the PDF needs codes, not joined text);
    the same rows and order as `ledger_rows`."""
    policy.require(actor, "ledger.view", organisation)
    return (Designation.objects.filter(organisation=organisation).exclude(state=State.DRAFT)
            .select_related("category", "sub_item", "successor", "rules_pack")
            .prefetch_related("extensions", "corrections").order_by("year", "serial"))


def ledger_organisation_for(actor, code: str):
    """The organ whose ledger the actor opens. Missing, not an organ, or another organ's ledger for
    an organ's own staff: NotFound alike. A role that may not read ledgers at all is left to the
    caller's `policy.require`, which answers 403 with the policy's reason."""
    from hozen.core.models import Organisation

    organisation = Organisation.objects.filter(code=code, kind__in=LEDGER_ORGAN_KINDS).first()
    if organisation is None:
        raise NotFound
    if policy.decide(actor, "ledger.view", organisation).code == "other_organisation":
        raise NotFound
    return organisation


def ledger_organisations_for(actor):
    """The organs whose ledgers the actor may open, each with its number of ledger rows."""
    from django.db.models import Count

    from hozen.core.models import Organisation

    organs = (Organisation.objects.filter(kind__in=LEDGER_ORGAN_KINDS)
              .annotate(entries=Count("designations", filter=~Q(designations__state=State.DRAFT)))
              .order_by("code"))
    return [o for o in organs if policy.decide(actor, "ledger.view", o).allowed]


def drafts_for(actor):
    """Drafts the actor may see (their organ's), oldest first: the approval queue."""
    return designations_for(actor, state=State.DRAFT).select_related("prepared_by__person").order_by("created_at")


def open_return_for(designation: Designation) -> DraftReturn | None:
    """The return (差戻し) a draft waits on, with who sent it back; None when it waits on nobody.
    For a designation the caller already found visible (the organ's roles see their drafts)."""
    if designation.returned_at is None:
        return None
    return (DraftReturn.objects.filter(designation=designation, addressed_at__isnull=True)
            .select_related("returned_by__person").order_by("-returned_at", "-id").first())


def returns_for(designation: Designation) -> list[DraftReturn]:
    """Every time the draft was sent back, newest first (the draft's page, for the organ's roles)."""
    return list(DraftReturn.objects.filter(designation=designation).select_related("returned_by__person")
                .order_by("-returned_at", "-id"))


def designation_record(designation: Designation) -> dict:
    """The designation's own history for its page: holders, events, extensions, reviews, corrections."""
    return {
        "holders": list(designation.holders.select_related("organisation").order_by("since", "id")),
        "events": list(designation.events.select_related("rules_pack").order_by("at", "id")),
        "extensions": list(designation.extensions.select_related("rules_pack", "decided_by__person")),
        "reviews": list(designation.reviews.select_related("rules_pack", "reviewed_by__person")
                        .order_by("reviewed_on", "id")),
        "corrections": list(corrections_for(designation)),
        "returns": returns_for(designation) if designation.state == State.DRAFT else [],
    }


def correction_for(designation: Designation, pk) -> CorrectionRequest:
    """One correction request of a designation the caller already found visible."""
    try:
        return CorrectionRequest.objects.select_related("designation").get(pk=pk, designation=designation)
    except (CorrectionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def provision_recipients(designation: Designation):
    """Bodies a provision can name as recipient: organs and businesses other than the holding organ."""
    from hozen.core.models import Organisation

    return (Organisation.objects.filter(kind__in=(*LEDGER_ORGAN_KINDS, "business"))
            .exclude(pk=designation.organisation_id).order_by("kind", "code"))


def provision_contracts(designation: Designation):
    """The holding organ's contracts with certified businesses (the service checks the one chosen)."""
    from hozen.operators.models import Contract

    return (Contract.objects.filter(organ_id=designation.organisation_id)
            .select_related("business", "certification").order_by("business__code", "reference"))


def open_corrections_for(actor):
    """Unanswered correction requests on designations the actor may see, oldest first."""
    visible = Designation.objects.filter(policy.scope(actor, "designation.view", Designation))
    return (CorrectionRequest.objects.filter(designation__in=visible, answered_at__isnull=True)
            .select_related("designation", "designation__organisation").order_by("requested_at"))


def statistics(actor, *, year: int | None = None, organisation=None) -> dict:
    """Counts for oversight (DOMAIN §8), or for one organ its own: designations by state and by
    category, new / extended / expired / cancelled / moved to SDS / transferred to the archives,
    provisions by recipient kind, correction requests with their answers and the open ones.
    Counts only: no titles. `organisation` None means every organ (oversight, the operator)."""
    from django.db.models import Count

    from .models import Event

    policy.require(actor, "designation.statistics", organisation)
    designations = Designation.objects.exclude(state=State.DRAFT)
    events = Event.objects.all()
    provisions = Provision.objects.all()
    corrections = CorrectionRequest.objects.all()
    if organisation is not None:
        designations = designations.filter(organisation=organisation)
        events = events.filter(designation__organisation=organisation)
        provisions = provisions.filter(designation__organisation=organisation)
        corrections = corrections.filter(designation__organisation=organisation)
    if year is not None:
        events = events.filter(on__year=year)
        provisions = provisions.filter(provided_on__year=year)
        corrections = corrections.filter(requested_at__year=year)
    today = timezone.localdate()
    in_force = (designations.filter(state_q(State.DESIGNATED, today))
                .values("organisation__code", "category__code").annotate(n=Count("id"))
                .order_by("organisation__code", "category__code"))
    by_category: dict[str, int] = {}
    for r in in_force:
        by_category[r["category__code"]] = by_category.get(r["category__code"], 0) + r["n"]
    by_kind = dict(events.values_list("kind").annotate(n=Count("id")).order_by())
    by_state = dict(designations.values_list("state").annotate(n=Count("id")).order_by())
    # Dates decide (rule 9): a term that ended counts as expired before the daily job records it.
    lapsed = designations.filter(state=State.DESIGNATED, term_end__lt=today).count()
    if lapsed:
        by_state[State.DESIGNATED] -= lapsed
        by_state[State.EXPIRED] = by_state.get(State.EXPIRED, 0) + lapsed
    by_recipient = dict(provisions.values_list("recipient_kind").annotate(n=Count("id")).order_by())
    answered = corrections.filter(answered_at__isnull=False).count()
    total_corrections = corrections.count()
    return {
        "year": year,
        "organisation": organisation.code if organisation is not None else None,
        "by_state": {state: by_state.get(state, 0) for state in State.values if state != State.DRAFT},
        "in_force_by_category": dict(sorted(by_category.items())),
        "in_force_by_organ_and_category": [
            {"organisation": r["organisation__code"], "category": r["category__code"], "count": r["n"]}
            for r in in_force
        ],
        "designated": by_kind.get("designated", 0),
        "extended": by_kind.get("extended", 0),
        "expired": by_kind.get("expired", 0),
        "cancelled": by_kind.get("cancelled", 0),
        "moved_to_sds": by_kind.get("moved_to_sds", 0),
        "transferred_to_archives": by_kind.get("transferred_to_archives", 0),
        "correction_requests": total_corrections,
        "corrections_answered": answered,
        "corrections_open": total_corrections - answered,
        "provisions_by_recipient_kind": {k: by_recipient.get(k, 0) for k in Provision.RecipientKind.values},
    }


#: What each recorded change of a designation did, for the "changed by someone else" panel.
CHANGE_LABELS = {
    "designation.drafted": _("Draft prepared"),
    "designation.draft_updated": _("Draft changed"),
    "designation.draft_returned": _("Draft sent back to its preparer"),
    "designation.designated": _("Approved and designated"),
    "designation.extended": _("Term extended"),
    "designation.reviewed": _("Reviewed"),
    "designation.cancelled": _("Cancelled"),
    "designation.expired": _("Expired"),
    "designation.moved_to_sds": _("Moved to SDS"),
    "designation.transferred_to_archives": _("Ended: transferred to the National Archives"),
}


def changes_since(designation: Designation, version: int) -> list[dict]:
    """What changed in a designation after `version` (the one a refused edit was made on), for the
    "changed by someone else" panel: each change's version, time, who, what it did and the labels
    of the fields it changed (never their values: the page shows the record as it now is)."""
    from hozen.audit.queries import changes_since as recorded_changes

    rows = []
    for change in recorded_changes(designation, version):
        labels = []
        for name in change.fields:
            try:
                labels.append(str(Designation._meta.get_field(name).verbose_name))
            except FieldDoesNotExist:  # a field since removed from the model: its name still informs
                labels.append(name)
        rows.append({"version": change.version, "time": change.time, "actor": change.actor_name,
                     "action": str(CHANGE_LABELS.get(change.action, change.action)), "fields": labels,
                     "names": list(change.fields)})
    return rows


def draft_initial(d: Designation, pack, fields) -> dict:
    """The edit form's initial values. A draft made under an older version of the same pack shows
    the category and sub-item of the same codes in the version in force (as saving will re-map
    them, `services._follow_current_version`); none when the code is gone, so the preparer chooses."""
    initial = {k: getattr(d, k) for k in fields}
    if d.sub_item.pack_id != pack.pk and d.sub_item.pack.code == pack.code:
        initial["sub_item"] = pack.sub_items.filter(code=d.sub_item.code).first()
        initial["category"] = pack.categories.filter(code=d.category.code).first()
    return initial


def review_reminders_for(actor):
    """In-app notices of reviews due or overdue, for the ESI managers (and head) of the organ."""
    from .models import ReviewReminder

    if actor.organisation is None or actor.role not in ("esi_manager", "organ_head"):
        return ReviewReminder.objects.none()
    return (ReviewReminder.objects.filter(organisation=actor.organisation, designation__state=State.DESIGNATED,
                                          designation__term_end__gte=timezone.localdate(),
                                          designation__review_due=F("due"))
            .select_related("designation").order_by("due", "id"))


def prepared_ledgers_for(actor, organisation, limit: int = 10):
    """The actor's own recent ledger files of this organ (requested in the active role)."""
    from .models import PreparedLedger

    if actor.assignment is None:
        return []
    return list(PreparedLedger.objects.filter(requested_by_id=actor.account.pk, assignment_id=actor.assignment.pk,
                                              organisation=organisation).defer("body")[:limit])


def prepared_ledger_for(actor, organisation, pk: int):
    """One of the actor's own ledger files; NotFound for anyone else's (they are not told it exists)."""
    from .models import PreparedLedger

    if actor.assignment is None:
        raise NotFound
    prepared = PreparedLedger.objects.filter(pk=pk, organisation=organisation, requested_by_id=actor.account.pk,
                                             assignment_id=actor.assignment.pk).defer("body").first()
    if prepared is None:
        raise NotFound
    return prepared
