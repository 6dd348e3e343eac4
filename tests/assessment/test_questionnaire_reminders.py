"""Questionnaire reminders (issue 14 §6): the person whose questionnaire is still to be submitted is
reminded as its target date nears and once after it has passed, by an e-mail that says only that
something waits in Hozen; never twice for one threshold, never after the questionnaire is in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.access.policy import PolicyDenied
from hozen.assessment import rules, services
from hozen.assessment.models import QuestionnaireReminder
from hozen.core import tasks
from hozen.core.actor import Actor
from hozen.core.models import Account

from .conftest import audit_entries, fill_questionnaire, fresh, nominate, to_consented

pytestmark = pytest.mark.django_db

JOB = Actor.job("assessment.questionnaire_reminders")


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def _with_address(person, address: str):
    Account.objects.filter(pk=person.account.pk).update(email=address, email_verified_at=timezone.now())


def test_questionnaire_reminders_go_out_as_the_target_date_nears_and_once_after(world, _frozen_today, smtp):
    case = to_consented(world, nominate(world))  # consented 2026-06-01: questionnaire due 2026-07-01
    assert case.stage_due_on == dt.date(2026, 7, 1)
    _with_address(case.person, "subject@example.jp")
    at(_frozen_today, dt.date(2026, 6, 20))  # 11 days left: nothing yet
    assert services.send_questionnaire_reminders(actor=JOB) == 0
    at(_frozen_today, dt.date(2026, 6, 25))  # 6 days left: the 7-day reminder (the job missed a day)
    assert services.send_questionnaire_reminders(actor=JOB) == 1
    assert services.send_questionnaire_reminders(actor=JOB) == 0  # a rerun reminds nothing twice
    assert tasks.run_ready() == 1
    [message] = smtp
    assert message["to"] == ["subject@example.jp"]
    assert "https://hozen.example.go.jp/assessment/portal/" in message["body"]
    for word in (case.person.family_name, case.person.given_name, "技術部", "主任", f"/{case.pk}/", "TOWA"):
        assert word not in message["subject"] + message["body"], word
    at(_frozen_today, dt.date(2026, 6, 30))
    assert services.send_questionnaire_reminders(actor=JOB) == 1  # 2 days
    at(_frozen_today, dt.date(2026, 7, 1))
    assert services.send_questionnaire_reminders(actor=JOB) == 1  # due today
    at(_frozen_today, dt.date(2026, 7, 9))
    assert services.send_questionnaire_reminders(actor=JOB) == 1  # past the target date: once
    at(_frozen_today, dt.date(2026, 8, 9))
    assert services.send_questionnaire_reminders(actor=JOB) == 0
    assert sorted(QuestionnaireReminder.objects.values_list("days_before", flat=True)) == \
        [rules.QUESTIONNAIRE_OVERDUE, 0, 2, 7]
    entry = audit_entries("assessment.remind_questionnaire")[0]
    assert entry["details"] == {"subject_person_id": case.person_id, "days_before": 7, "due_on": "2026-07-01"}
    assert entry["actor"]["kind"] == "system"


def test_no_questionnaire_reminder_once_it_is_submitted(world, _frozen_today):
    case = to_consented(world, nominate(world))
    fill_questionnaire(world, case)
    services.submit_questionnaire(actor=world.subject_actor(case.person), case=case)
    at(_frozen_today, dt.date(2026, 6, 30))
    assert services.send_questionnaire_reminders(actor=JOB) == 0
    assert fresh(case).state == "questionnaire_submitted"


def test_no_questionnaire_reminder_before_consent_or_after_a_refusal(world, _frozen_today):
    waiting = nominate(world)
    services.give_notice(actor=world["security"], case=waiting)
    at(_frozen_today, dt.date(2026, 7, 30))
    assert services.send_questionnaire_reminders(actor=JOB) == 0  # the consent notice covers this stage


def test_no_questionnaire_reminder_without_a_verified_address_but_the_record_is_kept(world, _frozen_today, smtp):
    case = to_consented(world, nominate(world))
    at(_frozen_today, dt.date(2026, 6, 30))
    assert services.send_questionnaire_reminders(actor=JOB) == 1
    assert tasks.run_ready() == 0 and not smtp  # nothing to send to: the dashboard still shows the due date
    assert QuestionnaireReminder.objects.filter(case=case).count() == 1


def test_only_the_job_or_the_operator_sends_questionnaire_reminders(world):
    with pytest.raises(PolicyDenied):
        services.send_questionnaire_reminders(actor=world["security"])
    assert services.send_questionnaire_reminders(actor=Actor.operator("tests")) == 0


def test_the_questionnaire_reminder_job_is_registered_daily():
    from hozen.core import jobs

    job = next(j for j in jobs.registered() if j.name == "assessment.questionnaire_reminders")
    assert job.every_seconds == 86400
