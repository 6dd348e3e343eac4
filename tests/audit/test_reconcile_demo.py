"""Issue 11, done when: nothing in the demo data trips the reconcile check (every kind of record the
apps register, replayed from the log the demo's services wrote)."""

from __future__ import annotations

import pytest

from hozen.audit.reconcile import reconcile, registered
from hozen.core import demo
from hozen.core.actor import Actor

pytestmark = pytest.mark.django_db


def test_the_demo_data_agrees_with_its_audit_log():
    demo.load(actor=Actor.operator("demo"))
    demo.load_scenarios(actor=Actor.operator("demo"))
    report = reconcile()
    assert report.ok, [d.line() for d in report.disagreements]
    assert {r.kind for r in registered()} <= set(report.checked)
    assert report.checked["designation"] >= 4
