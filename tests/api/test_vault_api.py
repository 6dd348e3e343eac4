"""The vault API: personas per endpoint; a denied read answers exactly like a missing document."""
# ruff: noqa: F811  (the vault fixtures are imported below and then requested by name)

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from hozen.audit.models import AuditEntry
from hozen.vault.models import Copy, Document
from tests import factories

# The vault's fixtures, for this module only (frozen time, a designation, cleared handlers, PDFs).
from tests.vault.conftest import (  # noqa: E402,F401
    _frozen_today,
    _vault_folder,
    cleared,
    designation,
    draft_fields,
    handler,
    make_designation,
    meti,
    pdf_bytes,
    upload_pdf,
)

BASE = "/api/v1/vault"


def _auth(actor) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {factories.api_token(actor.account, actor.assignment)}"}


@pytest.fixture
def doc(upload_pdf):
    return upload_pdf().document


def test_no_token_is_401(client, doc):
    assert client.get(f"{BASE}/documents/{doc.pk}").status_code == 401
    assert client.post(f"{BASE}/documents/{doc.pk}/download").status_code == 401


def test_handler_uploads_lists_and_downloads_a_marked_copy(client, handler, designation, pdf_bytes):
    auth = _auth(handler)
    response = client.post(f"{BASE}/designations/{designation.pk}/documents",
                           {"title": "防護計画書", "file": SimpleUploadedFile("plan.pdf", pdf_bytes, "application/pdf")},
                           **auth)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["marking"] == "重要経済安保情報" and body["versions"][0]["pages"] == 3
    listed = client.get(f"{BASE}/designations/{designation.pk}/documents", **auth).json()
    assert [d["id"] for d in listed] == [body["id"]]
    download = client.post(f"{BASE}/documents/{body['id']}/download", **auth)
    assert download.status_code == 200 and download["X-Hozen-Copy"] == "1"
    data = b"".join(download.streaming_content)
    assert all("重要経済安保情報" in p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert AuditEntry.objects.filter(action="vault.document.downloaded").count() == 1


def test_outsider_gets_the_same_404_for_an_existing_and_a_missing_document(client, meti, doc):
    auth = _auth(meti["manager"])
    for path in (f"/documents/{doc.pk}", f"/documents/{doc.pk}/download", f"/documents/{doc.pk}/view"):
        method = client.get if path.count("/") == 2 else client.post
        existing = method(BASE + path, **auth)
        missing = method(BASE + path.replace(str(doc.pk), "987654"), **auth)
        assert existing.status_code == missing.status_code == 404
        assert existing.json() == missing.json()
    assert not Copy.objects.exists()
    assert AuditEntry.objects.filter(action="vault.document.read", outcome="denied",
                                     target_id=str(doc.pk)).count() == 3


def test_wrong_role_for_custody_is_403_for_a_visible_designation(client, meti, doc):
    response = client.get(f"{BASE}/designations/{doc.designation_id}/custody", **_auth(meti["sysadmin"]))
    assert response.status_code == 404  # the sysadmin cannot even see the designation
    ok = client.get(f"{BASE}/designations/{doc.designation_id}/custody", **_auth(meti["security"]))
    assert ok.status_code == 200 and ok.json() == []


def test_upload_too_large_is_422_naming_the_file(settings, client, handler, designation):
    settings.HOZEN_VAULT_MAX_BYTES = 4
    response = client.post(f"{BASE}/designations/{designation.pk}/documents",
                           {"title": "t", "file": SimpleUploadedFile("a.txt", b"0123456789")}, **_auth(handler))
    assert response.status_code == 422
    assert response.json()["code"] == "file_too_large" and response.json()["field"] == "file"
    assert not Document.objects.exists()


def test_custody_over_the_api_return_transfer_destroy(client, handler, designation, cleared, meti, doc):
    auth = _auth(handler)
    first = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    second = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    assert [c["id"] for c in client.get(f"{BASE}/open-items", **auth).json()] == [int(first), int(second)]
    colleague = cleared(designation)
    moved = client.post(f"{BASE}/copies/{first}/transfer", {"to": colleague.account.username},
                        content_type="application/json", **auth)
    assert moved.status_code == 200 and moved.json()["custodian"] == colleague.account.person.full_name
    # The old holder no longer holds it; the new one returns it.
    assert client.post(f"{BASE}/copies/{first}/return", **auth).status_code in (403, 404)
    assert client.post(f"{BASE}/copies/{first}/return", **_auth(colleague)).json()["state"] == "returned"
    bad = client.post(f"{BASE}/copies/{second}/destroy", {"witness": "nobody-here", "method": "shredded"},
                      content_type="application/json", **auth)
    assert bad.status_code == 422 and bad.json()["field"] == "witness"
    done = client.post(f"{BASE}/copies/{second}/destroy",
                       {"witness": meti["security"].account.username, "method": "shredded"},
                       content_type="application/json", **auth)
    assert done.status_code == 200 and done.json()["events"][-1]["witness"] == meti["security"].account.person.full_name
    assert client.get(f"{BASE}/open-items", **auth).json() == []


def test_transfer_to_someone_without_need_to_know_is_refused(client, handler, meti, doc):
    auth = _auth(handler)
    copy_id = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    response = client.post(f"{BASE}/copies/{copy_id}/transfer", {"to": meti["manager"].account.username},
                           content_type="application/json", **auth)
    assert response.status_code == 422 and response.json()["code"] == "recipient_not_cleared"
    assert Copy.objects.get(pk=copy_id).holder_id == handler.account.pk


def test_a_transfer_to_an_unknown_name_is_answered_as_one_to_someone_not_cleared(client, handler, meti, doc):
    """No existence oracle (issue 12 §8): the answer never tells the holder whether a user name exists."""
    auth = _auth(handler)
    copy_id = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    answers = [client.post(f"{BASE}/copies/{copy_id}/transfer", {"to": name}, content_type="application/json", **auth)
               for name in ("no.such.person", meti["manager"].account.username)]
    assert [r.status_code for r in answers] == [422, 422]
    assert answers[0].json() == answers[1].json() and answers[0].json()["code"] == "recipient_not_cleared"
    assert Copy.objects.get(pk=copy_id).holder_id == handler.account.pk


def test_trace_over_the_api(client, handler, meti, doc):
    data = b"".join(client.post(f"{BASE}/documents/{doc.pk}/download", **_auth(handler)).streaming_content)
    result = client.post(f"{BASE}/trace", {"file": SimpleUploadedFile("found.pdf", data)}, **_auth(meti["security"]))
    assert result.status_code == 200 and result.json()["matches"][0]["issued"]["number"] == 1
    assert client.post(f"{BASE}/trace", {"file": SimpleUploadedFile("found.pdf", data)},
                       **_auth(handler)).status_code == 403


def test_unknown_fields_are_refused(client, handler, doc):
    auth = _auth(handler)
    copy_id = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    response = client.post(f"{BASE}/copies/{copy_id}/media", {"medium": "paper", "holder": 1},
                           content_type="application/json", **auth)
    assert response.status_code == 422


def test_a_closed_copy_is_refused_as_a_rule_with_its_code_and_nothing_is_written(client, handler, meti, doc):
    """Two people recording the same copy: the second is told it is already closed (422), never a
    silent second record."""
    auth = _auth(handler)
    copy_id = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    assert client.post(f"{BASE}/copies/{copy_id}/return", **_auth(meti["security"])).status_code == 200
    for path, body in ((f"{BASE}/copies/{copy_id}/return", None),
                       (f"{BASE}/copies/{copy_id}/destroy", {"witness": meti["security"].account.username,
                                                             "method": "shredded"}),
                       (f"{BASE}/copies/{copy_id}/media", {"medium": "paper"})):
        response = client.post(path, body, content_type="application/json", **auth) if body else client.post(
            path, **auth)
        assert response.status_code == 422 and response.json()["code"] == "copy_closed", response.content
    assert Copy.objects.count() == 1 and Copy.objects.get().state == "returned"
    assert AuditEntry.objects.filter(action__startswith="vault.copy.", outcome="success").count() == 1


def test_after_the_term_end_nothing_is_uploaded_or_handed_on_before_the_expiry_job(client, handler, designation,
                                                                                  cleared, doc, _frozen_today):
    import datetime as dt

    auth = _auth(handler)
    colleague = cleared(designation)
    copy_id = client.post(f"{BASE}/documents/{doc.pk}/download", **auth)["X-Hozen-Copy-Id"]
    _frozen_today.move_to(dt.datetime(2031, 6, 1, 3, 0, tzinfo=dt.UTC))  # term end 2031-05-31; no job
    from hozen.handling import services as handling

    handling.acknowledge_briefing(actor=handler)  # still a valid handler of the ended material
    auth = _auth(handler)  # a token made today
    upload = client.post(f"{BASE}/designations/{designation.pk}/documents",
                         {"title": "追加", "file": SimpleUploadedFile("a.txt", b"x")}, **auth)
    assert upload.status_code == 403 and upload.json()["code"] == "designation_not_in_force"
    version = client.post(f"{BASE}/documents/{doc.pk}/versions", {"file": SimpleUploadedFile("a.txt", b"x")}, **auth)
    assert version.status_code == 403 and version.json()["code"] == "designation_not_in_force"
    moved = client.post(f"{BASE}/copies/{copy_id}/transfer", {"to": colleague.account.username},
                        content_type="application/json", **auth)
    assert moved.status_code == 422 and moved.json()["code"] == "designation_not_in_force"
    assert Document.objects.count() == 1 and doc.versions.count() == 1
    assert Copy.objects.get(pk=copy_id).holder_id == handler.account.pk
