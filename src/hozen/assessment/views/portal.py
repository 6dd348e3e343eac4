"""Assessment screens: portal. Thin views over hozen.assessment.services and queries."""

from __future__ import annotations

#: Navigation entries per role (hozen.core.extensions).
NAV: dict = {}

urlpatterns: list = []
