"""Reads of the audit log: entries, proofs and checkpoints for the API and the CLI; the auditor's
log viewer and CSV export; the assessed person's "who has read my data". All by policy.

Entries, proofs and checkpoints ask `audit.read` (auditor and oversight roles, or the server's
operator). Every proof is O(log n): one query for a list of stored hashes, which also holds the
last leaf's hash of the size asked about, proving the log is that large (`tree.inclusion_proof`
with `sized=True`), so a proof needs no tree-size query.
A request past the integrated size first runs the integrator, so an entry written a moment
ago can be proved without waiting for the background job.
Out-of-range arguments raise RuleViolation naming the parameter (the API answers 400).

The log viewer (`audit.browse`, auditor only) is built for 100 million entries: every filter is
an indexed column (action, actor_name, organisation, time, target_type+target_id, and the partial
indexes on subject_person_id and on non-success outcomes), pages are keyset pages newest first by
(time, id) (no OFFSET, no COUNT over the log), and the export is streamed in keyset chunks up to a cap.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hozen.access import policy
from hozen.core.calendars import TOKYO
from hozen.core.errors import RuleViolation

from . import checkpoints, integrator, merkle, service, tree
from .models import AuditCheckpoint, AuditEntry, AuditLeaf


@dataclass(frozen=True)
class EntryAt:
    index: int
    leaf_hash: bytes
    entry: dict
    data: str


def _integrated_size(at_least: int) -> int:
    """The tree size, integrating first when the caller asks about something not integrated yet."""
    size = tree.tree_size()
    if at_least > size:
        size = integrator.integrate().size
    return size


def _too_large(field: str, value: int, size: int) -> RuleViolation:
    return RuleViolation(
        "out_of_range",
        f"{field} ({value}) が監査ログの大きさ ({size}) を超えています。",
        f"{field} ({value}) is beyond the audit log's size ({size}).",
        field=field,
    )


def _non_negative(**values: int) -> None:
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleViolation("bad_parameter", f"{field} は 0 以上の整数で指定してください。",
                                f"{field} must be a whole number, 0 or more.", field=field)


def _check_index(field: str, index: int, size: int) -> None:
    if index >= size:
        raise RuleViolation(
            "out_of_range",
            f"{field} ({index}) は 0 以上 {size} 未満で指定してください（監査ログの記録数は {size} 件です）。",
            f"{field} ({index}) must be below the audit log's size ({size}).",
            field=field,
        )


def entry_for(*, actor, index: int) -> EntryAt:
    """Leaf `index`: the entry as recorded and its leaf hash as the tree holds it."""
    policy.require(actor, "audit.read")
    _non_negative(index=index)
    _check_index("index", index, _integrated_size(index + 1))
    leaf = AuditLeaf.objects.select_related("entry").get(index=index)
    return EntryAt(index=index, leaf_hash=tree.leaf_hash(index), entry=json.loads(leaf.entry.data),
                   data=leaf.entry.data)


def _sized_proof(build, field: str, size: int):
    """`build()` a proof with `sized=True`: the common case is that one query. Only when the log
    looks too small (not yet integrated, or really too small) is the tree size asked for."""
    try:
        return build()
    except tree.TreeTooSmall:
        pass
    integrated = _integrated_size(size)
    if size > integrated:
        raise _too_large(field, size, integrated)
    try:
        return build()
    except tree.TreeTooSmall:  # the leaves are there but not the last one's hash: a damaged store
        raise tree.TreeStorageError(f"stored tree hash {merkle.stored_hash_index(0, size - 1)} is missing; "
                                    "run `hozen audit verify`") from None


def inclusion_proof_for(*, actor, index: int, tree_size: int) -> list[bytes]:
    policy.require(actor, "audit.read")
    _non_negative(index=index, tree_size=tree_size)
    if index >= tree_size:
        size = _integrated_size(tree_size)
        if tree_size > size:
            raise _too_large("tree_size", tree_size, size)
        _check_index("index", index, tree_size)
    return _sized_proof(lambda: tree.inclusion_proof(index, tree_size, sized=True), "tree_size", tree_size)


def consistency_proof_for(*, actor, first: int, second: int) -> list[bytes]:
    policy.require(actor, "audit.read")
    _non_negative(first=first, second=second)
    if first > second:
        size = _integrated_size(second)
        if second > size:
            raise _too_large("second", second, size)
        raise RuleViolation(
            "out_of_range", f"first ({first}) は second ({second}) 以下で指定してください。",
            f"first ({first}) must not be larger than second ({second}).", field="first")
    return _sized_proof(lambda: tree.consistency_proof(first, second, sized=True), "second", second)


def root_for(*, actor, tree_size: int) -> bytes:
    policy.require(actor, "audit.read")
    _non_negative(tree_size=tree_size)
    size = _integrated_size(tree_size)
    if tree_size > size:
        raise _too_large("tree_size", tree_size, size)
    return tree.root(tree_size)


def checkpoint_for(*, actor) -> AuditCheckpoint:
    """The latest signed checkpoint; the first one is issued on demand."""
    policy.require(actor, "audit.read")
    latest = checkpoints.latest()
    if latest is None:
        policy.require(actor, "audit.checkpoint")
        latest = checkpoints.latest_or_issue()
    return latest


def verifier_key_for(*, actor) -> str:
    policy.require(actor, "audit.read")
    return checkpoints.verifier_key_text()


# --- the auditor's log viewer and export ---------------------------------------------------------

OUTCOME_CHOICES = [("", _("Any")), ("success", _("Success")), ("denied", _("Denied")),
                   ("failure", _("Failure"))]
PAGE_SIZE = 50
EXPORT_CAP = 100_000
_EXPORT_CHUNK = 2_000


def _tokyo_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=TOKYO)


@dataclass(frozen=True)
class LogFilter:
    """What the auditor asked for. Each non-empty field is one indexed condition."""

    actor: str = ""
    organisation: str = ""
    action: str = ""
    action_is_prefix: bool = False
    target_type: str = ""
    target_id: str = ""
    outcome: str = ""
    date_from: dt.date | None = None  # Japan dates, inclusive
    date_to: dt.date | None = None

    def q(self) -> Q:
        q = Q()
        if self.actor:
            q &= Q(actor_name=self.actor)
        if self.organisation:
            q &= Q(organisation=self.organisation)
        if self.action:
            # PostgreSQL serves LIKE 'prefix%' from the *_like (pattern_ops) index Django adds.
            q &= Q(action__startswith=self.action) if self.action_is_prefix else Q(action=self.action)
        if self.target_type:
            q &= Q(target_type=self.target_type)
            if self.target_id:
                q &= Q(target_id=self.target_id)
        if self.outcome:
            q &= Q(outcome=self.outcome)
        if self.date_from:
            q &= Q(time__gte=_tokyo_midnight(self.date_from))
        if self.date_to:
            q &= Q(time__lt=_tokyo_midnight(self.date_to + dt.timedelta(days=1)))
        return q

    def details(self) -> dict:
        """The filter as the `audit.exported` entry records it: field codes and typed values only."""
        out = {}
        for name in ("actor", "organisation", "target_type", "target_id", "outcome"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.action:
            out["action_prefix" if self.action_is_prefix else "action"] = self.action
        if self.date_from:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to:
            out["date_to"] = self.date_to.isoformat()
        return out


@dataclass(frozen=True)
class LogRow:
    """One entry as the viewer and the export show it: who, what, which object, never content."""

    id: int
    index: int | None  # leaf index once the integrator has sequenced it
    time: dt.datetime
    actor: str
    role: str
    organisation: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    purpose: str
    request_id: str


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    newer: int | None  # cursor for the "newer" link (after=), None on the newest page
    older: int | None  # cursor for the "older" link (before=), None on the oldest page


# Newest first by (time, id). Not by id alone: with a date range, PostgreSQL would walk the primary
# key backwards from the newest entry, filtering on time, until it reached the range (measured: 0.6 s
# for a month five months back in 2 million entries, so minutes at 100 million); by (time, id) it
# walks the time index from the range's end and stops after one page (0.2 ms), and every other
# filter costs the same as before. The keyset conditions repeat a plain bound on time (time <= t)
# so that the index range starts at the cursor.
NEWEST_FIRST = ("-time", "-pk")
OLDEST_FIRST = ("time", "pk")


def _older_than(time, pk, *, inclusive=False) -> Q:
    tie = Q(time=time, pk__lte=pk) if inclusive else Q(time=time, pk__lt=pk)
    return Q(time__lte=time) & (Q(time__lt=time) | tie)


def _newer_than(time, pk, *, inclusive=False) -> Q:
    tie = Q(time=time, pk__gte=pk) if inclusive else Q(time=time, pk__gt=pk)
    return Q(time__gte=time) & (Q(time__gt=time) | tie)


def _entries_for(actor, action: str, log_filter: LogFilter):
    policy.require(actor, action)
    return AuditEntry.objects.filter(policy.scope(actor, "audit.browse", AuditEntry)).filter(log_filter.q())


def _rows(entries: list[AuditEntry]) -> list[LogRow]:
    leaves = dict(AuditLeaf.objects.filter(entry_id__in=[e.pk for e in entries]).values_list("entry_id", "index"))
    rows = []
    for e in entries:
        data = json.loads(e.data)
        who = data.get("actor") or {}
        rows.append(LogRow(
            id=e.pk, index=leaves.get(e.pk), time=e.time, actor=e.actor_name,
            role=who.get("role") or (f"system:{who.get('channel', '')}" if who.get("kind") == "system" else ""),
            organisation=e.organisation, action=e.action, target_type=e.target_type, target_id=e.target_id,
            outcome=e.outcome, purpose=data.get("purpose") or "", request_id=data.get("request_id") or "",
        ))
    return rows


def _cursor_time(field: str, pk: int):
    """The time of the entry a page link names: links carry the id only, the order is (time, id)."""
    time = AuditEntry.objects.filter(pk=pk).values_list("time", flat=True).first()
    if time is None:
        raise RuleViolation("bad_cursor", "このページへのリンクは無効です。改めて絞り込んでください。",
                            "This page link is not valid. Filter again.", field=field)
    return time


def log_page_for(*, actor, log_filter: LogFilter, before: int | None = None, after: int | None = None,
                 size: int | None = None) -> LogPage:
    """One keyset page, newest first: `before=id` pages to older entries, `after=id` to newer ones.

    Raises RuleViolation (field "before" or "after") for a link naming no entry."""
    size = size or PAGE_SIZE
    entries = _entries_for(actor, "audit.browse", log_filter)
    if after is not None:
        found = list(entries.filter(_newer_than(_cursor_time("after", after), after))
                     .order_by(*OLDEST_FIRST)[: size + 1])
        more_newer = len(found) > size
        found = list(reversed(found[:size]))
        # An empty page past the newest entry links back to the cursor's own entry and older ones.
        older = found[-1].pk if found else None
        return LogPage(rows=_rows(found), newer=found[0].pk if found and more_newer else None, older=older)
    if before is not None:
        entries = entries.filter(_older_than(_cursor_time("before", before), before))
    found = list(entries.order_by(*NEWEST_FIRST)[: size + 1])
    more_older = len(found) > size
    found = found[:size]
    return LogPage(rows=_rows(found), newer=found[0].pk if found and before is not None else None,
                   older=found[-1].pk if found and more_older else None)


class Export:
    """A planned CSV export: its first and last entries are fixed when it is planned, so entries
    written while it streams (its own `audit.exported` among them) do not shift it."""

    def __init__(self, entries, positions: list[tuple], capped: bool):
        self._entries = entries
        self._bounds = (positions[0], positions[-1]) if positions else None
        self.size = len(positions)
        self.capped = capped

    def rows(self) -> Iterator[LogRow]:
        if self._bounds is None:
            return
        (newest_time, newest_pk), (oldest_time, oldest_pk) = self._bounds
        entries = (self._entries.filter(_older_than(newest_time, newest_pk, inclusive=True))
                   .filter(_newer_than(oldest_time, oldest_pk, inclusive=True)))
        chunk = list(entries.order_by(*NEWEST_FIRST)[:_EXPORT_CHUNK])
        while chunk:
            yield from _rows(chunk)
            last = chunk[-1]
            chunk = list(entries.filter(_older_than(last.time, last.pk)).order_by(*NEWEST_FIRST)[:_EXPORT_CHUNK])


def plan_export_for(*, actor, log_filter: LogFilter) -> Export:
    """The newest EXPORT_CAP entries the filter matches; `capped` when there are more."""
    entries = _entries_for(actor, "audit.export", log_filter)
    positions = list(entries.order_by(*NEWEST_FIRST).values_list("time", "pk")[: EXPORT_CAP + 1])
    return Export(entries, positions[:EXPORT_CAP], capped=len(positions) > EXPORT_CAP)


def start_export_for(*, actor, log_filter: LogFilter, accept_cap: bool = False) -> Export | None:
    """Plan the export and record `audit.exported` in its own committed transaction before a byte is
    streamed. Returns None (and records nothing) when the filter matches more than EXPORT_CAP entries
    and the auditor has not yet accepted an export of the newest EXPORT_CAP only."""
    export = plan_export_for(actor=actor, log_filter=log_filter)
    if export.capped and not accept_cap:
        return None
    details = {"filter": log_filter.details(), "format": "csv", "rows": export.size, "capped": export.capped}
    with transaction.atomic(durable=True):
        service.record(actor, "audit.exported", None, details=details)
    return export


class _Echo:
    def write(self, value):
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str | int:
    """Text a spreadsheet could run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, int):
        return value
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(export: Export, header: list[str]) -> Iterator[str]:
    """The export as CSV text lines: UTF-8 with a byte-order mark, so Excel opens Japanese correctly."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([_cell(h) for h in header])
    for r in export.rows():
        when = r.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        yield writer.writerow([_cell(v) for v in (
            "" if r.index is None else r.index, when, r.actor, r.role, r.organisation, r.action,
            r.target_type, r.target_id, r.outcome, r.purpose, r.request_id)])


# --- the assessed person's "who has read my data" (ARCHITECTURE rule 4; issue 12 §7) ----------------

#: Labels of every purpose code reads are recorded with (`hozen.crypto.reveal`'s callers and
#: `hozen.assessment.reads`); an unknown code is shown as is.
PURPOSE_LABELS = {
    "investigation": _("Aptitude assessment investigation"),
    "adjudication": _("Adjudication of the assessment"),
    "complaint": _("Handling of a complaint"),
    "complaint_handling": _("Handling of a complaint"),
    "case_work": _("Work on the assessment case"),
    "subject_access": _("Your own access to your case"),
    "ledger_export": _("A designation ledger file downloaded by the person who asked for it"),
    "questionnaire_submission": _("Submission of your questionnaire (its copy and hash)"),
    "questionnaire_confirmation": _("Your confirmation of a questionnaire section"),
    "reassessment_prefill": _("Your earlier answers carried into the re-assessment"),
    "adverse_treatment_handling": _("Handling of your report of adverse treatment"),
    "nomination_follow_up": _("The nominating side following the assessment (status and outcome only)"),
    "organ_procedure": _("The organ's procedure (notice, assignments, notification of the result)"),
    "exemption": _("Checking a possible exemption from a new assessment"),
    "aftercare_report": _("Reporting a change after the result (leaving, transfer, a concern)"),
    "misuse_investigation": _("An auditor's investigation of possible misuse"),
    "handler_list_keeping": _("Checking whether you may be put on a handler list (your assessment: valid or not)"),
}

#: What became of each read, as the person's list says it.
READ_OUTCOME_LABELS = {
    "success": _("Read"),
    "denied": _("Attempted; refused"),
    "failure": _("Attempted; the data could not be decrypted"),
}


def read_outcome_label(outcome: str) -> str:
    label = READ_OUTCOME_LABELS.get(outcome)
    return str(label) if label is not None else outcome


#: Entries a page of "who has read my data" groups (one page never splits a day's reads of one kind
#: unless a single day holds more than this), and the cap of its CSV export.
READS_PAGE_ENTRIES = 200
OWN_READS_EXPORT_CAP = 100_000


@dataclass(frozen=True)
class ReadRow:
    """One read of the person's data: by which role of which organisation, when and why; not by whom.
    A refused attempt by someone else shows neither role nor organisation (`reader_shown` False)."""

    id: int
    time: dt.datetime
    role: str
    organisation: str  # code
    organisation_name: str  # in the reader's language, when the organisation still exists
    purpose: str
    outcome: str
    reader_shown: bool = True


@dataclass(frozen=True)
class ReadGroup:
    """Repeated reads: the same reader role and organisation, purpose and outcome on one day (Japan
    time), with how many and from when to when."""

    day: dt.date
    role: str
    organisation: str
    organisation_name: str
    purpose: str
    outcome: str
    reader_shown: bool
    count: int
    first: dt.datetime
    last: dt.datetime


@dataclass(frozen=True)
class ReadGroupPage:
    groups: list[ReadGroup]
    total: int  # entries on the person's whole list
    newer: int | None  # cursor for the "newer" link (after=), None on the newest page
    older: int | None  # cursor for the "older" link (before=), None on the oldest page


def reads_of_person_for(*, actor, person):
    """Every read of `person`'s data (`personal_data.read`, `assessment.read`, refused attempts
    included), newest first, from the partial index on subject_person_id. A queryset: a person's
    own reads are few enough to count."""
    policy.require(actor, "audit.view_own_reads", person)
    # The scope is (action IN the read actions AND subject_person_id = the actor's own person).
    return (AuditEntry.objects.filter(policy.scope(actor, "audit.view_own_reads", AuditEntry))
            .filter(subject_person_id=person.pk).order_by("-pk"))


def _role_of(data: dict) -> str:
    who = data.get("actor") or {}
    return who.get("role") or (f"system:{who.get('channel', '')}" if who.get("kind") == "system" else "")


def read_rows(entries, *, actor=None, language: str | None = None) -> list[ReadRow]:
    """The entries as rows; organisation names in one query (entries store the code by value). For a
    refused attempt the policy (`audit.view_refused_reader`, asked for `actor`) decides whether role
    and organisation show; without an actor they do not."""
    from hozen.core.models import Organisation

    entries = list(entries)
    shown = {e.pk: e.outcome != "denied" or (actor is not None and policy.decide(
        actor, "audit.view_refused_reader", e).allowed) for e in entries}
    codes = {e.organisation for e in entries if e.organisation and shown[e.pk]}
    names = {o.code: o.name(language) for o in Organisation.objects.filter(code__in=codes)} if codes else {}
    rows = []
    for e in entries:
        data = json.loads(e.data)
        visible = shown[e.pk]
        organisation = e.organisation if visible else ""
        rows.append(ReadRow(id=e.pk, time=e.time, role=_role_of(data) if visible else "", organisation=organisation,
                            organisation_name=names.get(organisation, ""), purpose=data.get("purpose") or "",
                            outcome=e.outcome, reader_shown=visible))
    return rows


def _tokyo_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TOKYO).date()


def _whole_days(chunk: list[AuditEntry]) -> list[AuditEntry]:
    """`chunk` without its last day's entries (that day continues on the next page), unless the
    chunk is all one day (a day with more reads than a page holds is split, not skipped)."""
    last = _tokyo_day(chunk[-1].time)
    kept = [e for e in chunk if _tokyo_day(e.time) != last]
    return kept or chunk


def _groups(rows: list[ReadRow]) -> list[ReadGroup]:
    """Rows grouped by day, reader role and organisation, purpose and outcome; the groups newest
    first, by their latest read."""
    found: dict[tuple, list[ReadRow]] = {}
    for r in rows:
        key = (_tokyo_day(r.time), r.role, r.organisation, r.purpose, r.outcome, r.reader_shown)
        found.setdefault(key, []).append(r)
    groups = []
    for (day, role, organisation, purpose, outcome, reader_shown), members in found.items():
        times = [m.time for m in members]
        groups.append(ReadGroup(day=day, role=role, organisation=organisation,
                                organisation_name=members[0].organisation_name, purpose=purpose, outcome=outcome,
                                reader_shown=reader_shown, count=len(members), first=min(times), last=max(times)))
    return sorted(groups, key=lambda g: g.last, reverse=True)


def read_groups_for(*, actor, person, before: int | None = None, after: int | None = None,
                    size: int | None = None, language: str | None = None) -> ReadGroupPage:
    """One keyset page of the person's reads, newest first, grouped (`ReadGroup`): `before=id` pages
    to older reads, `after=id` to newer ones, as the auditor's viewer pages (no OFFSET). A page holds
    up to `size` entries and ends at a day's boundary, so a group is never split across pages unless
    one day holds more reads than a page."""
    size = size or READS_PAGE_ENTRIES
    entries = reads_of_person_for(actor=actor, person=person)
    total = entries.count()
    if after is not None:
        chunk = list(entries.filter(pk__gt=after).order_by("pk")[: size + 1])
        more = len(chunk) > size
        chunk = chunk[:size]
        if more:
            chunk = _whole_days(chunk)
        chunk.reverse()
        older = chunk[-1].pk if chunk and entries.filter(pk__lt=chunk[-1].pk).exists() else None
        newer = chunk[0].pk if chunk and more else None
    else:
        if before is not None:
            entries = entries.filter(pk__lt=before)
        chunk = list(entries.order_by("-pk")[: size + 1])
        more = len(chunk) > size
        chunk = chunk[:size]
        if more:
            chunk = _whole_days(chunk)
        older = chunk[-1].pk if chunk and more else None
        newer = chunk[0].pk if chunk and before is not None else None
    return ReadGroupPage(groups=_groups(read_rows(chunk, actor=actor, language=language)), total=total,
                         newer=newer, older=older)


class OwnReadsExport:
    """A planned export of the person's reads, newest first: its bounds are fixed when planned, so
    reads written while it streams (this download's own page view among them) do not shift it."""

    def __init__(self, actor, entries, newest: int | None, size: int, capped: bool, language: str | None):
        self._actor, self._entries, self._newest = actor, entries, newest
        self._language = language
        self.size, self.capped = size, capped

    def rows(self) -> Iterator[ReadRow]:
        if self._newest is None:
            return
        left = self.size
        chunk = list(self._entries.filter(pk__lte=self._newest).order_by("-pk")[: min(_EXPORT_CHUNK, left)])
        while chunk and left > 0:
            yield from read_rows(chunk, actor=self._actor, language=self._language)
            left -= len(chunk)
            if left <= 0:
                break
            chunk = list(self._entries.filter(pk__lt=chunk[-1].pk).order_by("-pk")[: min(_EXPORT_CHUNK, left)])


def start_own_reads_export_for(*, actor, person, language: str | None = None) -> OwnReadsExport:
    """Plan the CSV of the person's reads (the newest OWN_READS_EXPORT_CAP) and record
    `audit.own_reads_exported` in its own committed transaction before a byte is streamed."""
    entries = reads_of_person_for(actor=actor, person=person)
    total = entries.count()
    newest = entries.values_list("pk", flat=True).first()
    size = min(total, OWN_READS_EXPORT_CAP)
    details = {"format": "csv", "rows": size, "capped": total > size, "subject_person_id": person.pk}
    with transaction.atomic(durable=True):
        service.record(actor, "audit.own_reads_exported", person, details=details)
    return OwnReadsExport(actor, entries, newest, size, total > size, language)


def own_reads_csv_lines(export: OwnReadsExport, header: list[str], labels) -> Iterator[str]:
    """The export as CSV lines (UTF-8 with a byte-order mark, as the log export): time (UTC), reader
    role, organisation, purpose code and label, outcome. `labels(row)` gives the row's role, purpose
    and outcome labels in the reader's language."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([_cell(h) for h in header])
    for r in export.rows():
        when = r.time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        role_label, purpose_label, outcome_label = labels(r)
        yield writer.writerow([_cell(v) for v in (
            when, r.role, role_label, r.organisation, r.organisation_name, r.purpose, purpose_label, r.outcome,
            outcome_label)])


@dataclass(frozen=True)
class Change:
    """One recorded change of a versioned record: which version it made, what, when and by whom."""

    version: int
    action: str
    time: dt.datetime
    actor_name: str
    fields: tuple[str, ...]


def changes_since(target, version: int, *, limit: int = 50) -> list[Change]:
    """The recorded changes of `target` (a versioned row) after `version`, oldest first: what an
    edit refused as stale (409) had not seen. Entries name the changed fields, never their values
    (the values are on the record, which the caller is already showing to someone allowed to see
    it). Reads the target's entries newest first (index on target_type, target_id) and stops at
    the first at or below `version`."""
    ref = service.target_ref(target)
    changes: list[Change] = []
    entries = (AuditEntry.objects.filter(target_type=ref["type"], target_id=ref["id"], outcome="success")
               .order_by("-id").only("data", "time", "action", "actor_name"))
    for entry in entries[:limit * 4]:
        details = json.loads(entry.data).get("details") or {}
        made = details.get("version")
        if not isinstance(made, int):
            continue
        if made <= version:
            break
        changes.append(Change(version=made, action=entry.action, time=entry.time, actor_name=entry.actor_name,
                              fields=tuple(details.get("fields") or ())))
        if len(changes) >= limit:
            break
    return changes[::-1]
