"""The subject's questionnaire: idempotent drafts that never expire, errors per field path,
submission with its SHA-256 (issue 6 §1 "Questionnaire", LESSONS.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import services
from hozen.assessment.models import QuestionnaireSection
from hozen.assessment.states import State
from hozen.assessment.validation import QuestionnaireInvalid
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal
from hozen.crypto.fields import Sealed

from .conftest import answers, audit_entries, fill_questionnaire, fresh, nominate, to_consented

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(world):
    return to_consented(world, nominate(world))


@pytest.fixture
def subject(world, case):
    return world.subject_actor(case.person)


def save(subject, case, section, content):
    return services.save_questionnaire_section(actor=subject, case=case, section=section, content=content)


def paths(errors) -> dict[str, str]:
    return {e.path: e.code for e in errors}


def test_saving_the_same_draft_twice_creates_no_new_version_and_no_audit_entry(case, subject):
    first = save(subject, case, "identity", answers()["identity"])
    again = save(subject, case, "identity", {k: f"  {v}  " if isinstance(v, str) else v
                                             for k, v in answers()["identity"].items()})  # white space aside
    assert (first.changed, first.section.version) == (True, 1)
    assert (again.changed, again.section.version) == (False, 1)
    assert len(audit_entries("assessment.save_questionnaire")) == 1
    changed = save(subject, case, "identity", {**answers()["identity"], "place_of_birth_city": "川崎市"})
    assert (changed.changed, changed.section.version) == (True, 2)


def test_a_draft_is_ciphertext_at_rest_and_only_reveal_gives_it_back(case, subject):
    save(subject, case, "item_5", answers()["item_5"])
    row = QuestionnaireSection.objects.get(case=case, section="item_5")
    assert isinstance(row.content, Sealed)
    assert reveal(subject, row, "content", purpose="subject_access") == {"has_treatment": False}
    audit = AuditEntry.objects.filter(action="assessment.save_questionnaire").last().data
    assert "has_treatment" not in audit


def test_a_draft_with_errors_is_saved_and_the_errors_name_each_field_path(case, subject):
    content = answers()["relatives_and_cohabitants"]
    content["relatives"][1]["date_of_birth"] = "1950-13-40"
    content["relatives"][0]["nationalities"] = ["jp"]
    saved = save(subject, case, "relatives_and_cohabitants", content)
    assert saved.changed and not saved.is_complete
    assert paths(saved.errors) == {"relatives[1].date_of_birth": "invalid_date",
                                   "relatives[0].nationalities[0]": "invalid_country"}
    assert str(saved.errors[0]).startswith("relatives[") and "YYYY-MM-DD" in saved.errors[1].message_en + \
        saved.errors[0].message_en


def test_a_field_the_questionnaire_does_not_ask_is_refused_and_nothing_is_stored(case, subject):
    with pytest.raises(QuestionnaireInvalid) as info:
        save(subject, case, "item_1", {**answers()["item_1"], "religion": "none"})
    assert info.value.code == "questionnaire_malformed"
    assert paths(info.value.errors) == {"religion": "unknown_field"}
    with pytest.raises(QuestionnaireInvalid) as info:
        save(subject, case, "relatives_and_cohabitants", {"relatives": [{"relation": "spouse", "party": "x"}]})
    assert paths(info.value.errors) == {"relatives[0].party": "unknown_field"}
    with pytest.raises(RuleViolation) as info:
        save(subject, case, "beliefs", {})
    assert info.value.code == "unknown_section"
    assert not QuestionnaireSection.objects.filter(case=case).exists()


@pytest.mark.parametrize(("jobs", "expected"), [
    # overlapping jobs: reported on the later one
    ([{"employer": "A", "started_on": "2017-04-01", "current": True},
      {"employer": "B", "started_on": "2016-04-01", "ended_on": "2017-04-30"}], {"jobs[0].started_on": "periods_overlap"}),
    # a job in the future
    ([{"employer": "A", "started_on": "2026-07-01", "current": True}], {"jobs[0].started_on": "future_date"}),
    # shorter than one month
    ([{"employer": "A", "started_on": "2020-01-15", "ended_on": "2020-02-10"}], {"jobs[0].ended_on": "period_too_short"}),
    # ended more than ten years ago
    ([{"employer": "A", "started_on": "2010-01-01", "ended_on": "2015-12-31"}], {"jobs[0].ended_on": "outside_window"}),
    # end before start
    ([{"employer": "A", "started_on": "2020-05-01", "ended_on": "2020-01-01"}], {"jobs[0].ended_on": "period_reversed"}),
    # still working there, yet an end date
    ([{"employer": "A", "started_on": "2020-05-01", "ended_on": "2021-01-01", "current": True}],
     {"jobs[0].ended_on": "end_with_ongoing"}),
])
def test_employment_periods_are_checked_beside_each_field(case, subject, jobs, expected):
    saved = save(subject, case, "employment_10y", {"has_employment": True, "jobs": jobs})
    assert paths(saved.errors) == expected


def test_a_job_of_exactly_one_month_is_asked_for(case, subject):
    saved = save(subject, case, "employment_10y", {"has_employment": True, "jobs": [
        {"employer": "A", "started_on": "2020-01-15", "ended_on": "2020-02-14"}]})
    assert saved.errors == [] and saved.is_complete


def test_yes_needs_entries_and_no_refuses_them_at_submission_check(case, subject):
    yes = save(subject, case, "item_2", {"has_convictions": True, "has_disciplinary_actions": False})
    assert yes.errors == [] and not yes.is_complete
    no = save(subject, case, "item_7", {"has_financial_difficulties": False, "has_foreign_accounts": False,
                                        "foreign_accounts": [{"country": "US", "institution": "X"}]})
    assert not no.is_complete
    with pytest.raises(QuestionnaireInvalid) as info:
        services.submit_questionnaire(actor=subject, case=case)
    errors = {e.full_path: e.code for e in info.value.errors}
    assert errors["item_2.convictions"] == "entries_required"
    assert errors["item_7.foreign_accounts"] == "entries_without_yes"


def test_submission_is_refused_while_sections_are_missing_and_lists_every_one(case, subject):
    save(subject, case, "identity", answers()["identity"])
    with pytest.raises(QuestionnaireInvalid) as info:
        services.submit_questionnaire(actor=subject, case=case)
    assert info.value.code == "questionnaire_incomplete"
    missing = {e.section for e in info.value.errors if e.code == "section_missing"}
    assert missing == {"domicile_and_nationality", "relatives_and_cohabitants", "employment_10y",
                       "foreign_travel_10y", "residence_abroad", *(f"item_{n}" for n in range(1, 8))}
    assert fresh(case).state == State.CONSENTED


def test_submission_returns_the_sha256_of_what_was_submitted_and_audits_it(world, case, subject):
    fill_questionnaire(world, case)
    sha256 = services.submit_questionnaire(actor=subject, case=case)
    assert sha256 == services.submitted_sha256(fresh(case), answers())
    [entry] = audit_entries("assessment.submit_questionnaire")
    assert entry["details"]["sha256"] == sha256
    assert entry["details"]["subject_person_id"] == case.person_id
    reads = audit_entries("personal_data.read")
    assert {r["purpose"] for r in reads} == {"questionnaire_submission"} and len(reads) == 13


def test_after_submission_the_answers_are_frozen(world, case, subject):
    fill_questionnaire(world, case)
    services.submit_questionnaire(actor=subject, case=case)
    with pytest.raises(RuleViolation) as info:
        save(subject, fresh(case), "identity", {**answers()["identity"], "given_name": "次郎"})
    assert info.value.code == "transition_not_allowed"


def test_drafts_never_silently_expire(world, case, subject, _frozen_today):
    fill_questionnaire(world, case)
    _frozen_today.move_to(dt.datetime(2027, 1, 4, 3, 0, tzinfo=dt.UTC))  # seven months later
    assert QuestionnaireSection.objects.filter(case=case).count() == 13
    assert len(services.submit_questionnaire(actor=subject, case=case)) == 64


def test_only_the_subject_fills_the_questionnaire(world, case):
    for who in ("business", "security", "investigator", "sysadmin"):
        with pytest.raises(PolicyDenied):
            save(world[who], case, "identity", answers()["identity"])
    other = world.subject_actor(world.people["meti_staff"].person)
    with pytest.raises(PolicyDenied) as info:
        save(other, case, "identity", answers()["identity"])
    assert info.value.decision.code == "subject_only"
