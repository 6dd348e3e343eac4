"""`hozen handling ...` commands."""

from __future__ import annotations


def register(sub) -> None:
    """Add this app's command group to the `hozen` parser."""
