"""`hozen vault ...` commands. Registered into the main parser by hozen.cli.

  trace FILE [--as USERNAME] [--json]   which copy a found file came from (audited)
  list [--as USERNAME] [--designation REF] [--json]
        with --as: the documents that account may read (titles included);
        without: the operator's inventory (counts and sizes only, never titles or content)
"""

from __future__ import annotations

from pathlib import Path


def _operator(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(f"vault {command}")


def _actor(args, command: str):
    if getattr(args, "as_user", None):
        from hozen.designation.cli import _account_actor

        return _account_actor(args.as_user, getattr(args, "organisation", None), None)
    return _operator(command)


def _read(path: str) -> bytes:
    from hozen.cli import CliError

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _copy_row(copy, places) -> dict:
    return {
        "copy_id": copy.pk, "copy_number": copy.number, "kind": copy.kind, "medium": copy.medium,
        "document_id": copy.version.document_id, "version": copy.version.number,
        "designation": copy.version.document.designation.reference,
        "recipient": copy.recipient_name, "organisation": copy.recipient_organisation,
        "issued_at": copy.issued_at.isoformat(), "custodian": copy.holder_name, "state": copy.state,
        "found_in": places,
    }


def cmd_trace(args) -> int:
    from hozen.cli import _print_json

    from .trace import trace

    data = _read(args.file)
    result = trace(actor=_actor(args, "trace"), data=data)
    rows = [_copy_row(m.copy, m.places) for m in result.matches]
    if args.json:
        _print_json({"file": args.file, "sha256": result.sha256, "kind": result.kind, "pages": result.pages,
                     "matches": rows, "unknown_identifiers": result.unknown_tokens})
        return 0 if rows else 1
    print(f"{args.file}: {result.kind}, {result.pages if result.pages is not None else '?'} page(s), "
          f"sha256 {result.sha256}")
    if not rows:
        extra = f" ({len(result.unknown_tokens)} identifier(s) of no known copy)" if result.unknown_tokens else ""
        print(f"no copy identified{extra}")
        return 1
    for r in rows:
        print(f"copy {r['copy_number']} (id {r['copy_id']}) of document #{r['document_id']} v{r['version']}, "
              f"designation {r['designation']}")
        print(f"  issued to {r['recipient']} ({r['organisation']}) at {r['issued_at']} as {r['kind']}"
              f"{' ' + r['medium'] if r['medium'] else ''}; custodian now {r['custodian']}, {r['state']}")
        print(f"  found in: {', '.join(r['found_in'])}")
    return 0


def cmd_list(args) -> int:
    from hozen.cli import CliError, _print_json
    from hozen.designation.models import Designation

    from . import queries

    designation = None
    if args.designation:
        designation = Designation.objects.filter(reference=args.designation).first()
        if designation is None:
            raise CliError(f"no designation {args.designation!r}")
    if args.as_user:
        actor = _actor(args, "list")
        qs = queries.documents_for(actor, designation=designation)
        rows = [{"id": d.pk, "designation": d.designation.reference, "title": d.title, "versions": d.version_count,
                 "latest_version": d.last_version, "created_at": d.created_at.isoformat()} for d in qs]
        headers = ["id", "designation", "versions", "created_at", "title"]
    else:
        qs = queries.inventory(_operator("list"))
        if designation is not None:
            qs = qs.filter(designation=designation)
        rows = [{"id": d.pk, "designation": d.designation.reference, "versions": d.version_count,
                 "stored_bytes": d.stored_bytes or 0, "copies_issued": d.copies_issued,
                 "copies_open": d.open_copies, "created_at": d.created_at.isoformat()} for d in qs]
        headers = ["id", "designation", "versions", "stored_bytes", "copies_issued", "copies_open", "created_at"]
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("no documents")
        return 0
    table = [headers] + [[str(r[h]) for h in headers] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def register(sub) -> None:
    """Add this app's command group to the `hozen` parser."""
    group = sub.add_parser("vault", help="document vault: trace a found file to its copy, list documents")
    vault = group.add_subparsers(dest="vault_command", required=True, metavar="ACTION")

    s = vault.add_parser("trace", help="identify the copy a found file (PDF, even with pages removed, or ZIP) came "
                         "from; exit 1 when none")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--as", dest="as_user", metavar="USERNAME",
                   help="trace as this registry account (answers name only its organ's copies)")
    s.add_argument("--organisation", metavar="CODE", help="the organisation, when USERNAME has roles in several")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_trace)

    s = vault.add_parser("list", help="documents: with --as, those the account may read; without, the operator's "
                         "inventory (no titles)")
    s.add_argument("--as", dest="as_user", metavar="USERNAME")
    s.add_argument("--organisation", metavar="CODE", help="the organisation, when USERNAME has roles in several")
    s.add_argument("--designation", metavar="REF", help="one designation, by reference number")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)
