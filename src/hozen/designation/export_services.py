"""Exports of the designation registry: the ledger (指定管理簿) as CSV or PDF, the 指定書 as PDF.

An export is a read, but a read that leaves the system as a file: each is recorded in the audit
log in the same transaction that builds it (STYLE: writes), with identifiers and counts only.
"""

from __future__ import annotations

import base64
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core import rows, tasks
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal

from . import exports, queries
from .models import Designation, PreparedLedger, State

LEDGER_FORMATS = ("csv", "pdf")
#: A ledger PDF of more rows than this is prepared by a task rather than built in the request
#: (`HOZEN_LEDGER_DIRECT_PDF_ROWS`); a prepared file is kept this long for its requester.
PREPARED_KEPT = dt.timedelta(hours=24)


def direct_pdf_rows() -> int:
    return int(getattr(settings, "HOZEN_LEDGER_DIRECT_PDF_ROWS", 1000))


def _too_large(count: int) -> RuleViolation:
    return RuleViolation(
        "ledger_too_large", f"この管理簿は{count}件あり、画面で直接PDFにできません。「PDFを準備」を使ってください。",
        f"This ledger has {count} rows, too many for a PDF made on the spot: use \"Prepare PDF\" instead.")


@transaction.atomic(durable=True)
def export_ledger(*, actor, organisation, fmt: str) -> bytes:
    """The organ's ledger as `fmt` (csv | pdf); audited `designation.ledger_exported`."""
    policy.require(actor, "designation.export", organisation)
    if fmt not in LEDGER_FORMATS:
        raise RuleViolation("invalid_format", "出力形式は csv または pdf です。", "The format is csv or pdf.",
                            field="format")
    designations = list(queries.ledger_designations(actor, organisation))
    if fmt == "pdf" and len(designations) > direct_pdf_rows():
        raise _too_large(len(designations))
    if fmt == "csv":
        body = exports.ledger_csv(designations)
    else:
        body = exports.ledger_pdf(organisation, designations, timezone.now())
    audit.record(actor, "designation.ledger_exported", organisation,
                 details={"organisation": organisation.code, "format": fmt, "rows": len(designations)})
    return body


@transaction.atomic(durable=True)
def export_document(*, actor, designation: Designation) -> bytes:
    """The 指定書 of one designation (never of a draft); audited `designation.document_exported`."""
    policy.require(actor, "designation.view", designation)
    policy.require(actor, "designation.export", designation.organisation)
    if designation.state == State.DRAFT or not designation.reference:
        raise RuleViolation("not_designated", "指定書は承認された指定についてのみ作成できます。",
                            "A designation document exists only once the draft is approved.")
    events = list(designation.events.select_related("rules_pack").order_by("at", "id"))
    body = exports.designation_pdf(designation, events)
    audit.record(actor, "designation.document_exported", designation,
                 details={"reference": designation.reference, "state": designation.state})
    return body


@transaction.atomic(durable=True)
def request_ledger(*, actor, organisation, fmt: str) -> PreparedLedger:
    """Queue the building of the organ's ledger as `fmt` for `actor` to download later; audited
    `designation.ledger_requested`. The task is queued in this transaction (hozen.core.tasks)."""
    policy.require(actor, "designation.export", organisation)
    if fmt not in LEDGER_FORMATS:
        raise RuleViolation("invalid_format", "出力形式は csv または pdf です。", "The format is csv or pdf.",
                            field="format")
    now = timezone.now()
    prepared = PreparedLedger.objects.create(organisation=organisation, requested_by=actor.account,
                                             assignment=actor.assignment, fmt=fmt, created_at=now,
                                             expires_at=now + PREPARED_KEPT)
    from .tasks import build_prepared_ledger  # the task module imports this one

    tasks.enqueue(build_prepared_ledger, prepared.pk)
    audit.record(actor, "designation.ledger_requested", organisation,
                 details={"organisation": organisation.code, "format": fmt, "prepared": prepared.pk})
    return prepared


def _requester(prepared: PreparedLedger):
    """The requester as they stand now (None when the account or the role has ended since)."""
    account, assignment = prepared.requested_by, prepared.assignment
    if not account.is_active or assignment.revoked_at is not None:
        return None
    return Actor.for_account(account, assignment, channel="task")


@transaction.atomic(durable=True)
def build_prepared(prepared_id: int) -> str:
    """The task's work: build a queued ledger file with its requester's rights as they are now, in
    one transaction that first locks the row, so a second run (a worker killed after this commits)
    changes nothing. Audited `designation.ledger_prepared`. Returns the status."""
    prepared = rows.lock(PreparedLedger, prepared_id)
    if prepared.status != PreparedLedger.Status.QUEUED:
        return prepared.status
    now = timezone.now()
    actor = _requester(prepared)
    decision = (policy.decide(actor, "designation.export", prepared.organisation) if actor is not None
                else policy.deny("role_ended", "", ""))
    if now >= prepared.expires_at:
        decision = policy.deny("request_expired", "", "")
    if not decision.allowed:
        rows.change(prepared, status=PreparedLedger.Status.FAILED, failure=decision.code)
        audit.record(actor or Actor.job("designation.prepare_ledger"), "designation.ledger_prepared",
                     prepared.organisation, details={"prepared": prepared.pk, "outcome": "failed",
                                                     "reason": decision.code})
        return prepared.status
    designations = list(queries.ledger_designations(actor, prepared.organisation))
    if prepared.fmt == "csv":
        body = exports.ledger_csv(designations)
    else:
        body = exports.ledger_pdf(prepared.organisation, designations, now)
    prepared.body = base64.b64encode(body).decode("ascii")
    prepared.status = PreparedLedger.Status.READY
    prepared.rows = len(designations)
    prepared.ready_at = timezone.now()
    prepared.save(update_fields=["body", "status", "rows", "ready_at"])
    audit.record(actor, "designation.ledger_prepared", prepared.organisation,
                 details={"prepared": prepared.pk, "outcome": "ready", "format": prepared.fmt,
                          "rows": prepared.rows})
    return prepared.status


@transaction.atomic(durable=True)
def download_prepared(*, actor, prepared: PreparedLedger) -> bytes:
    """The prepared file, for its requester while it is kept; audited `designation.ledger_exported`."""
    policy.require(actor, "designation.prepared_ledger.read", prepared)
    prepared = rows.lock(PreparedLedger, prepared.pk)
    if prepared.status != PreparedLedger.Status.READY or timezone.now() >= prepared.expires_at:
        raise RuleViolation("prepared_ledger_not_ready", "この台帳ファイルは受け取れる状態にありません。",
                            "This ledger file is not ready to download (still being prepared, failed or expired).")
    body = base64.b64decode(reveal(actor, prepared, "body", purpose="ledger_export"))
    audit.record(actor, "designation.ledger_exported", prepared.organisation,
                 details={"organisation": prepared.organisation.code, "format": prepared.fmt,
                          "rows": prepared.rows, "prepared": prepared.pk})
    return body


def expire_prepared(*, actor) -> int:
    """Destroy the key of every prepared ledger past its time (periodic job): its file is then
    unreadable everywhere, backups included. Returns how many expired."""
    from hozen.crypto import shred

    done = 0
    due = PreparedLedger.objects.filter(expires_at__lte=timezone.now()).exclude(
        status=PreparedLedger.Status.EXPIRED).values_list("pk", flat=True)
    for pk in list(due[:1000]):
        with transaction.atomic():
            prepared = rows.lock(PreparedLedger, pk)
            if prepared.status == PreparedLedger.Status.EXPIRED:
                continue
            shred(actor, prepared, "prepared_ledger_expired")
            rows.change(prepared, status=PreparedLedger.Status.EXPIRED)
            done += 1
    return done
