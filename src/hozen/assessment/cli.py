"""`hozen assessments ...` and `hozen retention ...` commands. Registered into the main parser by
hozen.cli. Thin: parse, call services and queries, print; errors are one line on stderr, exit 1
for a refused or failed operation, 2 for bad usage.

  assessments nominate FILE.csv --as USERNAME [--contract ID]   bulk nomination, all rows or none
  assessments list [--as USERNAME] [--state S] [--json]        cases as that account sees them;
                                                               without --as, counts only
  retention run [--on DATE] [--json] [--progress]              destroy files past retention now
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

NOMINATE_HELP = """\
Nominate candidates for aptitude assessment (適性評価) from a CSV file, as USERNAME: an organ's
security officer nominating its staff, or a business's protection officer nominating its
employees under a contract (--contract). Every row is checked first with the same rules as a
nomination on screen; if any row is wrong, each bad row is reported as "FILE line N: COLUMN:
message" and nothing from the file is written. A candidate with an earlier favourable result
from the same organ is held as a possible exemption for the organ to confirm (no case opens).

File: UTF-8 (with or without a byte-order mark), comma-separated, a header row with these
columns in any order:

  username            the candidate's Hozen account (or instead: person_id)
  department          所属 (at most 200 characters)
  post                役職 (at most 200 characters)
  listing_agreed_on   the day the candidate agreed to be listed, YYYY-MM-DD
  date_of_birth       optional: if given, must match the person's recorded date of birth
  tier                optional: esi (default) or sds
  trigger             optional: new (default) or ten_year_renewal
  dispatched_worker   optional: true/false (派遣労働者)
  employing_agency    the dispatched worker's employing agency (派遣元), only for one
"""


def _operator(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(command)


def _account_actor(username: str, organisation: str | None, roles: tuple[str, ...]):
    """The account acting through the CLI in one of its roles (the first of ``roles`` it holds)."""
    from hozen.cli import CliError
    from hozen.core.actor import Actor
    from hozen.core.models import Account

    account = Account.objects.filter(username=username).first()
    if account is None or not account.is_active:
        raise CliError(f"no active account {username!r} (see `hozen users list`)")
    assignments = account.active_assignments().select_related("organisation")
    if organisation:
        assignments = assignments.filter(organisation__code=organisation)
    assignment = None
    for role in roles:
        chosen = list(assignments.filter(role=role))
        if len(chosen) > 1:
            raise CliError(f"{username} is {role} in {', '.join(a.organisation.code for a in chosen)}; "
                           "choose one with --organisation")
        if chosen:
            assignment = chosen[0]
            break
    assignment = assignment or assignments.first()
    if assignment is None:
        where = f" in {organisation}" if organisation else ""
        raise CliError(f"{username} holds no role{where}")
    # The policy decides whether that role may act; a wrong role is refused with its reason.
    return Actor.for_account(account, assignment, channel="cli", second_factor_verified=False)


def _progress(forced: bool):
    """A rich progress bar on stderr when it is a terminal (or --progress); None otherwise."""
    if not (forced or sys.stderr.isatty()):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True, force_terminal=forced or None), transient=True)


def _date_arg(value: str, option: str) -> dt.date:
    from hozen.cli import CliError

    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date written YYYY-MM-DD, got {value!r}") from None


# --- assessments nominate -------------------------------------------------------------------------

def _contract(actor, value: str | None):
    from hozen.cli import CliError
    from hozen.operators.models import Contract

    if not value:
        return None
    qs = Contract.objects.select_related("organ", "business", "certification")
    if value.isdigit():
        contract = qs.filter(pk=int(value)).first()
    else:
        organ, _, reference = value.rpartition("/")
        matches = qs.filter(reference=reference)
        if organ:
            matches = matches.filter(organ__code=organ)
        elif actor.organisation is not None:
            matches = matches.filter(business=actor.organisation)
        matches = list(matches[:2])
        if len(matches) > 1:
            raise CliError(f"contract reference {value!r} is ambiguous; write ORGAN/REFERENCE or its id")
        contract = matches[0] if matches else None
    if contract is None:
        raise CliError(f"no contract {value!r} (give its id, its reference or ORGAN/REFERENCE)")
    return contract


def _report_refused(path: str, errors) -> None:
    """One line per bad row (at most 20), then a one-line total."""
    shown = errors[:20]
    tail = " (nothing nominated)" if len(errors) == 1 else ""
    for e in shown:
        field = f": {e.field}" if e.field else ""
        print(f"hozen: error: {path} line {e.line}{field}: {e.message_en}{tail}", file=sys.stderr)
    if len(errors) > 1:
        more = f" ({len(errors) - len(shown)} more not shown)" if len(errors) > len(shown) else ""
        print(f"hozen: error: {len(errors)} rows refused{more}; nothing nominated", file=sys.stderr)


def cmd_nominate(args) -> int:
    import json

    from hozen.access import policy
    from hozen.cli import CliError

    from . import importer, services

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    actor = _account_actor(args.as_user, args.organisation,
                           ("business_officer",) if args.contract else ("security_officer",))
    contract = _contract(actor, args.contract)
    # Refused before reading a row: a wrong role hears the policy's reason, not the file's faults.
    policy.require(actor, "assessment.nominate", contract if contract is not None else actor.organisation)
    bar = _progress(args.progress)
    try:
        if bar is not None:
            with bar:
                task = bar.add_task("checking rows", total=None)
                rows = importer.parse_csv(data, progress=lambda n: bar.update(task, completed=n))
        else:
            rows = importer.parse_csv(data)
    except importer.ImportFailed as exc:
        _report_refused(args.file, exc.errors)
        return 1
    lines = [r.line for r in rows]
    bar = _progress(args.progress)
    try:
        if bar is not None:
            with bar:
                task = bar.add_task("nominating", total=len(rows))
                results = services.nominate_many(actor=actor, rows=[r.fields for r in rows], contract=contract,
                                                 progress=lambda n: bar.update(task, completed=n))
        else:
            results = services.nominate_many(actor=actor, rows=[r.fields for r in rows], contract=contract)
    except services.NominationRowsInvalid as exc:
        _report_refused(args.file, [importer.RowError(lines[i], field, "", en, ja) for i, field, ja, en in exc.errors])
        return 1
    cases = [r.case.pk for r in results if r.case is not None]
    held = [r.exemption.pk for r in results if r.exemption is not None]
    if args.json:
        print(json.dumps({"rows": len(results), "cases": cases, "possible_exemptions": held}, indent=2))
        return 0
    side = contract.business.code if contract is not None else actor.organisation.code
    organ = contract.organ.code if contract is not None else actor.organisation.code
    print(f"nominated {len(results)} candidate(s) of {side} for assessment by {organ}: {len(cases)} case(s) opened"
          + (f", {len(held)} held as possible exemption(s) for the organ to confirm" if held else ""))
    return 0


# --- assessments list -----------------------------------------------------------------------------

def cmd_list(args) -> int:
    import json

    from django.db.models import Count

    from hozen.cli import CliError

    from . import queries
    from .models import AssessmentCase
    from .states import State

    if args.state and args.state not in State.values:
        raise CliError(f"--state must be one of {', '.join(State.values)}, got {args.state!r}")
    if not args.as_user:
        # The server's operator reads no case: counts by organ, tier and state, nothing personal.
        qs = AssessmentCase.objects.all()
        if args.state:
            qs = qs.filter(state=args.state)
        counts = [{"organ": r["organ__code"], "tier": r["tier"], "state": r["state"], "cases": r["n"]}
                  for r in qs.values("organ__code", "tier", "state").annotate(n=Count("id"))
                  .order_by("organ__code", "tier", "state")]
        if args.json:
            print(json.dumps(counts, ensure_ascii=False, indent=2))
        elif not counts:
            print("no assessments")
        else:
            _print_table(["organ", "tier", "state", "cases"],
                         [[c["organ"], c["tier"], c["state"], c["cases"]] for c in counts])
        return 0
    actor = _account_actor(args.as_user, args.organisation, ())
    qs = queries.cases_for(actor, state=args.state or None)
    rows = []
    cases = list(qs[: args.limit])
    for case in cases:
        status = queries.case_status(actor, case)
        rows.append({"id": case.pk, "person": str(case.person), "organ": case.organ.code,
                     "nominator": case.nominating_organisation.code,
                     **{k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in status.items()
                        if k not in ("case", "person", "organ")}})
    # Every person listed sees this read on their "who has read my data" (issue 12 §7), in one statement.
    from .reads import shown

    shown(actor, "cli_list", cases)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no assessments")
        return 0
    columns = ["id", "person", "organ", "nominator", "state" if "state" in rows[0] else "status",
               "stage_due_on" if "stage_due_on" in rows[0] else "valid_until"]
    _print_table(columns, [[r.get(c) if r.get(c) is not None else "" for c in columns] for r in rows])
    return 0


def _print_table(headers: list[str], rows: list[list]) -> None:
    """Plain aligned columns, never truncated."""
    table = [headers, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


# --- retention run ---------------------------------------------------------------------------------

def cmd_retention_run(args) -> int:
    import json

    from .services import retention_run

    on = _date_arg(args.on, "--on") if args.on else None
    actor = _operator("retention run")
    bar = _progress(args.progress)
    if bar is not None:
        with bar:
            task = bar.add_task("destroying files past retention", total=None)
            run = retention_run(actor=actor, on=on, progress=lambda n, total: bar.update(task, completed=n,
                                                                                         total=total))
    else:
        run = retention_run(actor=actor, on=on)
    result = {"on": run.on.isoformat(), "cases_shredded": run.cases_shredded, "notices_expired": run.notices_expired}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"retention run for {result['on']}: {run.cases_shredded} case file(s) destroyed, "
              f"{run.notices_expired} notice(s) to nominators expired")
    return 0


def register(sub) -> None:
    """Add this app's command groups to the `hozen` parser."""
    import argparse

    group = sub.add_parser("assessments", help="aptitude assessments (適性評価): bulk nomination, list")
    assessments = group.add_subparsers(dest="assessments_command", required=True, metavar="ACTION")

    s = assessments.add_parser("nominate", help="nominate candidates from a CSV file (all rows or none)",
                               description=NOMINATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("file", metavar="FILE.csv")
    s.add_argument("--as", dest="as_user", required=True, metavar="USERNAME",
                   help="the nominating security officer, or the business's protection officer with --contract")
    s.add_argument("--contract", metavar="ID", help="the contract a business nominates under: its id, its "
                   "reference, or ORGAN/REFERENCE")
    s.add_argument("--organisation", metavar="CODE", help="the organisation, when USERNAME has that role in several")
    s.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    s.add_argument("--json", action="store_true", help="print the ids of the cases and exemptions as JSON")
    s.set_defaults(func=cmd_nominate)

    s = assessments.add_parser("list", help="list assessments as an account sees them (--as), or counts by organ, "
                               "tier and state")
    s.add_argument("--as", dest="as_user", metavar="USERNAME", help="list as this account in its active role")
    s.add_argument("--organisation", metavar="CODE", help="with --as: the role's organisation")
    s.add_argument("--state", metavar="STATE")
    s.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N cases (default 1000)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    group = sub.add_parser("retention", help="retention (保存期間): destroy assessment files past their period")
    retention = group.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    s = retention.add_parser("run", help="crypto-shred case files past retention and expire nominator notices "
                             "past theirs (what the daily job does)")
    s.add_argument("--on", metavar="YYYY-MM-DD", help="run as of this day (default today; never a later day)")
    s.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_retention_run)
