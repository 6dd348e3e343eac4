"""The ledger's fields (DOMAIN §2: summary, the three justifications, the rules version, the
correction requests with their answers, "to verify" flags) on the screen, in the CSV and the PDF;
and the API's files (ledger CSV/PDF, 指定書 PDF) and the due-reviews list under the screens' policy,
audited as the screens audit them."""

from __future__ import annotations

import datetime as dt
import io
import json

import pypdf
import pytest
from django.test import Client

from hozen.audit.models import AuditEntry
from hozen.designation import services
from tests import factories

pytestmark = pytest.mark.django_db

API = "/api/v1/designations"


def pdf_text(body: bytes) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages).replace("\n", "")


def last_audit(action: str) -> dict:
    return json.loads(AuditEntry.objects.filter(action=action).order_by("-id").first().data)


def auth(people, who) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(people[who])}"}


@pytest.fixture
def ledger(make_designation, meti):
    d = make_designation(summary="発電設備の防護措置計画の概要")
    c = services.request_correction(actor=meti["oversight"], designation=d, kind="amend",
                                    request="管理簿の記載の訂正を求める。")
    services.answer_correction(actor=meti["head"], correction=c, answer="記載を訂正した旨回答する。")
    return d


def test_the_ledger_pdf_carries_summary_justifications_rules_version_corrections_and_flags(ledger, people):
    response = Client().get(f"{API}/ledger/METI/ledger.pdf", **auth(people, "oversight"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("発電設備の防護措置計画の概要", ledger.justification_category[:12],
                     ledger.justification_not_public[:12], ledger.justification_harm[:12], "jp-esi-2025 v1",
                     "管理簿の記載の訂正を求める。", "記載を訂正した旨回答する。", "要確認事項"):
        assert expected in text, expected
    assert last_audit("designation.ledger_exported")["details"] == {"organisation": "METI", "format": "pdf",
                                                                    "rows": 1}


def test_the_ledger_screen_shows_the_fields_the_correction_texts_and_the_to_verify_flags(ledger, people, signed_in):
    page = signed_in(people["oversight"]).get("/designations/ledger/METI/").content.decode()
    for expected in ("発電設備の防護措置計画の概要", ledger.justification_harm, "管理簿の記載の訂正を求める。",
                     "記載を訂正した旨回答する。", 'class="to-verify"'):
        assert expected in page, expected


def test_a_sub_item_awaiting_confirmation_is_flagged_on_the_ledger_and_the_list(make_designation, esi_pack, people,
                                                                              signed_in):
    item = esi_pack.sub_items.select_related("category").filter(status="awaiting_confirmation").first()
    d = make_designation(category=item.category, sub_item=item)
    client = signed_in(people["esi_manager"])
    ledger_page = client.get("/designations/ledger/METI/").content.decode()
    assert f"細目 {item.code} は運用基準との照合待ちです" in ledger_page
    list_page = client.get("/designations/").content.decode()
    assert f'id="to-verify-{d.pk}"' in list_page
    csv_body = client.get("/designations/ledger/METI/ledger.csv").content.decode("utf-8-sig")
    assert f"細目 {item.code} は運用基準との照合待ちです" in csv_body


def test_ledger_csv_over_the_api_is_the_screens_file_and_is_audited(ledger, people):
    response = Client().get(f"{API}/ledger/METI/ledger.csv", **auth(people, "organ_head"))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert "記載を訂正した旨回答する。" in response.content.decode("utf-8-sig")
    assert last_audit("designation.ledger_exported")["details"]["format"] == "csv"


@pytest.mark.parametrize("path", ["ledger/METI/ledger.csv", "ledger/METI/ledger.pdf"])
def test_ledger_files_over_the_api_are_refused_as_on_the_screen(ledger, people, orgs, path):
    assert Client().get(f"{API}/{path}", **auth(people, "auditor")).status_code == 403
    head_mic = factories.account(role="organ_head", organisation=orgs["MIC"])
    other = {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(head_mic)}"}
    assert Client().get(f"{API}/{path}", **other).status_code == 404
    assert Client().get(f"{API}/{path}").status_code == 401
    assert not AuditEntry.objects.filter(action="designation.ledger_exported", outcome="success").exists()


def test_the_designation_document_over_the_api_is_a_pdf_and_audited(ledger, people, meti, orgs, draft_fields):
    response = Client().get(f"{API}/{ledger.pk}/document.pdf", **auth(people, "esi_manager"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert f"指定書\u3000{ledger.reference}" in pdf_text(response.content)
    assert last_audit("designation.document_exported")["details"]["reference"] == ledger.reference
    draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **draft_fields)
    refused = Client().get(f"{API}/{draft.pk}/document.pdf", **auth(people, "esi_manager"))
    assert refused.status_code == 422 and refused.json()["code"] == "not_designated"
    assert Client().get(f"{API}/{ledger.pk}/document.pdf", **auth(people, "business_officer")).status_code == 404


def test_reviews_due_over_the_api(make_designation, people, _frozen_today):
    d = make_designation()
    assert Client().get(f"{API}/reviews-due", **auth(people, "esi_manager")).json()["total"] == 0
    _frozen_today.move_to(dt.datetime(2027, 6, 5, 3, 0, tzinfo=dt.UTC))
    body = Client().get(f"{API}/reviews-due", **auth(people, "esi_manager")).json()
    assert body["total"] == 1 and body["items"][0]["id"] == d.pk and body["items"][0]["overdue"] is True
    assert Client().get(f"{API}/reviews-due", **auth(people, "business_officer")).json()["total"] == 0
    assert Client().get(f"{API}/reviews-due?within_days=-1", **auth(people, "esi_manager")).status_code == 422


def test_the_new_endpoints_are_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/designations/ledger/{organisation}/ledger.csv",
                 "/api/v1/designations/ledger/{organisation}/ledger.pdf",
                 "/api/v1/designations/{designation_id}/document.pdf",
                 "/api/v1/designations/{designation_id}/refused-approval",
                 "/api/v1/designations/statistics", "/api/v1/designations/reviews-due"):
        assert path in paths, path
