"""The vault's screens: documents list, upload, view, download, custody, open items, trace."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from hozen.audit.models import AuditEntry
from hozen.vault.models import Copy, Document


def _client(signed_in, actor):
    return signed_in(actor.account, actor.assignment)


def test_handler_uploads_then_downloads_a_marked_pdf(signed_in, handler, designation, pdf_bytes):
    client = _client(signed_in, handler)
    page = client.get(f"/vault/designations/{designation.pk}/")
    assert page.status_code == 200 and "重要経済安保情報" in page.content.decode()
    response = client.post(f"/vault/designations/{designation.pk}/upload/",
                           {"title": "防護計画書", "file": SimpleUploadedFile("plan.pdf", pdf_bytes, "application/pdf")})
    doc = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/vault/documents/{doc.pk}/"
    detail = client.get(f"/vault/documents/{doc.pk}/").content.decode()
    assert "防護計画書" in detail and doc.versions.get().sha256 in detail
    download = client.post(f"/vault/documents/{doc.pk}/download/", {"version": "1"})
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    data = b"".join(download.streaming_content)
    assert all("重要経済安保情報" in p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    view = client.post(f"/vault/documents/{doc.pk}/view/")
    assert view.status_code == 200 and view["Content-Disposition"].startswith("inline;")
    assert list(Copy.objects.order_by("number").values_list("number", "kind")) == [(1, "download"), (2, "view")]


def test_download_by_get_is_refused(signed_in, handler, upload_pdf):
    version = upload_pdf()
    client = _client(signed_in, handler)
    assert client.get(f"/vault/documents/{version.document_id}/download/").status_code == 405
    assert not Copy.objects.exists()


def test_upload_error_is_shown_beside_the_file_field(settings, signed_in, handler, designation):
    settings.HOZEN_VAULT_MAX_BYTES = 10
    client = _client(signed_in, handler)
    response = client.post(f"/vault/designations/{designation.pk}/upload/",
                           {"title": "t", "file": SimpleUploadedFile("a.txt", b"x" * 50, "text/plain")})
    assert response.status_code == 422
    assert "ファイルが大きすぎます。上限は10 bytesです。" in response.content.decode()
    assert not Document.objects.exists()


def test_colleague_without_need_to_know_gets_the_same_404_as_for_a_missing_document(signed_in, meti, upload_pdf):
    version = upload_pdf()
    client = _client(signed_in, meti["manager"])  # same organ, same designation visible, not on the list
    missing = client.post("/vault/documents/999999/download/")
    existing = client.post(f"/vault/documents/{version.document_id}/download/")
    assert existing.status_code == missing.status_code == 404
    assert existing.content == missing.content
    assert client.get(f"/vault/documents/{version.document_id}/").status_code == 404
    assert client.get(f"/vault/designations/{version.document.designation_id}/").status_code == 404
    denied = AuditEntry.objects.filter(outcome="denied", action="vault.document.read")
    assert denied.filter(target_id=str(version.document_id)).exists()
    assert denied.filter(target_id="999999").exists()
    assert not Copy.objects.exists()


def test_handler_whose_clearance_expired_is_refused_with_the_reason(signed_in, designation, cleared, upload_pdf,
                                                                    _frozen_today):
    import datetime as dt

    reader = cleared(designation, valid_until=dt.date(2026, 6, 30))
    version = upload_pdf()
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    client = _client(signed_in, reader)
    response = client.post(f"/vault/documents/{version.document_id}/download/")
    assert response.status_code == 403
    assert "適性評価" in response.content.decode()
    assert AuditEntry.objects.filter(action="vault.document.read", outcome="denied").count() == 1


def test_custody_screens_return_and_destroy_with_a_witness(signed_in, handler, meti, upload_pdf):
    version = upload_pdf()
    client = _client(signed_in, handler)
    client.post(f"/vault/documents/{version.document_id}/download/")
    client.post(f"/vault/documents/{version.document_id}/download/")
    first, second = Copy.objects.order_by("number")
    items = client.get("/vault/open-items/").content.decode()
    assert f"/vault/copies/{first.pk}/" in items and f"/vault/copies/{second.pk}/" in items
    assert client.post(f"/vault/copies/{first.pk}/", {"action": "return"}).status_code == 302
    refused = client.post(f"/vault/copies/{second.pk}/", {"action": "destroy", "destroy-method": "シュレッダー",
                                                          "destroy-witness": handler.account.username})
    assert refused.status_code == 422 and "立会人は廃棄する本人以外" in refused.content.decode()
    witness = meti["security"].account
    entered = {"action": "destroy", "destroy-method": "シュレッダー（クロスカット）", "destroy-witness": witness.username}
    review = client.post(f"/vault/copies/{second.pk}/", entered)  # issue 15: the review first, nothing recorded
    assert review.status_code == 200 and 'id="destruction-review"' in review.content.decode()
    reviewed = re.search(r'name="reviewed" value="([^"]+)"', review.content.decode()).group(1)
    done = client.post(f"/vault/copies/{second.pk}/", {**entered, "step": "confirm", "reviewed": reviewed})
    assert done.status_code == 302
    items = client.get("/vault/open-items/").content.decode()
    assert f"/vault/copies/{first.pk}/" not in items and f"/vault/copies/{second.pk}/" not in items
    registry = _client(signed_in, meti["security"])
    custody = registry.get(f"/vault/designations/{version.document.designation_id}/custody/").content.decode()
    counts = re.search(r'<p id="custody-counts">(.*?)</p>', custody).group(1)
    assert re.findall(r"\d+", counts) == ["2", "0"]  # two issued, none open (in either language)
    assert witness.person.full_name in custody


def test_custody_records_are_the_registrys_not_a_handlers(signed_in, handler, upload_pdf, meti):
    version = upload_pdf()
    client = _client(signed_in, handler)
    assert client.get(f"/vault/designations/{version.document.designation_id}/custody/").status_code == 404
    mic = _client(signed_in, meti["head_mic"])
    assert mic.get(f"/vault/designations/{version.document.designation_id}/custody/").status_code == 404


def test_trace_screen_names_the_copy(signed_in, handler, meti, upload_pdf):
    version = upload_pdf()
    client = _client(signed_in, handler)
    data = b"".join(client.post(f"/vault/documents/{version.document_id}/download/").streaming_content)
    copy = Copy.objects.get()
    registry = _client(signed_in, meti["security"])
    page = registry.post("/vault/trace/", {"file": SimpleUploadedFile("found.pdf", data, "application/pdf")})
    assert page.status_code == 200 and f"/vault/copies/{copy.pk}/" in page.content.decode()
    # Where it was found, in the person's language (Japanese by default): never stamping's English names.
    found_in = re.search(r"<dd>([^<]*)</dd>\s*</dl>", page.content.decode()).group(1)
    assert "ファイル全体（SHA-256）" in found_in and "1ページ" in found_in
    assert "page" not in found_in and "whole file" not in found_in
    assert client.get("/vault/trace/").status_code == 403  # a handler is not the registry


@pytest.mark.parametrize(("place", "ja", "en"), [
    ("page 3", "3ページ", "page 3"),
    ("XMP metadata", "XMPメタデータ", "XMP metadata"),
    ("document information", "文書情報", "document information"),
    ("ZIP comment", "ZIPコメント", "ZIP comment"),
    ("whole file (SHA-256)", "ファイル全体（SHA-256）", "the whole file (SHA-256)"),
    ("報告書.pdf: page 2", "報告書.pdf: 2ページ", "報告書.pdf: page 2"),
    ("something new", "something new", "something new"),
])
def test_trace_places_are_shown_in_the_persons_language(place, ja, en):
    from django.utils import translation

    from hozen.vault.trace import place_label

    with translation.override("ja"):
        assert place_label(place) == ja
    with translation.override("en"):
        assert place_label(place) == en


def test_anonymous_is_sent_to_sign_in(client, upload_pdf):
    version = upload_pdf()
    response = client.post(f"/vault/documents/{version.document_id}/download/")
    assert response.status_code == 302 and "/signin/" in response["Location"]


def test_english_screens(signed_in, handler, upload_pdf):
    version = upload_pdf()
    handler.account.language = "en"
    handler.account.save(update_fields=["language"])
    page = _client(signed_in, handler).get(f"/vault/documents/{version.document_id}/").content.decode()
    assert "Versions" in page


def test_vault_index_lists_the_designations_a_handler_may_handle_even_without_documents(signed_in, handler,
                                                                                        designation, meti):
    page = _client(signed_in, handler).get("/vault/").content.decode()
    assert f"/vault/designations/{designation.pk}/" in page
    other = _client(signed_in, meti["manager"]).get("/vault/").content.decode()
    assert f"/vault/designations/{designation.pk}/" not in other


def test_list_pages_do_not_grow_queries_with_rows(signed_in, handler, designation, upload_pdf):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hozen.vault import services

    client = _client(signed_in, handler)

    def counts():
        out = []
        for url in (f"/vault/designations/{designation.pk}/", "/vault/open-items/", "/vault/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    version = upload_pdf()
    services.deliver(actor=handler, version=version, kind="download").close()
    one = counts()
    for _ in range(4):
        v = upload_pdf()
        services.deliver(actor=handler, version=v, kind="download").close()
    assert counts() == one


def test_the_vault_is_in_an_assessed_persons_menu_only_when_they_are_on_a_handler_list(signed_in, handler, orgs):
    from tests import factories

    def menu(client) -> str:
        page = client.get("/dashboard/").content.decode()
        return page[page.index('class="main-nav"'):page.index("</nav>")]

    listed = menu(_client(signed_in, handler))
    assert 'href="/vault/"' in listed
    stranger = factories.account(role="subject", organisation=orgs["METI"])
    assert "/vault/" not in menu(signed_in(stranger))  # nothing there for them: no link to a refusal
