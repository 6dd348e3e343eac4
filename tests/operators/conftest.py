"""Operators fixtures: METI's certification of TOWA with one contract, a designation provided to
TOWA under it, and the organ's head who decides measures. Time frozen on 2026-06-01."""

from __future__ import annotations

import pytest

from tests.handling.conftest import (  # noqa: F401  (fixtures shared with the handling tests)
    TODAY,
    _frozen_today,
    _packs,
    audit_entries,
    designation,
    make_designation,
    provided,
    towa_employee,
)
from tests.handling_factories import actor_for, make_contract


@pytest.fixture
def head(people):
    return actor_for(people["organ_head"])


@pytest.fixture
def contract(orgs, people):
    return make_contract(orgs["METI"], orgs["TOWA"])


@pytest.fixture
def certification(contract):
    return contract.certification
