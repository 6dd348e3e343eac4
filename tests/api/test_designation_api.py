"""The designation API (issue 5): personas per endpoint, 422 naming the field, nothing written on error.

Personas (STYLE): no token → 401; another organ → 404 (missing and forbidden look alike); the
organ's own staff in the wrong role → 403 with the policy's reason code; the right role → the
change and its audit entry. Time is frozen at 2026-06-01 (Asia/Tokyo), as in tests/designation.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from hozen.audit.models import AuditEntry
from hozen.designation import services
from hozen.designation.models import Designation, Extension, Notification, Provision, State
from tests import factories
from tests.designation.conftest import actor_of, sub_item

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)
BASE = "/api/v1/designations"


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def tokens(people, orgs):
    """Bearer headers per persona."""
    extra = {
        "head_mic": factories.account(role="organ_head", organisation=orgs["MIC"]),
        "manager_mic": factories.account(role="esi_manager", organisation=orgs["MIC"]),
    }
    who = {"manager": people["esi_manager"], "head": people["organ_head"], "security": people["security_officer"],
           "oversight": people["oversight"], "auditor": people["auditor"], "business": people["business_officer"],
           "sysadmin": people["sysadmin"], **extra}
    return {name: {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"} for name, account in who.items()}


def draft_body(**overrides) -> dict:
    body = {
        "title": "発電設備の防護計画に関する情報",
        "summary": "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）",
        "category": "1",
        "sub_item": "A-1",
        "designated_on": "2026-06-01",
        "term_end": "2031-05-31",
        "protective_measure": "marking",
        "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        "justification_not_public": "公表されておらず、関係者以外に知られていない。",
        "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
    }
    body.update(overrides)
    return body


@pytest.fixture
def draft(people, orgs):
    """A METI draft prepared by the ESI manager (through the service, as production data is)."""
    from hozen.rules.queries import current_pack

    item = sub_item(current_pack("esi", TODAY))
    fields = draft_body(category=item.category, sub_item=item, designated_on=TODAY, term_end=dt.date(2031, 5, 31))
    return services.create_draft(actor=actor_of(people["esi_manager"]), organisation=orgs["METI"], **fields)


@pytest.fixture
def designated(draft, people):
    return services.approve(actor=actor_of(people["organ_head"]), designation=draft)


def post(client, path, body, headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def patch(client, path, body, headers):
    return client.patch(path, data=json.dumps(body), content_type="application/json", **headers)


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def last_audit(action: str) -> dict:
    return json.loads(AuditEntry.objects.filter(action=action).order_by("id").last().data)


def writes() -> tuple:
    """Everything a designation write could change, to assert that an error wrote nothing
    (audit entries other than the policy's own denial records included)."""
    return (Designation.objects.count(), Extension.objects.count(), Provision.objects.count(),
            Notification.objects.count(), AuditEntry.objects.exclude(outcome="denied").count(),
            list(Designation.objects.order_by("pk").values_list("state", "term_end", "title")))


# --- the schema and the token ----------------------------------------------------------------------------

def test_openapi_schema_lists_the_designation_paths(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (BASE, f"{BASE}/{{designation_id}}", f"{BASE}/{{designation_id}}/approve",
                 f"{BASE}/{{designation_id}}/extend", f"{BASE}/{{designation_id}}/cancel",
                 f"{BASE}/{{designation_id}}/review", f"{BASE}/{{designation_id}}/move-to-sds",
                 f"{BASE}/{{designation_id}}/corrections",
                 f"{BASE}/{{designation_id}}/corrections/{{correction_id}}/answer",
                 f"{BASE}/{{designation_id}}/provisions", f"{BASE}/ledger/{{organisation}}",
                 f"{BASE}/notifications"):
        assert path in paths, path
    assert set(paths[BASE]) == {"get", "post"} and set(paths[f"{BASE}/{{designation_id}}"]) == {"get", "patch"}
    create = paths[BASE]["post"]
    assert create["security"] and "422" in create["responses"] and "403" in create["responses"]
    # Dates are documented as ISO strings; per-handler input schemas refuse unknown fields.
    components = schema["components"]["schemas"]
    assert components["DraftIn"]["properties"]["term_end"]["format"] == "date"
    assert components["DraftIn"]["additionalProperties"] is False


ENDPOINTS = [
    ("get", BASE), ("post", BASE), ("get", f"{BASE}/1"), ("patch", f"{BASE}/1"), ("post", f"{BASE}/1/approve"),
    ("post", f"{BASE}/1/extend"), ("post", f"{BASE}/1/cancel"), ("post", f"{BASE}/1/review"),
    ("post", f"{BASE}/1/move-to-sds"), ("get", f"{BASE}/1/corrections"), ("post", f"{BASE}/1/corrections"),
    ("post", f"{BASE}/1/corrections/1/answer"), ("get", f"{BASE}/1/provisions"), ("post", f"{BASE}/1/provisions"),
    ("get", f"{BASE}/ledger/METI"), ("get", f"{BASE}/notifications"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_bearer_token(client, people, method, path):
    before = writes()
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    assert getattr(client, method)(path, **body).status_code == 401
    assert getattr(client, method)(path, **body, HTTP_AUTHORIZATION="Bearer hz_nope_nope").status_code == 401
    assert writes() == before


# --- list and detail --------------------------------------------------------------------------------------

def test_list_shows_the_organs_designations_with_total_and_pages(client, tokens, designated, draft_factory):
    for _ in range(4):
        draft_factory()
    response = client.get(f"{BASE}?limit=2&offset=0", **tokens["manager"])
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5 and body["limit"] == 2 and len(body["items"]) == 2
    pages = [client.get(f"{BASE}?limit=2&offset={o}", **tokens["manager"]).json()["items"] for o in (0, 2, 4)]
    ids = [item["id"] for page in pages for item in page]
    assert sorted(ids) == sorted(Designation.objects.values_list("pk", flat=True))  # stable: no repeats, no gaps
    first = next(i for i in body["items"] + pages[1] + pages[2] if i["id"] == designated.pk)
    assert first == {"id": designated.pk, "reference": "METI-2026-0001", "tier": "esi", "state": "designated",
                     "organisation": "METI", "title": designated.title, "category": "1", "sub_item": "A-1",
                     "designated_on": "2026-06-01", "term_end": "2031-05-31", "review_due": "2027-06-01"}


def test_list_filters_by_state_category_organisation_and_text(client, tokens, designated, draft_factory):
    draft_factory(title="半導体供給網の脆弱性に関する情報")
    get = lambda query: client.get(f"{BASE}?{query}", **tokens["manager"]).json()  # noqa: E731
    assert [i["id"] for i in get("state=designated")["items"]] == [designated.pk]
    assert get("state=draft")["total"] == 1
    assert get("q=METI-2026-0001")["total"] == 1
    assert get("q=半導体")["total"] == 1
    assert get("category=1")["total"] == 2 and get("category=3")["total"] == 0
    assert get("organisation=METI")["total"] == 2 and get("organisation=MIC")["total"] == 0


def test_list_refuses_malformed_filters_naming_the_field(client, tokens, designated):
    response = client.get(f"{BASE}?state=secret", **tokens["manager"])
    assert response.status_code == 422 and response.json()["fields"] == ["state"]
    response = client.get(f"{BASE}?limit=10000", **tokens["manager"])
    assert response.status_code == 422 and response.json()["fields"] == ["limit"]
    response = client.get(f"{BASE}?organisation=NOPE", **tokens["manager"])
    assert response.status_code == 422 and response.json()["field"] == "organisation"


def test_list_takes_no_orm_lookups_from_the_client(client, tokens, designated):
    # Unknown query parameters are not passed to the ORM (NetBox filter-oracle bugs).
    body = client.get(f"{BASE}?title__startswith=発&prepared_by__password__startswith=a", **tokens["manager"]).json()
    assert body["total"] == 1


def test_list_of_another_organ_is_empty(client, tokens, designated, draft_factory):
    draft_factory()
    assert client.get(BASE, **tokens["manager"]).json()["total"] == 2
    assert client.get(BASE, **tokens["head_mic"]).json()["total"] == 0
    # A business holding nothing sees nothing either.
    assert client.get(BASE, **tokens["business"]).json()["total"] == 0
    # Oversight sees every organ's designations, never a draft (docs/architecture.md).
    assert client.get(BASE, **tokens["oversight"]).json()["total"] == 1


def test_list_query_count_does_not_grow_with_the_rows(client, tokens, designated, draft_factory,
                                                      django_assert_max_num_queries):
    for _ in range(10):
        draft_factory()
    with django_assert_max_num_queries(8):
        assert len(client.get(f"{BASE}?limit=50", **tokens["manager"]).json()["items"]) == 11


def test_get_one_designation(client, tokens, designated):
    response = client.get(f"{BASE}/{designated.pk}", **tokens["security"])
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == "METI-2026-0001" and body["marking"] == "重要経済安保情報"
    assert body["category"]["code"] == "1" and body["sub_item"]["code"] == "A-1"
    assert body["rules_pack"] == "jp-esi-2025 v1" and body["designated_on"] == "2026-06-01"
    assert "prepared_by" not in body and "password" not in json.dumps(body)


def test_get_of_another_organs_designation_is_404_like_a_missing_one(client, tokens, designated):
    other = client.get(f"{BASE}/{designated.pk}", **tokens["head_mic"])
    missing = client.get(f"{BASE}/{designated.pk + 1000}", **tokens["head_mic"])
    assert other.status_code == missing.status_code == 404
    # The one error shape, the detail in the caller's language (the head's account: Japanese).
    assert other.content == missing.content
    assert other.json() == missing.json() == {"detail": "見つかりません。", "code": "not_found"}


# --- drafting ---------------------------------------------------------------------------------------------

def test_create_draft_as_the_esi_manager_writes_it_with_its_audit_entry(client, tokens):
    response = post(client, BASE, draft_body(), tokens["manager"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "draft" and body["reference"] is None and body["organisation"] == "METI"
    assert body["term_end"] == "2031-05-31" and body["sub_item"]["code"] == "A-1"
    entry = last_audit("designation.drafted")
    assert entry["actor"]["channel"] == "api" and entry["actor"]["role"] == "esi_manager"
    assert entry["target"] == {"type": "designation.designation", "id": str(body["id"])}


def test_create_draft_category_defaults_to_the_sub_items_own(client, tokens):
    body = draft_body()
    del body["category"]
    response = post(client, BASE, body, tokens["manager"])
    assert response.status_code == 201 and response.json()["category"]["code"] == "1"


def test_create_draft_in_the_wrong_role_is_403_with_the_reason(client, tokens):
    before = writes()
    response = post(client, BASE, draft_body(), tokens["security"])
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role" and "重要経済安保情報管理者のみ" in response.json()["detail"]
    assert writes() == before
    assert AuditEntry.objects.filter(action="designation.create", outcome="denied").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("designated_on", "2026-13-01"), ("designated_on", "01/06/2026"), ("term_end", "2031-05-31T00:00:00"),
    ("term_end", 1906000000), ("term_end", None), ("protective_measure", "shouting"),
])
def test_create_draft_with_malformed_input_is_422_naming_the_field_and_writes_nothing(client, tokens, field, value):
    before = writes()
    response = post(client, BASE, draft_body(**{field: value}), tokens["manager"])
    assert response.status_code == 422
    assert response.json()["fields"] == [field]
    assert writes() == before


def test_create_draft_with_a_field_the_handler_does_not_name_is_refused(client, tokens, orgs):
    before = writes()
    response = post(client, BASE, draft_body(organisation="MIC", state="designated", reference="X-1"),
                    tokens["manager"])
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"organisation", "state", "reference"}
    assert writes() == before


def test_create_draft_with_an_unknown_sub_item_code_is_422_naming_sub_item(client, tokens):
    before = writes()
    response = post(client, BASE, draft_body(sub_item="Z-99"), tokens["manager"])
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_sub_item" and response.json()["field"] == "sub_item"
    assert writes() == before


def test_create_draft_with_an_unknown_category_code_is_422_naming_category(client, tokens):
    response = post(client, BASE, draft_body(category="9"), tokens["manager"])
    assert response.status_code == 422 and response.json()["field"] == "category"


def test_create_draft_with_a_term_over_the_maximum_is_422_with_the_rules_code(client, tokens):
    before = writes()
    response = post(client, BASE, draft_body(term_end="2031-06-01"), tokens["manager"])
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "term_over_maximum" and body["field"] == "term_end"
    assert "2031-05-31" in body["detail"]
    assert writes() == before


def test_rule_violation_speaks_the_callers_language(client, tokens, people):
    from hozen.core import services as core_services

    core_services.set_language(actor=actor_of(people["esi_manager"]), language="en")
    response = post(client, BASE, draft_body(term_end="2031-06-01"), tokens["manager"])
    assert response.json()["detail"].startswith("A term can be at most 5 years")


def test_update_draft(client, tokens, draft):
    read = client.get(f"{BASE}/{draft.pk}", **tokens["manager"])
    assert read["ETag"] == f'"{draft.version}"'
    response = patch(client, f"{BASE}/{draft.pk}", {"title": "改題した件名", "term_end": "2030-03-31"},
                     {**tokens["manager"], "HTTP_IF_MATCH": read["ETag"]})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "改題した件名" and response.json()["term_end"] == "2030-03-31"
    assert response["ETag"] == f'"{draft.version + 1}"' and response.json()["version"] == draft.version + 1
    assert last_audit("designation.draft_updated")["details"]["fields"] == ["term_end", "title"]


def test_a_draft_edit_without_if_match_is_refused_with_428_and_writes_nothing(client, tokens, draft):
    before = writes()
    response = patch(client, f"{BASE}/{draft.pk}", {"title": "改題した件名"}, tokens["manager"])
    assert response.status_code == 428 and response.json()["code"] == "version_required"
    assert response.json()["current_version"] == draft.version
    assert writes() == before


def test_a_stale_draft_edit_is_refused_with_409_and_writes_nothing(client, tokens, draft):
    stale = f'"{draft.version}"'
    first = patch(client, f"{BASE}/{draft.pk}", {"title": "先に保存した件名"}, {**tokens["manager"], "HTTP_IF_MATCH": stale})
    assert first.status_code == 200
    before = writes()
    second = patch(client, f"{BASE}/{draft.pk}", {"title": "古い版からの変更"},
                   {**tokens["manager"], "HTTP_IF_MATCH": stale, "HTTP_ACCEPT_LANGUAGE": "en"})
    assert second.status_code == 409 and second.json()["code"] == "stale_edit"
    assert second.json()["current_version"] == draft.version + 1 and second["ETag"] == f'"{draft.version + 1}"'
    assert "someone else" in second.json()["detail"] or "他の人" in second.json()["detail"]
    assert Designation.objects.get(pk=draft.pk).title == "先に保存した件名"
    assert writes() == before


def test_update_draft_personas(client, tokens, draft):
    assert patch(client, f"{BASE}/{draft.pk}", {"title": "x"}, {}).status_code == 401
    assert patch(client, f"{BASE}/{draft.pk}", {"title": "x"}, tokens["manager_mic"]).status_code == 404
    response = patch(client, f"{BASE}/{draft.pk}", {"title": "x"}, tokens["head"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    assert Designation.objects.get(pk=draft.pk).title != "x"


def test_update_draft_with_an_unknown_sub_item_writes_nothing(client, tokens, draft):
    before = writes()
    response = patch(client, f"{BASE}/{draft.pk}", {"sub_item": "Z-99", "title": "変更"}, tokens["manager"])
    assert response.status_code == 422 and response.json()["field"] == "sub_item"
    assert writes() == before


def test_update_after_approval_is_refused(client, tokens, designated):
    response = patch(client, f"{BASE}/{designated.pk}", {"title": "変更"},
                     {**tokens["manager"], "HTTP_IF_MATCH": f'"{designated.version}"'})
    assert response.status_code == 422 and response.json()["code"] == "not_a_draft"


def test_an_edit_made_on_the_draft_before_its_approval_is_refused_as_stale(client, tokens, draft):
    seen = f'"{draft.version}"'
    assert post(client, f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": seen}).status_code == 200
    response = patch(client, f"{BASE}/{draft.pk}", {"title": "変更"}, {**tokens["manager"], "HTTP_IF_MATCH": seen})
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    d = Designation.objects.get(pk=draft.pk)
    assert d.state == "designated" and d.reference == "METI-2026-0001" and d.title != "変更"


def test_approval_with_if_match_approves_only_the_version_read(client, tokens, draft):
    seen = f'"{draft.version}"'
    assert patch(client, f"{BASE}/{draft.pk}", {"title": "承認直前の変更"},
                 {**tokens["manager"], "HTTP_IF_MATCH": seen}).status_code == 200
    response = client.post(f"{BASE}/{draft.pk}/approve", data="{}", content_type="application/json",
                           HTTP_IF_MATCH=seen, **tokens["head"])
    assert response.status_code == 409 and response.json()["code"] == "stale_edit"
    assert Designation.objects.get(pk=draft.pk).state == "draft"


# --- designating and after ----------------------------------------------------------------------------------

def test_approve_as_the_organ_head(client, tokens, draft):
    response = post(client, f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version}"'})
    assert response.status_code == 200, response.content
    assert response["ETag"] == f'"{draft.version + 1}"'
    assert response.json()["state"] == "designated" and response.json()["reference"] == "METI-2026-0001"
    assert last_audit("designation.designated")["details"]["reference"] == "METI-2026-0001"


def test_an_approval_without_if_match_is_refused_with_428_and_designates_nothing(client, tokens, draft):
    before = writes()
    for header in ({}, {"HTTP_IF_MATCH": "*"}, {"HTTP_IF_MATCH": f'W/"{draft.version}"'}):
        response = post(client, f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], **header})
        assert response.status_code == 428 and response.json()["code"] == "version_required"
    assert writes() == before and Designation.objects.get(pk=draft.pk).state == State.DRAFT


def test_approve_personas(client, tokens, draft):
    assert post(client, f"{BASE}/{draft.pk}/approve", {}, {}).status_code == 401
    assert post(client, f"{BASE}/{draft.pk}/approve", {}, tokens["head_mic"]).status_code == 404
    response = post(client, f"{BASE}/{draft.pk}/approve", {}, tokens["manager"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    assert Designation.objects.get(pk=draft.pk).state == State.DRAFT


def test_extend(client, tokens, designated):
    response = post(client, f"{BASE}/{designated.pk}/extend",
                    {"new_end": "2036-05-31", "reason": "要件を引き続き満たすため延長する"}, tokens["head"])
    assert response.status_code == 200, response.content
    assert response.json()["term_end"] == "2036-05-31"
    assert last_audit("designation.extended")["details"]["until"] == "2036-05-31"


def test_extend_personas_and_rules(client, tokens, designated):
    body = {"new_end": "2036-05-31", "reason": "要件を引き続き満たすため延長する"}
    assert post(client, f"{BASE}/{designated.pk}/extend", body, {}).status_code == 401
    assert post(client, f"{BASE}/{designated.pk}/extend", body, tokens["head_mic"]).status_code == 404
    response = post(client, f"{BASE}/{designated.pk}/extend", body, tokens["manager"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    before = writes()
    response = post(client, f"{BASE}/{designated.pk}/extend", {**body, "new_end": "2036-06-01"}, tokens["head"])
    assert response.status_code == 422
    assert response.json()["code"] == "extension_over_maximum" and response.json()["field"] == "new_end"
    response = post(client, f"{BASE}/{designated.pk}/extend", {**body, "new_end": "31.05.2036"}, tokens["head"])
    assert response.status_code == 422 and response.json()["fields"] == ["new_end"]
    assert writes() == before


def test_cancel(client, tokens, designated):
    assert post(client, f"{BASE}/{designated.pk}/cancel", {"reason": "x"}, tokens["head_mic"]).status_code == 404
    before = writes()
    response = post(client, f"{BASE}/{designated.pk}/cancel", {"reason": "x"}, tokens["head"])
    assert response.status_code == 422 and response.json()["field"] == "reason"
    response = post(client, f"{BASE}/{designated.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"},
                    tokens["security"])
    assert response.status_code == 403
    assert writes() == before
    response = post(client, f"{BASE}/{designated.pk}/cancel", {"reason": "非公知性の要件を満たさなくなったため"},
                    tokens["head"])
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled" and response.json()["marking"] == "重要経済安保情報（指定解除）"
    assert "designation.cancelled" in audit_actions()


def test_review(client, tokens, designated):
    assert post(client, f"{BASE}/{designated.pk}/review", {"requirements_met": True}, {}).status_code == 401
    assert post(client, f"{BASE}/{designated.pk}/review", {"requirements_met": True},
                tokens["head_mic"]).status_code == 404
    response = post(client, f"{BASE}/{designated.pk}/review", {"requirements_met": True}, tokens["security"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    response = post(client, f"{BASE}/{designated.pk}/review", {"requirements_met": True}, tokens["manager"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["outcome"] == "requirements_met" and body["next_due"] == "2027-06-01"
    assert body["designation"]["review_due"] == "2027-06-01"
    assert last_audit("designation.reviewed")["details"]["outcome"] == "requirements_met"


def test_move_to_sds(client, tokens, designated):
    from hozen.rules.queries import current_pack

    sds_item = current_pack("sds", TODAY).sub_items.order_by("code").first()
    body = {"reason": "著しい支障のおそれがあると判断したため", "sub_item": sds_item.code, "term_end": "2031-05-31",
            "justification_harm": "漏えいすれば安全保障に著しい支障を与えるおそれがある。"}
    if sds_item.category is None:
        body["category"] = current_pack("sds", TODAY).categories.first().code
    assert post(client, f"{BASE}/{designated.pk}/move-to-sds", body, tokens["head_mic"]).status_code == 404
    assert post(client, f"{BASE}/{designated.pk}/move-to-sds", body, tokens["manager"]).status_code == 403
    before = writes()
    response = post(client, f"{BASE}/{designated.pk}/move-to-sds", {**body, "sub_item": "A-1"}, tokens["head"])
    assert response.status_code == 422 and response.json()["field"] == "sub_item"
    assert writes() == before
    response = post(client, f"{BASE}/{designated.pk}/move-to-sds", body, tokens["head"])
    assert response.status_code == 201, response.content
    assert response.json()["tier"] == "sds" and response.json()["reference"] == "METI-SDS-2026-0001"
    assert client.get(f"{BASE}/{designated.pk}", **tokens["head"]).json()["successor"] == "METI-SDS-2026-0001"
    assert "designation.moved_to_sds" in audit_actions()


# --- corrections ----------------------------------------------------------------------------------------

def test_correction_request_by_oversight_and_the_organs_answer(client, tokens, designated):
    body = {"kind": "cancel", "request": "要件(b)を満たしていないため解除を求める。"}
    assert post(client, f"{BASE}/{designated.pk}/corrections", body, {}).status_code == 401
    response = post(client, f"{BASE}/{designated.pk}/corrections", body, tokens["head"])
    assert response.status_code == 403 and response.json()["code"] == "not_oversight"
    response = post(client, f"{BASE}/{designated.pk}/corrections", {**body, "kind": "scold"}, tokens["oversight"])
    assert response.status_code == 422 and response.json()["fields"] == ["kind"]
    response = post(client, f"{BASE}/{designated.pk}/corrections", body, tokens["oversight"])
    assert response.status_code == 201, response.content
    correction = response.json()["id"]
    assert last_audit("designation.correction_requested")["details"]["kind"] == "cancel"

    answer = {"answer": "再検討の上、指定を解除した。"}
    path = f"{BASE}/{designated.pk}/corrections/{correction}/answer"
    assert post(client, path, answer, tokens["head_mic"]).status_code == 404
    assert post(client, f"{BASE}/{designated.pk}/corrections/{correction + 99}/answer", answer,
                tokens["head"]).status_code == 404
    assert post(client, path, answer, tokens["manager"]).status_code == 403
    response = post(client, path, answer, tokens["head"])
    assert response.status_code == 200 and response.json()["answered_at"]
    assert "designation.correction_answered" in audit_actions()
    listed = client.get(f"{BASE}/{designated.pk}/corrections", **tokens["security"]).json()
    assert [c["id"] for c in listed] == [correction] and listed[0]["answer"] == answer["answer"]
    assert client.get(f"{BASE}/{designated.pk}/corrections", **tokens["head_mic"]).status_code == 404


# --- provisions -----------------------------------------------------------------------------------------

PROVISION = {"recipient_kind": "organ", "recipient": "MIC", "basis": "法第10条第1項", "provided_on": "2026-06-01",
             "items": "防護計画書 第2版 1部", "handler_list": ["山本 浩二", "中村 陽菜"]}


def test_record_provision_and_list_it(client, tokens, designated):
    path = f"{BASE}/{designated.pk}/provisions"
    assert post(client, path, PROVISION, {}).status_code == 401
    assert post(client, path, PROVISION, tokens["head_mic"]).status_code == 404
    response = post(client, path, PROVISION, tokens["security"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    response = post(client, path, PROVISION, tokens["manager"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipient"] == "MIC" and body["recipient_name"] == "総務省" and body["handler_count"] == 2
    assert "山本" not in response.content.decode()
    assert last_audit("provision.recorded")["details"]["kind"] == "organ"
    # The recipient organ now holds the designation: it sees it and the provision made to it.
    assert client.get(f"{BASE}/{designated.pk}", **tokens["head_mic"]).status_code == 200
    assert [p["id"] for p in client.get(path, **tokens["head_mic"]).json()] == [body["id"]]
    assert [p["id"] for p in client.get(path, **tokens["oversight"]).json()] == [body["id"]]


@pytest.mark.parametrize(("change", "field"), [
    ({"handler_list": []}, "handler_list"),
    ({"recipient": "NOPE"}, "recipient"),
    ({"provided_on": "June 1st"}, "provided_on"),
    ({"recipient_kind": "business", "recipient": "TOWA", "contract": "NO-SUCH"}, "contract"),
    ({"recipient_kind": "foreign", "recipient": None, "recipient_name": "Government of Australia"},
     "equivalence_finding"),
])
def test_provision_with_bad_input_is_422_naming_the_field_and_writes_nothing(client, tokens, designated, change,
                                                                           field):
    before = writes()
    response = post(client, f"{BASE}/{designated.pk}/provisions", {**PROVISION, **change}, tokens["manager"])
    assert response.status_code == 422
    body = response.json()
    assert body.get("field") == field or body.get("fields") == [field]
    assert writes() == before


# --- ledger and notifications ---------------------------------------------------------------------------

def test_ledger_as_json_is_audited(client, tokens, designated, draft_factory):
    draft_factory()  # drafts are not on the ledger
    response = client.get(f"{BASE}/ledger/METI", **tokens["security"])
    assert response.status_code == 200
    body = response.json()
    assert body["organisation"] == "METI" and [r["reference"] for r in body["rows"]] == ["METI-2026-0001"]
    row = body["rows"][0]
    assert row["state"] == "指定中" and row["designated_on"] == "2026-06-01" and row["rules"] == "jp-esi-2025 v1"
    entry = last_audit("designation.ledger_exported")
    assert entry["details"] == {"organisations": ["METI"], "format": "json", "rows": 1}
    assert entry["actor"]["channel"] == "api"


def test_ledger_personas(client, tokens, designated):
    assert client.get(f"{BASE}/ledger/METI").status_code == 401
    assert client.get(f"{BASE}/ledger/METI", **tokens["head_mic"]).status_code == 404
    assert client.get(f"{BASE}/ledger/NOPE", **tokens["head"]).status_code == 404
    response = client.get(f"{BASE}/ledger/METI", **tokens["auditor"])
    assert response.status_code == 403 and response.json()["code"] == "wrong_role"
    assert client.get(f"{BASE}/ledger/METI", **tokens["oversight"]).status_code == 200
    assert AuditEntry.objects.filter(action="designation.ledger_exported").count() == 1


def test_notifications_reach_the_recipient_organ(client, tokens, designated):
    post(client, f"{BASE}/{designated.pk}/provisions", PROVISION, tokens["manager"])
    post(client, f"{BASE}/{designated.pk}/extend", {"new_end": "2036-05-31", "reason": "要件を引き続き満たすため延長する"},
         tokens["head"])
    assert client.get(f"{BASE}/notifications").status_code == 401
    body = client.get(f"{BASE}/notifications", **tokens["head_mic"]).json()
    assert body["total"] == 1
    notice = body["items"][0]
    assert notice["kind"] == "extended" and notice["reference"] == "METI-2026-0001"
    assert notice["marking"] == "重要経済安保情報" and notice["acknowledged_at"] is None
    assert client.get(f"{BASE}/notifications?unacknowledged=true", **tokens["head"]).json()["total"] == 1
    assert client.get(f"{BASE}/notifications", **tokens["business"]).json()["total"] == 0


@pytest.fixture
def draft_factory(people, orgs):
    from hozen.rules.queries import current_pack

    item = sub_item(current_pack("esi", TODAY))

    def make(**overrides):
        fields = draft_body(category=item.category, sub_item=item, designated_on=TODAY,
                            term_end=dt.date(2031, 5, 31))
        fields.update(overrides)
        return services.create_draft(actor=actor_of(people["esi_manager"]), organisation=orgs["METI"], **fields)

    return make


# --- sending a draft back (issue 15) --------------------------------------------------------------------

RETURN_COMMENT = "要件2の理由に、公表資料との関係を具体的に書いてください。"


def test_the_organ_head_sends_a_draft_back_over_the_api(client, tokens, draft, people):
    response = post(client, f"{BASE}/{draft.pk}/return", {"comment": RETURN_COMMENT},
                    {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version}"'})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "draft" and body["version"] == draft.version + 1
    assert response["ETag"] == f'"{draft.version + 1}"'
    assert body["returned"]["comment"] == RETURN_COMMENT and body["returned"]["version"] == draft.version
    assert AuditEntry.objects.filter(action="designation.draft_returned", outcome="success").count() == 1
    # The ESI manager reads the comment on the draft; once saved again it is gone.
    read = client.get(f"{BASE}/{draft.pk}", **tokens["manager"])
    assert read.json()["returned"]["returned_by"] == people["organ_head"].username
    edited = patch(client, f"{BASE}/{draft.pk}", {"title": "修正した件名"}, {**tokens["manager"], "HTTP_IF_MATCH": read["ETag"]})
    assert edited.status_code == 200 and edited.json()["returned"] is None


def test_sending_back_over_the_api_needs_the_version_read(client, tokens, draft):
    response = post(client, f"{BASE}/{draft.pk}/return", {"comment": RETURN_COMMENT}, tokens["head"])
    assert response.status_code == 428 and response.json()["code"] == "version_required"
    stale = post(client, f"{BASE}/{draft.pk}/return", {"comment": RETURN_COMMENT},
                 {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version + 5}"'})
    assert stale.status_code == 409 and stale.json()["current_version"] == draft.version
    assert Designation.objects.get(pk=draft.pk).returned_at is None


@pytest.mark.parametrize(("who", "status"), [("manager", 403), ("security", 403), ("head_mic", 404)])
def test_only_who_may_approve_sends_a_draft_back_over_the_api(client, tokens, draft, who, status):
    response = post(client, f"{BASE}/{draft.pk}/return", {"comment": RETURN_COMMENT},
                    {**tokens[who], "HTTP_IF_MATCH": f'"{draft.version}"'})
    assert response.status_code == status
    assert Designation.objects.get(pk=draft.pk).returned_at is None


@pytest.mark.parametrize(("body", "code"), [({"comment": ""}, "text_required"), ({"comment": "   "}, "text_required"),
                                            ({}, "invalid_input"), ({"comment": "x" * 2001}, "invalid_input"),
                                            ({"comment": "直して", "state": "designated"}, "invalid_input")])
def test_a_send_back_without_a_proper_comment_is_422_naming_the_field(client, tokens, draft, body, code):
    response = post(client, f"{BASE}/{draft.pk}/return", body, {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version}"'})
    assert response.status_code == 422 and response.json()["code"] == code, response.content
    if code == "text_required":
        assert response.json()["field"] == "comment"
    assert Designation.objects.get(pk=draft.pk).returned_at is None


def test_a_designation_in_force_is_not_sent_back_over_the_api(client, tokens, designated):
    response = post(client, f"{BASE}/{designated.pk}/return", {"comment": RETURN_COMMENT},
                    {**tokens["head"], "HTTP_IF_MATCH": f'"{designated.version}"'})
    assert response.status_code == 422 and response.json()["code"] == "not_a_draft"


def test_a_draft_sent_back_is_not_approved_over_the_api_until_saved_again(client, tokens, draft):
    returned = post(client, f"{BASE}/{draft.pk}/return", {"comment": RETURN_COMMENT},
                    {**tokens["head"], "HTTP_IF_MATCH": f'"{draft.version}"'})
    approval = post(client, f"{BASE}/{draft.pk}/approve", {}, {**tokens["head"], "HTTP_IF_MATCH": returned["ETag"]})
    assert approval.status_code == 422 and approval.json()["code"] == "draft_returned"
