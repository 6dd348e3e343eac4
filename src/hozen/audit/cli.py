"""`hozen audit ...` commands. Registered into the main parser by hozen.cli."""

from __future__ import annotations


def register(sub) -> None:
    sub.add_parser("audit", help="the verifiable audit log").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION")
