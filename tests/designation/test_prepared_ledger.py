"""A large ledger's PDF is prepared by a task after the request (issue 13 §2): asked for on the
screen or the API, queued in the request's transaction, built by the worker with the requester's
rights as they then stand, downloaded by the requester only (each download audited as an export),
and destroyed with its key after 24 hours."""

from __future__ import annotations

import datetime as dt
import io
import json

import pypdf
import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from hozen.audit.models import AuditEntry
from hozen.core import services as core_services
from hozen.core import tasks
from hozen.core.actor import Actor
from hozen.crypto.models import DataKey
from hozen.designation import export_services
from hozen.designation.jobs import expire_prepared_ledgers
from hozen.designation.models import PreparedLedger
from tests import factories
from tests.concurrency.harness import race

pytestmark = pytest.mark.django_db
API = "/api/v1/designations/ledger/METI"


def pdf_text(body: bytes) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages).replace("\n", "")


def entries(action: str) -> list[dict]:
    return [json.loads(e.data) for e in AuditEntry.objects.filter(action=action).order_by("id")]


def auth(account) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(account)}"}


@pytest.fixture
def large(make_designation, settings):
    """A ledger over the direct-PDF limit (lowered to one row for the test)."""
    settings.HOZEN_LEDGER_DIRECT_PDF_ROWS = 1
    make_designation(title="発電設備の防護計画に関する情報")
    make_designation(title="送電網の制御系統に関する情報")


def test_a_large_ledger_pdf_is_prepared_by_a_task_and_downloaded_by_its_requester(large, people, signed_in):
    client = signed_in(people["esi_manager"])
    page = client.get("/designations/ledger/METI/").content.decode()
    assert 'id="ledger-prepare-pdf"' in page and 'id="ledger-pdf"' not in page
    direct = client.get("/designations/ledger/METI/ledger.pdf", follow=True)
    assert "「PDFを準備」" in direct.content.decode() or "Prepare PDF" in direct.content.decode()
    assert not entries("designation.ledger_exported")

    response = client.post("/designations/ledger/METI/prepare/pdf/")
    prepared = PreparedLedger.objects.get()
    assert response["Location"] == f"/designations/ledger/METI/prepared/{prepared.pk}/"
    waiting = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and 'id="prepared-waiting"' in waiting
    assert DBTaskResult.objects.get().args_kwargs == {"args": [prepared.pk], "kwargs": {}}  # an id, nothing else

    assert tasks.run_ready() == 1
    ready = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in ready and 'id="prepared-download"' in ready
    body = client.get(f"/designations/ledger/METI/prepared/{prepared.pk}/download/")
    assert body["Content-Type"] == "application/pdf"
    text = pdf_text(body.content)
    assert "発電設備の防護計画に関する情報" in text and "送電網の制御系統に関する情報" in text
    assert entries("designation.ledger_requested")[-1]["details"] == {"organisation": "METI", "format": "pdf",
                                                                    "prepared": prepared.pk}
    assert entries("designation.ledger_prepared")[-1]["details"] == {"prepared": prepared.pk, "outcome": "ready",
                                                                   "format": "pdf", "rows": 2}
    assert entries("designation.ledger_exported")[-1]["details"] == {"organisation": "METI", "format": "pdf",
                                                                   "rows": 2, "prepared": prepared.pk}


def test_the_prepared_file_is_ciphertext_at_rest(large, meti, orgs):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    tasks.run_ready()
    raw = PreparedLedger.objects.filter(pk=prepared.pk).values_list("body", flat=True).get()
    assert b"%PDF" not in raw.ciphertext and b"JVBER" not in raw.ciphertext  # neither the PDF nor its base64


def test_a_small_ledger_keeps_its_pdf_on_the_spot(make_designation, people, signed_in):
    make_designation()
    page = signed_in(people["esi_manager"]).get("/designations/ledger/METI/").content.decode()
    assert 'id="ledger-pdf"' in page and 'id="ledger-prepare-pdf"' not in page


def test_the_wrong_role_cannot_ask_for_a_ledger_file_and_nothing_is_queued(large, people, signed_in):
    response = signed_in(people["business_officer"]).post("/designations/ledger/METI/prepare/pdf/")
    assert response.status_code in (403, 404)
    assert not PreparedLedger.objects.exists() and not DBTaskResult.objects.exists()


def test_only_the_requester_in_the_same_role_may_see_or_download_a_ledger_file(large, meti, orgs, people, signed_in):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    tasks.run_ready()
    other = meti["manager2"].account
    client = signed_in(other)
    assert client.get(f"/designations/ledger/METI/prepared/{prepared.pk}/").status_code == 404
    assert client.get(f"/designations/ledger/METI/prepared/{prepared.pk}/download/").status_code == 404
    assert Client().get(f"{API}/prepared/{prepared.pk}/file", **auth(other)).status_code == 404
    from hozen.access.policy import PolicyDenied

    with pytest.raises(PolicyDenied) as denied:
        export_services.download_prepared(actor=meti["manager2"], prepared=prepared)
    assert denied.value.decision.code == "not_your_prepared_ledger"
    assert not entries("designation.ledger_exported")


def test_a_role_revoked_before_the_task_runs_fails_the_file(large, meti, orgs):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    core_services.revoke_role(actor=Actor.operator("test"), assignment=meti["manager"].assignment)
    tasks.run_ready()
    prepared.refresh_from_db()
    assert (prepared.status, prepared.failure, prepared.body) == ("failed", "role_ended", None)
    assert entries("designation.ledger_prepared")[-1]["details"] == {"prepared": prepared.pk, "outcome": "failed",
                                                                   "reason": "role_ended"}


def test_a_task_run_twice_builds_the_file_once(large, meti, orgs):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    assert export_services.build_prepared(prepared.pk) == "ready"
    assert export_services.build_prepared(prepared.pk) == "ready"  # a worker killed after the commit
    assert len(entries("designation.ledger_prepared")) == 1


def test_a_file_not_ready_is_refused_with_a_clear_message_and_nothing_recorded(large, meti, orgs, people, signed_in):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    response = signed_in(people["esi_manager"]).get(f"/designations/ledger/METI/prepared/{prepared.pk}/download/",
                                                    follow=True)
    assert "受け取れる状態にありません" in response.content.decode()
    assert not entries("designation.ledger_exported")


def test_a_ledger_file_expires_after_24_hours_and_its_key_is_destroyed(large, meti, orgs, _frozen_today):
    prepared = export_services.request_ledger(actor=meti["manager"], organisation=orgs["METI"], fmt="pdf")
    tasks.run_ready()
    _frozen_today.shift(dt.timedelta(hours=23))
    assert expire_prepared_ledgers(actor=Actor.job("designation.prepared_ledger_expiry")) == {"expired": 0}
    export_services.download_prepared(actor=meti["manager"], prepared=prepared)  # still kept
    _frozen_today.shift(dt.timedelta(hours=1))
    assert expire_prepared_ledgers(actor=Actor.job("designation.prepared_ledger_expiry")) == {"expired": 1}
    prepared.refresh_from_db()
    assert prepared.status == "expired"
    assert DataKey.objects.get(pk=prepared.data_key_id).destroyed_at is not None
    from hozen.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        export_services.download_prepared(actor=meti["manager"], prepared=prepared)
    assert refused.value.code == "prepared_ledger_not_ready"


def test_a_ledger_file_over_the_api(large, people):
    headers = auth(people["esi_manager"])
    asked = Client().post(f"{API}/prepared", {"format": "pdf"}, content_type="application/json", **headers)
    assert asked.status_code == 202, asked.content
    body = asked.json()
    assert (body["status"], body["format"], body["rows"]) == ("queued", "pdf", None)
    not_yet = Client().get(f"{API}/prepared/{body['id']}/file", **headers)
    assert (not_yet.status_code, not_yet.json()["code"]) == (422, "prepared_ledger_not_ready")
    tasks.run_ready()
    status = Client().get(f"{API}/prepared/{body['id']}", **headers).json()
    assert (status["status"], status["rows"]) == ("ready", 2)
    file = Client().get(f"{API}/prepared/{body['id']}/file", **headers)
    assert file.status_code == 200 and file.content.startswith(b"%PDF")
    direct = Client().get(f"{API}/ledger.pdf", **headers)
    assert (direct.status_code, direct.json()["code"]) == (422, "ledger_too_large")


@pytest.mark.parametrize("payload", [{"format": "docx"}, {"format": "pdf", "extra": 1}, {"format": None}])
def test_a_malformed_ledger_file_request_is_refused_and_queues_nothing(large, people, payload):
    response = Client().post(f"{API}/prepared", payload, content_type="application/json",
                             **auth(people["esi_manager"]))
    assert response.status_code == 422
    assert not PreparedLedger.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_requests_for_a_ledger_file_at_once_each_get_their_own_file_built_once(people, orgs):
    token = factories.api_token(people["esi_manager"])
    outcomes = race(*[lambda: Client().post(f"{API}/prepared", {"format": "csv"}, content_type="application/json",
                                            HTTP_AUTHORIZATION=f"Bearer {token}") for _ in range(2)])
    assert [o.status for o in outcomes] == [202, 202]
    race(lambda: tasks.run_ready(wid="a"), lambda: tasks.run_ready(wid="b"))
    assert sorted(PreparedLedger.objects.values_list("status", flat=True)) == ["ready", "ready"]
    assert len(entries("designation.ledger_requested")) == 2 and len(entries("designation.ledger_prepared")) == 2
