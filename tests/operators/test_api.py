"""The organ's measures over the API (/api/v1/operators): the same rules as the services, the
project's error shape, and the version as ETag / If-Match."""

from __future__ import annotations

import json

import pytest

from hozen.operators.models import Certification, Contract
from tests import factories

from .conftest import audit_entries

REASON = "保全措置の重大な不備が報告されたため。"
BASE = "/api/v1/operators"


@pytest.fixture
def api(client):
    def call(account, path, body=None, **headers):
        token = factories.api_token(account)
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}", **headers}
        if body is None:
            return client.get(BASE + path, **kwargs)
        return client.post(BASE + path, data=json.dumps(body), content_type="application/json", **kwargs)
    return call


def test_the_head_suspends_and_restores_over_the_api(api, people, certification):
    r = api(people["organ_head"], f"/certifications/{certification.pk}")
    assert r.status_code == 200 and r["ETag"] == f'"{certification.version}"'
    r = api(people["organ_head"], f"/certifications/{certification.pk}/suspend", {"on": "2026-06-01", "reason": REASON},
            HTTP_IF_MATCH=r["ETag"])
    assert r.status_code == 200, r.content
    assert r.json()["suspended_on"] == "2026-06-01" and r.json()["active"] is False
    r = api(people["organ_head"], f"/certifications/{certification.pk}/restore", {"reason": REASON})
    assert r.status_code == 200 and r.json()["active"] is True
    assert len(audit_entries("certification.restored")) == 1


def test_wrong_role_is_403_with_the_policys_reason(api, people, certification):
    r = api(people["business_officer"], f"/certifications/{certification.pk}/revoke",
            {"on": "2026-06-01", "reason": REASON})
    assert r.status_code == 403 and r.json()["code"] == "wrong_role"
    assert Certification.objects.get(pk=certification.pk).revoked_on is None


def test_outsiders_see_404(api, people, orgs, certification):
    outsider = factories.account(role="organ_head", organisation=orgs["MIC"])
    r = api(outsider, f"/certifications/{certification.pk}/revoke", {"on": "2026-06-01", "reason": REASON})
    assert r.status_code == 404


def test_a_short_reason_is_422_naming_the_field(api, people, certification):
    r = api(people["organ_head"], f"/certifications/{certification.pk}/revoke", {"on": "2026-06-01", "reason": "短い"})
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("text_too_short", "reason")


def test_an_amendment_needs_if_match_and_a_stale_one_is_409(api, people, contract):
    path = f"/contracts/{contract.pk}/amend"
    body = {"departments_added": ["研究開発部"], "reason": REASON}
    assert api(people["organ_head"], path, body).status_code == 428
    assert api(people["organ_head"], path, body, HTTP_IF_MATCH=f'"{contract.version}"').status_code == 200
    r = api(people["organ_head"], path, {"departments_added": ["営業部"], "reason": REASON},
            HTTP_IF_MATCH=f'"{contract.version}"')
    assert r.status_code == 409 and r.json()["code"] == "stale_edit"
    assert Contract.objects.get(pk=contract.pk).authorised_departments == ["技術部", "研究開発部"]


def test_termination_over_the_api(api, people, contract):
    r = api(people["organ_head"], f"/contracts/{contract.pk}/terminate", {"on": "2026-06-01", "reason": REASON})
    assert r.status_code == 200 and r.json()["terminated_on"] == "2026-06-01"


def test_the_operations_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for suffix in ("suspend", "restore", "revoke"):
        assert f"{BASE}/certifications/{{certification_id}}/{suffix}" in paths
    assert "409" in paths[f"{BASE}/contracts/{{contract_id}}/amend"]["post"]["responses"]
