"""Renewal reminders before expiry, re-assessment from the last accepted answers, the nominator's
notice for an organ-reported concern, and the nominator's facts going with its notice
(issue 6; DOMAIN §6 steps 7–8; LESSONS.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import jobs, queries, services
from hozen.assessment.models import BusinessNotice, Clearance, QuestionnaireSection, RenewalReminder
from hozen.assessment.validation import QuestionnaireInvalid
from hozen.core import jobs as job_registry
from hozen.core.actor import Actor

from .conftest import answers, audit_entries, cleared, fresh, nominate, to_consented

pytestmark = pytest.mark.django_db

CONCERN = "本人から多額の借入れについて申告があった。"
JOB = Actor.job("assessment.renewal_reminders")


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


# --- renewal reminders ----------------------------------------------------------------------------

def test_renewal_reminders_go_out_before_a_clearance_expires(world, _frozen_today):
    _case, clearance = cleared(world)  # notified 2026-06-01, valid until 2036-06-01
    at(_frozen_today, dt.date(2035, 12, 1))  # 183 days left: nothing yet
    assert services.send_renewal_reminders(actor=JOB) == 0
    at(_frozen_today, dt.date(2035, 12, 5))  # 179 days left: the 180-day reminder
    assert services.send_renewal_reminders(actor=JOB) == 3  # the person, the employer, the organ
    assert services.send_renewal_reminders(actor=JOB) == 0  # a rerun sends nothing twice
    mine = list(queries.reminders_for(world.subject_actor(clearance.person)))
    assert [(r.recipient_kind, r.days_before, r.valid_until) for r in mine] == [("person", 180, dt.date(2036, 6, 1))]
    assert [r.recipient_kind for r in queries.reminders_for(world["business"])] == ["nominator"]
    assert [r.recipient_kind for r in queries.reminders_for(world["security"])] == ["organ"]
    for who in ("mic_security", "investigator", "sysadmin", "meti_staff"):
        assert not queries.reminders_for(world[who]).exists()
    at(_frozen_today, dt.date(2036, 3, 10))  # 83 days left: the 90-day reminder
    assert services.send_renewal_reminders(actor=JOB) == 3
    entry = audit_entries("assessment.remind_renewal")[-1]
    assert entry["details"]["days_before"] == 90 and entry["details"]["subject_person_id"] == clearance.person_id
    at(_frozen_today, dt.date(2036, 6, 2))  # expired: no more reminders
    assert services.send_renewal_reminders(actor=JOB) == 0
    assert RenewalReminder.objects.count() == 6


def test_no_renewal_reminder_while_the_renewal_is_under_way_or_the_result_is_suspended(world, _frozen_today):
    _case, clearance = cleared(world)
    at(_frozen_today, dt.date(2036, 1, 1))
    renewal = nominate(world, trigger="ten_year_renewal")
    assert services.send_renewal_reminders(actor=JOB) == 0
    services.report_event(actor=world["business"], clearance=clearance, kind="left", occurred_on=dt.date(2036, 1, 1))
    assert fresh(renewal).state == "discontinued"
    services.report_event(actor=world["security"], clearance=Clearance.objects.get(pk=clearance.pk),
                          kind="concerning_event", occurred_on=dt.date(2036, 1, 1), description=CONCERN)
    assert services.send_renewal_reminders(actor=JOB) == 0  # suspended: the re-assessment decides


def test_only_the_job_or_the_operator_sends_renewal_reminders_and_the_job_is_registered(world, operator):
    for who in ("sysadmin", "head", "security"):
        with pytest.raises(PolicyDenied):
            services.send_renewal_reminders(actor=world[who])
    assert services.send_renewal_reminders(actor=operator) == 0
    assert "assessment.renewal_reminders" in {j.name for j in job_registry.registered()}
    assert jobs.renewal_reminders(actor=JOB) == {"reminders_sent": 0}


# --- re-assessment from the last accepted answers -------------------------------------------------

def test_a_reassessment_starts_from_the_last_accepted_answers_which_the_subject_confirms(world):
    _case, clearance = cleared(world)
    record = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description=CONCERN)
    subject = world.subject_actor(clearance.person)
    case = to_consented(world, record.reassessment, subject)
    rows = {r.section: r for r in QuestionnaireSection.objects.filter(case=case)}
    assert set(rows) == set(answers()) and all(r.prefilled_from_id == clearance.case_id for r in rows.values())
    progress = {p["section"]: p for p in queries.questionnaire_progress(subject, case)}
    assert all(p["prefilled"] and p["needs_confirmation"] and p["complete"] for p in progress.values())
    # Re-encrypted under the new case's key, and read by the subject only (audited as such).
    from hozen.crypto import reveal

    assert reveal(subject, rows["identity"], "content", purpose="subject_access") == answers()["identity"]
    reads = [e for e in audit_entries("personal_data.read") if e.get("purpose") == "reassessment_prefill"]
    assert len(reads) == len(answers()) and all(e["actor"]["person_id"] == clearance.person.pk for e in reads)
    # Submission waits until each carried-over section is confirmed.
    with pytest.raises(QuestionnaireInvalid) as info:
        services.submit_questionnaire(actor=subject, case=case)
    assert {e.code for e in info.value.errors} == {"section_not_confirmed"}
    changed = answers()["residence_abroad"]
    saved = services.save_questionnaire_section(actor=subject, case=case, section="identity",
                                                content=answers()["identity"])  # unchanged: confirms
    assert saved.changed and fresh_row(case, "identity").confirmed_at is not None
    services.save_questionnaire_section(actor=subject, case=case, section="residence_abroad", content=changed)
    for section in answers():
        services.confirm_questionnaire_section(actor=subject, case=case, section=section)
    assert services.confirm_questionnaire_section(actor=subject, case=case, section="item_1").changed is False
    sha = services.submit_questionnaire(actor=subject, case=case)
    assert fresh(case).questionnaire_sha256 == sha


def fresh_row(case, section):
    return QuestionnaireSection.objects.get(case=case, section=section)


def test_a_first_assessment_starts_with_an_empty_questionnaire(world):
    case = to_consented(world, nominate(world))
    assert not QuestionnaireSection.objects.filter(case=case).exists()


def test_only_the_subject_confirms_a_prefilled_section(world):
    _case, clearance = cleared(world)
    record = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description=CONCERN)
    case = to_consented(world, record.reassessment)
    for who in ("business", "security", "investigator", "sysadmin"):
        with pytest.raises(PolicyDenied):
            services.confirm_questionnaire_section(actor=world[who], case=case, section="identity")


# --- the nominator's notice ------------------------------------------------------------------------

def test_an_organ_reported_concern_notifies_the_employer_that_nominated(world):
    _case, clearance = cleared(world)  # nominated by TOWA under its METI contract
    record = services.report_event(actor=world["security"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description=CONCERN)
    case = record.reassessment
    assert case.nominating_organisation == world.orgs["TOWA"] and case.contract == world.contract
    assert case.nominated_by == world["security"].account
    assert queries.case_status(world["business"], case)["status"] == "awaiting_consent"  # the employer follows it
    services.give_notice(actor=world["security"], case=case)
    services.refuse(actor=world.subject_actor(case.person), case=case)
    notices = {n.recipient.code: n for n in BusinessNotice.objects.filter(case=case)}
    assert set(notices) == {"TOWA", "METI"}
    assert all((n.consented, n.favourable, n.valid_until) == (False, None, None) for n in notices.values())
    assert [n.recipient.code for n in queries.notices_for(world["business"]) if n.case_id == case.pk] == ["TOWA"]


def test_the_nominators_facts_go_with_its_notice_when_the_notice_expires(world, _frozen_today):
    case, _clearance = cleared(world)
    assert queries.case_status(world["business"], case)["favourable"] is True
    at(_frozen_today, dt.date(2031, 6, 2))  # the favourable notice's 5 years have passed
    services.retention_run(actor=Actor.job("assessment.retention"))
    status = queries.case_status(world["business"], fresh(case))
    assert status["status"] == "notice_destroyed"
    assert (status["consented"], status["favourable"], status["valid_until"]) == (None, None, None)
    assert BusinessNotice.objects.get(case=case).expired_at is not None
