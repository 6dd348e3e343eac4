"""Screens. Thin views over this app's services and queries."""

from __future__ import annotations

#: Navigation entries per role (hozen.core.extensions).
NAV: dict = {}
