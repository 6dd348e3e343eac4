"""`hozen handling ...` commands: handler lists (取扱者名簿) from the shell.

  list    REFERENCE --as USERNAME [--ended] [--json]     the list USERNAME's organisation keeps
  add     REFERENCE USERNAME --as KEEPER [--department D] [--ends-on YYYY-MM-DD] [--reason R]
  remove  ENTRY_ID --as KEEPER [--reason R]
  lapse   run the daily job now: record lapsed entries, open review campaigns

Every command acts as an account in its role (--as); the policy decides as on screen.
"""

from __future__ import annotations

import datetime as dt
import json


def _actor(username: str, organisation: str | None):
    from hozen.designation.cli import _account_actor

    return _account_actor(username, organisation, None)


def _designation(actor, reference: str):
    from hozen.cli import CliError
    from hozen.core.errors import NotFound

    from . import queries

    try:
        return queries.designation_by_reference_for_keeper(actor, reference)
    except NotFound:
        raise CliError(f"no designation {reference!r} visible to {actor.account.username}") from None


def _row(r) -> dict:
    e = r.entry
    return {"id": e.pk, "account": e.account.username, "name": e.account.person.full_name,
            "department": e.department, "from": e.starts_on.isoformat(), "until": e.ends_on.isoformat(),
            "status": r.status, "reason": e.end_reason or r.detail, "review_due": e.review_due.isoformat()}


def cmd_list(args) -> int:
    from . import queries

    actor = _actor(args.as_user, args.organisation)
    d = _designation(actor, args.reference)
    rows = [_row(r) for r in queries.handler_list(actor, d, include_ended=args.ended)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("nobody is on this list")
        return 0
    table = [["id", "account", "name", "department", "from", "until", "status", "review due"]]
    table += [[r["id"], r["account"], r["name"], r["department"] or "-", r["from"], r["until"],
               r["status"] + (f" ({r['reason']})" if r["reason"] else ""), r["review_due"]] for r in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _date(value: str | None):
    from hozen.cli import CliError

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"--ends-on: {value!r} is not a date written YYYY-MM-DD") from None


def cmd_add(args) -> int:
    from hozen.cli import CliError
    from hozen.core.errors import NotFound

    from . import queries, services

    actor = _actor(args.as_user, args.organisation)
    ends_on = _date(args.ends_on)
    d = _designation(actor, args.reference)
    try:
        account = queries.staff_account_for(actor, d, queries.account_by_username_for(actor, args.username).pk)
    except NotFound:
        raise CliError(f"no active account {args.username!r} in {actor.organisation.code}") from None
    entry = services.add_handler(actor=actor, designation=d, account=account, ends_on=ends_on,
                                 reason=args.reason or "", department=args.department or "")
    print(f"added {account.username} to the handler list of {d.reference} (entry {entry.pk}, until {entry.ends_on})")
    return 0


def cmd_remove(args) -> int:
    from hozen.cli import CliError
    from hozen.core.errors import NotFound

    from . import queries, services

    actor = _actor(args.as_user, args.organisation)
    try:
        entry = queries.entry_for(actor, args.entry_id)
    except NotFound:
        raise CliError(f"no handler list entry {args.entry_id} visible to {args.as_user}") from None
    services.remove_handler(actor=actor, entry=entry, reason=args.reason or "")
    print(f"removed {entry.account.username} from the handler list of {entry.designation.reference}")
    return 0


def cmd_lapse(args) -> int:
    from hozen.core.actor import Actor

    from . import jobs

    result = jobs.daily(actor=Actor.operator("handling lapse"))
    print(f"{result['lapsed']} entr{'y' if result['lapsed'] == 1 else 'ies'} lapsed; "
          f"{result['reviews_opened']} review(s) opened")
    return 0


def register(sub) -> None:
    """Add this app's command group to the `hozen` parser."""
    group = sub.add_parser("handling", help="handler lists (取扱者名簿): list, add, remove, run the lapse job")
    cmds = group.add_subparsers(dest="handling_command", required=True, metavar="ACTION")

    s = cmds.add_parser("list", help="the handler list of a designation kept by USERNAME's organisation")
    s.add_argument("reference", help="designation reference, e.g. METI-2026-0001")
    s.add_argument("--as", dest="as_user", required=True, metavar="USERNAME")
    s.add_argument("--organisation", metavar="CODE", help="when USERNAME holds roles in several organisations")
    s.add_argument("--ended", action="store_true", help="include ended entries")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    s = cmds.add_parser("add", help="put a person of the keeper's organisation on a designation's list")
    s.add_argument("reference")
    s.add_argument("username", help="the person to list")
    s.add_argument("--as", dest="as_user", required=True, metavar="KEEPER",
                   help="ESI manager or security officer (business: protection officer)")
    s.add_argument("--organisation", metavar="CODE")
    s.add_argument("--department", help="business staff: a department the contract allows")
    s.add_argument("--ends-on", metavar="YYYY-MM-DD", help="default: the designation's (or contract's) end")
    s.add_argument("--reason", help="why the person needs to know")
    s.set_defaults(func=cmd_add)

    s = cmds.add_parser("remove", help="take a person off a list (by entry id, see `list`)")
    s.add_argument("entry_id", type=int)
    s.add_argument("--as", dest="as_user", required=True, metavar="KEEPER")
    s.add_argument("--organisation", metavar="CODE")
    s.add_argument("--reason")
    s.set_defaults(func=cmd_remove)

    cmds.add_parser("lapse", help="run the daily job now: record lapsed entries, open review campaigns"
                    ).set_defaults(func=cmd_lapse)
