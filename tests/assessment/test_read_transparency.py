"""Read transparency, complete (issue 12 §7; ARCHITECTURE rule 4): every read that shows anything
about an assessed person — on every screen and API operation, for every role that can reach it —
is an audit entry naming the person and a purpose, and is on their "who has read my data" list; a
refused or 404 read of case content is a refused read on that list (who made it is withheld unless
it was the person themselves). The completeness tests walk every GET operation of the OpenAPI under
/api/v1/assessment/ and every assessment URL pattern, as every role, so a new read without its
entry fails here. Time is frozen at 2026-06-01 (the assessment fixtures)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from hozen.assessment import services
from hozen.assessment.models import Inquiry
from hozen.audit import queries as audit_queries
from hozen.audit.models import AuditEntry
from hozen.core import services as core_services
from hozen.core.actor import Actor
from tests import factories
from tests.assessment.conftest import actor_of, fill_questionnaire, nominate, to_notified, to_submitted

pytestmark = pytest.mark.django_db

API = "/api/v1/assessment"
READS = ("personal_data.read", "assessment.read")
JOB = Actor.job("assessment.renewal_reminders")


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def on_list(person, since: int):
    """The entries added to `person`'s "who has read my data" since entry `since`, as the page
    and the API read them (`audit.queries.reads_of_person_for`, through the policy)."""
    actor = actor_of(person.account, "subject")
    return audit_queries.reads_of_person_for(actor=actor, person=person).filter(pk__gt=since)


def token_client(account, assignment=None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {factories.api_token(account, assignment)}")


def details(entry) -> dict:
    return json.loads(entry.data).get("details") or {}


# --- the five reads the issue found missing ---------------------------------------------------------

@pytest.fixture
def notified(world):
    return to_notified(world, nominate(world))


def test_the_business_officer_reading_the_status_is_on_the_persons_list(world, notified):
    since = last_id()
    response = token_client(world.people["business_officer"]).get(f"{API}/cases/{notified.pk}")
    assert response.status_code == 200 and response.json()["view"] == "status_only"
    entry = on_list(notified.person, since).get()
    assert (entry.action, entry.outcome, entry.actor_name) == ("assessment.read", "success", "business-officer")
    assert details(entry) == {"subject_person_id": notified.person_id, "view": "get_case"}
    assert json.loads(entry.data)["purpose"] == "nomination_follow_up"


def test_the_business_officer_reading_clearances_is_on_the_persons_list(world, notified):
    since = last_id()
    body = token_client(world.people["business_officer"]).get(f"{API}/clearances").json()
    assert [c["person"] for c in body] == [notified.person_id]
    entry = on_list(notified.person, since).get()
    assert entry.target_type == "assessment.clearance" and details(entry)["view"] == "list_clearances"


def test_the_business_officer_reading_notices_is_on_the_persons_list(world, notified):
    since = last_id()
    body = token_client(world.people["business_officer"]).get(f"{API}/notices").json()
    assert [n["person"] for n in body] == [notified.person_id]
    entry = on_list(notified.person, since).get()
    assert entry.target_type == "assessment.businessnotice" and details(entry)["view"] == "list_notices"


def test_the_security_officer_reading_the_case_is_on_the_persons_list(world, notified):
    since = last_id()
    assert token_client(world.people["security_officer"]).get(f"{API}/cases/{notified.pk}").status_code == 200
    entry = on_list(notified.person, since).get()
    assert entry.actor_name == "security-officer" and entry.target_id == str(notified.pk)


def test_the_security_officer_reading_the_notice_text_is_on_the_persons_list(world, notified):
    since = last_id()
    response = token_client(world.people["security_officer"]).get(f"{API}/cases/{notified.pk}/notice")
    assert response.status_code == 200 and response.json()["sections"]
    entry = on_list(notified.person, since).get()
    assert details(entry)["view"] == "notice_text" and entry.actor_name == "security-officer"


# --- refused reads that answer 404 --------------------------------------------------------------------

def _refused(person, since):
    return list(on_list(person, since).filter(outcome="denied"))


def test_a_system_administrators_404_read_of_a_case_is_a_refused_read_on_the_persons_list(world, notified):
    since = last_id()
    assert token_client(world.people["sysadmin"]).get(f"{API}/cases/{notified.pk}/reasons").status_code == 404
    (entry,) = _refused(notified.person, since)
    assert details(entry) == {"reason": "no_access_to_assessment", "asked": "assessment.view", "view": "reasons",
                              "subject_person_id": notified.person_id}


def test_an_unassigned_investigators_404_read_of_a_case_is_a_refused_read_on_the_persons_list(world):
    case = to_submitted(world, nominate(world))
    services.assign_investigator(actor=world["cao_head"], case=case, investigator=world.people["investigator"])
    since = last_id()
    assert token_client(world.people["investigator2"]).get(f"{API}/cases/{case.pk}/questionnaire").status_code == 404
    (entry,) = _refused(case.person, since)
    assert details(entry)["reason"] == "not_assigned_to_case"
    # The assigned investigator reads it: on the list as a read, with their duty's purpose.
    since = last_id()
    assert token_client(world.people["investigator"]).get(f"{API}/cases/{case.pk}/questionnaire").status_code == 200
    purposes = {json.loads(e.data)["purpose"] for e in on_list(case.person, since)}
    assert purposes == {"investigation"}


def test_a_person_acting_in_another_role_reading_their_own_case_is_a_refused_read_shown_as_their_own(
        world, notified, signed_in):
    account = notified.person.account
    second = core_services.assign_role(actor=factories.operator(), account=account, role="investigator",
                                       organisation=world.orgs["CAO"])
    since = last_id()
    assert token_client(account, second).get(f"{API}/cases/{notified.pk}").status_code == 404
    (entry,) = _refused(notified.person, since)
    assert details(entry)["reason"] == "not_assigned_to_case"
    # Their own attempt: the page shows who (their role and organisation).
    rows = audit_queries.read_rows([entry], actor=actor_of(account, "subject"), language="en")
    assert rows[0].reader_shown and rows[0].role == "investigator" and rows[0].organisation == "CAO"


def test_a_missing_case_is_a_refused_read_naming_no_one(world):
    since = last_id()
    assert token_client(world.people["business_officer"]).get(f"{API}/cases/999999").status_code == 404
    entry = AuditEntry.objects.filter(pk__gt=since, action="assessment.read").get()
    assert (entry.outcome, entry.subject_person_id, entry.target_id) == ("denied", None, "999999")
    assert details(entry)["reason"] == "not_found"


def test_someone_elses_refused_attempt_is_shown_as_refused_without_by_whom(world, notified, signed_in):
    token_client(world.people["sysadmin"]).get(f"{API}/cases/{notified.pk}")
    token_client(world.people["business_officer"]).get(f"{API}/cases/{notified.pk}/questionnaire")  # 403
    subject = notified.person.account
    body = token_client(subject).get("/api/v1/audit/my-reads?limit=200").json()
    refused = [i for i in body["items"] if i["outcome"] == "denied"]
    assert len(refused) == 2
    assert all(not i["reader_shown"] and i["role"] == "" and i["organisation"] == "" for i in refused)
    html = signed_in(subject).get("/audit/my-reads/").content.decode()
    assert "閲覧が試みられましたが、拒否されました" in html or "Attempted; refused" in html
    assert "sysadmin" not in html and "システム管理者" not in html


# --- lists: one statement for the page ------------------------------------------------------------------

def test_a_list_naming_fifty_people_writes_their_reads_in_one_statement(world):
    for _ in range(50):
        services.nominate(actor=world["business"], person=factories.account(
            role="subject", organisation=world.orgs["TOWA"]).person, contract=world.contract,
            department="技術部", post="主任", listing_agreed_on=dt.date(2026, 5, 20))
    since = last_id()
    client = token_client(world.people["business_officer"])
    with CaptureQueriesContext(connection) as captured:
        body = client.get(f"{API}/cases?limit=50").json()
    assert len(body["items"]) == 50
    table = AuditEntry._meta.db_table
    writes = [q["sql"] for q in captured.captured_queries
              if table in q["sql"] and re.match(r"\s*(\S+ times: )?(INSERT|COPY)", q["sql"], re.I)]
    entries = AuditEntry.objects.filter(pk__gt=since, action="assessment.read")
    assert entries.count() == 50 and len({e.subject_person_id for e in entries}) == 50
    assert len(writes) == 1, writes


def test_a_list_names_each_person_once_per_page(world, signed_in):
    person = world.people["subject"].person
    to_notified(world, nominate(world, person))
    since = last_id()
    # The nominating side's workspace names the person in several lists (nominations, results):
    # one read of theirs for the page.
    assert signed_in(world.people["business_officer"]).get(reverse("assessment:staff_nominations")).status_code == 200
    assert on_list(person, since).count() == 1


# --- the completeness walk ----------------------------------------------------------------------------------

ROLES = ("subject", "business", "security", "head", "mic_head", "cao_head", "investigator", "investigator2",
         "adjudicator", "mic_adjudicator", "handler", "handler2", "sysadmin", "auditor", "oversight", "meti_staff")


@pytest.fixture
def everything(world):
    """One person with something behind every read: a notified result at METI (clearance, notices,
    a renewal reminder, the kept papers), a decided and an open and a filed complaint, a decided
    adverse-treatment report, a pending exemption; and a second case at MIC under investigation
    with an unanswered inquiry and an adjudicator waiting."""
    person = world.people["subject"].person
    subject = world.subject_actor(person)
    mic_adjudicator = factories.account(role="adjudicator", organisation=world.orgs["MIC"])
    world.people["mic_adjudicator"] = mic_adjudicator
    world.actors["mic_adjudicator"] = actor_of(mic_adjudicator)
    case = to_notified(world, nominate(world, person))
    services.send_renewal_reminders(actor=JOB, on=case.clearance.valid_until - dt.timedelta(days=170))
    decided = services.file_complaint(actor=subject, case=case, text="理由の説明が足りない。")
    services.assign_complaint_handler(actor=world["head"], complaint=decided, handler=world.people["handler2"])
    services.decide_complaint(actor=world["handler2"], complaint=decided, outcome="not_upheld",
                              reasons="理由は十分に説明されている。")
    assigned = services.file_complaint(actor=subject, case=case, text="面接の進め方に不服がある。")
    services.assign_complaint_handler(actor=world["head"], complaint=assigned,
                                      handler=world.people["complaint_handler"])
    filed = services.file_complaint(actor=subject, case=case, text="通知が遅れた。")
    report = services.report_adverse_treatment(actor=subject, case=case, kind="pay_cut",
                                               text="同意したことを理由に減給された。")
    services.decide_adverse_treatment(actor=world["head"], report=report, outcome="employer_instructed",
                                      reasons="雇用主に是正を求めた。")
    exemption = services.nominate(actor=world["business"], person=person, contract=world.contract,
                                  department="技術部", post="主任", listing_agreed_on=dt.date(2026, 5, 20)).exemption
    assert exemption is not None
    mic = nominate(world, person, contract="mic")
    services.give_notice(actor=world["mic_security"], case=mic)  # the deciding organ's officer
    services.consent(actor=subject, case=mic)
    fill_questionnaire(world, mic)
    services.submit_questionnaire(actor=subject, case=mic)
    services.assign_investigator(actor=world["cao_head"], case=mic, investigator=world.people["investigator"])
    services.record_inquiry(actor=world["investigator"], case=mic, recipient_kind="superior",
                            recipient_organisation="東和重工業株式会社", recipient_name="上司", question="勤務態度について",
                            sent_on=dt.date(2026, 6, 1))
    services.record_finding(actor=world["investigator"], case=mic, item="item_1", text="事項1: 懸念なし")
    services.assign_adjudicator(actor=world["mic_head"], case=mic, adjudicator=mic_adjudicator)
    return {"person": person, "case": case, "mic": mic, "clearance": case.clearance, "decided": decided,
            "assigned": assigned, "filed": filed, "report": report, "exemption": exemption}


def _names_person(value, ids: dict) -> bool:
    """Whether a JSON body names the person: an item with their person id, one of their cases, or
    (for lists whose items carry their own ids) one of those."""
    if isinstance(value, list):
        return any(_names_person(v, ids) for v in value)
    if isinstance(value, dict):
        if value.get("person") == ids["person"] or value.get("case") in ids["cases"]:
            return True
        if value.get("id") in ids["own"]:
            return True
        return any(_names_person(v, ids) for v in value.values() if isinstance(v, list | dict))
    return False


API_PATH_VALUES = {"case_id": "case", "exemption_id": "exemption", "report_id": "report", "complaint_id": "decided",
                   "section": "identity", "item": "item_1"}
#: Operations whose items are identified by their own id (no person or case field).
API_OWN_IDS = {"/cases": "cases", "/queue": "cases", "/complaints/queue": "complaints"}


def _api_gets(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        if path.startswith(API + "/") and "get" in operations:
            yield path[len(API):], operations["get"]


def _fill(path: str, data: dict, *, case_key: str = "case") -> str:
    def value(match):
        name = match.group(1)
        wanted = API_PATH_VALUES[name] if name != "case_id" else case_key
        return str(data[wanted].pk) if wanted in data else wanted
    return re.sub(r"\{(\w+)\}", value, path)


def _check(where: str, response, person, since: int, *, per_object: bool, names: bool, problems: list) -> bool:
    """What a read must leave on the person's list. Returns whether it was a read that named them."""
    added = list(on_list(person, since))
    status = response.status_code
    if 200 <= status < 300 and (per_object or names):
        if not any(e.outcome == "success" for e in added):
            problems.append(f"{where}: {status} but nothing on the person's list")
        return True
    if per_object and status == 404 and not added:
        # A refused read (missing or not visible), or the read of something not there yet (a
        # result not yet notified says that much): either way on the person's list.
        problems.append(f"{where}: 404 but nothing on the person's list")
    if status == 403:
        refusal = AuditEntry.objects.filter(pk__gt=since, outcome="denied").order_by("-id").first()
        if refusal is None:
            problems.append(f"{where}: 403 not audited")
        elif per_object and (refusal.action, refusal.subject_person_id) != ("assessment.read", person.pk):
            problems.append(f"{where}: 403 is not a refused read on the person's list ({refusal.action})")
    if status >= 500:
        problems.append(f"{where}: {status}")
    return False


def test_every_api_read_of_a_person_is_on_their_list_for_every_role(world, everything, client):
    person = everything["person"]
    ids = {"person": person.pk, "cases": {everything["case"].pk, everything["mic"].pk}}
    own = {"cases": ids["cases"], "complaints": {everything[k].pk for k in ("decided", "assigned", "filed")}}
    clients = {who: token_client(world.people.get(who) or world.actors[who].account) for who in ROLES}
    operations = list(_api_gets(client))
    assert len(operations) >= 30  # the walk found the assessment API
    problems, reached = [], set()
    for path, _operation in operations:
        per_object = "{" in path
        for case_key in (("case", "mic") if "{case_id}" in path else ("case",)):
            url = API + _fill(path, everything, case_key=case_key)
            for who, caller in clients.items():
                since = last_id()
                response = caller.get(url)
                body = response.json() if response["Content-Type"].startswith("application/json") else None
                names = _names_person(body, {**ids, "own": own.get(API_OWN_IDS.get(path), set())})
                if _check(f"GET {url} as {who}", response, person, since, per_object=per_object, names=names,
                          problems=problems):
                    reached.add(path)
    assert problems == [], "\n".join(problems)
    # Every read operation was reached by some role for this person: a new one the world does not
    # cover fails here until it does (and so is checked above).
    assert {p for p, _ in operations} - reached == set()


#: URL kwargs for each assessment page (by URL name), from the world: a new page must be added here.
PAGE_KWARGS = {
    "portal_home": {}, "portal_case": {"pk": "case"}, "portal_notice": {"pk": "case"},
    "portal_notice_pdf": {"pk": "case"}, "portal_consent_pdf": {"pk": "case"}, "portal_withdraw": {"pk": "mic"},
    "portal_waive_reasons": {"pk": "case"}, "portal_questionnaire": {"pk": "case"},
    "portal_review": {"pk": "case"}, "portal_submit": {"pk": "case"}, "portal_copy_pdf": {"pk": "case"},
    "portal_section": {"pk": "case", "section": "identity"}, "portal_result": {"pk": "case"},
    "portal_result_pdf": {"pk": "case"}, "portal_inquiries": {"pk": "case"}, "portal_complaints": {"pk": "case"},
    "portal_complaint_pdf": {"pk": "case", "complaint_pk": "decided"}, "portal_adverse": {"pk": "case"},
    "portal_adverse_pdf": {"pk": "case", "report_pk": "report"},
    "staff_nominations": {}, "staff_exemption": {"pk": "exemption"}, "staff_give_notice": {"pk": "case"},
    "staff_notify_result": {"pk": "case"}, "staff_report_event": {"pk": "clearance"},
    "staff_case_file": {"pk": "mic"}, "investigator_queue": {}, "investigator_inquiries": {},
    "investigator_case": {"pk": "mic"}, "investigator_inquiry": {"pk": "mic"},
    "investigator_response": {"pk": "mic", "inquiry_pk": "inquiry"}, "investigator_interview": {"pk": "mic"},
    "investigator_finding": {"pk": "mic"}, "investigator_complete": {"pk": "mic"}, "adjudicator_queue": {},
    "adjudicator_case": {"pk": "mic"}, "adjudicator_decide": {"pk": "mic"}, "adjudicator_concur": {"pk": "mic"},
    "adjudicator_return": {"pk": "mic"},
    "staff_assignments": {}, "staff_assign": {"pk": "case", "kind": "investigator"},
    "complaint_assign": {"pk": "filed"}, "staff_adverse_reports": {}, "staff_adverse_report": {"pk": "report"},
    "complaint_queue": {}, "complaint_decide": {"pk": "assigned"},
}
#: Pages that name no assessed person: forms to nominate (the people listed are the organisation's
#: staff, nothing of an assessment).
NAMES_NO_ONE = {"staff_nominate", "staff_nominate_file"}


def _assessment_pages():
    from hozen.assessment import urls

    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        yield pattern.name


def test_every_assessment_page_that_shows_a_person_is_on_their_list_for_every_role(world, everything, signed_in):
    person = everything["person"]
    data = {**everything, "inquiry": Inquiry.objects.filter(case=everything["mic"]).first()}
    pages = [name for name in _assessment_pages() if name not in NAMES_NO_ONE]
    assert set(pages) - set(PAGE_KWARGS) == set(), "add the new page to PAGE_KWARGS (and record its reads)"
    names = _marks(everything)
    clients = {}
    for who in ROLES:
        account = world.people.get(who) or world.actors[who].account
        clients[who] = signed_in(account)
    problems, reached = [], set()
    for name in pages:
        kwargs = {k: (v if v not in data else data[v].pk) for k, v in PAGE_KWARGS[name].items()}
        url = reverse(f"assessment:{name}", kwargs=kwargs)
        for who, client in clients.items():
            since = last_id()
            client.raise_request_exception = False
            response = client.get(url)
            if response.status_code in (302, 405):  # a redirect or a form's POST target: nothing shown
                continue
            text = response.content.decode(errors="replace") if response["Content-Type"].startswith("text/") else ""
            if _check(f"GET {url} as {who}", response, person, since, per_object=bool(kwargs), names=names(text),
                      problems=problems):
                reached.add(name)
    assert problems == [], "\n".join(problems)
    unreached = {n for n in pages if n not in reached} - {
        # POST-only steps: their GET answers 405 and shows nothing.
        "portal_waive_reasons", "portal_submit", "investigator_inquiry", "investigator_response",
        "investigator_interview", "investigator_complete", "adjudicator_concur", "adjudicator_return",
        # The questionnaire's review before submission: the world's cases are past it (a redirect);
        # its reads are tested in test_review_before_final.py.
        "portal_review",
        # The decision page: the world's case under the adjudicator is still under investigation
        # (a redirect to the case); its reads are tested in test_casework_one_screen.py.
        "adjudicator_decide"}
    assert unreached == set()


def _marks(everything):
    """Whether a page names the person: their name, or a link to one of their cases, complaints,
    reports or exemptions."""
    name = re.compile(re.escape(everything["person"].full_name) + r"(?!\d)")
    links = [reverse("assessment:portal_case", args=[everything["case"].pk]),
             reverse("assessment:portal_case", args=[everything["mic"].pk]),
             reverse("assessment:investigator_case", args=[everything["mic"].pk]),
             reverse("assessment:adjudicator_case", args=[everything["mic"].pk]),
             reverse("assessment:complaint_decide", args=[everything["assigned"].pk]),
             reverse("assessment:complaint_assign", args=[everything["filed"].pk]),
             reverse("assessment:staff_exemption", args=[everything["exemption"].pk]),
             reverse("assessment:staff_adverse_report", args=[everything["report"].pk])]
    return lambda text: bool(name.search(text)) or any(f'href="{link}' in text for link in links)


def test_every_dashboard_naming_the_person_is_on_their_list(world, everything, signed_in):
    person = everything["person"]
    names = _marks(everything)
    named_by = []
    for who in ROLES:
        since = last_id()
        response = signed_in(world.people.get(who) or world.actors[who].account).get("/dashboard/")
        assert response.status_code == 200, who
        if names(response.content.decode()):
            named_by.append(who)
            assert on_list(person, since).filter(outcome="success").exists(), who
    assert {"subject", "business", "investigator", "handler"} <= set(named_by)


# --- the page: groups, keyset pages, CSV, labels --------------------------------------------------------

def _read(world, case, who, at: dt.datetime, path=""):
    import time_machine

    with time_machine.travel(at, tick=False):
        assert token_client(world.people[who] if who in world.people else world.actors[who].account).get(
            f"{API}/cases/{case.pk}{path}").status_code == 200


def test_repeated_reads_are_one_line_with_their_count_and_time_range(world, notified, signed_in):
    day = dt.datetime(2026, 6, 2, 1, 0, tzinfo=dt.UTC)  # 10:00 in Tokyo
    for minutes in (0, 30, 95):
        _read(world, notified, "business_officer", day + dt.timedelta(minutes=minutes))
    _read(world, notified, "security_officer", day + dt.timedelta(minutes=40))
    _read(world, notified, "business_officer", day + dt.timedelta(days=1))
    response = signed_in(notified.person.account).get("/audit/my-reads/")
    groups = [g for g in response.context["page"].groups if g.day in (dt.date(2026, 6, 2), dt.date(2026, 6, 3))]
    summary = [(g.day, g.role, g.count, g.first.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%H:%M"),
                g.last.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime("%H:%M")) for g in groups]
    assert summary == [
        (dt.date(2026, 6, 3), "business_officer", 1, "10:00", "10:00"),
        (dt.date(2026, 6, 2), "business_officer", 3, "10:00", "11:35"),
        (dt.date(2026, 6, 2), "security_officer", 1, "10:40", "10:40"),
    ]
    html = response.content.decode()
    assert 'data-count="3"' in html and "10:00</time>–<time" in html and "11:35" in html


def test_a_broken_page_link_says_so_and_shows_the_newest_reads(world, notified, signed_in):
    response = signed_in(notified.person.account).get("/audit/my-reads/", {"before": "12abc"})
    assert response.status_code == 200 and response.context["bad_cursor"]
    assert response.context["page"].groups


def test_newer_and_older_links_walk_every_read_once(world, notified, signed_in, monkeypatch):
    monkeypatch.setattr(audit_queries, "READS_PAGE_ENTRIES", 2)
    for d in range(5):
        _read(world, notified, "business_officer", dt.datetime(2026, 6, 10 + d, 1, 0, tzinfo=dt.UTC))
    client = signed_in(notified.person.account)

    def walk(query, cursor):
        pages = []
        while True:
            page = client.get("/audit/my-reads/", query).context["page"]
            pages.append(page)
            following = getattr(page, cursor)
            if following is None:
                return pages
            query = {"before" if cursor == "older" else "after": following}

    down = walk({}, "older")
    total = down[0].total
    assert len(down) > 2 and sum(g.count for p in down for g in p.groups) == total
    # A day's reads of one kind are one line, never split across pages (unless the day holds more
    # reads than a page: the day the case was walked through, here).
    keys = [(g.day, g.role, g.purpose, g.outcome) for p in down for g in p.groups if g.day != dt.date(2026, 6, 1)]
    assert len(keys) == len(set(keys)) == 5
    up = walk({"after": _oldest_id(notified.person)}, "newer")
    assert sum(g.count for p in up for g in p.groups) == total - 1  # all but the oldest, the cursor's own


def _oldest_id(person) -> int:
    return on_list(person, 0).order_by("id").values_list("id", flat=True).first()


def test_the_csv_export_lists_every_read_and_is_audited(world, notified, signed_in):
    token_client(world.people["business_officer"]).get(f"{API}/cases/{notified.pk}")
    token_client(world.people["sysadmin"]).get(f"{API}/cases/{notified.pk}")
    client = signed_in(notified.person.account)
    total = client.get("/audit/my-reads/").context["page"].total
    response = client.get("/audit/my-reads/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = body[1:].strip().splitlines()
    assert len(lines) == 1 + total and int(response["X-Export-Rows"]) == total
    assert any(",business_officer," in line and ",nomination_follow_up," in line for line in lines)
    refused = [line for line in lines if ",denied," in line]
    assert refused and all(",sysadmin," not in line for line in refused)  # withheld, as on the page
    exported = AuditEntry.objects.filter(action="audit.own_reads_exported").get()
    assert exported.subject_person_id == notified.person_id and details(exported)["rows"] == total


def test_every_purpose_code_has_a_label_in_both_languages():
    from pathlib import Path

    from django.utils import translation

    import hozen
    from hozen.assessment import reads, staff_queries

    # Every purpose a read is recorded with: the roles' and the duties', and every literal in the code.
    written = set()
    for path in Path(hozen.__file__).parent.rglob("*.py"):
        written |= set(re.findall(r"""purpose=["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    codes = set(reads.ROLE_PURPOSES.values()) | set(staff_queries.READ_PURPOSES.values()) | written
    assert {"exemption", "aftercare_report", "questionnaire_submission", "organ_procedure"} <= codes
    for code in sorted(codes):
        label = audit_queries.PURPOSE_LABELS.get(code)
        assert label is not None, code
        with translation.override("en"):
            english = str(label)
        with translation.override("ja"):
            japanese = str(label)
        assert english != code and japanese != english, code


def test_the_page_reads_on_a_phone(world, notified, signed_in):
    html = signed_in(notified.person.account).get("/audit/my-reads/").content.decode()
    assert "audit/my_reads.css" in html and 'data-label="' in html


def test_no_read_is_recorded_for_a_form_sent_back_with_errors(world, signed_in):
    case = to_notified(world, nominate(world))
    client = signed_in(world.people["business_officer"])
    since = last_id()
    response = client.post(reverse("assessment:staff_report_event", args=[case.clearance.pk]),
                           {"kind": "transferred", "occurred_on": "not a date"})
    assert response.status_code == 200
    assert not on_list(case.person, since).exists()


def test_an_exemption_read_names_the_exemptions_person(world, notified):
    exemption = services.nominate(actor=world["business"], person=notified.person, contract=world.contract,
                                  department="技術部", post="主任", listing_agreed_on=dt.date(2026, 5, 20)).exemption
    since = last_id()
    assert token_client(world.people["security_officer"]).get(f"{API}/exemptions/{exemption.pk}").status_code == 200
    entry = on_list(notified.person, since).get()
    assert entry.target_type == "assessment.exemption" and json.loads(entry.data)["purpose"] == "exemption"
