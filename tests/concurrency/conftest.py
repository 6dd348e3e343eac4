"""Fixtures of the concurrency tests: committed data (transactional), the shipped rules packs
(a transactional test's flush removes what the migration loaded), time frozen for every thread."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine


@pytest.fixture(autouse=True)
def _frozen_today():
    # time-machine patches the clock process-wide: every request thread sees the same day.
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _packs(transactional_db):
    """The shipped rules packs, as the migration loads them (idempotent)."""
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "tests"})
