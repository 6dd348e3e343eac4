"""Idempotent writes: Idempotency-Key on every API POST (issue 12 §5).

The same key from the same account with the same body within 24 hours gets the first answer again
and writes nothing more; the same key with another body is refused (422); while the first request
runs, another with the key is told to retry (409); two at once never both run.
"""

# ruff: noqa: F811  (fixtures imported by name)
from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from hozen.api.idempotency import HEADER, REPLAYED_HEADER
from hozen.audit.models import AuditEntry
from hozen.core import jobs
from hozen.core.actor import Actor
from hozen.core.models import IdempotencyRecord
from hozen.designation.models import Designation
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/designations"
KEY = "b1946ac9-2f4e-4c54-9c8e-6a1d3f0e5a77"


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


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
def manager(people):
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['esi_manager'])}"}


def _post(client, headers, body, key=KEY, raw=None, **extra):
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(URL, data=raw if raw is not None else json.dumps(body), content_type="application/json",
                       **headers, **extra)


def _drafted() -> int:
    return AuditEntry.objects.filter(action="designation.drafted").count()


def test_the_same_key_and_body_replays_the_first_answer_and_writes_nothing_more(client, manager):
    first = _post(client, manager, draft_body())
    assert first.status_code == 201 and not first.has_header(REPLAYED_HEADER)
    entries = _drafted()
    # Sent again (the same JSON written differently: key order and spacing do not matter).
    raw = json.dumps(dict(reversed(list(draft_body().items()))), indent=2)
    again = _post(client, manager, None, raw=raw)
    assert again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    assert Designation.objects.count() == 1 and _drafted() == entries


def test_without_a_key_the_same_body_is_a_second_draft(client, manager):
    assert _post(client, manager, draft_body(), key=None).status_code == 201
    assert _post(client, manager, draft_body(), key=None).status_code == 201
    assert Designation.objects.count() == 2


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(client, manager):
    assert _post(client, manager, draft_body()).status_code == 201
    entries = _drafted()
    other = _post(client, manager, draft_body(title="別の情報に関する指定の草案"))
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused" and other.json()["field"] == HEADER
    assert Designation.objects.count() == 1 and _drafted() == entries


def test_the_same_key_on_another_path_or_role_is_another_request(client, people, manager):
    assert _post(client, manager, draft_body()).status_code == 201
    response = client.post("/api/v1/designations/notifications/1/acknowledge", data="{}",
                           content_type="application/json", HTTP_IDEMPOTENCY_KEY=KEY, **manager)
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"


def test_keys_are_per_account(client, people, manager, orgs):
    colleague = factories.account(role="esi_manager", organisation=orgs["METI"])
    other = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(colleague)}"}
    assert _post(client, manager, draft_body()).status_code == 201
    second = _post(client, other, draft_body())
    assert second.status_code == 201 and not second.has_header(REPLAYED_HEADER)
    assert Designation.objects.count() == 2


def test_a_refusal_is_replayed_too_and_not_run_again(client, people):
    subject = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people['subject'])}"}
    first = _post(client, subject, draft_body())
    assert first.status_code == 403
    denials = AuditEntry.objects.filter(outcome="denied").count()
    again = _post(client, subject, draft_body())
    assert again.status_code == 403 and again[REPLAYED_HEADER] == "true" and again.content == first.content
    assert AuditEntry.objects.filter(outcome="denied").count() == denials


def test_a_request_that_did_not_parse_takes_no_key(client, manager):
    bad = _post(client, manager, draft_body(term_end="next year"))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    assert IdempotencyRecord.objects.count() == 0
    assert _post(client, manager, draft_body()).status_code == 201


@pytest.mark.parametrize("key", ["", "a" * 256, "with space", "日本語"])
def test_a_malformed_key_is_refused_naming_the_header(client, manager, key):
    response = client.post(URL, data=json.dumps(draft_body()), content_type="application/json",
                           **{**manager, "HTTP_IDEMPOTENCY_KEY": key})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key" and response.json()["field"] == HEADER
    assert Designation.objects.count() == 0


def test_while_the_first_request_runs_another_with_the_key_is_told_to_retry(client, people, manager):
    from hozen.api.idempotency import _digest, _fingerprint  # the row the first request took
    from hozen.core.models import Account

    account = Account.objects.get(username="esi-manager")

    class Request:  # the first request, as the fingerprint sees it
        method, path_info, META, content_type = "POST", URL, {"QUERY_STRING": ""}, "application/json"
        headers = {}
        body = json.dumps(draft_body()).encode()

    IdempotencyRecord.objects.create(account=account, key_digest=_digest(account.pk, KEY),
                                     fingerprint=_fingerprint(Request()))
    response = _post(client, manager, draft_body())
    assert response.status_code == 409 and response["Retry-After"] == "1"
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert Designation.objects.count() == 0


def test_neither_the_key_nor_the_answer_is_stored_in_the_clear(client, manager):
    _post(client, manager, draft_body())
    record = IdempotencyRecord.objects.get()
    assert KEY not in record.key_digest and record.status == 201
    assert "発電設備".encode() not in bytes(record.response) and b"title" not in bytes(record.response)


def test_after_24_hours_the_key_is_forgotten_and_the_expiry_job_deletes_it(client, manager, _frozen_today):
    assert _post(client, manager, draft_body()).status_code == 201
    _frozen_today.shift(dt.timedelta(hours=23))
    assert _post(client, manager, draft_body())[REPLAYED_HEADER] == "true"
    _frozen_today.shift(dt.timedelta(hours=2))
    again = _post(client, manager, draft_body())
    assert again.status_code == 201 and not again.has_header(REPLAYED_HEADER)
    assert Designation.objects.count() == 2
    _frozen_today.shift(dt.timedelta(hours=25))
    job = next(j for j in jobs.registered() if j.name == "core.idempotency_expiry")
    assert job.fn(actor=Actor.job(job.name)) == 1 and IdempotencyRecord.objects.count() == 0


def test_every_post_documents_the_idempotency_key(client):
    schema = client.get("/api/v1/openapi.json").json()
    posts = [(path, ops["post"]) for path, ops in schema["paths"].items() if "post" in ops]
    assert len(posts) > 50
    for path, op in posts:
        params = [p for p in op["parameters"] if p["name"] == HEADER]
        assert len(params) == 1 and params[0]["in"] == "header" and not params[0]["required"], path
        assert "409" in op["responses"] and "422" in op["responses"], path


def test_an_answer_that_is_a_file_is_not_kept_and_a_repeat_is_told_so(people, rf):
    """A vault view or download answers with the file itself: its bytes are not kept, so a repeat with
    the key gets 409 idempotency_replay_unavailable, and no second copy is made."""
    from django.http import StreamingHttpResponse

    from hozen.api.errors import ApiError
    from hozen.api.idempotency import begin, finish
    from hozen.core.actor import Actor as RequestActor

    account = people["esi_manager"]
    request = rf.post("/api/v1/vault/documents/1/download", data=b"", content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY=KEY)
    request.actor = RequestActor.for_account(account, account.active_assignments().first(), channel="api")
    record = begin(request)
    finish(request, record, StreamingHttpResponse(iter([b"%PDF-1.7 ..."]), content_type="application/pdf"))
    stored = IdempotencyRecord.objects.get()
    assert stored.status == 200 and stored.response is None
    with pytest.raises(ApiError) as refused:
        begin(request)
    assert refused.value.status == 409 and refused.value.code == "idempotency_replay_unavailable"
