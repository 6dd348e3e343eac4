"""Writes of the designation registry that work on many rows at once: importing drafts from a
file, exporting the ledger of one or many organs (an audited read). Same shape as services.py: policy → rules → save →
audit entry in the same transaction (STYLE: writes).

``import_drafts`` writes exactly what ``services.create_draft`` writes for each row (the draft, the
holding organ's holder row, its ``drafted`` event, a ``designation.drafted`` audit entry), plus one ``designation.imported``
entry with the count, all in one transaction: a file goes in whole or not at all.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.models import Organisation
from hozen.rules.queries import current_pack

from . import inputs, queries
from .models import Designation, Event, Tier
from .services import add_holding_organ, check_content

CONTENT_KEYS = ("category", "sub_item", "designated_on", "term_end", "in_advance", "advance_reason",
                "justification_category", "justification_not_public", "justification_harm")


def check_draft(pack, fields: dict) -> dict:
    """The checks ``services.create_draft`` applies to a draft's content, in the same order;
    returns the fields as they are stored (texts cleaned by the one text policy)."""
    fields = inputs.clean_draft(fields)
    check_content(pack, **{k: fields.get(k) for k in CONTENT_KEYS})
    return fields


class RowViolation(RuleViolation):
    """A RuleViolation found in one row of an imported file; the message starts with its line."""

    def __init__(self, line: int, exc: RuleViolation):
        where = f"line {line}" + (f": {exc.field}" if exc.field else "")
        super().__init__(exc.code, f"{line}行目: {exc.message_ja}", f"{where}: {exc.message_en}", field=exc.field)
        self.line = line


@transaction.atomic(durable=True)
def import_drafts(*, actor, organisation: Organisation, rows, sha256: str = "", progress=None) -> list[Designation]:
    """Create one draft per row (``rows``: objects with ``line`` and ``fields``), all or none.

    The rows were checked before (importer.parse_csv); they are checked again here, inside the
    transaction, against the pack in force now, so that a row is never written on stale checks.
    `sha256` identifies the file in the audit log (never its name or content); `progress(n)` is
    called after each row.
    """
    policy.require(actor, "designation.import", organisation)
    rows = list(rows)
    if not rows:
        raise RuleViolation("no_rows", "取り込む行がありません。", "There are no rows to import.")
    today = timezone.localdate()
    pack = current_pack(Tier.ESI, today)
    created = []
    for row in rows:
        try:
            fields = check_draft(pack, row.fields)
        except RuleViolation as exc:
            raise RowViolation(row.line, exc) from None
        designation = Designation(organisation=organisation, tier=Tier.ESI, rules_pack=pack,
                                  prepared_by=actor.account, **fields)
        designation.save()
        add_holding_organ(designation)
        Event.objects.create(designation=designation, kind=Event.Kind.DRAFTED, on=today, actor=actor.describe(),
                             rules_pack=pack, details={})
        audit.record(actor, "designation.drafted", designation, details={"organisation": organisation.code})
        created.append(designation)
        if progress is not None:
            progress(len(created))
    audit.record(actor, "designation.imported", organisation,
                 details={"organisation": organisation.code, "count": len(created), "sha256": sha256,
                          "first": created[0].pk, "last": created[-1].pk})
    return created


@transaction.atomic(durable=True)
def export_ledger_rows(*, actor, organisations: list[Organisation], fmt: str) -> list[dict]:
    """The ledger (指定管理簿) rows of the given organs as plain dicts (``queries.ledger_row`` plus the
    holding organ's code), for the API's JSON and the CLI's CSV/JSON exports of one or many organs.

    An export is a read that leaves the system, so it is audited like ``export_services.export_ledger``
    (the screens' CSV/PDF of one organ): one ``designation.ledger_exported`` entry naming the organs,
    the format and the number of rows, never their content.
    """
    for organisation in organisations:
        policy.require(actor, "designation.export", organisation)
    rows = []
    for organisation in organisations:
        rows += [{"organisation": organisation.code, **queries.ledger_row(d)}
                 for d in queries.ledger_designations(actor, organisation)]
    target = organisations[0] if len(organisations) == 1 else None
    audit.record(actor, "designation.ledger_exported", target,
                 details={"organisations": [o.code for o in organisations], "format": fmt, "rows": len(rows)})
    return rows
