"""Uploads: encrypted under each version's own data key, versions, checksums, limits, all or nothing."""

from __future__ import annotations

import hashlib
import io

import pytest

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.crypto.models import DataKey
from hozen.vault import blobs, services
from hozen.vault.models import Document, DocumentVersion


def _stored_files(folder):
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_upload_stores_only_ciphertext_under_the_versions_own_data_key(upload_pdf, pdf_bytes, _vault_folder):
    version = upload_pdf()
    files = _stored_files(_vault_folder)
    assert len(files) == 1
    stored = files[0].read_bytes()
    assert pdf_bytes[:200] not in stored and b"%PDF" not in stored
    assert files[0].name == f"{version.crypto_id}.hzv"  # named by random id, never by title or file name
    assert version.data_key_id is not None
    assert DataKey.objects.filter(subject_uuid=version.crypto_id).count() == 1
    assert version.sha256 == hashlib.sha256(pdf_bytes).hexdigest()
    assert version.size == len(pdf_bytes) and version.is_pdf and version.pages == 3
    with blobs.open_plaintext(version) as plain:
        assert plain.read() == pdf_bytes


def test_upload_is_audited_with_checksum_not_title(upload_pdf):
    version = upload_pdf(title="極秘の件名")
    entry = AuditEntry.objects.filter(action="vault.document.uploaded").get()
    assert version.sha256 in entry.data and "極秘の件名" not in entry.data


def test_each_version_has_its_own_data_key_and_number(upload_pdf, handler):
    v1 = upload_pdf()
    v2 = services.upload(actor=handler, document=v1.document, source=io.BytesIO(b"second version"),
                         filename="notes.txt", content_type="text/plain")
    assert (v1.number, v2.number) == (1, 2)
    assert v1.data_key_id != v2.data_key_id
    assert not v2.is_pdf and v2.content_type == "text/plain"
    assert Document.objects.count() == 1 and v1.document.versions.count() == 2


def test_file_over_the_size_limit_is_refused_with_the_limit_named(settings, upload_pdf, _vault_folder):
    settings.HOZEN_VAULT_MAX_BYTES = 1024
    with pytest.raises(RuleViolation) as exc:
        upload_pdf(data=b"%PDF-1.4\n" + b"x" * 2000)
    assert exc.value.code == "file_too_large" and exc.value.field == "file"
    assert "1,024 bytes" in exc.value.message_en and "上限" in exc.value.message_ja
    assert not Document.objects.exists() and not _stored_files(_vault_folder)


def test_size_limit_holds_when_the_declared_size_lies(settings, handler, designation, _vault_folder):
    settings.HOZEN_VAULT_MAX_BYTES = 1000
    with pytest.raises(RuleViolation) as exc:
        services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b"a" * 5000),
                        filename="a.bin", declared_size=10)
    assert exc.value.code == "file_too_large"
    assert not DocumentVersion.objects.exists() and not DataKey.objects.filter(owner__startswith="vault.").exists()
    assert not _stored_files(_vault_folder)


def test_empty_file_and_missing_title_are_refused(handler, designation):
    with pytest.raises(RuleViolation) as exc:
        services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b""), filename="a.txt")
    assert exc.value.code == "empty_file"
    with pytest.raises(RuleViolation) as exc:
        services.upload(actor=handler, designation=designation, title="  ", source=io.BytesIO(b"x"), filename="a.txt")
    assert exc.value.code == "text_required" and exc.value.field == "title"  # the one text policy (issue 12)
    assert not Document.objects.exists()


def test_a_pdf_that_cannot_carry_its_marking_is_refused(upload_pdf):
    with pytest.raises(RuleViolation) as exc:
        upload_pdf(data=b"%PDF-1.7\nthis is not really a pdf", filename="broken.pdf")
    assert exc.value.code == "unreadable_pdf"
    assert not Document.objects.exists()


def test_upload_failing_half_way_leaves_no_row_no_key_and_no_stored_object(monkeypatch, upload_pdf, _vault_folder):
    from hozen import audit

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", broken)  # fails after the ciphertext was stored
    with pytest.raises(RuntimeError):
        upload_pdf()
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert not DataKey.objects.filter(owner__startswith="vault.").exists()
    assert not _stored_files(_vault_folder)


def test_file_names_lose_folders(handler, designation):
    version = services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b"x"),
                              filename="../../etc/passwd.txt")
    assert version.filename == "passwd.txt"


@pytest.mark.parametrize(("filename", "position"), [("\x00pass\nwd.txt", 1), ("invoice\u202efdp.exe", 8)])
def test_file_names_with_control_characters_or_direction_overrides_are_refused_naming_the_file(
        handler, designation, filename, position):
    # Issue 12 §1: refused, not silently changed (an override makes "invoice\u202efdp.exe" read "invoiceexe.pdf").
    with pytest.raises(RuleViolation) as exc:
        services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b"x"),
                        filename=f"../../etc/{filename}")
    assert (exc.value.code, exc.value.field) == ("invalid_character", "file")
    assert f"character {position} " in exc.value.message_en
    assert not Document.objects.exists()


def test_someone_without_need_to_know_cannot_upload(meti, designation):
    with pytest.raises(PolicyDenied) as exc:
        services.upload(actor=meti["manager"], designation=designation, title="t", source=io.BytesIO(b"x"),
                        filename="a.txt")
    assert exc.value.decision.code == "not_on_handler_list"
    assert not Document.objects.exists()


def test_nothing_is_added_to_a_cancelled_designation(handler, designation, meti):
    from hozen.designation import services as designations

    designations.cancel(actor=meti["head"], designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    with pytest.raises(PolicyDenied) as exc:
        services.upload(actor=handler, designation=designation, title="t", source=io.BytesIO(b"x"), filename="a.txt")
    assert exc.value.decision.code == "designation_not_in_force"


def test_a_tampered_stored_object_is_never_delivered(upload_pdf, _vault_folder):
    from hozen.crypto.envelope import DecryptionError

    version = upload_pdf()
    path = _stored_files(_vault_folder)[0]
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DecryptionError):
        blobs.open_plaintext(version)


class _SourceFailingMidRead(io.BytesIO):
    """An upload stream that breaks after `after` bytes (a client disconnecting, a disk error)."""

    def __init__(self, data: bytes, after: int):
        super().__init__(data)
        self.after = after

    def read(self, size=-1):
        if self.tell() >= self.after:
            raise OSError("connection reset by peer")
        if size is None or size < 0 or self.tell() + size > self.after:
            size = self.after - self.tell()
        return super().read(size)


def test_upload_whose_source_breaks_mid_read_leaves_nothing_behind(handler, designation, _vault_folder):
    body = bytes(range(256)) * (3 * 4096 + 17)  # about 3 MiB: several encrypted chunks before the break
    source = _SourceFailingMidRead(body, after=len(body) // 2)
    with pytest.raises(OSError):
        services.upload(actor=handler, designation=designation, title="計測データ", source=source,
                        filename="data.bin", content_type="application/octet-stream")
    assert not Document.objects.exists() and not DocumentVersion.objects.exists()
    assert not DataKey.objects.filter(owner__startswith="vault.").exists()
    assert not _stored_files(_vault_folder)
    assert not AuditEntry.objects.filter(action="vault.document.uploaded").exists()


def test_new_version_whose_source_breaks_mid_read_keeps_the_document_as_it_was(handler, designation, _vault_folder):
    first = services.upload(actor=handler, designation=designation, title="計測データ", source=io.BytesIO(b"v1"),
                            filename="data.bin", content_type="application/octet-stream")
    files_before = sorted(_stored_files(_vault_folder))
    body = b"x" * (3 * 1024 * 1024)
    with pytest.raises(OSError):
        services.upload(actor=handler, document=first.document, source=_SourceFailingMidRead(body, 2 * 1024 * 1024),
                        filename="data.bin", content_type="application/octet-stream")
    assert list(DocumentVersion.objects.values_list("number", flat=True)) == [1]
    assert sorted(_stored_files(_vault_folder)) == files_before
