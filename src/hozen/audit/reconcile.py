"""The record and the data never disagree (ARCHITECTURE rule 10): replay the log, compare the rows.

Every state a row is in follows from its lifecycle entries in the audit log (a designation's
``designation.drafted``, ``designation.designated``, ``designation.extended``…; a case's
transitions; a handler entry's ``added`` and ``removed``…). Each app registers a ``Replayer`` for
its records (in its ``AppConfig.ready``): the target type its entries name, the lifecycle actions,
a function that replays one record's entries (in log order) into the values they imply, and one
that reads the same values from the stored row. ``reconcile()`` walks every registered kind in
primary-key batches (one index range of the log per batch: ``target_type, target_id``), and
reports each disagreement with the record, the field, the value the log implies and the value
stored; a row with no lifecycle entry at all, and a record the log names that has no row, are
disagreements too.

Entries are replayed from their canonical bytes (``AuditEntry.data``), the record the Merkle tree
commits to, never from the filter columns beside them. ``hozen audit verify`` proves the log
itself was not changed; this proves the rows were not changed behind the services' back.

It runs as ``hozen audit reconcile``, as a step of ``hozen audit verify --state``, and as a daily
job that writes one audit entry (``audit.reconciled``) with the counts and keeps the latest run
for the auditors' dashboard. docs/security.md lists the fields each replay covers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from .models import AuditEntry

#: Disagreements kept in a report (and a stored run) in full; beyond it they are counted only.
REPORT_LIMIT = 1000


@dataclass(frozen=True)
class Replayer:
    """How to replay one kind of record from the log.

    - `kind`: a short name for reports (``designation``);
    - `model`: the rows; `queryset()` narrows which rows are checked (default: all);
    - `target_type`: ``AuditEntry.target_type`` of the lifecycle entries (``designation.designation``);
    - `actions`: the lifecycle actions replayed (others naming the record, reads say, are skipped);
    - `replay(entries)`: the values one record's entries imply, entries being the parsed canonical
      entries in log order (``{"action", "actor", "details", "time", ...}``); a field absent from
      the result is not compared (an entry written before the field was recorded);
    - `stored(row)`: the same fields as stored;
    - `fields`: the fields compared, for the documentation and the report;
    - `related`: ``select_related`` paths `stored` reads.
    """

    kind: str
    model: type[models.Model]
    target_type: str
    actions: frozenset[str]
    replay: Callable[[list[dict]], dict[str, Any]]
    stored: Callable[[models.Model], dict[str, Any]]
    fields: tuple[str, ...]
    related: tuple[str, ...] = ()
    queryset: Callable[[], models.QuerySet] | None = None


@dataclass(frozen=True)
class Disagreement:
    kind: str
    record_id: str
    field: str
    logged: Any
    stored: Any

    def line(self) -> str:
        return (f"{self.kind} {self.record_id}: {self.field}: the log says {_show(self.logged)}, "
                f"the row holds {_show(self.stored)}")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "record_id": self.record_id, "field": self.field,
                "logged": _plain(self.logged), "stored": _plain(self.stored)}


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    count: int = 0

    @property
    def ok(self) -> bool:
        return self.count == 0

    def add(self, disagreement: Disagreement) -> None:
        self.count += 1
        if len(self.disagreements) < REPORT_LIMIT:
            self.disagreements.append(disagreement)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "disagreements": self.count,
                "details": [d.as_dict() for d in self.disagreements],
                "truncated": self.count > len(self.disagreements)}


NO_ENTRY = "(no lifecycle entry)"
NO_ROW = "(no row)"

_REPLAYERS: dict[str, Replayer] = {}


def register(replayer: Replayer) -> None:
    """Register (or, on an app reload, replace) the replayer of one kind of record."""
    _REPLAYERS[replayer.kind] = replayer


def registered() -> list[Replayer]:
    return [_REPLAYERS[k] for k in sorted(_REPLAYERS)]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _show(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False)


def same(logged: Any, stored: Any) -> bool:
    """Equal once both are in the log's plain form (dates as ISO text, datetimes in UTC)."""
    return _plain(logged) == _plain(stored)


def _entries(replayer: Replayer, ids: list[str]) -> dict[str, list[dict]]:
    by_target: dict[str, list[dict]] = {}
    rows = (AuditEntry.objects.filter(target_type=replayer.target_type, target_id__in=ids,
                                      action__in=replayer.actions, outcome="success")
            .order_by("id").values_list("target_id", "data"))
    for target_id, data in rows:
        by_target.setdefault(target_id, []).append(json.loads(data))
    return by_target


def _check_rows(replayer: Replayer, report: Report, batch_size: int, progress) -> None:
    qs = replayer.queryset() if replayer.queryset else replayer.model._default_manager.all()
    if replayer.related:
        qs = qs.select_related(*replayer.related)
    last = None
    checked = 0
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page[:batch_size])
        if not batch:
            break
        last = batch[-1].pk
        entries = _entries(replayer, [str(row.pk) for row in batch])
        for row in batch:
            found = _compare(replayer, row, entries.get(str(row.pk)))
            if found:
                # The page and its entries are two reads: a service may have committed between them.
                # Ask again with the row locked (every writer locks the row it changes and writes its
                # entry in the same transaction), so only a real disagreement is reported.
                found = _recheck(replayer, row.pk, qs)
            for disagreement in found:
                report.add(disagreement)
        checked += len(batch)
        if progress is not None:
            progress(replayer.kind, checked)
    report.checked[replayer.kind] = checked


def _compare(replayer: Replayer, row, entries: list[dict] | None) -> list[Disagreement]:
    if not entries:
        return [Disagreement(replayer.kind, str(row.pk), "*", NO_ENTRY, "row exists")]
    expected = replayer.replay(entries)
    actual = replayer.stored(row)
    return [Disagreement(replayer.kind, str(row.pk), name, expected[name], actual.get(name))
            for name in replayer.fields if name in expected and not same(expected[name], actual.get(name))]


def _recheck(replayer: Replayer, pk, qs) -> list[Disagreement]:
    """The row and its entries read again in one transaction with the row share-locked: what a
    writer committed meanwhile is in both, what one is writing now waits (or is waited for)."""
    from django.db import transaction

    from hozen.core import rows
    from hozen.core.errors import NotFound

    with transaction.atomic():
        try:
            rows.lock(replayer.model, pk, shared=True)
        except NotFound:  # gone meanwhile: the missing-row pass reports it if the log names it
            return []
        row = qs.filter(pk=pk).first()
        if row is None:
            return []
        return _compare(replayer, row, _entries(replayer, [str(pk)]).get(str(pk)))


def _check_missing_rows(replayer: Replayer, report: Report, batch_size: int) -> None:
    """Records the log names that have no row (deleted behind the services' back). One pass over
    the distinct target ids of the kind's lifecycle entries, in batches."""
    ids = (AuditEntry.objects.filter(target_type=replayer.target_type, action__in=replayer.actions,
                                     outcome="success")
           .values_list("target_id", flat=True).distinct().order_by("target_id"))
    last = ""
    while True:
        batch = list(ids.filter(target_id__gt=last)[:batch_size])
        if not batch:
            return
        last = batch[-1]
        keys = []
        for target_id in batch:
            try:
                keys.append(replayer.model._meta.pk.to_python(target_id))
            except Exception:  # noqa: BLE001 - an id the model cannot hold is reported, not fatal
                report.add(Disagreement(replayer.kind, target_id, "*", "row exists", NO_ROW))
        present = {str(pk) for pk in replayer.model._default_manager.filter(pk__in=keys).values_list("pk", flat=True)}
        for target_id in batch:
            if target_id not in present:
                report.add(Disagreement(replayer.kind, target_id, "*", "row exists", NO_ROW))


def reconcile(*, kinds: Iterable[str] | None = None, batch_size: int = 1000, progress=None) -> Report:
    """Replay every registered kind (or those named) and compare; returns the report (nothing written)."""
    wanted = set(kinds) if kinds is not None else None
    unknown = (wanted or set()) - set(_REPLAYERS)
    if unknown:
        raise ValueError(f"no replay for {', '.join(sorted(unknown))}; known: {', '.join(sorted(_REPLAYERS))}")
    report = Report()
    for replayer in registered():
        if wanted is not None and replayer.kind not in wanted:
            continue
        _check_rows(replayer, report, batch_size, progress)
        _check_missing_rows(replayer, report, batch_size)
    return report


# --- helpers for replay functions ---------------------------------------------------------------------

def details(entry: dict) -> dict:
    return entry.get("details") or {}


def actor_account(entry: dict) -> str | None:
    """The user name of the entry's actor (None for a system actor)."""
    return (entry.get("actor") or {}).get("account")


def run_and_record(*, actor, kinds: Iterable[str] | None = None, progress=None):
    """Reconcile, then keep the run and write one audit entry `audit.reconciled` with the counts
    (outcome `failure` when anything disagreed, so it stands out among the log's failures).
    Returns (report, run). The policy decides who may (`audit.reconcile`)."""
    from django.db import transaction
    from django.utils import timezone

    from hozen.access import policy

    from . import service
    from .models import ReconcileRun

    policy.require(actor, "audit.reconcile")
    started = timezone.now()
    report = reconcile(kinds=kinds, progress=progress)
    with transaction.atomic(durable=True):
        run = ReconcileRun.objects.create(
            started_at=started, finished_at=timezone.now(), checked=report.checked, disagreements=report.count,
            details=[d.as_dict() for d in report.disagreements], run_by=actor.describe())
        service.record(actor, "audit.reconciled", run, outcome="success" if report.ok else "failure",
                       details={"checked": report.checked, "disagreements": report.count,
                                "kinds": sorted(report.checked)})
    return report, run


def latest_run():
    from .models import ReconcileRun

    return ReconcileRun.objects.order_by("-finished_at", "-id").first()
