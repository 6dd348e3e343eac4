"""`hozen audit ...` commands. Registered into the main parser by hozen.cli.

  verify      recompute the whole log; check stored hashes and every checkpoint (exit 1 names the fault)
  checkpoint  integrate, sign a checkpoint if the log grew, print the latest signed note
  prove       print an inclusion (--index) or consistency (--first) proof as JSON
  key         print the verifier key (note vkey form) that checks the log's checkpoints
  integrate   sequence pending entries now (the background job does this every minute)
  reconcile   replay the log's lifecycle entries and compare them with the rows (exit 1 names each
              disagreement); `verify --state` runs it after the log verifies
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path


def _key_errors(fn):
    """Key-encryption key problems (missing keyring, unknown version) as one readable line."""
    import functools

    @functools.wraps(fn)
    def run(args) -> int:
        from hozen.cli import CliError
        from hozen.crypto.envelope import CryptoError

        try:
            return fn(args)
        except CryptoError as exc:
            raise CliError(f"audit signing key unavailable: {exc}") from None

    return run


def _operator(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(f"audit {command}")


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _read_text(path: str, what: str) -> str:
    from hozen.cli import CliError

    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _pinned_key(value: str | None):
    """--key: the verifier key text itself, or a file holding it."""
    from hozen.cli import CliError

    from .note import NoteError, Verifier

    if not value:
        return None
    text = value if "+" in value and not Path(value).exists() else _read_text(value, "key file")
    try:
        return Verifier.from_key_text(text.strip())
    except NoteError as exc:
        raise CliError(f"--key is not a verifier key: {exc}") from None


def _progress_bar(forced: bool):
    """A rich progress bar on stderr when it is a terminal, or always with --progress; else None,
    which keeps output clean for scripts and tests."""
    if not (forced or sys.stderr.isatty()):
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True, force_terminal=forced or None), transient=True)
    task = bar.add_task("verify", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


@_key_errors
def cmd_verify(args) -> int:
    from hozen.access import policy
    from hozen.cli import CliError

    from .verify import VerificationFailed, verify_log

    policy.require(_operator("verify"), "audit.verify")
    external = _read_text(args.checkpoint, "checkpoint file") if args.checkpoint else None
    bar, update = _progress_bar(args.progress)
    try:
        if bar is not None:
            with bar:
                report = verify_log(pinned=_pinned_key(args.key), external_note=external, progress=update)
        else:
            report = verify_log(pinned=_pinned_key(args.key), external_note=external)
    except VerificationFailed as exc:
        raise CliError(f"audit log does not verify: {exc}") from None
    print(report.summary())
    if args.state:
        return _reconcile(_operator("verify --state"), json_output=False, kinds=None)
    return 0


def _reconcile(actor, *, json_output: bool, kinds) -> int:
    """Run the reconcile check as `actor`, print its report; 1 when anything disagreed."""
    from hozen.cli import CliError

    from .reconcile import run_and_record

    try:
        report, run = run_and_record(actor=actor, kinds=kinds)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if json_output:
        print(json.dumps({**report.as_dict(), "run": run.pk}, ensure_ascii=False, indent=2))
    else:
        checked = ", ".join(f"{n} {kind}" for kind, n in sorted(report.checked.items())) or "nothing"
        if report.ok:
            print(f"state ok: the rows agree with the log ({checked} checked)")
        else:
            for d in report.disagreements:
                print(d.line())
            more = report.count - len(report.disagreements)
            if more:
                print(f"... and {more} more")
            print(f"state does not agree with the log: {report.count} disagreement(s) ({checked} checked)",
                  file=sys.stderr)
    return 0 if report.ok else 1


def cmd_reconcile(args) -> int:
    return _reconcile(_operator("reconcile"), json_output=args.json, kinds=args.kind or None)


@_key_errors
def cmd_checkpoint(args) -> int:
    from hozen.access import policy

    from . import checkpoints

    policy.require(_operator("checkpoint"), "audit.checkpoint")
    sys.stdout.write(checkpoints.issue_checkpoint().note)
    return 0


def _checkpoint_covering(actor, size: int):
    """The latest checkpoint, or a fresh one when the latest does not reach `size` yet."""
    from hozen.access import policy

    from . import checkpoints, queries

    cp = queries.checkpoint_for(actor=actor)
    if cp.size < size:
        policy.require(actor, "audit.checkpoint")
        cp = checkpoints.issue_checkpoint()
    return cp


@_key_errors
def cmd_prove(args) -> int:
    """JSON proof; without --tree-size/--second, against the latest checkpoint (whose note is included)."""
    from hozen.cli import CliError
    from hozen.core.errors import RuleViolation

    from . import queries, tree

    actor = _operator("prove")
    try:
        if args.index is not None:
            cp = None if args.tree_size is not None else _checkpoint_covering(actor, args.index + 1)
            size = args.tree_size if cp is None else cp.size
            path = queries.inclusion_proof_for(actor=actor, index=args.index, tree_size=size)
            out = {"index": args.index, "tree_size": size, "leaf_hash": _b64(tree.leaf_hash(args.index)),
                   "root_hash": _b64(tree.root(size)), "audit_path": [_b64(h) for h in path]}
        else:
            cp = None if args.second is not None else _checkpoint_covering(actor, args.first)
            second = args.second if cp is None else cp.size
            path = queries.consistency_proof_for(actor=actor, first=args.first, second=second)
            out = {"first": args.first, "second": second, "first_root": _b64(tree.root(args.first)),
                   "second_root": _b64(tree.root(second)), "consistency_path": [_b64(h) for h in path]}
    except RuleViolation as exc:
        flag = {"tree_size": "--tree-size"}.get(exc.field or "", f"--{exc.field}")
        raise CliError(f"{flag}: {exc.message_en}") from None
    if cp is not None:
        out["checkpoint"] = cp.note
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


@_key_errors
def cmd_key(args) -> int:
    from . import queries

    print(queries.verifier_key_for(actor=_operator("key")))
    return 0


def cmd_integrate(args) -> int:
    from hozen.access import policy

    from . import integrator

    policy.require(_operator("integrate"), "audit.integrate")
    result = integrator.integrate(sweep=args.sweep)
    print(f"integrated {result.appended} entries; the log has {result.size} leaves")
    return 0


def _size(text: str) -> int:
    import argparse

    if not text.isdigit() or len(text) > 19:
        raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, got {text!r}")
    return int(text)


def register(sub) -> None:
    audit = sub.add_parser("audit", help="the verifiable audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")

    s = audit.add_parser("verify", help="recompute the log and check every stored hash and checkpoint")
    s.add_argument("--checkpoint", metavar="FILE", help="also check a checkpoint note saved earlier")
    s.add_argument("--key", metavar="VKEY|FILE",
                   help="trust this verifier key (from `hozen audit key`, kept elsewhere) instead of the stored one")
    s.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    s.add_argument("--state", action="store_true",
                   help="then replay the log and check the rows agree with it (as `hozen audit reconcile`)")
    s.set_defaults(func=cmd_verify)

    s = audit.add_parser("reconcile", help="replay the log's lifecycle entries and check the rows agree with them")
    s.add_argument("--kind", action="append", metavar="KIND",
                   help="only this kind of record (designation, assessment_case, ...); may be repeated")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_reconcile)

    audit.add_parser("checkpoint", help="sign a checkpoint if the log grew; print the latest").set_defaults(
        func=cmd_checkpoint)

    s = audit.add_parser("prove", help="print an inclusion or consistency proof as JSON")
    which = s.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=_size, help="leaf index to prove included")
    which.add_argument("--first", type=_size, help="earlier tree size to prove consistent")
    s.add_argument("--tree-size", type=_size, help="tree size for --index (default: the latest checkpoint's, issuing one if needed)")
    s.add_argument("--second", type=_size, help="later tree size for --first (default: the latest checkpoint's)")
    s.set_defaults(func=cmd_prove)

    audit.add_parser("key", help="print the verifier key of the log's checkpoints").set_defaults(func=cmd_key)

    s = audit.add_parser("integrate", help="sequence entries that have no leaf index yet")
    s.add_argument("--sweep", action="store_true", help="rescan every entry, not only those above the watermark")
    s.set_defaults(func=cmd_integrate)
