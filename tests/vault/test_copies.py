"""Every view and download is a numbered, marked, stamped copy; `trace` finds the copy a leak came from."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from hozen.access.policy import PolicyDenied
from hozen.audit.models import AuditEntry
from hozen.core.errors import NotFound
from hozen.vault import services, stamping, trace
from hozen.vault.models import Copy, CustodyEvent
from tests.vault.conftest import actor_of


def _pages_text(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def _download(actor, version, kind="download"):
    delivery = services.deliver(actor=actor, version=version, kind=kind)
    try:
        return delivery.copy, delivery.file.read(), delivery
    finally:
        delivery.close()


def test_every_page_of_a_downloaded_pdf_carries_the_marking_and_the_recipient_stamp(upload_pdf, handler):
    version = upload_pdf()
    copy, data, delivery = _download(handler, version)
    name = handler.account.person.full_name
    texts = _pages_text(data)
    assert len(texts) == 3
    for text in texts:
        assert "重要経済安保情報" in text
        assert name in text and "経済産業省" in text
        assert f"第{copy.number}号" in text and "2026-06-01 12:00 JST" in text
        assert f"HOZEN-COPY:{copy.token}" in text.replace("\n", "")
    assert delivery.content_type == "application/pdf" and delivery.filename.endswith(f"copy{copy.number}.pdf")


def test_each_download_is_a_distinct_copy_with_its_own_number_and_identifier(upload_pdf, handler):
    version = upload_pdf()
    first, data1, _ = _download(handler, version)
    second, data2, _ = _download(handler, version)
    assert (first.number, second.number) == (1, 2)
    assert first.token != second.token and data1 != data2
    assert first.delivered_sha256 != second.delivered_sha256
    events = list(CustodyEvent.objects.values_list("kind", flat=True))
    assert events == ["downloaded", "downloaded"]
    entries = AuditEntry.objects.filter(action="vault.document.downloaded")
    assert entries.count() == 2 and all(f'"copy_number":{n}' in e.data for e, n in zip(entries.order_by("id"), (1, 2), strict=True))


def test_views_are_marked_and_audited_too(upload_pdf, handler):
    version = upload_pdf()
    copy, data, _ = _download(handler, version, kind="view")
    assert copy.kind == "view" and "重要経済安保情報" in _pages_text(data)[0]
    assert AuditEntry.objects.filter(action="vault.document.viewed").count() == 1
    assert CustodyEvent.objects.get().kind == "viewed"


def test_marking_changes_to_cancelled_when_the_designation_is_cancelled(upload_pdf, handler, designation, meti):
    from hozen.designation import services as designations

    version = upload_pdf()
    before, data_before, _ = _download(handler, version)
    designations.cancel(actor=meti["head"], designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    after, data_after, _ = _download(handler, version)  # still listed: reads under the new marking
    for text in _pages_text(data_after):
        assert "重要経済安保情報（指定解除）" in text
    assert before.marking == "重要経済安保情報" and after.marking == "重要経済安保情報（指定解除）"
    # The organ's ESI manager keeps the de-designated material (re-marking, archiving, destruction).
    kept, data_kept, _ = _download(meti["manager"], version)
    assert "重要経済安保情報（指定解除）" in _pages_text(data_kept)[0]


def test_marking_changes_to_expired_once_the_term_has_passed(upload_pdf, handler, designation, _frozen_today):
    import datetime as dt

    from hozen.handling import services as handling

    version = upload_pdf()
    _frozen_today.move_to(dt.datetime(2031, 6, 2, 3, 0, tzinfo=dt.UTC))
    handling.acknowledge_briefing(actor=handler)  # still a valid handler: every other condition holds
    copy, data, _ = _download(handler, version)
    assert copy.marking == "重要経済安保情報（指定の有効期間満了）"
    assert all("重要経済安保情報（指定の有効期間満了）" in t for t in _pages_text(data))


def test_other_files_come_inside_a_zip_with_a_marked_stamped_cover(handler, designation):
    body = b"col1,col2\n1,2\n"
    version = services.upload(actor=handler, designation=designation, title="集計表", source=io.BytesIO(body),
                              filename="table.csv", content_type="text/csv")
    copy, data, delivery = _download(handler, version)
    assert delivery.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["00_cover.pdf", "01_table.csv"]
        assert archive.read("01_table.csv") == body
        cover = archive.read("00_cover.pdf")
        assert f"HOZEN-COPY:{copy.token}".encode() in archive.comment
    text = _pages_text(cover)[0]
    assert "重要経済安保情報" in text and "table.csv" in text and version.sha256 in text.replace("\n", "")
    # Viewing a non-PDF shows the marked cover sheet alone.
    view, cover_only, view_delivery = _download(handler, version, kind="view")
    assert view_delivery.content_type == "application/pdf" and "重要経済安保情報" in _pages_text(cover_only)[0]


def test_trace_identifies_the_copy_from_an_untouched_file(upload_pdf, handler, operator):
    version = upload_pdf()
    _download(handler, version)
    copy, data, _ = _download(handler, version)
    result = trace.trace(actor=operator, data=data)
    assert [m.copy.pk for m in result.matches] == [copy.pk]
    assert "whole file (SHA-256)" in result.matches[0].places
    assert AuditEntry.objects.filter(action="vault.copy.traced").count() == 1


def test_trace_identifies_the_copy_after_pages_were_removed_and_metadata_stripped(upload_pdf, handler, operator):
    from tests.vault.conftest import make_pdf

    version = upload_pdf(data=make_pdf(6))
    _download(handler, version)
    leaked_copy, data, _ = _download(handler, version)
    _download(handler, version)
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    for index in (2, 4):  # two pages out of six, into a new file: no XMP, no document information
        writer.add_page(reader.pages[index])
    out = io.BytesIO()
    writer.write(out)
    result = trace.trace(actor=operator, data=out.getvalue())
    assert [m.copy.pk for m in result.matches] == [leaked_copy.pk]
    assert result.matches[0].places == ["page 1", "page 2"]
    assert result.pages == 2


def test_trace_reads_the_metadata_when_the_pages_are_gone(upload_pdf, handler, operator):
    version = upload_pdf()
    copy, data, _ = _download(handler, version)
    evidence = stamping.find_identifiers(data)
    assert set(evidence.tokens[copy.token]) >= {"document information", "XMP metadata", "page 1"}


def test_trace_of_an_unknown_file_finds_nothing(operator, upload_pdf, pdf_bytes):
    upload_pdf()
    result = trace.trace(actor=operator, data=pdf_bytes)
    assert not result.found and result.unknown_tokens == []


def test_trace_by_a_registry_role_sees_only_its_own_organs_copies(upload_pdf, handler, meti):
    version = upload_pdf()
    copy, data, _ = _download(handler, version)
    assert trace.trace(actor=meti["security"], data=data).matches[0].copy.pk == copy.pk
    assert not trace.trace(actor=meti["head_mic"], data=data).found
    with pytest.raises(PolicyDenied):
        trace.trace(actor=meti["sysadmin"], data=data)


def test_a_denied_download_looks_exactly_like_a_missing_document(upload_pdf, meti):
    version = upload_pdf()
    with pytest.raises(NotFound):
        services.deliver(actor=meti["manager"], version=version, kind="download")
    assert not Copy.objects.exists()
    denial = AuditEntry.objects.get(action="vault.document.read", outcome="denied")
    assert "not_on_handler_list" in denial.data


def test_a_listed_handler_whose_clearance_expired_is_told_why(upload_pdf, designation, cleared, _frozen_today):
    import datetime as dt

    reader = cleared(designation, valid_until=dt.date(2026, 6, 30))
    version = upload_pdf()
    _download(reader, version)
    _frozen_today.move_to(dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC))
    with pytest.raises(PolicyDenied) as exc:
        services.deliver(actor=reader, version=version, kind="download")
    assert exc.value.decision.code == "no_valid_assessment" and exc.value.audited
    assert Copy.objects.count() == 1


def test_removed_from_the_handler_list_means_not_found(upload_pdf, handler, designation, meti):
    from hozen.handling import services as handling
    from hozen.handling.models import HandlerEntry

    version = upload_pdf()
    entry = HandlerEntry.objects.get(designation=designation, account=handler.account)
    handling.remove_handler(actor=meti["manager"], entry=entry, reason="no_longer_needed")
    with pytest.raises((NotFound, PolicyDenied)) as exc:
        services.deliver(actor=handler, version=version, kind="download")
    assert not Copy.objects.exists()
    assert exc.type is NotFound or exc.value.decision.code != "allowed"


def test_after_shredding_a_version_no_copy_is_issued_and_the_reader_is_told(upload_pdf, handler, meti):
    from hozen.core.errors import RuleViolation
    from hozen.crypto import shred

    version = upload_pdf()
    with pytest.raises(PolicyDenied):
        shred(handler, version, "no_longer_needed")  # a handler may not destroy the key
    shred(meti["manager"], version, "no_longer_needed")
    with pytest.raises(RuleViolation) as exc:
        services.deliver(actor=handler, version=version, kind="download")
    assert exc.value.code == "data_key_destroyed"
    assert not Copy.objects.exists()
    assert AuditEntry.objects.filter(action="vault.document.read", outcome="failure").count() == 1


def test_a_tampered_object_is_refused_with_a_clear_message(upload_pdf, handler, _vault_folder):
    from hozen.core.errors import RuleViolation

    version = upload_pdf()
    path = next(p for p in _vault_folder.rglob("*") if p.is_file())
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuleViolation) as exc:
        services.deliver(actor=handler, version=version, kind="download")
    assert exc.value.code == "decryption_failed" and not Copy.objects.exists()


def test_a_handler_who_has_not_acknowledged_the_briefing_is_told_why(upload_pdf, designation, cleared):
    unbriefed = cleared(designation, briefed=False)
    version = upload_pdf()
    with pytest.raises(PolicyDenied) as exc:
        services.deliver(actor=unbriefed, version=version, kind="download")
    assert exc.value.decision.code == "briefing_not_acknowledged"


def test_trace_identifies_a_zip_copy_and_its_cover_sheet_alone(handler, designation, operator):
    version = services.upload(actor=handler, designation=designation, title="集計表", source=io.BytesIO(b"a,b\n1,2\n"),
                              filename="table.csv")
    copy, data, _ = _download(handler, version)
    result = trace.trace(actor=operator, data=data)
    assert [m.copy.pk for m in result.matches] == [copy.pk] and "ZIP comment" in result.matches[0].places
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        cover = archive.read("00_cover.pdf")
    assert [m.copy.pk for m in trace.trace(actor=operator, data=cover).matches] == [copy.pk]


# --- SDS-tier markings and material moved to SDS (DOMAIN §2) -----------------------------------------

def _sds_designation(make_designation):
    from hozen.rules.queries import current_pack

    from .conftest import TODAY

    pack = current_pack("sds", TODAY)
    item = pack.sub_items.select_related("category").order_by("position").first()
    return make_designation(tier="sds", category=item.category, sub_item=item)


def _upload(actor, designation, pdf_bytes):
    return services.upload(actor=actor, designation=designation, title="防護計画書", source=io.BytesIO(pdf_bytes),
                           filename="plan.pdf", content_type="application/pdf", declared_size=len(pdf_bytes))


def test_sds_material_carries_the_sds_marking_on_every_page(make_designation, cleared, pdf_bytes):
    sds = _sds_designation(make_designation)
    handler = cleared(sds)
    version = _upload(handler, sds, pdf_bytes)
    copy, data, _ = _download(handler, version)
    assert copy.marking == "特定秘密"
    texts = _pages_text(data)
    assert len(texts) == 3 and all("特定秘密" in t for t in texts)
    assert not any("重要経済安保情報" in t for t in texts)


def test_cancelled_material_reaches_a_still_valid_handler_with_the_cancelled_marking(upload_pdf, handler,
                                                                                    designation, meti):
    from hozen.designation import services as designations

    version = upload_pdf()
    designations.cancel(actor=meti["head"], designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    copy, data, _ = _download(actor_of(handler.account), version)
    assert copy.marking == "重要経済安保情報（指定解除）"
    assert all("重要経済安保情報（指定解除）" in t for t in _pages_text(data))


def test_cancelled_material_is_refused_to_a_former_handler_whose_clearance_expired(upload_pdf, handler,
                                                                                  designation, meti):
    import datetime as dt

    from hozen.assessment.models import Clearance
    from hozen.designation import services as designations

    version = upload_pdf()
    designations.cancel(actor=meti["head"], designation=designation, reason="非公知性の要件を欠くに至ったため解除する。")
    Clearance.objects.filter(person=handler.account.person).update(valid_until=dt.date(2026, 5, 31))
    with pytest.raises(PolicyDenied) as denied:
        _download(actor_of(handler.account), version)
    assert denied.value.decision.code == "no_valid_assessment"
    assert not Copy.objects.filter(kind=Copy.Kind.DOWNLOAD).exists()


def _move_to_sds(designation, meti):
    import datetime as dt

    from hozen.designation import services as designations
    from hozen.rules.queries import current_pack

    from .conftest import TODAY

    pack = current_pack("sds", TODAY)
    item = pack.sub_items.select_related("category").order_by("position").first()
    return designations.move_to_sds(actor=meti["head"], designation=designation,
                                    reason="著しい支障のおそれがあると判断したため", sds_category=item.category,
                                    sds_sub_item=item, term_end=dt.date(2031, 5, 31),
                                    justification_harm="漏えいすれば安全保障に著しい支障を与えるおそれがある。")


def test_material_moved_to_sds_reaches_the_sds_handler_with_the_moved_marking(upload_pdf, handler, designation,
                                                                             meti, cleared, orgs):
    from tests import factories

    version = upload_pdf()
    successor = _move_to_sds(designation, meti)
    sds_handler = cleared(successor, factories.account(role="subject", organisation=orgs["METI"]))
    copy, data, _ = _download(sds_handler, version)
    assert copy.marking == "重要経済安保情報（指定解除・特定秘密へ移行）"
    assert all("特定秘密へ移行" in t for t in _pages_text(data))


def test_material_moved_to_sds_is_refused_to_an_esi_only_handler(upload_pdf, handler, designation, meti):
    version = upload_pdf()
    _move_to_sds(designation, meti)
    with pytest.raises(PolicyDenied) as denied:
        _download(actor_of(handler.account), version)
    assert denied.value.decision.code == "moved_to_sds"
    assert not Copy.objects.filter(kind=Copy.Kind.DOWNLOAD).exists()


def test_material_moved_to_sds_is_listed_for_the_sds_handler_only(upload_pdf, handler, designation, meti,
                                                                cleared, orgs):
    from hozen.vault import queries
    from tests import factories

    upload_pdf()
    successor = _move_to_sds(designation, meti)
    sds_handler = cleared(successor, factories.account(role="subject", organisation=orgs["METI"]))
    assert designation.pk in [d.pk for d in queries.designations_for(sds_handler)]
    assert designation.pk not in [d.pk for d in queries.designations_for(actor_of(handler.account))]
