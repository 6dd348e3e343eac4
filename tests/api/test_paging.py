"""One paging policy for every list of the API (issue 12 §2).

Found by fuzzing: ``offset`` of 2**63 was a 500 on ten lists (both databases; an assessed person
could trigger it), and ``limit=-1``, ``0`` and ``1000000`` were accepted (clamped in silence) on
four assessment lists. Every list now takes the same ``limit`` (1–200, default 50) and ``offset``
(0 to 2**53 - 1) and refuses anything else with 422 naming the parameter.
"""

# ruff: noqa: F811  (fixtures imported by name)
from __future__ import annotations

import re

import pytest

from hozen.api.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, is_list_operation
from hozen.designation import services
from tests import factories
from tests.designation.conftest import (  # noqa: F401  (fixtures)
    _frozen_today,
    actor_of,
    draft_fields,
    esi_pack,
    make_designation,
    meti,
)

pytestmark = pytest.mark.django_db

_ONE_CASE = ("the records of one assessment case, bounded by the case; the query decrypts and records "
             "them as one read of the person, so a page would still read them all")

#: Operations that answer a list-shaped body but are not collections to page, and why.
NOT_COLLECTIONS = {
    ("get", "/api/v1/assessment/cases/{case_id}/questionnaire/progress"): "one row per questionnaire section, fixed",
    ("get", "/api/v1/handling/designations/{designation_id}/eligibility"): "the five conditions of DOMAIN §5, fixed",
    ("get", "/api/v1/assessment/cases/{case_id}/events"): _ONE_CASE,
    ("get", "/api/v1/assessment/cases/{case_id}/inquiries"): _ONE_CASE,
    ("get", "/api/v1/assessment/cases/{case_id}/inquiry-log"): _ONE_CASE,
    ("get", "/api/v1/assessment/cases/{case_id}/complaints"): _ONE_CASE,
    ("get", "/api/v1/assessment/cases/{case_id}/adverse-treatment"): _ONE_CASE,
    ("get", "/api/v1/assessment/cases/{case_id}/returns"): _ONE_CASE,
}


@pytest.fixture(scope="module")
def openapi():
    from hozen.api.urls import api

    return api.get_openapi_schema(path_prefix="/api/v1/")


def _list_operations(openapi) -> list[tuple[str, str]]:
    components = openapi["components"]["schemas"]
    return [(method, path) for path, ops in openapi["paths"].items() for method, op in ops.items()
            if method == "get" and is_list_operation(op, components) and (method, path) not in NOT_COLLECTIONS]


def _paged_operations() -> list[tuple[str, str]]:
    from hozen.api.urls import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return [(m, p) for m, p in _list_operations(schema)
            if {"limit", "offset"} <= {x["name"] for x in schema["paths"][p][m].get("parameters", [])}]


def _url(path: str, query: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path) + query


def test_every_list_takes_the_same_limit_and_offset(openapi):
    lists = _list_operations(openapi)
    assert len(lists) >= 20
    unpaged = []
    for method, path in lists:
        params = {p["name"]: p for p in openapi["paths"][path][method].get("parameters", [])}
        if not {"limit", "offset"} <= set(params):
            unpaged.append(path)
            continue
        limit, offset = params["limit"]["schema"], params["offset"]["schema"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, MAX_LIMIT, DEFAULT_LIMIT), path
        assert (offset["minimum"], offset["maximum"], offset["default"]) == (0, MAX_OFFSET, 0), path
        assert not params["limit"]["required"] and not params["offset"]["required"]
    assert unpaged == []


def test_the_offset_bound_fits_a_signed_64_bit_integer_with_any_limit_added():
    assert MAX_OFFSET + MAX_LIMIT < 2**63


def test_a_list_answered_as_an_array_documents_its_total_header(openapi):
    for method, path in _list_operations(openapi):
        ok = openapi["paths"][path][method]["responses"][200]
        if ok["content"]["application/json"]["schema"].get("type") == "array":
            assert "X-Total-Count" in ok.get("headers", {}), path


@pytest.mark.parametrize("method,path", _paged_operations())
@pytest.mark.parametrize("query,field", [("?offset=9223372036854775808", "offset"),
                                         ("?offset=9223372036854775807", "offset"),
                                         ("?offset=-1", "offset"), ("?limit=-1", "limit"), ("?limit=0", "limit"),
                                         ("?limit=1000000", "limit"), ("?limit=201", "limit"),
                                         ("?limit=abc", "limit"), ("?limit=1&limit=2", "limit")])
def test_paging_out_of_bounds_is_refused_with_422_naming_the_parameter(client, people, method, path, query, field):
    token = factories.api_token(people["subject"])
    response = client.get(_url(path, query), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422, (path, query, response.status_code, response.content[:300])
    assert response.json()["field"] == field, (path, response.json())


def test_the_largest_offset_is_an_empty_page_not_an_error(client, people):
    token = factories.api_token(people["esi_manager"])
    response = client.get(f"/api/v1/designations?offset={MAX_OFFSET}&limit={MAX_LIMIT}",
                          HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["items"] == [] and response.json()["offset"] == MAX_OFFSET


def test_an_object_list_pages_with_total_limit_and_offset(client, people, make_designation):
    made = [make_designation(title=f"発電設備の防護計画に関する情報その{i}") for i in range(3)]
    token = factories.api_token(people["esi_manager"])
    everything = client.get("/api/v1/designations", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert everything["total"] == 3 and everything["limit"] == DEFAULT_LIMIT
    page = client.get("/api/v1/designations?limit=1&offset=1", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert [d["id"] for d in page["items"]] == [everything["items"][1]["id"]]
    assert {d.pk for d in made} == {d["id"] for d in everything["items"]}


def test_an_array_list_pages_with_its_total_in_a_header(client, people, make_designation):
    designation = make_designation()
    oversight = actor_of(people["oversight"])
    for i in range(3):
        services.request_correction(actor=oversight, designation=designation, kind="amend",
                                    request=f"指定の理由の記載が不十分であるため補足を求める（{i}）。")
    token = factories.api_token(people["oversight"])
    url = f"/api/v1/designations/{designation.pk}/corrections"
    everything = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert everything.status_code == 200 and everything["X-Total-Count"] == "3" and len(everything.json()) == 3
    page = client.get(url + "?limit=2&offset=2", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert page["X-Total-Count"] == "3"
    assert [c["id"] for c in page.json()] == [everything.json()[2]["id"]]
