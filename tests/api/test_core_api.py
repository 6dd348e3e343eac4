"""The HTTP API foundation: bearer tokens, /health, /me, OpenAPI, 422 naming the field (issue 3 §9)."""

from __future__ import annotations

import json

import pytest

from hozen.audit.models import AuditEntry
from hozen.core.models import Account
from tests import factories

pytestmark = pytest.mark.django_db


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_health_answers_without_a_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"


def test_me_needs_a_bearer_token(client, people):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer hz_nope_nope").status_code == 401


def test_me_returns_the_caller_and_active_role(client, people):
    token = factories.api_token(people["investigator"])
    response = client.get("/api/v1/me", **_auth(token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "investigator"
    assert body["active_role"] == {"role": "investigator", "organisation": "CAO", "organisation_name": "内閣府"}
    assert "password" not in json.dumps(body)


def test_token_can_act_in_another_of_the_accounts_roles(client, people, orgs):
    from hozen.core import services

    account = people["esi_manager"]
    services.assign_role(actor=factories.operator(), account=account, role="complaint_handler",
                         organisation=orgs["MIC"])
    token = factories.api_token(account)
    body = client.get("/api/v1/me", HTTP_X_HOZEN_ROLE="complaint_handler@MIC", **_auth(token)).json()
    assert body["active_role"]["role"] == "complaint_handler"
    # A role the account does not hold is not a role it can claim.
    assert client.get("/api/v1/me", HTTP_X_HOZEN_ROLE="sysadmin@CAO", **_auth(token)).status_code == 401


def test_revoked_token_is_refused(client, people):
    from hozen.core import services
    from hozen.core.actor import Actor

    account = people["subject"]
    token = factories.api_token(account)
    assert client.get("/api/v1/me", **_auth(token)).status_code == 200
    services.sign_out_everywhere(actor=Actor.for_account(account, None, channel="web"))
    assert client.get("/api/v1/me", **_auth(token)).status_code == 401


def test_malformed_input_gets_422_naming_the_field_and_writes_nothing(client, people):
    token = factories.api_token(people["subject"])
    before = AuditEntry.objects.count()
    response = client.patch("/api/v1/me", data=json.dumps({"language": "fr"}), content_type="application/json",
                            **_auth(token))
    assert response.status_code == 422
    assert response.json()["fields"] == ["language"]
    assert response.json()["code"] == "invalid_input" and "language" in response.json()["detail"]
    assert Account.objects.get(username="subject").language == "ja"
    assert AuditEntry.objects.count() == before


def test_a_field_the_schema_does_not_name_is_refused_and_writes_nothing(client, people):
    token = factories.api_token(people["subject"])
    before = AuditEntry.objects.count()
    response = client.patch("/api/v1/me", data=json.dumps({"language": "en", "is_staff": True}),
                            content_type="application/json", **_auth(token))
    assert response.status_code == 422 and "is_staff" in response.json()["fields"]
    assert Account.objects.get(username="subject").language == "ja" and AuditEntry.objects.count() == before


def test_not_json_at_all_is_refused_with_a_clear_error(client, people):
    token = factories.api_token(people["subject"])
    response = client.patch("/api/v1/me", data="{not json", content_type="application/json", **_auth(token))
    assert response.status_code in (400, 422)
    assert Account.objects.get(username="subject").language == "ja"


def test_valid_update_is_written_with_its_audit_entry(client, people):
    token = factories.api_token(people["subject"])
    response = client.patch("/api/v1/me", data=json.dumps({"language": "en"}), content_type="application/json",
                            **_auth(token))
    assert response.status_code == 200 and response.json()["language"] == "en"
    entry = json.loads(AuditEntry.objects.filter(action="profile.language_set").last().data)
    assert entry["actor"]["channel"] == "api" and entry["details"] == {"language": "en"}


def test_openapi_schema_and_docs_page(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/me" in schema["paths"] and "/api/v1/health" in schema["paths"]
    assert schema["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower(), "docs served from vendored assets, no network"


def test_api_tokens_are_stored_hashed(people):
    token = factories.api_token(people["subject"])
    from hozen.core.models import ApiToken

    _, prefix, secret = token.split("_", 2)
    row = ApiToken.objects.get(prefix=prefix)
    assert secret not in row.secret_hash and row.secret_hash != secret
