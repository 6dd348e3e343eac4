"""The queues at national scale (issue 6 benchmark): how they are read, paged and counted.

A worker's queue is read from their own duties first (``queries.duty_cases``, shared by
``queries.queue_for`` and the staff workspaces), never by walking every case of a state; the
nominator's list newest first from its own index; every queue is paged in a stable order; the
API's case list reads a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from hozen.assessment import queries, services, staff_queries
from hozen.assessment.models import AssessmentCase
from hozen.assessment.views import staff_common
from tests import factories

from .conftest import (
    REASONS,
    SUMMARY,
    actor_of,
    answered_inquiry,
    fresh,
    nominate,
    to_investigation_complete,
    to_notified,
    to_submitted,
)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def counts(page: str) -> str:
    """The numbers of the queue's count line (total, overdue, due soon), whatever the language."""
    line = re.search(r'id="queue-counts">(.*?)</p>', page, re.S).group(1)
    return " ".join(re.findall(r"\d+", line))


def employee(world):
    return factories.account(role="subject", organisation=world.orgs["TOWA"]).person


def investigated(world, n: int, investigator="investigator") -> list[AssessmentCase]:
    out = []
    for _ in range(n):
        case = to_submitted(world, nominate(world, employee(world)))
        services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people[investigator])
        out.append(fresh(case))
    return out


@pytest.fixture
def one_per_page(monkeypatch):
    monkeypatch.setattr(staff_common, "PER_PAGE", 1)


def sqlite_plan(qs) -> str:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's planner has no statistics: its plan is the same with 10 or 1,000,000 cases")
    return qs.explain()


# --- the nominator's list: its own index ------------------------------------------------------------

def test_nominator_list_newest_first_has_its_own_index(db):
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, AssessmentCase._meta.db_table)
    index = indexes["assessment_case_nominated"]
    assert index["index"] and index["columns"] == ["nominating_organisation_id", "nominated_at", "id"]
    assert index["orders"] == ["ASC", "DESC", "DESC"]


def test_nominator_page_is_read_from_the_nominated_index_without_a_sort(world):
    plan = sqlite_plan(staff_queries.nominated_cases(world["business"])[:25])
    assert "assessment_case_nominated" in plan and "TEMP B-TREE" not in plan


# --- a worker's queue: their own duties first, one implementation ------------------------------------

def test_queue_for_an_investigator_is_the_investigator_workspace_queue(world):
    mine = investigated(world, 2)
    theirs = investigated(world, 1, "investigator2")
    inv = world["investigator"]
    assert list(queries.queue_for(inv)) == list(staff_queries.investigator_cases(inv))
    assert sorted(c.pk for c in queries.queue_for(inv)) == sorted(c.pk for c in mine)
    assert [c.pk for c in queries.queue_for(world["investigator2"])] == [theirs[0].pk]
    # A case that leaves the investigation leaves the queue.
    answered_inquiry(world, mine[0])
    services.schedule_interview(actor=inv, case=mine[0], at=timezone.now())
    for n in range(1, 8):
        services.record_finding(actor=inv, case=mine[0], item=f"item_{n}", text=f"事項{n}: 懸念なし")
    services.complete_investigation(actor=inv, case=mine[0], summary=SUMMARY)
    assert [c.pk for c in queries.queue_for(inv)] == [mine[1].pk]


def index_plan(qs) -> str:
    """The plan as the database would choose it with many rows: SQLite's planner has no statistics
    (the same plan with 10 or 1,000,000 cases); PostgreSQL is told not to scan small tables whole."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    return qs.explain()


def test_queue_for_a_worker_is_read_by_primary_key_never_by_walking_a_state_nationwide(world):
    investigated(world, 1)
    plan = index_plan(queries.queue_for(world["investigator"])[:25])
    assert "assessment_case_queue" not in plan  # the (state, target date) index: every case of the state
    assert ("INTEGER PRIMARY KEY" if connection.vendor == "sqlite" else "assessment_assessmentcase_pkey") in plan
    inquiries = index_plan(staff_queries.pending_inquiries(world["investigator"]))
    assert "assessment_case_queue" not in inquiries
    one_state = index_plan(queries.queue_for(world["investigator"], state="under_investigation")[:25])
    assert "assessment_case_queue" not in one_state


def test_the_queue_over_the_api_filters_a_workers_queue_by_state(world, client):
    mine = investigated(world, 2)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['investigator'])}"}

    def ids(**params):
        response = client.get("/api/v1/assessment/queue", params, **headers)
        assert response.status_code == 200, response.content[:300]
        return sorted(i["id"] for i in response.json()["items"])

    assert ids() == ids(state="under_investigation") == sorted(c.pk for c in mine)
    assert ids(state="nominated") == []
    assert ids(limit=1, offset=1) == [max(mine, key=lambda c: (c.stage_due_on, c.pk)).pk]


def test_queue_for_an_adjudicator_holds_the_cases_to_decide_and_to_concur(world):
    case = to_investigation_complete(world, nominate(world))
    services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
    assert [c.pk for c in queries.queue_for(world["adjudicator"])] == [case.pk]
    assert list(queries.queue_for(world["adjudicator2"])) == []
    services.adjudicate(actor=world["adjudicator"], case=fresh(case), outcome="unfavourable", reasons=REASONS)
    services.assign_concurring_adjudicator(actor=world["head"], case=fresh(case),
                                           adjudicator=world.people["adjudicator2"])
    assert [c.pk for c in queries.queue_for(world["adjudicator2"])] == [case.pk]  # to concur


def test_a_worker_without_duties_has_an_empty_queue_without_reading_the_cases(world):
    nobody = actor_of(factories.account(role="investigator", organisation=world.orgs["CAO"]))
    investigated(world, 1)
    with CaptureQueriesContext(connection) as ctx:
        assert list(queries.queue_for(nobody)) == []
    assert len(ctx.captured_queries) == 1  # the duty index only
    assert ctx.captured_queries[0]["sql"].split("FROM", 1)[1].lstrip().startswith('"assessment_caseduty"')


# --- the nominator's status: one rule ----------------------------------------------------------------

def test_nominator_status_is_one_case_of_nominator_statuses(world, monkeypatch):
    case = to_notified(world, nominate(world))
    calls = []
    real = queries.nominator_statuses
    monkeypatch.setattr(queries, "nominator_statuses", lambda cases: calls.append(list(cases)) or real(cases))
    status = queries.nominator_status(case)
    assert calls == [[case]] and status["status"] == "notified" and status["favourable"] is True
    assert staff_queries.nominator_statuses([case]) == {case.pk: status}


# --- paging ----------------------------------------------------------------------------------------

def test_investigator_queue_is_paged_in_target_date_order_with_counts_of_the_whole_queue(
        world, signed_in, one_per_page):
    cases = investigated(world, 3)
    order = [c.pk for c in sorted(cases, key=lambda c: (c.stage_due_on, c.pk))]
    client = signed_in(world.people["investigator"])
    seen = []
    for number in (1, 2, 3):
        page = text(client.get(reverse("assessment:investigator_queue"), {"page": number}))
        seen += [pk for pk in order if f"#{pk}<" in page]
        assert counts(page).split()[0] == "3"  # the whole queue's count, on every page
    assert seen == order
    last = text(client.get(reverse("assessment:investigator_queue"), {"page": 99}))  # out of range: the last
    assert f"#{order[-1]}<" in last and 'rel="next"' not in last


def test_inquiries_awaiting_answers_are_paged_oldest_first(world, signed_in, one_per_page, _frozen_today):
    case = investigated(world, 1)[0]  # consented on 1 June: inquiries are dated from then on
    _frozen_today.move_to(dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC))
    for day in (3, 1, 2):
        services.record_inquiry(actor=world["investigator"], case=case, recipient_kind="superior",
                                recipient_organisation=f"会社{day}", recipient_name="上司", method="question",
                                question="質問", sent_on=dt.date(2026, 6, day))
    client = signed_in(world.people["investigator"])
    pages = [text(client.get(reverse("assessment:investigator_inquiries"), {"page": n})) for n in (1, 2, 3)]
    assert ["会社1" in pages[0], "会社2" in pages[1], "会社3" in pages[2]] == [True, True, True]
    assert 'rel="next"' in pages[0] and 'rel="prev"' in pages[2]


def test_adjudicator_queue_pages_each_list_by_its_own_parameter(world, signed_in, one_per_page):
    cases = []
    for _ in range(2):
        case = to_investigation_complete(world, nominate(world, employee(world)))
        services.assign_adjudicator(actor=world["head"], case=case, adjudicator=world.people["adjudicator"])
        cases.append(fresh(case))
    order = [c.pk for c in sorted(cases, key=lambda c: (c.stage_due_on, c.pk))]
    client = signed_in(world.people["adjudicator"])
    first = text(client.get(reverse("assessment:adjudicator_queue")))
    assert f"#{order[0]}<" in first and f"#{order[1]}<" not in first and "decide_page=2" in first
    second = text(client.get(reverse("assessment:adjudicator_queue"), {"decide_page": 2, "waiting_page": 1}))
    assert f"#{order[1]}<" in second and "waiting_page=1" in second  # the other lists keep their page
    assert counts(second).startswith("2 ")


def test_assignments_and_complaints_are_paged(world, signed_in, one_per_page):
    submitted = [to_submitted(world, nominate(world, employee(world))) for _ in range(2)]
    order = [c.pk for c in sorted((fresh(c) for c in submitted), key=lambda c: (c.stage_due_on, c.pk))]
    cao = signed_in(world.people["cao_head"])
    first = text(cao.get(reverse("assessment:staff_assignments")))
    assert f"#{order[0]}<" in first and f"#{order[1]}<" not in first and "investigator_page=2" in first
    second = text(cao.get(reverse("assessment:staff_assignments"), {"investigator_page": 2}))
    assert f"#{order[1]}<" in second

    complaints = []
    for _ in range(2):
        case = to_notified(world, nominate(world, employee(world)), favourable=False)
        complaints.append(services.file_complaint(actor=world.subject_actor(case.person), case=case,
                                                  text="評価に不服がある。"))
    order = [c.pk for c in sorted(complaints, key=lambda c: (c.due_on, c.pk))]
    assert [c.pk for c in queries.complaints_queue_for(world["head"])] == order
    head = signed_in(world.people["organ_head"])
    pages = [text(head.get(reverse("assessment:complaint_queue"), {"page": n})) for n in (1, 2)]
    assert f"Complaint #{order[0]}<" in pages[0] or f"#{order[0]}<" in pages[0]
    assert f"#{order[1]}<" in pages[1] and f"#{order[1]}<" not in pages[0]


def test_adverse_treatment_reports_are_paged_open_ones_first(world, signed_in, one_per_page):
    reports = []
    for _ in range(2):
        case = nominate(world, employee(world))
        reports.append(services.report_adverse_treatment(actor=world.subject_actor(case.person), case=case,
                                                         kind="pay_cut", text="減給された。"))
    services.decide_adverse_treatment(actor=world["head"], report=reports[0], outcome="employer_instructed",
                                      reasons="是正を指示した。")
    assert [r.pk for r in staff_queries.adverse_reports_for(world["head"])] == [reports[1].pk, reports[0].pk]
    head = signed_in(world.people["organ_head"])
    first = text(head.get(reverse("assessment:staff_adverse_reports")))
    url = reverse("assessment:staff_adverse_report", args=[reports[1].pk])
    assert url in first and reverse("assessment:staff_adverse_report", args=[reports[0].pk]) not in first
    assert 'rel="next"' in first


def test_the_complaint_queue_over_the_api_is_paged(world, client):
    complaints = []
    for _ in range(3):
        case = to_notified(world, nominate(world, employee(world)), favourable=False)
        complaints.append(services.file_complaint(actor=world.subject_actor(case.person), case=case,
                                                  text="評価に不服がある。"))
    order = [c.pk for c in sorted(complaints, key=lambda c: (c.due_on, c.pk))]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['organ_head'])}"}
    got = []
    for offset in (0, 2):
        response = client.get("/api/v1/assessment/complaints/queue", {"limit": 2, "offset": offset}, **headers)
        assert response.status_code == 200, response.content[:300]
        got += [c["id"] for c in response.json()]
    assert got == order


# --- the API's case list: a fixed number of queries --------------------------------------------------

def test_the_api_case_list_reads_a_fixed_number_of_queries_whatever_the_number_of_rows(world, client):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(world.people['business_officer'])}"}

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/assessment/cases", {"limit": 200}, **headers)
        assert response.status_code == 200, response.content[:300]
        items = response.json()["items"]
        assert items and all(i["view"] == "status_only" and "state" not in i or i["state"] is None for i in items)
        return len(items), len(ctx.captured_queries)

    to_notified(world, nominate(world, employee(world)))
    count()  # the token's first use of the minute is recorded: not part of the list
    rows_few, few = count()
    for favourable in (True, False):
        to_notified(world, nominate(world, employee(world)), favourable=favourable)
    nominate(world, employee(world))
    rows_many, many = count()
    assert rows_many == rows_few + 3
    assert many == few


def test_the_nominator_sees_no_due_date_after_notification_even_during_a_reexamination(world):
    """After notification the nominating side has its three facts: a complaint's re-examination
    must not show as a new stage with a date, nor the old decision date as overdue."""
    from hozen.assessment.staff_queries import nominator_clock

    case = to_notified(world, nominate(world))
    assert nominator_clock(fresh(case))["due_on"] is None
    AssessmentCase.objects.filter(pk=case.pk).update(state="under_reexamination")
    clock = nominator_clock(fresh(case), timezone.localdate() + dt.timedelta(days=400))
    assert clock == {"due_on": None, "overdue": False, "due_soon": False}
