"""Retention and shredding (issue 6 §3) with frozen time: files past their period are
crypto-shredded, nominator notices expire on their own timer, counts survive."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import jobs, queries, services
from hozen.assessment.models import AssessmentCase, BusinessNotice, QuestionnaireSection, RetentionRun
from hozen.core.actor import Actor
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal
from hozen.crypto.keys import DataKeyDestroyed

from .conftest import audit_entries, cleared, fresh, nominate

pytestmark = pytest.mark.django_db

JOB = Actor.job("assessment.retention")


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def test_a_case_file_is_shredded_after_its_retention_period_and_the_counts_survive(world, _frozen_today):
    case, _clearance = cleared(world)
    assert case.retain_until == dt.date(2036, 6, 1)  # investigation file: 10 years (to verify)
    before = queries.statistics(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    at(_frozen_today, dt.date(2036, 6, 1))
    assert services.retention_run(actor=JOB).cases_shredded == 0  # the last day it is kept
    at(_frozen_today, dt.date(2036, 6, 2))
    run = services.retention_run(actor=JOB)
    assert (run.cases_shredded, run.on) == (1, dt.date(2036, 6, 2))
    case = fresh(case)
    assert case.shredded_at is not None and case.data_key.is_destroyed
    subject = world.subject_actor(case.person)
    with pytest.raises(DataKeyDestroyed):
        reveal(subject, QuestionnaireSection.objects.filter(case=case).first(), "content", purpose="subject_access")
    assert set(QuestionnaireSection.objects.filter(case=case).values_list("content_digest", flat=True)) == {""}
    assert queries.statistics(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)) == before
    assert case.events.filter(kind="shredded").exists()
    assert audit_entries("data_key.shredded")[0]["details"]["reason"] == "retention_expired"
    assert audit_entries("assessment.retention_run")[-1]["details"]["cases_shredded"] == 1
    assert services.retention_run(actor=JOB).cases_shredded == 0  # idempotent
    with pytest.raises(RuleViolation) as info:
        services.file_complaint(actor=subject, case=case, text="苦情")
    assert info.value.code == "case_file_destroyed"


def test_a_refused_case_is_kept_for_the_period_from_its_end(world, _frozen_today):
    case = nominate(world)
    services.give_notice(actor=world["security"], case=case)
    at(_frozen_today, dt.date(2026, 7, 1))
    services.refuse(actor=world.subject_actor(case.person), case=case)
    assert fresh(case).retain_until == dt.date(2036, 7, 1)


def test_an_open_case_or_an_open_complaint_keeps_the_file(world, _frozen_today):
    case, _clearance = cleared(world)
    services.file_complaint(actor=world.subject_actor(case.person), case=case, text="苦情の内容")
    open_case = nominate(world, tier="sds")
    at(_frozen_today, dt.date(2040, 1, 1))
    assert services.retention_run(actor=JOB).cases_shredded == 0
    assert fresh(case).shredded_at is None and fresh(open_case).shredded_at is None


def test_nominator_notices_expire_on_their_own_timer_keeping_the_row(world, _frozen_today):
    case, _clearance = cleared(world)
    refused = nominate(world, tier="sds")
    services.give_notice(actor=world["security"], case=refused)
    services.refuse(actor=world.subject_actor(refused.person), case=refused)
    at(_frozen_today, dt.date(2027, 6, 2))  # other papers: 1 year
    assert services.retention_run(actor=JOB).notices_expired == 1
    expired = BusinessNotice.objects.get(case=refused)
    assert (expired.consented, expired.favourable, expired.valid_until) == (None, None, None)
    assert expired.expired_at is not None
    at(_frozen_today, dt.date(2031, 6, 2))  # favourable notice: 5 years
    assert services.retention_run(actor=JOB).notices_expired == 1
    assert BusinessNotice.objects.get(case=case).favourable is None
    assert BusinessNotice.objects.count() == 2 and AssessmentCase.objects.count() == 2


def test_only_the_background_job_or_the_operator_runs_retention(world, operator):
    for who in ("sysadmin", "head", "auditor"):
        with pytest.raises(PolicyDenied):
            services.retention_run(actor=world[who])
    assert services.retention_run(actor=operator).cases_shredded == 0


def test_the_daily_job_runs_retention_and_records_its_counts(world):
    assert jobs.daily(actor=JOB) == {"cases_shredded": 0, "notices_expired": 0}
    assert RetentionRun.objects.get().actor["name"] == "assessment.retention"
