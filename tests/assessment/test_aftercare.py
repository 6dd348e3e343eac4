"""After the result (DOMAIN §6 steps 8–9): validity and expiry, reported changes, re-assessment
with suspension, complaints handled by someone who never worked the case."""

from __future__ import annotations

import datetime as dt

import pytest

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, services
from hozen.assessment.models import AssessmentCase, Clearance, ReportableEvent
from hozen.assessment.states import State
from hozen.core import services as core_services
from hozen.core.errors import RuleViolation
from hozen.crypto import reveal
from tests import factories

from .conftest import REASONS, actor_of, cleared, fresh, nominate, to_adjudicated, to_notified

pytestmark = pytest.mark.django_db

CONCERN = "本人から多額の借入れについて申告があった。"


def at(traveller, day: dt.date):
    traveller.move_to(dt.datetime(day.year, day.month, day.day, 3, 0, tzinfo=dt.UTC))


def test_a_clearance_expires_after_ten_years(world, _frozen_today):
    _case, clearance = cleared(world)
    assert clearance.status(dt.date(2036, 6, 1)) == "valid"
    assert clearance.status(dt.date(2036, 6, 2)) == "expired" and not clearance.is_valid(dt.date(2036, 6, 2))
    at(_frozen_today, dt.date(2036, 1, 1))
    assert list(queries.renewals_due(world["business"])) == [clearance]  # due within 180 days
    at(_frozen_today, dt.date(2036, 6, 2))
    assert list(queries.renewals_due(world["business"])) == []
    with pytest.raises(RuleViolation) as info:
        services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                              occurred_on=dt.date(2036, 6, 1), description=CONCERN)
    assert info.value.code == "clearance_not_valid"


def test_a_concerning_event_opens_a_reassessment_and_suspends_the_clearance(world):
    original, clearance = cleared(world)
    event = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                  occurred_on=dt.date(2026, 5, 30), description=CONCERN)
    clearance = Clearance.objects.get(pk=clearance.pk)
    reassessment = event.reassessment
    assert clearance.status(dt.date(2026, 6, 1)) == "suspended" and clearance.suspended_by == reassessment
    assert (reassessment.trigger, reassessment.state, reassessment.reassessment_of) == ("concern", State.NOMINATED,
                                                                                         clearance)
    assert reassessment.contract == world.contract and reassessment.listing_agreed_on is None
    assert "clearance_suspended" in set(original.events.values_list("kind", flat=True))
    # The description is encrypted under the re-assessment's key; the reporter cannot read it back.
    with pytest.raises(PolicyDenied):
        reveal(world["business"], ReportableEvent.objects.get(pk=event.pk), "description", purpose="reporting")
    assert queries.nominator_status(original)["status"] == "notified"


def test_a_favourable_reassessment_replaces_the_suspended_clearance(world, _frozen_today):
    _original, clearance = cleared(world)
    event = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                  occurred_on=dt.date(2026, 5, 30), description=CONCERN)
    at(_frozen_today, dt.date(2026, 9, 1))
    new = to_notified(world, event.reassessment)
    old = Clearance.objects.get(pk=clearance.pk)
    assert (old.ended_on, old.end_reason) == (dt.date(2026, 9, 1), "superseded")
    assert new.clearance.is_valid(dt.date(2026, 9, 1)) and new.clearance.valid_until == dt.date(2036, 9, 1)


def test_an_unfavourable_reassessment_ends_the_clearance(world):
    _original, clearance = cleared(world)
    event = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                  occurred_on=dt.date(2026, 5, 30), description=CONCERN)
    to_notified(world, event.reassessment, favourable=False)
    old = Clearance.objects.get(pk=clearance.pk)
    assert old.end_reason == "reassessment_unfavourable" and old.status(dt.date(2026, 6, 1)) == "ended"


def test_refusing_the_reassessment_ends_the_clearance(world):
    _original, clearance = cleared(world)
    event = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                  occurred_on=dt.date(2026, 5, 30), description=CONCERN)
    case = event.reassessment
    services.give_notice(actor=world["security"], case=case)
    services.refuse(actor=world.subject_actor(case.person), case=case)
    assert Clearance.objects.get(pk=clearance.pk).end_reason == "reassessment_not_completed"


def test_only_the_employer_that_nominated_or_the_organ_reports_changes(world):
    _case, clearance = cleared(world)
    for who in ("mic_security", "subject", "investigator", "sysadmin"):
        with pytest.raises(PolicyDenied):
            services.report_event(actor=world[who], clearance=clearance, kind="left", occurred_on=dt.date(2026, 6, 1))
    services.report_event(actor=world["security"], clearance=clearance, kind="transferred",
                          occurred_on=dt.date(2026, 6, 1), new_post="企画部 課長")
    with pytest.raises(RuleViolation) as info:
        services.report_event(actor=world["business"], clearance=clearance, kind="transferred",
                              occurred_on=dt.date(2026, 6, 1))
    assert info.value.code == "new_post_required"


def test_leaving_the_employer_discontinues_the_unfinished_assessment_it_started(world):
    _case, clearance = cleared(world)
    renewal = nominate(world, trigger="ten_year_renewal")
    services.report_event(actor=world["business"], clearance=clearance, kind="left", occurred_on=dt.date(2026, 6, 1))
    assert fresh(renewal).state == State.DISCONTINUED and fresh(renewal).closed_at is not None
    assert Clearance.objects.get(pk=clearance.pk).is_valid(dt.date(2026, 6, 1))  # the result is the person's


def test_a_complaint_handler_never_worked_the_case(world):
    case = to_notified(world, nominate(world))
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="結果に納得できません。")
    # The adjudicator of the case also holds the complaint-handler role: still refused.
    core_services.assign_role(actor=factories.operator(), account=world.people["adjudicator"],
                              role="complaint_handler", organisation=world.orgs["METI"])
    with pytest.raises(PolicyDenied) as info:
        services.assign_complaint_handler(actor=world["head"], complaint=complaint,
                                          handler=world.people["adjudicator"])
    assert info.value.decision.code == "worked_the_case"
    assert "did not work the case" in info.value.decision.reason_en
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    with pytest.raises(PolicyDenied) as info:
        services.decide_complaint(actor=world["handler2"], complaint=complaint, outcome="not_upheld", reasons="x")
    assert info.value.decision.code == "not_assigned_to_case"
    decided = services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="not_upheld",
                                        reasons="評価の手続に誤りは認められない。")
    assert (decided.state, decided.outcome) == ("decided", "not_upheld") and decided.notified_at is not None
    as_adjudicator = actor_of(world.people["adjudicator"], "complaint_handler")
    with pytest.raises(PolicyDenied):
        reveal(as_adjudicator, decided, "outcome_reasons", purpose="complaint_handling")


def test_only_the_subject_complains_and_the_organ_head_assigns_the_handler(world):
    case = to_notified(world, nominate(world))
    for who in ("business", "security", "handler"):
        with pytest.raises(PolicyDenied):
            services.file_complaint(actor=world[who], case=case, text="苦情")
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="苦情の内容")
    assert complaint.due_on == dt.date(2026, 7, 31)  # complaint: 60 days
    for who in ("security", "mic_head", "handler"):
        with pytest.raises(PolicyDenied):
            services.assign_complaint_handler(actor=world[who], complaint=complaint,
                                              handler=world.people["complaint_handler"])


def test_re_examination_applies_to_a_notified_result_and_leads_to_a_new_notification(world):
    case = to_notified(world, nominate(world), favourable=False)
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="事実誤認がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="re_examination",
                              reasons="事実関係を再確認する。")
    case = fresh(case)
    assert case.state == State.UNDER_REEXAMINATION and case.stage_due_on == dt.date(2026, 7, 1)
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    second = services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
    clearance = services.notify_result(actor=world["security"], case=case)
    assert second.round == 2 and clearance.favourable and clearance.valid_until == dt.date(2036, 6, 1)
    assert [n.favourable for n in case.business_notices.order_by("id")] == [False, True]


def test_a_complaint_before_the_result_cannot_lead_to_re_examination(world):
    case = to_adjudicated(world, nominate(world))
    complaint = services.file_complaint(actor=world.subject_actor(case.person), case=case, text="手続に疑問がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    with pytest.raises(RuleViolation) as info:
        services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="re_examination", reasons="x")
    assert info.value.code == "transition_not_allowed"


def test_statistics_count_outcomes_without_personal_data(world):
    cleared(world)
    refused = nominate(world, tier="sds")
    services.give_notice(actor=world["security"], case=refused)
    services.refuse(actor=world.subject_actor(refused.person), case=refused)
    stats = queries.statistics(start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    assert (stats["nominated"], stats["notified"], stats["favourable"], stats["refused"]) == (2, 1, 1, 1)
    assert AssessmentCase.objects.count() == 2


def test_a_concern_while_another_assessment_is_open_is_folded_into_it(world, _frozen_today):
    _case, clearance = cleared(world)
    renewal = nominate(world, trigger="ten_year_renewal")
    record = services.report_event(actor=world["business"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description=CONCERN)
    assert record.reassessment is None and record.folded_into == renewal and record.case == renewal
    assert AssessmentCase.objects.filter(person=renewal.person, state__in=["nominated"]).count() == 1
    assert Clearance.objects.get(pk=clearance.pk).suspended_by == renewal
    assert fresh(renewal).reassessment_of == clearance
    assert "concern_folded" in set(renewal.events.values_list("kind", flat=True))
    # The open case's result replaces the suspended record, as a re-assessment's does.
    case = to_notified(world, renewal)
    old = Clearance.objects.get(pk=clearance.pk)
    assert old.end_reason == "superseded" and case.clearance.is_valid(dt.date(2026, 6, 1))


def test_a_folded_concern_is_read_by_the_open_cases_investigator_only(world):
    _case, clearance = cleared(world)
    renewal = nominate(world, trigger="ten_year_renewal")
    record = services.report_event(actor=world["security"], clearance=clearance, kind="concerning_event",
                                   occurred_on=dt.date(2026, 6, 1), description=CONCERN)
    from .conftest import to_submitted

    case = to_submitted(world, renewal)
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    record = ReportableEvent.objects.get(pk=record.pk)
    assert reveal(world["investigator"], record, "description", purpose="investigation") == CONCERN
    for who in ("investigator2", "business", "security", "sysadmin"):
        with pytest.raises(PolicyDenied):
            reveal(world[who], record, "description", purpose="curiosity")


