"""/api/v1/handling: handler lists, eligibility, briefing, explain. Personas per endpoint: no token
→ 401; another organisation → 404; wrong role → 403 with the policy's code; the keeper → the change
and its audit entry; bad input → 422 naming the field, nothing written."""

from __future__ import annotations

import pytest

from hozen.handling import briefings
from hozen.handling.models import BriefingAcknowledgement, HandlerEntry
from tests import factories
from tests.handling import conftest as handling_fixtures
from tests.handling_factories import make_clearance, make_cleared_handler

pytestmark = pytest.mark.django_db

# The handling tests' fixtures (frozen time, shipped packs, a METI designation in force).
_frozen_today = handling_fixtures._frozen_today
_packs = handling_fixtures._packs
make_designation = handling_fixtures.make_designation
designation = handling_fixtures.designation
audit_entries = handling_fixtures.audit_entries
BASE = "/api/v1/handling"


def bearer(account) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}


@pytest.fixture
def staff(orgs):
    account = factories.account(role="subject", organisation=orgs["METI"])
    make_clearance(account, organ=orgs["METI"])
    return account


def test_no_token_is_401(client, designation):
    assert client.get(f"{BASE}/designations/{designation.pk}/handlers").status_code == 401
    assert client.get(f"{BASE}/explain/{designation.pk}").status_code == 401


def test_keeper_adds_lists_and_removes(client, designation, people, staff):
    h = bearer(people["esi_manager"])
    response = client.post(f"{BASE}/designations/{designation.pk}/handlers",
                           data={"account": staff.username, "reason": "審査担当"}, content_type="application/json", **h)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["account"] == staff.username and body["status"] == "active"
    assert body["ends_on"] == designation.term_end.isoformat()
    assert audit_entries("handling.handler.added")[0]["actor"]["channel"] == "api"
    rows = client.get(f"{BASE}/designations/{designation.pk}/handlers", **h).json()
    assert [r["account"] for r in rows] == [staff.username]
    response = client.post(f"{BASE}/handlers/{body['id']}/remove", **h)
    assert response.status_code == 200 and response.json()["status"] == "ended"
    assert client.get(f"{BASE}/designations/{designation.pk}/handlers", **h).json() == []


def test_add_refused_names_the_failing_condition(client, designation, people, orgs):
    nobody = factories.account(role="subject", organisation=orgs["METI"])
    response = client.post(f"{BASE}/designations/{designation.pk}/handlers", data={"account": nobody.username},
                           content_type="application/json", **bearer(people["esi_manager"]))
    assert response.status_code == 422
    assert response.json()["code"] == "cannot_add_handler" and response.json()["field"] == "account"
    assert not HandlerEntry.objects.exists()


def test_eligibility_is_condition_by_condition(client, designation, people, orgs):
    nobody = factories.account(role="subject", organisation=orgs["METI"])
    rows = client.get(f"{BASE}/designations/{designation.pk}/eligibility", {"account": nobody.username},
                      **bearer(people["esi_manager"])).json()
    by_name = {r["name"]: r for r in rows}
    assert by_name["assessment"]["passed"] is False and by_name["designation"]["passed"] is True


def test_an_eligibility_check_is_on_the_candidates_who_has_read_my_data(client, designation, people, orgs):
    """The keeper learns whether the candidate holds a valid assessment: a read about that person
    (issue 12 §7), on their own list with its purpose, whether the answer is yes or no."""
    from hozen.audit.models import AuditEntry

    candidate = factories.account(role="subject", organisation=orgs["METI"])
    client.get(f"{BASE}/designations/{designation.pk}/eligibility", {"account": candidate.username},
               **bearer(people["esi_manager"]))
    [entry] = AuditEntry.objects.filter(action="assessment.read", subject_person_id=candidate.person_id)
    assert '"view":"handler_eligibility"' in entry.data and '"purpose":"handler_list_keeping"' in entry.data
    mine = client.get("/api/v1/audit/my-reads", **bearer(candidate)).json()
    assert any(r.get("purpose") == "handler_list_keeping" for r in mine["items"]), mine


def test_malformed_date_is_422_naming_the_field(client, designation, people, staff):
    response = client.post(f"{BASE}/designations/{designation.pk}/handlers",
                           data={"account": staff.username, "ends_on": "2027/01/01"},
                           content_type="application/json", **bearer(people["esi_manager"]))
    assert response.status_code == 422 and response.json()["fields"] == ["ends_on"]
    assert not HandlerEntry.objects.exists()


def test_unknown_field_is_refused(client, designation, people, staff):
    response = client.post(f"{BASE}/designations/{designation.pk}/handlers",
                           data={"account": staff.username, "organisation": "MIC"},
                           content_type="application/json", **bearer(people["esi_manager"]))
    assert response.status_code == 422
    assert not HandlerEntry.objects.exists()


def test_wrong_role_is_403_with_the_policy_code(client, designation, people):
    response = client.get(f"{BASE}/designations/{designation.pk}/handlers", **bearer(people["organ_head"]))
    assert response.status_code == 403 and response.json()["code"] == "not_list_keeper"


def test_other_organisation_is_404(client, designation, orgs):
    mic = factories.account(role="esi_manager", organisation=orgs["MIC"])
    assert client.get(f"{BASE}/designations/{designation.pk}/handlers", **bearer(mic)).status_code == 404


def test_explain_for_the_handler_and_for_a_colleague(client, designation, orgs):
    actor = make_cleared_handler(designation, briefed=False)
    body = client.get(f"{BASE}/explain/{designation.pk}", **bearer(actor.account)).json()
    assert body["allowed"] is False and body["code"] == "briefing_not_acknowledged"
    assert body["reference"] == designation.reference
    assert [c["name"] for c in body["conditions"]] == ["designation", "handler_list", "assessment", "contract",
                                                        "briefing"]
    colleague = factories.account(role="subject", organisation=orgs["METI"])
    body = client.get(f"{BASE}/explain/{designation.pk}", **bearer(colleague)).json()
    assert body["code"] == "not_on_handler_list" and body["reference"] is None
    assert {c["name"]: c["hidden"] for c in body["conditions"]}["designation"] is True
    unknown = client.get(f"{BASE}/explain/999999", **bearer(colleague)).json()
    assert unknown["code"] == body["code"] and [c["passed"] for c in unknown["conditions"]] == \
        [c["passed"] for c in body["conditions"]]


def test_briefing_read_and_acknowledge(client, people):
    h = bearer(people["subject"])
    body = client.get(f"{BASE}/briefing", {"tier": "esi"}, **h).json()
    assert body["current"] is False and body["text_sha256"] == briefings.current("esi").sha256
    response = client.post(f"{BASE}/briefing/acknowledge", data={"tier": "esi", "text_sha256": body["text_sha256"]},
                           content_type="application/json", **h)
    assert response.status_code == 201 and len(response.json()["signature"]) == 64
    assert client.get(f"{BASE}/briefing", {"tier": "esi"}, **h).json()["current"] is True


def test_acknowledging_a_stale_text_is_422(client, people):
    response = client.post(f"{BASE}/briefing/acknowledge", data={"tier": "esi", "text_sha256": "a" * 64},
                           content_type="application/json", **bearer(people["subject"]))
    assert response.status_code == 422 and response.json()["code"] == "briefing_changed"
    assert not BriefingAcknowledgement.objects.exists()


def test_my_entries(client, designation):
    actor = make_cleared_handler(designation)
    rows = client.get(f"{BASE}/me/entries", **bearer(actor.account)).json()
    assert [r["designation"] for r in rows] == [designation.reference]


def test_handler_cannot_remove_themselves_or_see_others_entries(client, designation):
    one = make_cleared_handler(designation)
    two = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=two.account)
    response = client.post(f"{BASE}/handlers/{entry.pk}/remove", **bearer(one.account))
    assert response.status_code == 404


def test_remove_without_a_body_and_confirm(client, designation, people):
    actor = make_cleared_handler(designation)
    entry = HandlerEntry.objects.get(account=actor.account)
    h = bearer(people["esi_manager"])
    assert client.post(f"{BASE}/handlers/{entry.pk}/confirm", **h).json()["last_confirmed_on"] == "2026-06-01"
    response = client.post(f"{BASE}/handlers/{entry.pk}/remove", **h)
    assert response.status_code == 200 and response.json()["end_reason"] == "removed"
    assert audit_entries("handling.handler.removed")[0]["actor"]["channel"] == "api"


def test_reviews_list_for_the_keeper(client, designation, people, _frozen_today):
    import datetime as dt

    from hozen.core.actor import Actor
    from hozen.handling import services

    make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2027, 5, 20, 3, 0, tzinfo=dt.UTC))
    services.lapse_and_review(actor=Actor.job("handling.lapse_and_review"))
    rows = client.get(f"{BASE}/reviews", **bearer(people["esi_manager"])).json()
    assert [r["designation"] for r in rows] == [designation.reference]
    assert client.get(f"{BASE}/reviews", **bearer(people["organ_head"])).json() == []


def test_office_holding_recorded_by_the_organs_security_officer_for_its_head(client, people):
    head = people["organ_head"]  # METI's head; the security officer is METI's
    body = {"account": head.username, "office": "minister_of_state", "since": "2026-01-01"}
    response = client.post(f"{BASE}/office-holdings", data=body, content_type="application/json",
                           **bearer(people["esi_manager"]))
    assert response.status_code == 403 and response.json()["code"] == "not_office_recorder"
    response = client.post(f"{BASE}/office-holdings", data=body, content_type="application/json",
                           **bearer(head))
    assert response.status_code == 403  # the head records nothing, least of all their own office
    response = client.post(f"{BASE}/office-holdings", data=body, content_type="application/json",
                           **bearer(people["security_officer"]))
    assert response.status_code == 201 and response.json()["office"] == "minister_of_state"
    response = client.post(f"{BASE}/office-holdings", data={**body, "office": "mayor", "since": "2026-02-01"},
                           content_type="application/json", **bearer(people["security_officer"]))
    assert response.status_code == 422 and response.json()["field"] == "office"


def test_a_security_officer_cannot_record_an_office_for_anyone_but_their_organs_head(client, people):
    from hozen.handling.models import OfficeHolding

    for account in (people["subject"], people["esi_manager"]):  # TOWA staff; METI staff who is not its head
        body = {"account": account.username, "office": "minister_of_state", "since": "2026-01-01"}
        response = client.post(f"{BASE}/office-holdings", data=body, content_type="application/json",
                               **bearer(people["security_officer"]))
        unknown = client.post(f"{BASE}/office-holdings", data={**body, "account": "no-such-user"},
                              content_type="application/json", **bearer(people["security_officer"]))
        assert response.status_code == unknown.status_code == 404  # they look missing
    assert not OfficeHolding.objects.exists()


def test_the_cabinet_office_administrator_records_an_office_for_anyone_but_themselves(client, people):
    admin = people["sysadmin"]
    body = {"account": admin.username, "office": "minister_of_state", "since": "2026-01-01"}
    response = client.post(f"{BASE}/office-holdings", data=body, content_type="application/json", **bearer(admin))
    assert response.status_code == 403 and response.json()["code"] == "not_for_yourself"
    response = client.post(f"{BASE}/office-holdings", data={**body, "account": people["subject"].username},
                           content_type="application/json", **bearer(admin))
    assert response.status_code == 201


def test_after_the_term_end_no_one_is_added_and_entries_read_as_lapsed_before_the_jobs(client, designation, people,
                                                                                        staff, _frozen_today):
    import datetime as dt

    listed = make_cleared_handler(designation)
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))  # term end 2031-05-31; no job has run
    make_clearance(staff, organ=designation.organisation)  # valid on that day: only the dates refuse
    response = client.post(f"{BASE}/designations/{designation.pk}/handlers", data={"account": staff.username},
                           content_type="application/json", **bearer(people["esi_manager"]))
    assert response.status_code == 422 and response.json()["code"] == "cannot_add_handler"
    assert not HandlerEntry.objects.filter(account=staff).exists()
    [mine] = client.get(f"{BASE}/me/entries", **bearer(listed.account)).json()
    assert (mine["status"], mine["end_reason"]) == ("lapsed", "designation_ended")
    rows = client.get(f"{BASE}/designations/{designation.pk}/handlers", **bearer(people["esi_manager"])).json()
    assert [(r["status"], r["end_reason"]) for r in rows] == [("lapsed", "designation_ended")]


def test_adding_someone_already_listed_is_422_naming_the_field(client, designation, people, staff):
    body = {"account": staff.username}
    assert client.post(f"{BASE}/designations/{designation.pk}/handlers", data=body, content_type="application/json",
                       **bearer(people["esi_manager"])).status_code == 201
    again = client.post(f"{BASE}/designations/{designation.pk}/handlers", data=body, content_type="application/json",
                        **bearer(people["security_officer"]))
    assert again.status_code == 422 and (again.json()["code"], again.json()["field"]) == ("already_listed", "account")
    assert HandlerEntry.objects.filter(account=staff).count() == 1
