"""The Cabinet Office's investigation (DOMAIN §6 step 5): assignment, inquiries, the interview
after the other material, findings per item."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import AssessmentCase, CaseDuty, CaseSummary
from hozen.assessment.states import State
from hozen.core.errors import NotFound, RuleViolation
from hozen.crypto import reveal

from .conftest import SUMMARY, answered_inquiry, audit_entries, fresh, nominate, to_notified, to_submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def investigating(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    return fresh(case)


def inquiry(world, case, **overrides):
    fields = {"recipient_kind": "colleague", "recipient_organisation": "東和重工業株式会社", "recipient_name": "同僚 花子",
              "question": "勤務の状況について", "sent_on": dt.date(2026, 6, 1), **overrides}
    return services.record_inquiry(actor=world["investigator"], case=case, **fields)


def test_the_cabinet_office_assigns_the_investigator_and_the_investigation_starts(world, investigating):
    assert investigating.state == State.UNDER_INVESTIGATION and investigating.investigation_started_at is not None
    assert investigating.stage_due_on == dt.date(2026, 8, 30)  # investigation: 90 days


@pytest.mark.parametrize("who", ["head", "security", "investigator", "adjudicator", "business"])
def test_only_the_cabinet_offices_head_assigns_investigators(world, who):
    case = to_submitted(world, nominate(world))
    with pytest.raises(PolicyDenied) as info:
        services.assign_investigator(actor=world[who], case=case, investigator=world.people["investigator"])
    assert info.value.decision.code in ("wrong_role", "not_cabinet_office")


def test_the_assigned_investigator_must_be_a_cabinet_office_investigator(world):
    case = to_submitted(world, nominate(world))
    with pytest.raises(PolicyDenied) as info:
        services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["adjudicator"])
    assert info.value.decision.code == "candidate_lacks_role"


def test_an_investigator_sees_only_assigned_cases(world, investigating):
    other = world["investigator2"]
    assert not queries.cases_for(other).exists()
    with pytest.raises(NotFound):
        queries.case_for(other, investigating.pk)
    with pytest.raises(PolicyDenied) as info:
        services.record_inquiry(actor=other, case=investigating, recipient_kind="colleague",
                                recipient_organisation="x", recipient_name="y", question="z", sent_on=dt.date(2026, 6, 1))
    assert info.value.decision.code == "not_assigned_to_case"
    assert list(queries.cases_for(world["investigator"])) == [investigating]


def test_reassignment_ends_the_first_investigators_access(world, investigating):
    answers_row = investigating.sections.first()
    services.assign_investigator(actor=world["cao_head"], case=investigating, investigator=world.people["investigator2"])
    with pytest.raises(PolicyDenied) as info:
        reveal(world["investigator"], answers_row, "content", purpose="investigation")
    assert info.value.decision.code == "not_assigned_to_case"
    assert reveal(world["investigator2"], answers_row, "content", purpose="investigation")
    duty = CaseDuty.objects.get(case=investigating, account=world.people["investigator"])
    assert duty.ended_at is not None


def test_the_interview_is_refused_until_every_inquiry_is_answered(world, investigating):
    first = inquiry(world, investigating)
    with pytest.raises(RuleViolation) as info:
        services.schedule_interview(actor=world["investigator"], case=investigating, at=timezone.now())
    assert info.value.code == "material_not_gathered"
    services.record_inquiry_response(actor=world["investigator"], inquiry=first, response="真面目に勤務している",
                                     answered_on=dt.date(2026, 6, 1))
    services.schedule_interview(actor=world["investigator"], case=investigating, at=timezone.now())
    assert fresh(investigating).interview_at is not None


def test_completion_needs_the_interview_and_a_finding_for_each_of_the_seven_items(world, investigating):
    investigator = world["investigator"]
    answered_inquiry(world, investigating)
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=investigator, case=investigating, summary=SUMMARY)
    assert info.value.code == "interview_not_held"
    services.schedule_interview(actor=investigator, case=investigating, at=timezone.now())
    for n in range(1, 7):
        services.record_finding(actor=investigator, case=investigating, item=f"item_{n}", text="懸念なし")
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=investigator, case=investigating, summary=SUMMARY)
    assert (info.value.code, info.value.field) == ("findings_missing", "item_7")
    services.record_finding(actor=investigator, case=investigating, item="item_7", text="懸念なし")
    services.complete_investigation(actor=investigator, case=investigating, summary=SUMMARY)
    assert fresh(investigating).state == State.INVESTIGATION_COMPLETE


def _ready_to_complete(world, case):
    answered_inquiry(world, case)
    services.schedule_interview(actor=world["investigator"], case=case, at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=world["investigator"], case=case, item=f"item_{n}", text="懸念なし")


def test_the_interview_waits_until_at_least_one_inquiry_is_answered(world, investigating):
    # DOMAIN §6 step 5: with no inquiry made at all, the other material is not gathered yet.
    with pytest.raises(RuleViolation) as info:
        services.schedule_interview(actor=world["investigator"], case=investigating, at=timezone.now())
    assert (info.value.code, info.value.field) == ("no_inquiry_answered", "at")
    assert fresh(investigating).interview_at is None
    assert not investigating.events.filter(kind="interview_scheduled").exists()


def test_no_inquiry_is_recorded_once_the_interview_is_scheduled(world, investigating):
    answered_inquiry(world, investigating)
    services.schedule_interview(actor=world["investigator"], case=investigating, at=timezone.now())
    with pytest.raises(RuleViolation) as info:
        inquiry(world, investigating)
    assert info.value.code == "interview_already_scheduled"
    assert investigating.inquiries.count() == 1
    # Moving the interview stays possible.
    services.schedule_interview(actor=world["investigator"], case=investigating,
                                at=timezone.now() - dt.timedelta(hours=1))


def test_an_interview_dated_before_the_last_answer_is_refused_and_completion_checks_the_order_again(
        world, investigating):
    answered_inquiry(world, investigating)
    # The interview comes after the material: one dated before the last answer is refused when it is set.
    with pytest.raises(RuleViolation) as info:
        services.schedule_interview(actor=world["investigator"], case=investigating,
                                    at=timezone.now() - dt.timedelta(days=2))
    assert (info.value.code, info.value.field) == ("date_out_of_range", "at")
    assert fresh(investigating).interview_at is None
    # Completion asks again (a row changed behind the services' back is not completed).
    services.schedule_interview(actor=world["investigator"], case=investigating, at=timezone.now())
    AssessmentCase.objects.filter(pk=investigating.pk).update(interview_at=timezone.now() - dt.timedelta(days=2))
    for n in range(1, 8):
        services.record_finding(actor=world["investigator"], case=investigating, item=f"item_{n}", text="懸念なし")
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=world["investigator"], case=investigating, summary=SUMMARY)
    assert info.value.code == "material_after_interview"
    assert fresh(investigating).state == State.UNDER_INVESTIGATION


@pytest.mark.parametrize("summary", [None, "", "   "])
def test_completion_needs_a_case_summary_for_the_adjudicator(world, investigating, summary):
    _ready_to_complete(world, investigating)
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=world["investigator"], case=investigating, summary=summary)
    assert (info.value.code, info.value.field) == ("summary_required", "summary")
    assert fresh(investigating).state == State.UNDER_INVESTIGATION
    assert not CaseSummary.objects.filter(case=investigating).exists()


def test_the_case_summary_is_encrypted_audited_and_read_by_the_cases_workers_only(world, investigating):
    _ready_to_complete(world, investigating)
    services.complete_investigation(actor=world["investigator"], case=investigating, summary=SUMMARY)
    summary = CaseSummary.objects.get(case=investigating)
    assert str(summary.text) == "[encrypted]"
    entry = audit_entries("assessment.complete_investigation")[-1]
    assert entry["details"]["summary"] == summary.pk and SUMMARY not in json.dumps(entry, ensure_ascii=False)
    services.assign_adjudicator(actor=world["head"], case=investigating, adjudicator=world.people["adjudicator"])
    assert queries.summary_for(world["adjudicator"], fresh(investigating), purpose="adjudication")["text"] == SUMMARY
    for who, code in (("business", "status_only"), ("sysadmin", "no_assessment_content"),
                      ("investigator2", "not_assigned_to_case")):
        with pytest.raises(PolicyDenied) as info:
            queries.summary_for(world[who], investigating, purpose="case_work")
        assert info.value.decision.code == code
    with pytest.raises(PolicyDenied) as info:
        queries.summary_for(world.subject_actor(investigating.person), investigating, purpose="subject_access")
    assert info.value.decision.code == "not_disclosed_to_subject"


def test_findings_are_kept_per_item_of_the_act_only(world, investigating):
    with pytest.raises(RuleViolation) as info:
        services.record_finding(actor=world["investigator"], case=investigating, item="political_views", text="x")
    assert info.value.code == "unknown_item"
    first = services.record_finding(actor=world["investigator"], case=investigating, item="item_7", text="借入あり")
    second = services.record_finding(actor=world["investigator"], case=investigating, item="item_7", text="完済済み")
    assert first.pk == second.pk and second.revision == 2
    assert reveal(world["investigator"], second, "text", purpose="investigation") == "完済済み"


def test_an_answer_cannot_be_dated_before_its_inquiry_or_in_the_future(world, investigating):
    first = inquiry(world, investigating, sent_on=dt.date(2026, 6, 1))
    with pytest.raises(RuleViolation) as info:
        services.record_inquiry_response(actor=world["investigator"], inquiry=first, response="x",
                                         answered_on=dt.date(2026, 5, 31))
    assert info.value.code == "answered_before_sent"
    with pytest.raises(RuleViolation) as info:
        services.record_inquiry_response(actor=world["investigator"], inquiry=first, response="x",
                                         answered_on=dt.date(2026, 6, 2))
    assert info.value.code == "future_date"


def test_the_subject_sees_which_inquiries_were_made_after_notification_but_never_the_answers(world):
    case = to_notified(world, nominate(world))
    subject = world.subject_actor(case.person)
    log = queries.inquiry_log_for(subject, case)
    assert log == [{"recipient_kind": "superior", "recipient_organisation": "東和重工業株式会社 技術部",
                    "method": "question", "sent_on": dt.date(2026, 6, 1), "answered_on": dt.date(2026, 6, 1)}]
    with pytest.raises(PolicyDenied) as info:
        reveal(subject, case.inquiries.first(), "response", purpose="subject_access")
    assert info.value.decision.code == "not_disclosed_to_subject"


def test_the_subject_does_not_see_the_inquiries_before_notification(world, investigating):
    inquiry(world, investigating)
    with pytest.raises(PolicyDenied) as info:
        queries.inquiry_log_for(world.subject_actor(investigating.person), investigating)
    assert info.value.decision.code == "after_notification"
