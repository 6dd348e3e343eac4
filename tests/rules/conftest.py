"""Rules pack fixtures: the shipped packs, and variants of the shipped ESI file for publishing."""

from __future__ import annotations

import re

import pytest

from hozen.core.actor import Actor
from hozen.rules.storage import PACKS_DIR

ESI_FILE = PACKS_DIR / "jp-esi-2025.yaml"
SDS_FILE = PACKS_DIR / "jp-sds.yaml"


def esi_text() -> str:
    return ESI_FILE.read_bytes().decode("utf-8")


def variant(*, version: int = 2, effective_from: str = "2027-04-01", code: str | None = None,
            text: str | None = None) -> str:
    """The shipped ESI file with another header: a new version an administrator would publish."""
    text = text if text is not None else esi_text()
    text = re.sub(r"(?m)^version: \d+$", f"version: {version}", text, count=1)
    text = re.sub(r"(?m)^effective_from: \S+$", f"effective_from: {effective_from}", text, count=1)
    if code:
        text = re.sub(r"(?m)^code: \S+$", f"code: {code}", text, count=1)
    return text


def line_of(text: str, fragment: str) -> int:
    """1-based number of the line that contains `fragment` (which must occur once)."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(hits) == 1, (fragment, hits)
    return hits[0]


@pytest.fixture
def packs(db):
    """The shipped packs. Migration 0002 loads them; a transactional test's flush may have removed
    them, so load them again if missing (the same idempotent loader)."""
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})
    return {"esi": RulesPack.objects.get(code="jp-esi-2025", version=1),
            "sds": RulesPack.objects.get(code="jp-sds", version=1)}


def actor_of(account, role: str | None = None) -> Actor:
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel="web", second_factor_verified=True)
