"""`hozen rules ...` commands. Registered into the main parser by hozen.cli.

  list       every published pack version, the one in force today marked
  show       one pack: values (with the to-verify flag and source) and taxonomy
  validate   check a pack file; exit 1 with `FILE:LINE: message` lines on stderr
  publish    validate and store a pack file as a new version (audited)
"""

from __future__ import annotations

import sys


def _actor(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(f"rules {command}")


def _read(path: str) -> str:
    from pathlib import Path

    from hozen.cli import CliError

    try:
        # Bytes, decoded without newline translation: the stored SHA-256 is the file's own.
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None


def _columns(rows: list[list]) -> None:
    """Plain aligned columns, never truncated (codes and hashes must be copyable)."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def cmd_list(args) -> int:
    from hozen.access import policy
    from hozen.cli import _print_json

    from . import queries

    actor = _actor("list")
    policy.require(actor, "rules_pack.view")
    rows = [queries.summary(p) for p in queries.packs_for(actor).prefetch_related("categories", "sub_items")]
    if args.json:
        _print_json([{k: r[k] for k in ("code", "tier", "version", "effective_from", "in_force", "title_ja",
                                        "title_en", "sha256", "published_at", "published_by", "to_verify")}
                     | {"sub_items": len(r["sub_items"])} for r in rows])
        return 0
    if not rows:
        print("no rules packs published (run `hozen migrate`)")
        return 0
    _columns([["code", "version", "tier", "effective from", "in force", "sub-items", "to verify", "published"]]
             + [[r["code"], r["version"], r["tier"], r["effective_from"], "yes" if r["in_force"] else "",
                 len(r["sub_items"]), len(r["to_verify"]), r["published_at"][:16].replace("T", " ")] for r in rows])
    return 0


def cmd_show(args) -> int:
    from hozen.access import policy
    from hozen.cli import CliError, _print_json
    from hozen.core.errors import NotFound

    from . import loader, queries
    from .models import describe_value

    actor = _actor("show")
    policy.require(actor, "rules_pack.view")
    try:
        pack = queries.pack_for(args.code, args.version)
    except NotFound:
        raise CliError(f"no rules pack {args.code}" + (f" version {args.version}" if args.version else "")
                       + " (see `hozen rules list`)") from None
    data = queries.summary(pack)
    if args.json:
        _print_json(data)
        return 0
    print(f"{pack} ({pack.tier}): {pack.title_en}")
    print(f"  {pack.title_ja}")
    print(f"effective from {data['effective_from']}{' (in force today)' if data['in_force'] else ''}")
    print(f"sha256 {pack.sha256}  file {pack.filename or '-'}")
    print()
    print("values (TO VERIFY = not confirmed word for word against the Act or the standards):")
    for key, e in data["values"].items():
        value = loader.to_python(key, e["value"])
        if isinstance(value, list):
            shown = ", ".join(item["code"] for item in value)
        else:
            shown = describe_value(value, e.get("unit"), False, "en")
        print(f"  {key} = {shown}{'  [TO VERIFY]' if e['to_verify'] else ''}")
        print(f"      source: {e['source']}")
    print()
    print("categories:")
    for c in data["categories"]:
        print(f"  ({c['code']}) {c['name_en']}")
        print(f"      {c['name_ja']}")
    print()
    awaiting = sum(1 for s in data["sub_items"] if s["status"] != "confirmed")
    print(f"sub-items ({len(data['sub_items'])}, {awaiting} AWAITING CONFIRMATION against the standards):")
    for s in data["sub_items"]:
        flag = "" if s["status"] == "confirmed" else "  [AWAITING CONFIRMATION]"
        domain = f"domain {s['domain']}, " if s["domain"] else ""
        print(f"  {s['code']} ({domain}category {s['category'] or '-'}) {s['name_en']}{flag}")
        print(f"      {s['name_ja']}")
    return 0


def cmd_validate(args) -> int:
    from .loader import PackError, load

    text = _read(args.file)
    try:
        data = load(text, args.file)
    except PackError as exc:
        for line in exc.lines("en"):
            print(line, file=sys.stderr)
        return 1
    values = data["values"]
    flagged = sum(1 for v in values.values() if v["to_verify"])
    awaiting = sum(1 for s in data["taxonomy"]["sub_items"] if s["status"] != "confirmed")
    print(f"{args.file}: ok — {data['code']} v{data['version']} ({data['tier']}), effective {data['effective_from']}; "
          f"{len(values)} values ({flagged} to verify), {len(data['taxonomy']['categories'])} categories, "
          f"{len(data['taxonomy']['sub_items'])} sub-items ({awaiting} awaiting confirmation)")
    return 0


def cmd_publish(args) -> int:
    from .services import publish_pack

    pack = publish_pack(actor=_actor("publish"), source_text=_read(args.file), filename=args.file)
    print(f"published {pack} ({pack.tier}), effective from {pack.effective_from:%Y-%m-%d}; sha256 {pack.sha256}")
    return 0


def register(sub) -> None:
    rules = sub.add_parser("rules", help="rules packs: versioned figures and taxonomy").add_subparsers(
        dest="rules_command", required=True, metavar="ACTION")
    s = rules.add_parser("list", help="list published pack versions")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)
    s = rules.add_parser("show", help="show one pack's values and taxonomy")
    s.add_argument("code", metavar="CODE")
    s.add_argument("--version", type=int, metavar="N", help="the version (default: the latest)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_show)
    s = rules.add_parser("validate", help="check a pack file; errors as FILE:LINE: message")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=cmd_validate)
    s = rules.add_parser("publish", help="validate a pack file and publish it as a new version")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=cmd_publish)
