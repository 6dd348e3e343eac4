"""ARCHITECTURE rule 9 for designations (issue 11): whether a designation is in force follows from
its dates at the moment of the decision, everywhere, before the daily job has recorded anything.
The job then only records the end and sends the notices."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.designation import queries, services
from hozen.designation.models import Designation, Notification, State

pytestmark = pytest.mark.django_db

REASON = "延長の理由をここに十分に書く"


@pytest.fixture
def ended(make_designation, _frozen_today):
    """A designation whose term ended yesterday; the daily job has not run."""
    d = make_designation(term_end=dt.date(2026, 12, 31))
    _frozen_today.move_to(dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.UTC))
    assert Designation.objects.get(pk=d.pk).state == State.DESIGNATED  # as stored
    return Designation.objects.get(pk=d.pk)


def successes() -> int:
    return AuditEntry.objects.filter(outcome="success").count()


def test_after_its_term_end_a_designation_reads_as_expired_everywhere(ended, meti, orgs):
    assert ended.state_on() == State.EXPIRED and not ended.is_in_force
    assert ended.marking == "重要経済安保情報（指定の有効期間満了）"
    from django.utils import translation

    with translation.override("en"):
        assert ended.get_state_on_display() == "Expired"
    assert not queries.designations_for(meti["head"], state=State.DESIGNATED).filter(pk=ended.pk).exists()
    assert queries.designations_for(meti["head"], state=State.EXPIRED).filter(pk=ended.pk).exists()
    row = queries.ledger_row(ended)
    assert row["state"] == "満了" and "2027-01-01 満了" in row["record"]
    stats = queries.statistics(meti["head"], organisation=orgs["METI"])
    assert stats["by_state"]["expired"] == 1 and stats["by_state"]["designated"] == 0
    assert stats["in_force_by_category"] == {}


def test_the_api_says_expired_after_the_term_end(ended, people):
    from django.test import Client

    from tests import factories

    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['organ_head'])}"}
    detail = client.get(f"/api/v1/designations/{ended.pk}", **auth).json()
    assert detail["state"] == "expired" and detail["marking"].endswith("（指定の有効期間満了）")
    listed = client.get("/api/v1/designations?state=designated", **auth).json()
    assert ended.pk not in [item["id"] for item in listed["items"]]
    listed = client.get("/api/v1/designations?state=expired", **auth).json()
    assert [item["state"] for item in listed["items"] if item["id"] == ended.pk] == ["expired"]


@pytest.mark.parametrize("action", ["extend", "cancel", "review", "refused_approval", "provide"])
def test_after_its_term_end_nothing_is_decided_under_it_by_the_date_alone(ended, meti, orgs, action):
    calls = {
        "extend": lambda: services.extend(actor=meti["head"], designation=ended.pk, new_end=dt.date(2031, 12, 31),
                                          reason=REASON),
        "cancel": lambda: services.cancel(actor=meti["head"], designation=ended.pk, reason="要件を満たさなくなったため解除"),
        "review": lambda: services.review(actor=meti["manager"], designation=ended.pk, requirements_met=True),
        "refused_approval": lambda: services.record_refused_cabinet_approval(
            actor=meti["head"], designation=ended.pk, requested_end=dt.date(2061, 5, 31), refusal_ref="閣議-1"),
        "provide": lambda: services.record_provision(
            actor=meti["manager"], designation=ended.pk, recipient_kind="organ", recipient=orgs["MIC"],
            basis="法第10条第1項", provided_on=dt.date(2027, 1, 1), items="計画書一式", handler_list=["山田"]),
    }
    before = successes()
    with pytest.raises(RuleViolation) as info:
        calls[action]()
    assert info.value.code == "term_ended"
    assert info.value.message_ja and info.value.message_en
    assert successes() == before and Designation.objects.get(pk=ended.pk).state == State.DESIGNATED


def test_a_draft_whose_term_has_ended_cannot_be_approved(meti, orgs, draft_fields, _frozen_today):
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"],
                                  **{**draft_fields, "term_end": dt.date(2026, 12, 31)})
    _frozen_today.move_to(dt.datetime(2027, 1, 5, 3, 0, tzinfo=dt.UTC))
    with pytest.raises(RuleViolation) as info:
        services.approve(actor=meti["head"], designation=draft.pk)
    assert info.value.code == "term_ended" and info.value.field == "term_end"
    stored = Designation.objects.get(pk=draft.pk)
    assert stored.state == State.DRAFT and stored.reference is None


def test_the_daily_job_records_the_end_the_dates_already_decided(ended):
    services.expire_due(actor=Actor.job("designation.expire_and_review"))
    stored = Designation.objects.get(pk=ended.pk)
    assert stored.state == State.EXPIRED and stored.ended_on == dt.date(2027, 1, 1)
    assert Notification.objects.filter(designation=stored, kind="expired").count() == 1
    entry = AuditEntry.objects.get(action="designation.expired")
    assert '"ended_on":"2027-01-01"' in entry.data and '"state":"expired"' in entry.data
