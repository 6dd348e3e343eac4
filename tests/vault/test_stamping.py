"""The stamping itself, on awkward PDFs: rotated pages, boxes off the origin, blank pages, shared
resources, passwords. Pure functions: no database."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import RectangleObject

from hozen.vault import stamping
from tests.vault.conftest import make_pdf

STAMP = stamping.Stamp(marking="重要経済安保情報", recipient="山田 太郎", organisation="経済産業省 (METI)",
                       issued_at=dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), copy_number=7,
                       token="0123456789abcdef01234567", reference="METI-2026-0001")


def _texts(data: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def _write(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_original_content_stays_and_every_page_is_marked_and_identified():
    out = stamping.stamp_pdf(make_pdf(3), STAMP)
    for number, text in enumerate(_texts(out), start=1):
        assert "本文。" in text and f"第{number}章" in text
        assert "重要経済安保情報" in text and "山田 太郎" in text and "第7号" in text
        assert f"HOZEN-COPY:{STAMP.token}:{number}/3" in text.replace("\n", "")


def test_rotated_pages_and_boxes_off_the_origin_are_stamped():
    reader = PdfReader(io.BytesIO(make_pdf(4)))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.pages[1].rotate(90)
    writer.pages[2].rotate(270)
    box = RectangleObject([50, 80, 545, 800])
    writer.pages[3].mediabox = box
    writer.pages[3].cropbox = box
    out = stamping.stamp_pdf(_write(writer), STAMP)
    evidence = stamping.find_identifiers(out)
    assert evidence.tokens[STAMP.token][-4:] == ["page 1", "page 2", "page 3", "page 4"]
    assert all("重要経済安保情報" in t for t in _texts(out))


def test_a_blank_page_without_content_is_stamped():
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = stamping.stamp_pdf(_write(writer), STAMP)
    assert "重要経済安保情報" in _texts(out)[0]


def test_stamping_twice_keeps_both_identifiers_apart():
    once = stamping.stamp_pdf(make_pdf(1), STAMP)
    second = stamping.Stamp(**{**STAMP.__dict__, "token": "f" * 24, "copy_number": 8})
    twice = stamping.stamp_pdf(once, second)
    assert set(stamping.find_identifiers(twice).tokens) == {STAMP.token, "f" * 24}


def test_a_password_protected_pdf_is_not_a_pdf_we_can_mark():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(1))))
    writer.encrypt(user_password="secret", owner_password="owner")
    with pytest.raises(stamping.NotAPdf):
        stamping.open_pdf(_write(writer))


def test_garbage_is_not_a_pdf_and_finds_no_identifier():
    with pytest.raises(stamping.NotAPdf):
        stamping.open_pdf(b"%PDF-1.7 nothing here")
    assert stamping.find_identifiers(b"hello").tokens == {}
    assert stamping.find_identifiers(b"PK\x03\x04broken zip").tokens == {}


def test_resources_inherited_from_the_page_tree_still_apply():
    """PDF lets pages inherit /Resources from a /Pages node; the stamp must not hide the page's fonts
    (pypdf flattens them when it reads the tree; `stamping._inherited` walks up if it ever does not)."""
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(1))))
    page = writer.pages[0]
    resources = page["/Resources"]
    del page[NameObject("/Resources")]
    writer._root_object["/Pages"][NameObject("/Resources")] = resources
    moved = _write(writer)
    out = stamping.stamp_pdf(moved, STAMP)
    text = _texts(out)[0]
    assert "本文。" in text and "第1章" in text and "重要経済安保情報" in text
