"""`hozen keys ...` commands. Registered into the main parser by hozen.cli."""

from __future__ import annotations


def cmd_init(args) -> int:
    from .kek import create_keyring_file
    from .provider import kek_file

    path = kek_file()
    if path.exists():
        print(f"keyring already exists: {path}")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    create_keyring_file(path)
    print(f"created keyring {path} (mode 0600); back it up separately from the database")
    return 0


def register(sub) -> None:
    keys = sub.add_parser("keys", help="key-encryption keys and data keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION")
    keys.add_parser("init", help="create the local keyring file if missing").set_defaults(func=cmd_init)
