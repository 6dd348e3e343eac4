"""`hozen assessments ...` and `hozen retention ...` commands."""

from __future__ import annotations


def register(sub) -> None:
    """Add this app's command groups to the `hozen` parser."""
