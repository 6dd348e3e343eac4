"""Errors under /api/ are always JSON in the one documented shape (issue 12 §3).

Each example the issue found is a test here: a malformed path id answered text/html, a 10 MB body
an HTML "Bad Request" naming nothing, duplicate JSON keys were accepted (the last one won), 422
bodies did not match the documented error schema, 401 was documented on no operation, and an
unhandled error under /api/ answered Django's HTML 500.
"""

from __future__ import annotations

import json
import logging

import jsonschema_rs
import pytest
from django.test import Client

from hozen.api import errors
from hozen.audit.models import AuditEntry
from hozen.core.models import Account
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['subject'])}"}


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").json()


def _validator(openapi: dict):
    """The documented Error schema, its references resolved within the OpenAPI's components."""
    components = openapi["components"]["schemas"]
    return jsonschema_rs.Draft202012Validator({**components["Error"], "components": {"schemas": components}})


def assert_documented_error(response, openapi: dict) -> dict:
    """JSON, in the documented Error schema."""
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response["Content-Type"])
    payload = response.json()
    errors = [e.message for e in _validator(openapi).iter_errors(payload)]
    assert not errors, (payload, errors)
    return payload


def _json(client, method, path, body, headers, content_type="application/json"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return getattr(client, method)(path, data=data, content_type=content_type, **headers)


# --- malformed paths, methods, authentication ---------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/assessment/cases/abc", "/api/v1/designations/1.5",
                                  "/api/v1/designations/-1", "/api/v1/no-such-thing", "/api/v1/vault/documents/abc"])
def test_a_malformed_path_id_answers_json_404_not_html(client, bearer, openapi, path):
    response = client.get(path, **bearer)
    assert response.status_code in (404, 422)
    payload = assert_documented_error(response, openapi)
    assert payload["code"] in ("not_found", "invalid_input")


def test_a_nul_in_a_path_is_json_404(client, bearer, openapi):
    response = client.get("/api/v1/designations/ledger/%00", **bearer)
    assert response.status_code == 404
    assert assert_documented_error(response, openapi)["code"] == "not_found"


def test_a_method_a_path_does_not_have_is_json_405_with_allow(client, bearer, openapi):
    response = client.delete("/api/v1/me", **bearer)
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert assert_documented_error(response, openapi)["code"] == "method_not_allowed"


def test_401_is_json_with_a_bearer_challenge(client, people, openapi):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert assert_documented_error(response, openapi)["code"] == "not_authenticated"


# --- bodies: size, content type, duplicate keys, characters that are not text -------------------------

def test_a_10_mb_body_is_413_naming_the_limit_and_writes_nothing(client, bearer, openapi, settings):
    before = AuditEntry.objects.count()
    big = json.dumps({"language": "en", "padding": "x" * (10 * 1024 * 1024)})
    response = _json(client, "patch", "/api/v1/me", big, bearer)
    assert response.status_code == 413
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "body_too_large" and payload["limit"] == settings.HOZEN_API_MAX_BODY_BYTES
    assert f"{settings.HOZEN_API_MAX_BODY_BYTES:,}" in payload["detail"]
    assert Account.objects.get(username="subject").language == "ja"
    assert AuditEntry.objects.count() == before


def test_the_limit_is_a_setting(client, bearer, openapi, settings):
    settings.HOZEN_API_MAX_BODY_BYTES = 100
    response = _json(client, "patch", "/api/v1/me", {"language": "en", "padding": "x" * 200}, bearer)
    assert response.status_code == 413 and response.json()["limit"] == 100


def test_a_body_that_is_not_json_is_415_and_writes_nothing(client, bearer, openapi):
    response = _json(client, "patch", "/api/v1/me", "language=en", bearer,
                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "unsupported_media_type" and payload["field"] == "Content-Type"
    assert _json(client, "patch", "/api/v1/me", '{"language": "en"}', bearer,
                 content_type="text/plain").status_code == 415
    assert Account.objects.get(username="subject").language == "ja"


def test_a_json_media_type_with_parameters_or_a_suffix_is_json(client, bearer):
    response = _json(client, "patch", "/api/v1/me", {"language": "en"}, bearer,
                     content_type="application/json; charset=utf-8")
    assert response.status_code == 200, response.content
    response = _json(client, "patch", "/api/v1/me", {"language": "ja"}, bearer, content_type="application/merge-patch+json")
    assert response.status_code == 200, response.content


def test_duplicate_json_keys_are_refused_naming_the_key(client, bearer, openapi):
    response = _json(client, "patch", "/api/v1/me", '{"language": "en", "language": "ja"}', bearer)
    assert response.status_code == 422
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "duplicate_key" and payload["field"] == "language"
    assert Account.objects.get(username="subject").language == "ja"


def test_duplicate_keys_in_a_nested_object_are_refused_too(client, people, openapi):
    token = factories.api_token(people["business_officer"])
    body = '{"contract_id": 1, "rows": [{"username": "a", "username": "b"}]}'
    response = _json(client, "post", "/api/v1/assessment/nominations/bulk", body,
                     {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 422 and response.json()["code"] == "duplicate_key"
    assert response.json()["field"] == "username"


@pytest.mark.parametrize("raw,where", [('{"language": "\\ud800"}', "language"), ('{"language": "e\\u0000n"}', "language"),
                                       ('{"x\\u0000": "en"}', "body")])
def test_a_lone_surrogate_or_nul_in_a_json_body_is_422_naming_the_field(client, bearer, openapi, raw, where):
    response = _json(client, "patch", "/api/v1/me", raw, bearer)
    assert response.status_code == 422
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "invalid_character" and payload["field"] == where
    assert "U+" in payload["detail"]


@pytest.mark.parametrize("raw", ['{"language": NaN}', '{"language": "en"', b'{"language": "\xff"}', "[" * 100_000])
def test_a_body_that_is_not_valid_json_is_400_malformed_body(client, bearer, openapi, raw):
    response = _json(client, "patch", "/api/v1/me", raw, bearer)
    assert response.status_code == 400
    assert assert_documented_error(response, openapi)["code"] == "malformed_body"


def test_a_query_parameter_given_twice_is_refused_naming_it(client, people, openapi):
    token = factories.api_token(people["esi_manager"])
    response = client.get("/api/v1/designations?limit=1&limit=2", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "repeated_parameter" and payload["field"] == "limit"


# --- 422 bodies and the documentation ----------------------------------------------------------------

def test_422_for_input_that_does_not_parse_matches_the_documented_schema(client, people, openapi):
    token = factories.api_token(people["esi_manager"])
    body = {"title": "題名", "term_end": "next year", "unexpected": 1}
    response = _json(client, "post", "/api/v1/designations", body, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 422
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "invalid_input"
    assert {"term_end", "unexpected"} <= set(payload["fields"]) and payload["field"] in payload["fields"]
    assert {"term_end", "unexpected"} <= {e["field"] for e in payload["errors"]}
    assert "term_end" in payload["detail"]


def test_422_for_a_broken_rule_matches_the_documented_schema(client, people, openapi):
    token = factories.api_token(people["esi_manager"])
    response = _json(client, "post", "/api/v1/designations", {"title": "x"}, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert response.status_code == 422
    assert_documented_error(response, openapi)


def test_every_operation_documents_its_errors_with_the_one_schema(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "404", "413", "429", "500"}
            if operation.get("security"):
                expected |= {"401", "403"}
            if operation.get("requestBody"):
                expected |= {"415", "422"}
            if method == "post":
                expected |= {"409", "422"}
            assert expected <= set(responses), (method, path, sorted(responses))
            for status, documented in responses.items():
                if int(status) in errors.OWN_BODIES.get(path, ()):  # the health check's 503: its own body
                    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/HealthOut")
                elif int(status) >= 400:
                    assert documented["content"] == {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}, (method, path, status)
                    assert documented["description"]


def test_401_is_documented_on_every_operation_but_the_health_check(openapi):
    missing = [(m, p) for p, ops in openapi["paths"].items() for m, op in ops.items()
               if "401" not in op["responses"] and p != "/api/v1/health"]
    assert missing == []


def test_only_the_one_error_schema_is_left_in_the_components(openapi):
    assert not {"ErrorOut", "InvalidOut", "ConflictOut", "ManyErrorsOut"} & set(openapi["components"]["schemas"])


# --- unhandled errors ---------------------------------------------------------------------------------

def test_an_unhandled_error_under_api_is_json_500_with_the_request_id_and_no_traceback(bearer, openapi, monkeypatch,
                                                                                       caplog):
    import hozen.api.core

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: table core_account")

    monkeypatch.setattr(hozen.api.core, "_me", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="hozen.api"):
        response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-12345678", **bearer)
    assert response.status_code == 500
    payload = assert_documented_error(response, openapi)
    assert payload["code"] == "server_error" and payload["request_id"] == "req-12345678"
    assert b"secret internals" not in response.content and b"Traceback" not in response.content
    # The traceback is in the server's log, under the request id.
    record = next(r for r in caplog.records if "req-12345678" in r.getMessage())
    assert record.exc_info and "secret internals" in str(record.exc_info[1])


def test_no_two_api_schemas_share_a_documented_name():
    """Found by the fuzzer: the OpenAPI names a component by its class name, so two classes of one
    name (a case's EventOut and a copy's EventOut) were documented as one, and one of them lied."""
    import importlib
    import inspect
    import pkgutil
    from collections import defaultdict

    from ninja import Schema

    import hozen.api

    classes = defaultdict(set)
    for info in pkgutil.iter_modules(hozen.api.__path__):
        module = importlib.import_module(f"hozen.api.{info.name}")
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, Schema) and obj.__module__ == module.__name__ \
                    and obj.model_fields:
                classes[obj.__name__].add(f"{obj.__module__}.{obj.__qualname__}")
    assert {name: found for name, found in classes.items() if len(found) > 1} == {}
