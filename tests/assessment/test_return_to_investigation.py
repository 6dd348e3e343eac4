"""Issue 15 "send back": instead of deciding, the case's adjudicator returns a completed
investigation to the investigator with a question. The case is under investigation again with a new
target date, the question is encrypted under the case's key and audited with the move, the
investigator sees it on the case page and in the queue, and answers it by completing the
investigation again; the log still replays to the rows (``assessment.reconcile``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from hozen.access.policy import PolicyDenied
from hozen.assessment import queries, rules, services, staff_queries
from hozen.assessment.models import CaseSummary, InvestigationReturn
from hozen.assessment.reconcile import KINDS
from hozen.assessment.states import State
from hozen.audit.models import AuditEntry
from hozen.audit.reconcile import reconcile
from hozen.core.errors import RuleViolation

from .conftest import (
    REASONS,
    SUMMARY,
    audit_entries,
    fresh,
    new_employee,
    nominate,
    to_investigation_complete,
    to_submitted,
)

pytestmark = pytest.mark.django_db

QUESTION = "上司への照会の回答にある「一時期の欠勤」について、理由を確認してください。"
ANSWER = "本人への面接で確認したところ、家族の看病のための休暇であり、懸念はない。"


@pytest.fixture
def complete(world):
    """A completed investigation with its adjudicator assigned."""
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    return fresh(case)


def url(name, *args):
    return reverse(f"assessment:{name}", args=args)


def replays_clean():
    report = reconcile(kinds=KINDS)
    assert report.ok, [d.line() for d in report.disagreements]


def test_the_adjudicator_returns_a_completed_investigation_with_a_question(world, complete, _frozen_today):
    _frozen_today.move_to(dt.datetime(2026, 6, 20, 3, 0, tzinfo=dt.UTC))
    record = services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    case = fresh(complete)
    assert case.state == State.UNDER_INVESTIGATION
    # The stage clock restarts: the investigation's target from the day it went back.
    assert case.stage_due_on == rules.stage_due_on(case, dt.date(2026, 6, 20))
    assert case.stage_due_on > complete.stage_due_on
    # The question is ciphertext at rest, read by the case's workers through the audited reveal.
    stored = InvestigationReturn.objects.get(pk=record.pk)
    assert QUESTION not in repr(stored.question) and stored.answered_at is None
    [entry] = audit_entries("assessment.return_to_investigation")
    assert entry["details"]["state"] == "under_investigation" and entry["details"]["question"] == record.pk
    assert QUESTION not in str(entry)
    assert case.events.filter(kind="returned_to_investigation", state_from="investigation_complete").count() == 1
    [shown] = queries.returns_for(world["investigator"], case, purpose="investigation", open_only=True)
    assert shown["question"] == QUESTION and shown["answer"] is None
    replays_clean()


def test_the_investigator_answers_the_question_by_completing_the_investigation_again(world, complete):
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    first_completion = fresh(complete).investigation_completed_at
    # The answer is required while the question is open; nothing is written without it.
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=world["investigator"], case=complete, summary=SUMMARY, answer="  ")
    assert (info.value.code, info.value.field) == ("answer_required", "answer")
    assert fresh(complete).state == State.UNDER_INVESTIGATION
    services.complete_investigation(actor=world["investigator"], case=complete, summary=SUMMARY + " 追記あり",
                                    answer=ANSWER)
    case = fresh(complete)
    assert case.state == State.INVESTIGATION_COMPLETE
    # The first completion is kept (the nominating side's clock never shows a return).
    assert case.investigation_completed_at == first_completion
    [asked] = queries.returns_for(world["adjudicator"], case, purpose="adjudication")
    assert (asked["question"], asked["answer"]) == (QUESTION, ANSWER) and asked["answered_at"] is not None
    assert queries.summary_for(world["adjudicator"], case, purpose="adjudication")["text"] == SUMMARY + " 追記あり"
    assert CaseSummary.objects.filter(case=case).count() == 1
    entry = audit_entries("assessment.complete_investigation")[-1]
    assert entry["details"]["answered_return"] == asked["id"] and ANSWER not in str(entry)
    # The adjudicator then decides as usual.
    services.adjudicate(actor=world["adjudicator"], case=case, outcome="favourable", reasons=REASONS)
    assert fresh(case).state == State.ADJUDICATED_FAVOURABLE
    replays_clean()


def ready_to_complete(world):
    """A case under investigation with everything but the completion done."""
    from django.utils import timezone

    from .conftest import answered_inquiry, to_submitted

    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    answered_inquiry(world, case)
    services.schedule_interview(actor=world["investigator"], case=case, at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=world["investigator"], case=case, item=f"item_{n}", text=f"事項{n}: 懸念なし")
    return fresh(case)


def test_an_answer_without_a_question_is_refused(world):
    case = ready_to_complete(world)
    with pytest.raises(RuleViolation) as info:
        services.complete_investigation(actor=world["investigator"], case=case, summary=SUMMARY, answer=ANSWER)
    assert (info.value.code, info.value.field) == ("no_question_to_answer", "answer")
    assert fresh(case).state == State.UNDER_INVESTIGATION and not CaseSummary.objects.filter(case=case).exists()
    services.complete_investigation(actor=world["investigator"], case=case, summary=SUMMARY, answer="")
    assert fresh(case).state == State.INVESTIGATION_COMPLETE


def test_a_case_may_be_returned_again_after_each_answer(world, complete):
    for n in (1, 2):
        services.return_to_investigation(actor=world["adjudicator"], case=complete, question=f"質問{n}")
        services.complete_investigation(actor=world["investigator"], case=complete, summary=SUMMARY,
                                        answer=f"回答{n}")
    asked = queries.returns_for(world["adjudicator"], complete, purpose="adjudication")
    assert [(a["question"], a["answer"]) for a in asked] == [("質問1", "回答1"), ("質問2", "回答2")]
    replays_clean()


def test_only_the_cases_adjudicator_returns_it(world, complete):
    before = AuditEntry.objects.filter(action="assessment.return_to_investigation").count()
    for name in ("adjudicator2", "investigator", "head", "subject", "business"):
        with pytest.raises(PolicyDenied):
            services.return_to_investigation(actor=world[name], case=complete, question=QUESTION)
    with pytest.raises(PolicyDenied) as info:
        services.return_to_investigation(actor=world["adjudicator2"], case=complete, question=QUESTION)
    assert info.value.decision.code == "not_assigned_to_case"
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE
    assert not InvestigationReturn.objects.exists()
    assert AuditEntry.objects.filter(action="assessment.return_to_investigation").count() == before


def test_a_return_needs_a_question(world, complete):
    for blank in ("", "   ", "\u200b"):
        with pytest.raises(RuleViolation) as info:
            services.return_to_investigation(actor=world["adjudicator"], case=complete, question=blank)
        assert (info.value.code, info.value.field) == ("question_required", "question")
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE and not InvestigationReturn.objects.exists()


def test_a_case_is_returned_only_from_a_completed_investigation(world, complete):
    services.adjudicate(actor=world["adjudicator"], case=complete, outcome="favourable", reasons=REASONS)
    with pytest.raises(RuleViolation) as info:
        services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    assert info.value.code == "transition_not_allowed"
    assert fresh(complete).state == State.ADJUDICATED_FAVOURABLE and not InvestigationReturn.objects.exists()


def test_a_returned_case_cannot_be_returned_again_until_answered(world, complete):
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    with pytest.raises(RuleViolation) as info:
        services.return_to_investigation(actor=world["adjudicator"], case=complete, question="もう一つ")
    assert info.value.code == "transition_not_allowed"
    assert InvestigationReturn.objects.filter(case=complete).count() == 1


def test_the_nominating_side_is_not_told_that_a_case_went_back(world, complete):
    before = staff_queries.nominator_clock(fresh(complete))
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    assert staff_queries.nominator_clock(fresh(complete)) == before


def test_the_subject_and_the_nominating_side_never_read_the_question(world, complete):
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    case = fresh(complete)
    for name in ("subject", "business", "security"):
        with pytest.raises(PolicyDenied):
            queries.returns_for(world[name], case, purpose="case_work")


# --- the screens --------------------------------------------------------------------------------

def test_the_adjudicator_returns_the_case_from_the_adjudication_page(world, complete, signed_in):
    client = signed_in(world.people["adjudicator"])
    page = client.get(url("adjudicator_case", complete.pk)).content.decode()
    assert 'id="return-form"' in page
    # An empty question is refused beside the field; nothing changes.
    response = client.post(url("adjudicator_return", complete.pk), {"return-question": "  "})
    assert response.status_code == 200 and "id_return-question_error" in response.content.decode()
    assert fresh(complete).state == State.INVESTIGATION_COMPLETE
    response = client.post(url("adjudicator_return", complete.pk), {"return-question": QUESTION})
    assert response.status_code == 302 and fresh(complete).state == State.UNDER_INVESTIGATION
    # Sent again from a stale page (the case has moved on): refused with the policy's or the state
    # table's reason, nothing written.
    response = client.post(url("adjudicator_return", complete.pk), {"return-question": QUESTION}, follow=True)
    assert InvestigationReturn.objects.filter(case=complete).count() == 1
    assert "assessment.return_to_investigation" in response.content.decode()


def test_the_investigator_sees_the_question_in_the_queue_and_on_the_case_page(world, complete, signed_in):
    services.return_to_investigation(actor=world["adjudicator"], case=complete, question=QUESTION)
    client = signed_in(world.people["investigator"])
    queue = client.get(url("investigator_queue")).content.decode()
    assert 'class="returned-flag"' in queue
    page = client.get(url("investigator_case", complete.pk)).content.decode()
    assert 'id="returned-question"' in page and QUESTION in page
    assert 'name="complete-answer"' in page
    # Reading the question is a read of the person's data (on their "who read my data" list).
    assert AuditEntry.objects.filter(action="personal_data.read", target_type="assessment.investigationreturn").exists()
    response = client.post(url("investigator_complete", complete.pk), {"complete-summary": SUMMARY})
    assert response.status_code == 200 and "id_complete-answer_error" in response.content.decode()
    assert fresh(complete).state == State.UNDER_INVESTIGATION
    response = client.post(url("investigator_complete", complete.pk),
                           {"complete-summary": SUMMARY, "complete-answer": ANSWER})
    assert response.status_code == 302 and fresh(complete).state == State.INVESTIGATION_COMPLETE
    assert 'class="returned-flag"' not in client.get(url("investigator_queue")).content.decode()
    adjudicator = signed_in(world.people["adjudicator"])
    assert 'id="returns-asked"' in adjudicator.get(url("adjudicator_case", complete.pk)).content.decode()
    file = adjudicator.get(url("staff_case_file", complete.pk)).content.decode()
    assert 'id="file-returns"' in file and QUESTION in file and ANSWER in file


def _panel(page: str, panel_id: str) -> str:
    section = page[page.index(f'id="{panel_id}"'):]
    return section[:section.index("</section>")]


def test_the_investigators_dashboard_shows_returned_cases_as_work_waiting_overdue_first(world, signed_in,
                                                                                       _frozen_today):
    """A case sent back with a question is work for the investigator: their dashboard lists it with
    the day of the question and its clock, overdue first like the other queues, and its count is the
    investigation queue's count of cases "returned with a question"."""
    late = to_investigation_complete(world, nominate(world))
    recent = to_investigation_complete(world, nominate(world, new_employee(world, "後の社員")))
    for case in (late, recent):
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    still_investigating = to_submitted(world, nominate(world, new_employee(world, "調査中の社員")))
    services.assign_investigator(actor=world["cao_head"], case=still_investigating,
                                 investigator=world.people["investigator"])
    _frozen_today.move_to(dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC))
    services.return_to_investigation(actor=world["adjudicator"], case=late, question=QUESTION)
    _frozen_today.move_to(dt.datetime(2026, 6, 20, 3, 0, tzinfo=dt.UTC))
    services.return_to_investigation(actor=world["adjudicator"], case=recent, question=QUESTION)
    # The first question's clock has run out, the second's has not.
    today = fresh(late).stage_due_on + dt.timedelta(days=1)
    assert fresh(recent).stage_due_on >= today
    _frozen_today.move_to(dt.datetime.combine(today, dt.time(3, 0), tzinfo=dt.UTC))

    client = signed_in(world.people["investigator"])
    panel = _panel(client.get(reverse("core:dashboard")).content.decode(), "panel-returned")
    assert 'data-total="2" data-overdue="1"' in panel
    late_link, recent_link = url("investigator_case", late.pk), url("investigator_case", recent.pk)
    assert late_link in panel and recent_link in panel and url("investigator_case", still_investigating.pk) not in panel
    assert panel.index(late_link) < panel.index(recent_link)  # the overdue one leads
    late_row = panel[panel.index(late_link):panel.index(recent_link)]
    assert "2026-06-10" in late_row and 'class="overdue"' in late_row  # the question's date, and overdue
    assert "2026-06-20" in panel[panel.index(recent_link):]
    queue = client.get(url("investigator_queue")).content.decode()
    assert queue.count('class="returned-flag"') == 2

    # Answered by completing the investigation again: off the card, and off the queue's flags.
    services.complete_investigation(actor=world["investigator"], case=late, summary=SUMMARY, answer=ANSWER)
    panel = _panel(client.get(reverse("core:dashboard")).content.decode(), "panel-returned")
    assert 'data-total="1" data-overdue="0"' in panel and late_link not in panel and recent_link in panel
    assert client.get(url("investigator_queue")).content.decode().count('class="returned-flag"') == 1
    assert [r["case"].pk for r in staff_queries.returned_rows(staff_queries.returned_cases(world["investigator"]))] == [
        recent.pk]
