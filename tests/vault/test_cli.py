"""`hozen vault trace FILE` and `hozen vault list`."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader, PdfWriter

from hozen.audit.models import AuditEntry
from hozen.cli import main
from hozen.vault import services
from tests.vault.conftest import make_pdf


def _leak(handler, version, tmp_path, keep=(1, 3)):
    delivery = services.deliver(actor=handler, version=version, kind="download")
    data = delivery.file.read()
    delivery.close()
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    for index in keep:
        writer.add_page(reader.pages[index])
    path = tmp_path / "found.pdf"
    with path.open("wb") as out:
        writer.write(out)
    return delivery.copy, path


def test_trace_names_the_copy_of_a_leak_with_pages_removed(capsys, tmp_path, upload_pdf, handler):
    version = upload_pdf(data=make_pdf(5))
    services.deliver(actor=handler, version=version, kind="download").close()
    copy, path = _leak(handler, version, tmp_path)
    assert main(["vault", "trace", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"copy {copy.number} (id {copy.pk})" in out
    assert handler.account.person.full_name in out and "found in: page 1, page 2" in out
    assert AuditEntry.objects.filter(action="vault.copy.traced").count() == 1


def test_trace_json_and_exit_1_when_nothing_matches(capsys, tmp_path, upload_pdf, handler):
    version = upload_pdf()
    copy, path = _leak(handler, version, tmp_path, keep=(0,))
    assert main(["vault", "trace", str(path), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["matches"][0]["copy_id"] == copy.pk and body["pages"] == 1
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(make_pdf(1))
    assert main(["vault", "trace", str(plain)]) == 1
    assert "no copy identified" in capsys.readouterr().out


def test_trace_of_a_missing_file_is_one_readable_line(capsys, tmp_path):
    assert main(["vault", "trace", str(tmp_path / "nope.pdf")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hozen: error: cannot read") and err.count("\n") == 1


def test_trace_as_a_handler_is_refused(capsys, tmp_path, upload_pdf, handler):
    version = upload_pdf()
    _, path = _leak(handler, version, tmp_path, keep=(0,))
    assert main(["vault", "trace", str(path), "--as", handler.account.username]) == 1
    assert "refused" in capsys.readouterr().err


def test_list_as_operator_shows_no_titles(capsys, upload_pdf, handler):
    upload_pdf(title="秘匿すべき件名")
    assert main(["vault", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and "title" not in rows[0] and rows[0]["versions"] == 1
    assert "秘匿すべき件名" not in json.dumps(rows, ensure_ascii=False)


def test_list_as_a_handler_shows_what_they_may_read(capsys, upload_pdf, handler, meti):
    upload_pdf(title="防護計画書")
    assert main(["vault", "list", "--as", handler.account.username]) == 0
    assert "防護計画書" in capsys.readouterr().out
    assert main(["vault", "list", "--as", meti["manager"].account.username]) == 0
    assert capsys.readouterr().out.strip() == "no documents"
