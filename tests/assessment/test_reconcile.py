"""ARCHITECTURE rule 10 for assessments: every case, clearance and complaint can be replayed from
its audit entries, and a check that replays them names any row changed behind the services' back
(``hozen.assessment.reconcile``, run by ``hozen audit reconcile``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from hozen.assessment import services
from hozen.assessment.models import AssessmentCase, Clearance, Complaint
from hozen.assessment.reconcile import KINDS
from hozen.audit.reconcile import reconcile, registered

from .conftest import (
    REASONS,
    cleared,
    fresh,
    new_employee,
    nominate,
    to_consented,
    to_investigation_complete,
    to_notified,
)

pytestmark = pytest.mark.django_db

FIELDS = {"department": "技術部", "post": "主任", "listing_agreed_on": dt.date(2026, 5, 20)}


def raw(sql: str, *params) -> None:
    """A change behind the services' back: no service, no audit entry."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def assert_replays_clean() -> dict:
    report = reconcile(kinds=KINDS)
    assert report.ok, [d.line() for d in report.disagreements]
    return report.checked


def named(kind: str) -> dict:
    return {(d.record_id, d.field): (d.logged, d.stored) for d in reconcile(kinds=[kind]).disagreements}


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def test_the_assessment_replayers_are_registered_with_the_fields_they_cover():
    covered = {r.kind: r.fields for r in registered() if r.kind in KINDS}
    assert covered == {
        "assessment_case": ("state", "reasons_waived", "questionnaire_sha256", "interview_at", "retain_until"),
        "assessment_clearance": ("favourable", "notified_on", "valid_until", "suspended", "ended_on", "end_reason"),
        "assessment_complaint": ("state", "handler", "outcome"),
    }


def test_the_whole_path_with_a_complaint_and_a_reexamination_replays_to_the_stored_rows(world):
    case, clearance = cleared(world)
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="評価の理由に納得できない。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="re_examination",
                              reasons="理由の記載が不十分であり、再度評価する。")
    assert fresh(case).state == "under_reexamination"
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=case, agree=False)  # back for a new decision
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
    services.notify_result(actor=world["security"], case=case)
    # A second case waives the reasons in advance and is adjudicated unfavourably with concurrence.
    other = to_investigation_complete(world, nominate(world, new_employee(world)))
    services.waive_reasons(actor=world.subject_actor(other.person), case=other, waived=True)
    services.assign_adjudicator(actor=world["head"], case=other, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=other, outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=other, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=other, agree=True)
    services.notify_result(actor=world["security"], case=other)
    checked = assert_replays_clean()
    assert checked == {"assessment_case": 2, "assessment_clearance": 2, "assessment_complaint": 1}
    assert Clearance.objects.get(pk=clearance.pk).favourable and fresh(other).reasons_waived


def test_refusal_withdrawal_departure_and_reassessment_paths_replay_to_the_stored_rows(world, _frozen_today):
    refused = nominate(world, new_employee(world))
    services.give_notice(actor=world["security"], case=refused)
    services.refuse(actor=world.subject_actor(refused.person), case=refused)
    withdrawn = to_consented(world, nominate(world, new_employee(world)))
    services.withdraw_consent(actor=world.subject_actor(withdrawn.person), case=withdrawn)
    # A concern suspends the result and opens a re-assessment; its withdrawal ends the result.
    case, clearance = cleared(world)
    record = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description="多額の借入れの申告")
    assert Clearance.objects.get(pk=clearance.pk).suspended_at is not None
    assert_replays_clean()
    reassessment = to_consented(world, record.reassessment)
    services.withdraw_consent(actor=world.subject_actor(reassessment.person), case=reassessment)
    assert Clearance.objects.get(pk=clearance.pk).end_reason == "reassessment_not_completed"
    # The employer reports that a nominee left: the assessment under way is discontinued.
    leaver_case, leaver_clearance = cleared(world, new_employee(world))
    at(_frozen_today, dt.date(2036, 2, 1))
    renewal = services.nominate(actor=world["business"], person=leaver_case.person, contract=world.contract,
                                trigger="ten_year_renewal", **FIELDS).case
    services.report_event(actor=world["business"], clearance=leaver_clearance, kind="left",
                          occurred_on=dt.date(2036, 2, 1))
    assert fresh(renewal).state == "discontinued"
    assert_replays_clean()


def test_a_renewal_ends_the_result_it_renews_and_an_exemption_declined_opens_a_replayable_case(world, _frozen_today):
    case, first = cleared(world)
    at(_frozen_today, dt.date(2026, 9, 1))
    held = services.nominate(actor=world["business"], person=case.person, contract=world.contract, **FIELDS)
    opened = services.decline_exemption(actor=world["head"], exemption=held.exemption,
                                        reason="職務内容が変わったため改めて評価を行う。")
    second = to_notified(world, opened)
    old, new = Clearance.objects.get(pk=first.pk), Clearance.objects.get(case=second)
    assert (old.ended_on, old.end_reason) == (dt.date(2026, 9, 1), "superseded")
    assert new.ended_on is None and new.valid_until == dt.date(2036, 9, 1)
    assert Clearance.objects.filter(person=case.person, ended_on__isnull=True).count() == 1
    assert_replays_clean()


def test_a_case_state_changed_with_raw_sql_is_named_with_the_logged_and_stored_value(world):
    case = to_consented(world, nominate(world))
    raw("UPDATE assessment_assessmentcase SET state = 'notified' WHERE id = %s", case.pk)
    assert named("assessment_case") == {(str(case.pk), "state"): ("consented", "notified")}


def test_a_clearance_valid_until_changed_with_raw_sql_is_named(world):
    _case, clearance = cleared(world)
    raw("UPDATE assessment_clearance SET valid_until = %s WHERE id = %s", "2046-06-01", clearance.pk)
    lines = [d.line() for d in reconcile(kinds=["assessment_clearance"]).disagreements]
    assert lines == [f'assessment_clearance {clearance.pk}: valid_until: the log says "2036-06-01", '
                     'the row holds "2046-06-01"']


def test_a_clearance_unsuspended_with_raw_sql_is_named(world):
    _case, clearance = cleared(world)
    services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                          occurred_on=dt.date(2026, 6, 1), description="多額の借入れの申告")
    raw("UPDATE assessment_clearance SET suspended_at = NULL, suspended_by_id = NULL WHERE id = %s", clearance.pk)
    assert named("assessment_clearance") == {(str(clearance.pk), "suspended"): (True, False)}


def test_a_complaint_outcome_changed_with_raw_sql_is_named(world):
    case, _clearance = cleared(world)
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="評価の手続に不満がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="not_upheld",
                              reasons="手続に誤りは認められなかった。")
    raw("UPDATE assessment_complaint SET outcome = 'corrected' WHERE id = %s", complaint.pk)
    assert named("assessment_complaint") == {(str(complaint.pk), "outcome"): ("not_upheld", "corrected")}
    assert Complaint.objects.get(pk=complaint.pk).state == "decided"


def test_a_case_with_no_lifecycle_entry_is_named(world):
    case = nominate(world)
    raw("DELETE FROM audit_auditentry WHERE target_type = 'assessment.assessmentcase' AND target_id = %s", str(case.pk))
    assert named("assessment_case") == {(str(case.pk), "*"): ("(no lifecycle entry)", "row exists")}
    assert AssessmentCase.objects.filter(pk=case.pk).exists()


def test_an_entry_from_before_states_were_recorded_is_not_guessed(world):
    """Old entries may lack the state: the field is left out of the comparison, not guessed."""
    from hozen.assessment.reconcile import replay_case

    replayed = replay_case([
        {"action": "assessment.nominate", "details": {"subject_person_id": 1, "state": "nominated"}},
        {"action": "assessment.give_notice", "details": {"subject_person_id": 1, "language": "ja"}},
    ])
    assert "state" not in replayed and replayed["reasons_waived"] is False
