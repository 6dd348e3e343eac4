"""Exports of the designation registry: the ledger (指定管理簿) as CSV or PDF, the 指定書 as PDF.

An export is a read, but a read that leaves the system as a file: each is recorded in the audit
log in the same transaction that builds it (STYLE: writes), with identifiers and counts only.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation

from . import exports, queries
from .models import Designation, State

LEDGER_FORMATS = ("csv", "pdf")


@transaction.atomic(durable=True)
def export_ledger(*, actor, organisation, fmt: str) -> bytes:
    """The organ's ledger as `fmt` (csv | pdf); audited `designation.ledger_exported`."""
    policy.require(actor, "designation.export", organisation)
    if fmt not in LEDGER_FORMATS:
        raise RuleViolation("invalid_format", "出力形式は csv または pdf です。", "The format is csv or pdf.",
                            field="format")
    designations = list(queries.ledger_designations(actor, organisation))
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
