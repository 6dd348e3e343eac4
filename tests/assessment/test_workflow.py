"""The whole case, nomination by a company to a complaint (issue 6 "Done when"), and the state table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.assessment import queries, services
from hozen.assessment.models import BusinessNotice, CaseEvent, Clearance
from hozen.assessment.states import State
from hozen.crypto import reveal

from .conftest import REASONS, SUMMARY, audit_entries, fill_questionnaire, fresh, nominate

pytestmark = pytest.mark.django_db


def test_a_company_nominee_goes_from_nomination_to_notification_and_then_complains(world):
    subject = world.subject_actor(world.people["subject"].person)
    case = nominate(world)
    assert (case.state, case.organ, case.nominating_organisation) == ("nominated", world.orgs["METI"], world.orgs["TOWA"])
    assert case.stage_due_on == dt.date(2026, 6, 15)  # target_days.notice = 14

    services.give_notice(actor=world["security"], case=case)
    services.consent(actor=subject, case=case)
    fill_questionnaire(world, case)
    sha256 = services.submit_questionnaire(actor=subject, case=case)
    assert fresh(case).questionnaire_sha256 == sha256

    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    investigator = world["investigator"]
    inquiry = services.record_inquiry(actor=investigator, case=case, recipient_kind="superior",
                                      recipient_organisation="東和重工業株式会社", recipient_name="上司 一郎",
                                      question="勤務の状況", sent_on=dt.date(2026, 6, 1))
    services.record_inquiry_response(actor=investigator, inquiry=inquiry, response="良好", answered_on=dt.date(2026, 6, 1))
    services.schedule_interview(actor=investigator, case=case, at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=investigator, case=case, item=f"item_{n}", text="問題なし")
    services.complete_investigation(actor=investigator, case=case, summary=SUMMARY)

    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="unfavourable", reasons=REASONS)
    assert fresh(case).state == State.ADJUDICATED_UNFAVOURABLE_PENDING_CONCURRENCE
    services.assign_concurring_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator2"])
    services.concur(actor=world["adjudicator2"], case=case, agree=True)
    clearance = services.notify_result(actor=world["security"], case=case)

    case = fresh(case)
    assert case.state == State.NOTIFIED and clearance.favourable is False and clearance.valid_until is None
    notice = BusinessNotice.objects.get(case=case)
    assert (notice.consented, notice.favourable, notice.valid_until) == (True, False, None)
    assert queries.result_for_subject(subject, case)["reasons"][0]["reason"] == REASONS["item_1"]

    complaint = services.file_complaint(actor=subject, case=case, text="理由に事実誤認があります。")
    services.assign_complaint_handler(actor=world["head"], complaint=complaint, handler=world.people["complaint_handler"])
    decided = services.decide_complaint(actor=world["handler"], complaint=complaint, outcome="re_examination",
                                        reasons="事実関係を再確認する。")
    assert decided.notified_at is not None and fresh(case).state == State.UNDER_REEXAMINATION
    assert reveal(subject, decided, "outcome_reasons", purpose="subject_access") == "事実関係を再確認する。"

    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds[:3] == ["nominated", "notice_given", "consented"]
    assert {"questionnaire_submitted", "investigator_assigned", "inquiry_recorded", "inquiry_answered",
            "interview_scheduled", "finding_recorded", "investigation_completed", "adjudicator_assigned",
            "adjudicated", "concurring_adjudicator_assigned", "concurred", "result_notified", "complaint_filed",
            "complaint_handler_assigned", "reexamination_opened", "complaint_decided"} <= set(kinds)
    assert audit_entries("assessment.submit_questionnaire")[0]["details"]["sha256"] == sha256


def test_a_favourable_result_is_valid_ten_years_from_notification(world):
    from .conftest import to_notified

    case = to_notified(world, nominate(world))
    clearance = Clearance.objects.get(case=case)
    assert (clearance.favourable, clearance.notified_on, clearance.valid_until) == (True, dt.date(2026, 6, 1),
                                                                                   dt.date(2036, 6, 1))
    assert clearance.rules_pack.code == "jp-esi-2025"
    notice = BusinessNotice.objects.get(case=case)
    assert (notice.consented, notice.favourable, notice.valid_until) == (True, True, dt.date(2036, 6, 1))
    assert notice.retain_until == dt.date(2031, 6, 1)  # favourable notice: 5 years (to verify)
