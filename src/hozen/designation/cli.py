"""`hozen designations ...` commands. Registered into the main parser by hozen.cli.

  import   FILE.csv --as USERNAME   drafts from a CSV file, all rows or none (the ESI manager's organ)
  export   [--organisation CODE] [--output FILE] [--format csv|json]   the ledger (audited)
  list     [--organisation CODE] [--state S] [--as USERNAME] [--json]
  expire   run the expiry job now (designations past their term end become expired)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from pathlib import Path

IMPORT_HELP = """\
Create draft designations from a CSV file, as the ESI manager USERNAME: the drafts belong to that
manager's organ and wait for the organ head's approval. Every row is checked first, with the same
rules as a draft made on screen; if any row is wrong, each bad row is reported as
"FILE line N: COLUMN: message" and nothing from the file is written.

File: UTF-8 (with or without a byte-order mark; Excel's "CSV UTF-8"), comma-separated, a header row
with these columns in any order:

  title                      件名 (at most 200 characters)
  summary                    概要, written so as not to reveal the information itself
  category                   category code in the ESI rules pack in force (1-4); may be empty:
                             the sub-item's own category
  sub_item                   sub-item code in that pack, e.g. A-1 (`hozen rules show jp-esi-2025`)
  designated_on              designation date, YYYY-MM-DD (not before the regime start)
  term_end                   end of the term, YYYY-MM-DD (at most the pack's maximum, 5 years)
  protective_measure         marking (表示) or written_notice (通知)
  justification_category     requirement 1: why it falls in the category and sub-item
  justification_not_public   requirement 2: why it is not public (非公知)
  justification_harm         requirement 3: why a leak would hinder national security
  in_advance                 optional: true if designated before the information exists
  advance_reason             optional: required when in_advance is true
"""


def _operator(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(f"designations {command}")


def _account_actor(username: str, organisation: str | None, role: str | None):
    """The account acting through the CLI in one of its roles (the ESI manager's, for import)."""
    from hozen.cli import CliError
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    account = Account.objects.filter(username=username).first()
    if account is None or not account.is_active:
        raise CliError(f"no active account {username!r} (see `hozen users list`)")
    assignments = account.active_assignments().select_related("organisation")
    if organisation:
        assignments = assignments.filter(organisation__code=organisation)
    chosen = list(assignments.filter(role=role)) if role else []
    if len(chosen) > 1:
        raise CliError(f"{username} is {role} in {', '.join(a.organisation.code for a in chosen)}; "
                       "choose one with --organisation")
    assignment = chosen[0] if chosen else assignments.first()
    if assignment is None:
        where = f" in {organisation}" if organisation else ""
        raise CliError(f"{username} holds no role{where}")
    # The policy decides whether that role may act; a wrong role is refused with its reason.
    return Actor.for_account(account, assignment, channel="cli", second_factor_verified=False)


def _progress(total: int | None, label: str, forced: bool):
    """A rich progress bar on stderr when it is a terminal (or --progress); None otherwise, which
    keeps stderr clean for scripts and tests."""
    if not (forced or sys.stderr.isatty()):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True, force_terminal=forced or None), transient=True)


def _read_bytes(path: str) -> bytes:
    from hozen.cli import CliError

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


# --- import ------------------------------------------------------------------------------------------------

def cmd_import(args) -> int:
    from django.utils import timezone

    from hozen.access import policy
    from hozen.rules.queries import current_pack

    from . import import_services, importer
    from .models import Tier

    data = _read_bytes(args.file)
    actor = _account_actor(args.as_user, args.organisation, "esi_manager")
    # Refused before reading a row: a wrong role hears the policy's reason, not the file's faults.
    policy.require(actor, "designation.import", actor.organisation)
    pack = current_pack(Tier.ESI, timezone.localdate())
    bar = _progress(None, "checking", args.progress)
    try:
        if bar is not None:
            with bar:
                task = bar.add_task("checking rows", total=None)
                rows = importer.parse_csv(data, pack=pack, progress=lambda n: bar.update(task, completed=n))
        else:
            rows = importer.parse_csv(data, pack=pack)
    except importer.ImportFailed as exc:
        _report_refused(args.file, exc.errors)
        return 1
    if args.dry_run:
        print(f"{args.file}: {len(rows)} rows are valid; nothing written (--dry-run)")
        return 0
    sha256 = hashlib.sha256(data).hexdigest()
    bar = _progress(len(rows), "writing", args.progress)
    if bar is not None:
        with bar:
            task = bar.add_task("writing drafts", total=len(rows))
            created = import_services.import_drafts(actor=actor, organisation=actor.organisation, rows=rows,
                                                    sha256=sha256, progress=lambda n: bar.update(task, completed=n))
    else:
        created = import_services.import_drafts(actor=actor, organisation=actor.organisation, rows=rows,
                                                sha256=sha256)
    print(f"imported {len(created)} drafts into {actor.organisation.code} "
          f"(ids {created[0].pk}–{created[-1].pk}); they await the organ head's approval")
    return 0


def _report_refused(path: str, errors) -> None:
    """One line per bad row; a single bad row is a single line (ARCHITECTURE rule 7)."""
    shown = errors[:20]
    tail = " (nothing imported)" if len(errors) == 1 else ""
    for e in shown:
        field = f": {e.field}" if e.field else ""
        print(f"hozen: error: {path} line {e.line}{field}: {e.message_en}{tail}", file=sys.stderr)
    if len(errors) > 1:
        more = f" ({len(errors) - len(shown)} more not shown)" if len(errors) > len(shown) else ""
        print(f"hozen: error: {len(errors)} rows refused{more}; nothing imported", file=sys.stderr)


# --- export ------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Dates ISO; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def ledger_csv_columns() -> tuple[tuple[str, str], ...]:
    """(key, Japanese header) of the CLI's CSV: the screens' ledger CSV plus the holding organ first."""
    from .exports import LEDGER_CSV_COLUMNS

    return (("organisation", "行政機関"), *LEDGER_CSV_COLUMNS)


def _organisations(actor, code: str | None):
    from hozen.cli import CliError
    from hozen.core.errors import NotFound

    from . import queries

    if code:
        try:
            return [queries.ledger_organisation_for(actor, code)]
        except NotFound:
            raise CliError(f"no administrative organ with code {code!r} (see `hozen organisations list`)") from None
    return [o for o in queries.ledger_organisations_for(actor) if o.entries]


def cmd_export(args) -> int:
    from hozen.cli import CliError

    from . import import_services

    actor = _operator("export")
    organisations = _organisations(actor, args.organisation)
    rows = import_services.export_ledger_rows(actor=actor, organisations=organisations, fmt=args.format)
    if args.format == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2, default=_cell) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        columns = ledger_csv_columns()
        writer.writerow([header for _, header in columns])
        for row in rows:
            writer.writerow([_cell(row.get(key)) for key, _ in columns])
        # A file gets a byte-order mark so that Excel reads the Japanese right; a pipe does not.
        text = ("\ufeff" if args.output else "") + out.getvalue()
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"exported {len(rows)} ledger rows of {len(organisations)} organ(s) to {args.output}", file=sys.stderr)
    return 0


# --- list --------------------------------------------------------------------------------------------------

def _list_row(d) -> dict:
    return {"id": d.pk, "reference": d.reference, "organisation": d.organisation.code, "tier": d.tier,
            "state": d.state, "title": d.title, "category": d.category.code, "sub_item": d.sub_item.code,
            "designated_on": d.designated_on.isoformat(), "term_end": d.term_end.isoformat(),
            "review_due": d.review_due.isoformat() if d.review_due else None}


def cmd_list(args) -> int:
    from hozen.cli import _print_json

    from . import queries
    from .models import State

    if args.state and args.state not in State.values:
        from hozen.cli import CliError

        raise CliError(f"--state must be one of {', '.join(State.values)}, got {args.state!r}")
    if args.as_user:
        # What that account sees in its role, drafts of its organ included (as on screen).
        from .importer import organisation_by_code

        actor = _account_actor(args.as_user, None, None)
        organisation = organisation_by_code(args.organisation, "--organisation") if args.organisation else None
        qs = queries.designations_for(actor, organisation=organisation, state=args.state)
    else:
        # The server's operator sees what the ledgers show: every designation ever in force, no drafts.
        actor = _operator("list")
        qs = None
        for organisation in _organisations(actor, args.organisation):
            part = queries.ledger_designations(actor, organisation)
            qs = part if qs is None else qs | part
        if qs is None:
            qs = []
        else:
            qs = (qs.prefetch_related(None).select_related("organisation")
                  .order_by("organisation__code", "year", "serial"))
            if args.state:
                qs = qs.filter(state=args.state)
    rows = [_list_row(d) for d in qs]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no designations")
        return 0
    # Plain aligned columns, never truncated: references must be copyable at any terminal width.
    table = [["id", "reference", "organ", "state", "sub-item", "designated", "term end", "title"]]
    table += [[r["id"], r["reference"] or "(draft)", r["organisation"], r["state"], r["sub_item"],
               r["designated_on"], r["term_end"], r["title"]] for r in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


# --- expire ------------------------------------------------------------------------------------------------

def cmd_expire(args) -> int:
    from . import jobs

    result = jobs.daily(actor=_operator("expire"))
    print(f"expired {result['expired']} designation(s); {result['reviews_due']} review(s) due or overdue; "
          f"{result['review_reminders']} new review notice(s) to ESI managers")
    return 0


def register(sub) -> None:
    import argparse

    group = sub.add_parser("designations", help="designations (指定): import drafts, export the ledger, list, expire")
    designations = group.add_subparsers(dest="designations_command", required=True, metavar="ACTION")

    s = designations.add_parser("import", help="create draft designations from a CSV file (all rows or none)",
                                description=IMPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("file", metavar="FILE.csv")
    s.add_argument("--as", dest="as_user", required=True, metavar="USERNAME",
                   help="the ESI manager preparing the drafts; their organ holds them")
    s.add_argument("--organisation", metavar="CODE", help="the organ, when USERNAME is ESI manager in several")
    s.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    s.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    s.set_defaults(func=cmd_import)

    s = designations.add_parser("export", help="export the designation ledger (指定管理簿) of one or every organ "
                                "(audited)")
    s.add_argument("--organisation", metavar="CODE", help="one organ (default: every organ with designations)")
    s.add_argument("--output", metavar="FILE", help="write to FILE (default: standard output)")
    s.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="csv (UTF-8, Japanese headers, a BOM in files) or json (default: csv)")
    s.set_defaults(func=cmd_export)

    s = designations.add_parser("list", help="list designations (the ledgers' rows; --as USERNAME for what that "
                                "account sees, drafts included)")
    s.add_argument("--organisation", metavar="CODE")
    s.add_argument("--state", metavar="STATE", help="draft, designated, expired, cancelled or moved_to_sds")
    s.add_argument("--as", dest="as_user", metavar="USERNAME", help="list as this account in its active role")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    designations.add_parser("expire", help="run the expiry job now: designations past their term end expire, "
                            "holders are notified").set_defaults(func=cmd_expire)
