"""`hozen keys ...` commands. Registered into the main parser by hozen.cli."""

from __future__ import annotations


def _actor(command: str):
    from hozen.core.actor import Actor

    return Actor.operator(f"keys {command}")


def _cli_error(exc: Exception):
    from hozen.cli import CliError

    return CliError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def cmd_init(args) -> int:
    from .kek import KeyManagementError, create_keyring_file
    from .provider import kek_file, wrapped_keys_held

    path = kek_file()
    if path.exists():
        print(f"keyring already exists: {path}")
        return 0
    try:
        held = wrapped_keys_held()
    except KeyManagementError as exc:
        raise _cli_error(exc) from None
    if held:
        raise _cli_error(RuntimeError(f"the database holds {held} key(s) wrapped by a keyring: restore that keyring "
                                      f"to {path}; a new one is never made over existing data"))
    path.parent.mkdir(parents=True, exist_ok=True)
    create_keyring_file(path)
    print(f"created keyring {path} (mode 0600); back it up separately from the database")
    return 0


def cmd_status(args) -> int:
    from hozen.cli import _print_json

    from .envelope import CryptoError
    from .queries import key_status

    try:
        status = key_status(_actor("status"))
    except CryptoError as exc:
        raise _cli_error(exc) from None
    if args.json:
        _print_json(status)
        return 0 if status["keys_open"] else 1
    keys = status["data_keys"]
    print(f"keyring:          {status['source']}")
    print("keys open:        " + ("yes (a data key per KEK version and the audit signing keys unwrapped)"
                                  if status["keys_open"] else "NO"))
    for problem in status["problems"]:
        print(f"ERROR: {problem}")
    print(f"KEK versions:     {', '.join(map(str, status['kek_versions'])) or '-'} "
          f"(current {status['current_version']})")
    per_version = ", ".join(f"v{v}: {n}" for v, n in keys["by_kek_version"].items()) or "none"
    print(f"live data keys:   {keys['live']} ({per_version})")
    print(f"destroyed keys:   {keys['destroyed']}")
    if status["missing_versions"]:
        print(f"WARNING: live data keys need KEK version(s) {', '.join(map(str, status['missing_versions']))}, "
              "which the keyring does not hold")
    if status["shredded_not_covered_by_retire"]:
        print(f"note: {status['shredded_not_covered_by_retire']} shredded key(s) may still be recoverable from "
              "backups taken before they were shredded; run `hozen keys rotate --retire-old`")
    run = status["last_rotation"]
    if run is None:
        print("last rotation:    never")
    elif run["unfinished"]:
        print(f"last rotation:    UNFINISHED, to v{run['target_version']} ({run['rewrapped']} re-wrapped so far); "
              "rerun `hozen keys rotate` to resume")
    else:
        retired = f", retired {', '.join(map(str, run['retired_versions']))}" if run["retired_versions"] else ""
        print(f"last rotation:    to v{run['target_version']}, finished {run['finished_at']:%Y-%m-%d %H:%M} UTC, "
              f"{run['rewrapped']} re-wrapped{retired}")
    return 0 if status["keys_open"] else 1


def cmd_rotate(args) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .envelope import CryptoError
    from .rotation import rotate

    with Progress(TextColumn("re-wrapping data keys"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("rotate", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = rotate(actor=_actor("rotate"), retire_old=args.retire_old, batch_size=args.batch_size,
                            progress=progress)
        except CryptoError as exc:
            raise _cli_error(exc) from None
    if report.resumed:
        print(f"resumed the unfinished rotation to KEK version {report.target_version}")
    elif report.added_version:
        print(f"added KEK version {report.target_version} (now current)")
    print(f"re-wrapped {report.rewrapped} data key(s) in {report.batches} batch(es) under KEK version "
          f"{report.target_version}; no data was re-encrypted")
    if report.retired_versions:
        print(f"retired KEK version(s) {', '.join(map(str, report.retired_versions))}: backups whose data keys "
              "need them can no longer be decrypted. Destroy old copies of the keyring file too.")
    if report.shredded_during_run:
        print(f"note: {report.shredded_during_run} key(s) were shredded while this rotation ran; run "
              "`hozen keys rotate --retire-old` again to cover them")
    return 0


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub) -> None:
    keys = sub.add_parser("keys", help="key-encryption keys and data keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION")
    keys.add_parser("init", help="create the local keyring file if missing").set_defaults(func=cmd_init)
    s = keys.add_parser("status", help="KEK versions and data keys per version")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
    s = keys.add_parser("rotate", help="add a KEK version and re-wrap every data key under it (resumable)")
    s.add_argument("--retire-old", action="store_true",
                   help="then remove the old KEK versions from the keyring: backups from before a shred "
                        "can no longer be decrypted")
    s.add_argument("--batch-size", type=_positive, default=500, metavar="N",
                   help="data keys per transaction (default 500)")
    s.set_defaults(func=cmd_rotate)
