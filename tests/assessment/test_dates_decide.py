"""Dates decide (ARCHITECTURE rule 9; issue 11 item 5): whether a result is in force follows from
its dates on the day asked — valid until, ended on, suspended — in the lists, the API, the jobs
and the services. No job has to run for a result to be expired."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from hozen.assessment import queries, services
from hozen.assessment.models import Clearance
from hozen.core.errors import RuleViolation
from tests import factories

from .conftest import cleared

pytestmark = pytest.mark.django_db


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def test_a_result_is_in_force_through_its_last_day_and_expired_the_next_by_its_dates_alone(world, _frozen_today):
    _case, clearance = cleared(world)
    last_day = clearance.valid_until
    assert Clearance.objects.filter(Clearance.in_force_q(last_day), pk=clearance.pk).exists()
    assert not Clearance.objects.filter(Clearance.in_force_q(last_day + dt.timedelta(days=1)), pk=clearance.pk).exists()
    at(_frozen_today, last_day + dt.timedelta(days=1))
    row = Clearance.objects.get(pk=clearance.pk)
    assert row.status(last_day + dt.timedelta(days=1)) == "expired" and row.ended_on is None  # no job ran


def test_the_api_and_the_nominators_list_show_a_result_expired_the_day_after_its_last_day(world, _frozen_today,
                                                                                         signed_in):
    _case, clearance = cleared(world)
    at(_frozen_today, clearance.valid_until + dt.timedelta(days=1))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['business_officer'])}"}
    [row] = json.loads(Client().get("/api/v1/assessment/clearances", **headers).content)
    assert row["status"] == "expired"
    page = signed_in(world.people["business_officer"]).get(reverse("assessment:staff_nominations")).content.decode()
    results = page[page.index('id="results"'):]
    assert "(期限切れ)" in results or "(expired)" in results


def test_renewals_due_follow_the_dates_of_the_day(world, _frozen_today):
    _case, clearance = cleared(world)
    business = world["business"]
    at(_frozen_today, clearance.valid_until - dt.timedelta(days=10))
    assert list(queries.renewals_due(business)) == [clearance]
    at(_frozen_today, clearance.valid_until + dt.timedelta(days=1))
    assert list(queries.renewals_due(business)) == []


def test_a_concern_about_a_result_past_its_dates_is_refused_without_any_job_having_run(world, _frozen_today):
    _case, clearance = cleared(world)
    at(_frozen_today, clearance.valid_until + dt.timedelta(days=1))
    with pytest.raises(RuleViolation) as info:
        services.report_event(actor=world["business"], clearance=clearance.pk, kind="concerning_event",
                              occurred_on=clearance.valid_until, description="多額の借入れの申告")
    assert info.value.code == "clearance_not_valid"
    assert Clearance.objects.get(pk=clearance.pk).suspended_at is None
