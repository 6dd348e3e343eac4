"""The PDF layer (hozen.documents): the 指定書 and the 指定管理簿 read back with pypdf.

What matters to an organ: Japanese text that survives (extractable, 和暦 dates), the marking on
every page, a font that travels inside the file, long ledgers that carry their header and page
numbers, and a caller's mistake reported by the name of the key."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import socket

import pypdf
import pytest
from pytest_socket import SocketConnectBlockedError
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from hozen.documents import Document, date_ja, datetime_ja, designation_document, designation_ledger
from hozen.documents.pdf import FONT_NAME, font_path, register_font

ESI = "重要経済安保情報"
EXPIRED_MARKING = "重要経済安保情報（指定の有効期間満了）"
STATES_JA = ["指定中", "延長", "満了", "解除", "特定秘密へ移行"]
STATES = ["designated", "extended", "expired", "cancelled", "moved_to_sds"]


def designation(**changes) -> dict:
    d = {
        "reference": "METI-2025-0007",
        "organ_name_ja": "経済産業省",
        "title": "重要物資の供給網に係る防護計画",
        "summary": "特定の重要物資の供給網に関する防護措置の計画（情報の内容そのものは記載しない）。",
        "category": {
            "code": "(1)",
            "name_ja": "重要経済基盤を外部から行われる行為から保護するための措置又はこれに関する計画若しくは研究",
        },
        "sub_item": {"code": "B-2", "name_ja": "重要物資の供給網の保護に関する措置", "status": "confirmed"},
        "requirements": {
            "category_fit": "区分(1)の細目B-2に定める保護措置の計画に当たる。",
            "not_public": "公表されておらず、関係者以外に知られていない。",
            "harm_if_leaked": "漏えいすれば供給網への妨害を容易にし、我が国の安全保障に支障を与えるおそれがある。",
        },
        "designated_on": dt.date(2025, 5, 16),
        "term_end": dt.date(2030, 5, 15),
        "protective_measure": "marking",
        "approved_by": {"name": "経済 太郎", "post": "経済産業大臣"},
        "rules_version": "jp-esi-2025 v1",
        "history": [
            {"date": dt.date(2025, 5, 16), "event_ja": "指定", "detail": "新規指定"},
            {"date": dt.date(2026, 5, 1), "event_ja": "定期見直し", "detail": "要件を満たしていることを確認"},
        ],
        "to_verify_notes": ["通算60年の上限は重要経済安保情報について確認待ち（規程上「要確認」）。"],
    }
    d.update(changes)
    return d


def ledger_rows(count: int) -> list[dict]:
    return [
        {
            "reference": f"METI-2025-{i:04d}",
            "title": f"防護計画その{i}" + "関連資料" * (i % 7),
            "category": {"code": "(1)"},
            "sub_item": {"code": "A-1", "name_ja": "施設及び設備の確保"},
            "designated_on": dt.date(2025, 5, 16),
            "term_end": "2030-05-15",
            "protective_measure": "marking" if i % 2 else "written_notice",
            "state": STATES[i % 5],
            "records": [{"date": dt.date(2030, 5, 1), "event_ja": "延長", "detail": "令和17年5月15日まで"}]
            if i % 5 == 1
            else [],
            "corrections": ["独立公文書管理監による是正要求（回答済み）"] if i == 7 else [],
        }
        for i in range(1, count + 1)
    ]


GENERATED_AT = dt.datetime(2025, 6, 2, 1, 30, tzinfo=dt.UTC)  # 令和7年6月2日 10時30分 in Tokyo
ORGAN = {"name_ja": "経済産業省"}


def read(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    return pypdf.PdfReader(io.BytesIO(pdf), strict=True)


def texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in read(pdf).pages]


def flat(pdf: bytes) -> str:
    """All pages' text without line breaks, so wrapped words read whole."""
    return "".join(texts(pdf)).replace("\n", "")


def fonts(pdf: bytes):
    """Every font dictionary any page uses (descendants of composite fonts included)."""
    for page in read(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            yield font
            for descendant in font.get("/DescendantFonts", []):
                yield descendant.get_object()


# --- 指定書 ------------------------------------------------------------------------------


def test_designation_document_is_a_readable_pdf_in_japanese():
    pdf = designation_document(designation())
    text = flat(pdf)
    for expected in (
        "指定書",
        "METI-2025-0007",
        "経済産業省",
        "重要物資の供給網に係る防護計画",
        "令和7年5月16日",
        "令和12年5月15日",
        "令和8年5月1日",  # 和暦: designation, term end, history
        "B-2　重要物資の供給網の保護に関する措置〔確認済み〕",
        "重要経済安保情報の表示",
        "経済産業大臣　経済 太郎",
        "jp-esi-2025 v1",
        "公表されておらず",
        "要件を満たしていることを確認",
        "通算60年の上限は重要経済安保情報について確認待ち",
    ):
        assert expected in text, expected


def test_designation_document_marks_every_page_top_and_bottom():
    long = "要件の根拠となる事実関係を記載する。" * 120
    pdf = designation_document(
        designation(requirements={"category_fit": long, "not_public": long, "harm_if_leaked": long})
    )
    pages = texts(pdf)
    assert len(pages) >= 3
    for page in pages:
        lines = [line.strip() for line in page.splitlines()]
        assert lines.count(ESI) == 2  # one at the top, one at the bottom


def test_designation_document_takes_the_marking_of_the_designation_state():
    pages = texts(designation_document(designation(marking=EXPIRED_MARKING)))
    assert all(page.count(EXPIRED_MARKING) == 2 for page in pages)


def test_written_notice_and_approver_as_a_pair_are_accepted():
    text = flat(
        designation_document(
            designation(protective_measure="written_notice", approved_by=("経済 花子", "経済産業副大臣"))
        )
    )
    assert "重要経済安保情報である旨の書面による通知" in text
    assert "経済産業副大臣　経済 花子" in text


def test_notes_box_appears_only_with_notes():
    assert "要確認事項" not in flat(designation_document(designation(to_verify_notes=None)))
    without_key = designation()
    del without_key["to_verify_notes"]
    assert "要確認事項" not in flat(designation_document(without_key))


def test_text_is_printed_literally_never_as_markup():
    text = flat(designation_document(designation(title="<b>太字</b> & <font size=40>大</font>")))
    assert "<b>太字</b> & <font size=40>大</font>" in text


def test_pdf_metadata_names_title_author_and_creation_date():
    created = dt.datetime(2025, 5, 16, 0, 15, tzinfo=dt.UTC)
    meta = read(designation_document(designation(), created_at=created)).metadata
    assert meta.title == "指定書 METI-2025-0007"
    assert meta.author == "Hozen"
    assert meta["/CreationDate"] == "D:20250516091500+09'00'"  # stored in Asia/Tokyo
    assert meta.creation_date == created


def test_deterministic_output_is_byte_identical():
    created = dt.datetime(2025, 5, 16, 0, 0, tzinfo=dt.UTC)
    first = designation_document(designation(), created_at=created, deterministic=True)
    second = designation_document(designation(), created_at=created, deterministic=True)
    assert first == second
    assert designation_ledger(ORGAN, ledger_rows(20), GENERATED_AT, deterministic=True) == designation_ledger(
        ORGAN, ledger_rows(20), GENERATED_AT, deterministic=True
    )


def test_a_typical_designation_document_stays_small():
    # The embedded font is a subset of the glyphs used, not the 6 MB file.
    assert len(designation_document(designation())) < 150_000


# --- the font -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "render",
    [
        lambda: designation_document(designation()),
        lambda: designation_ledger(ORGAN, ledger_rows(40), GENERATED_AT),
    ],
    ids=["designation_document", "designation_ledger"],
)
def test_every_font_used_is_embedded_ipaex_gothic(render):
    used = list(fonts(render()))
    assert used
    for font in used:
        if font["/Subtype"] == "/Type0":
            continue  # its glyphs are in the descendant, checked on its own
        assert "IPAexGothic" in font["/BaseFont"], font["/BaseFont"]  # no standard-14 font (Helvetica…)
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), "font not embedded"
        assert "/ToUnicode" in font  # what makes the Japanese text extractable


def test_the_font_comes_from_the_package_with_its_licence():
    path = font_path()
    assert path.parent.name == "fonts" and path.parent.parent.name == "documents"
    assert path.is_file()
    folder = path.parent
    licence = (folder / "IPA_Font_License_Agreement_v1.0.txt").read_text(encoding="utf-8")
    assert "IPAフォントライセンスv1.0" in licence and "IPA Font License Agreement v1.0" in licence
    # The README records the file's hash: the shipped font is the unmodified upstream file.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in (folder / "README.md").read_text(encoding="utf-8")
    register_font()
    assert pdfmetrics.getFont(FONT_NAME).face.filename == str(path)


# --- 指定管理簿 ---------------------------------------------------------------------------


def test_ledger_of_300_rows_runs_over_pages_with_header_and_page_numbers():
    pdf = designation_ledger(ORGAN, ledger_rows(300), GENERATED_AT)
    reader = read(pdf)
    pages = texts(pdf)
    total = len(pages)
    assert total >= 5
    first = reader.pages[0].mediabox
    assert first.width > first.height  # landscape A4
    for number, page in enumerate(pages, start=1):
        assert f"{number} / {total}" in page
        for column in (
            "指定番号",
            "件名",
            "区分・細目",
            "指定日",
            "有効期間満了日",
            "保護措置",
            "状態",
            "延長・解除の記録",
            "是正要求",
        ):
            assert column in page, (number, column)
    text = "".join(pages).replace("\n", "")
    positions = [text.index(f"METI-2025-{i:04d}") for i in range(1, 301)]
    assert positions == sorted(positions)  # every row, in order
    assert "令和7年6月2日 10時30分 現在" in text and "300件" in text
    assert "令和12年5月15日" in text and "令和8年" not in text


def test_ledger_columns_show_state_measure_and_records_in_japanese():
    text = flat(designation_ledger(ORGAN, ledger_rows(10), GENERATED_AT))
    for label in STATES_JA:
        assert label in text
    assert "書面通知" in text and "表示" in text
    assert "区分(1)　A-1 施設及び設備の確保" in text
    assert "令和12年5月1日 延長（令和17年5月15日まで）" in text
    assert "独立公文書管理監による是正要求（回答済み）" in text


def test_ledger_accepts_the_japanese_state_label_itself():
    rows = ledger_rows(1)
    rows[0]["state"] = "特定秘密へ移行"
    assert "特定秘密へ移行" in flat(designation_ledger(ORGAN, rows, GENERATED_AT))


def test_empty_ledger_says_so():
    text = flat(designation_ledger(ORGAN, [], GENERATED_AT))
    assert "登録された指定はありません。" in text and "0件" in text


def test_ledger_carries_a_marking_only_when_given():
    assert ESI not in flat(designation_ledger({"name_ja": "内閣府"}, ledger_rows(3), GENERATED_AT)).replace(
        "重要経済安保情報　内閣府", ""
    )
    pages = texts(designation_ledger(ORGAN, ledger_rows(120), GENERATED_AT, marking=ESI))
    assert len(pages) > 1
    assert all([line.strip() for line in page.splitlines()].count(ESI) == 2 for page in pages)


def test_ledger_creation_date_is_when_it_was_generated():
    assert read(designation_ledger(ORGAN, [], GENERATED_AT)).metadata.creation_date == GENERATED_AT


# --- wrapping -------------------------------------------------------------------------------


def _text_runs(pdf: bytes):
    """(page width, left x, right x) of every piece of text drawn."""
    for page in read(pdf).pages:
        width = float(page.mediabox.width)
        runs = []

        def visit(text, cm, tm, font, size, runs=runs):
            text = text.rstrip("\n")
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                runs.append((x, x + pdfmetrics.stringWidth(text, FONT_NAME, size * tm[0] * cm[0])))

        page.extract_text(visitor_text=visit)
        yield from ((width, left, right) for left, right in runs)


def test_long_unbroken_japanese_text_wraps_inside_the_margins():
    unbroken = "経済安全保障推進法重要経済安保情報保護活用法" * 250  # 5,500 characters, no break
    doc = Document(title="折返しの確認", marking=ESI)
    doc.paragraph(unbroken)
    doc.key_values([("概要", unbroken)])
    doc.table(["項目", "内容"], [["長文", unbroken]], widths=[1, 4])
    doc.note([unbroken[:800]], title="注記")
    pdf = doc.render()
    assert flat(pdf).count("重要経済安保情報保護活用法") >= 3 * 250 - 40  # a few cut by page furniture
    runs = list(_text_runs(pdf))
    assert len(runs) > 400
    for page_width, left, right in runs:
        assert left >= 18 * mm - 0.01 and right <= page_width - 18 * mm + 0.01, (left, right)


def test_long_summary_in_the_designation_document_flows_over_pages():
    summary = "概要" * 3000
    pdf = designation_document(designation(summary=summary))
    assert len(texts(pdf)) >= 4
    assert flat(pdf).count("概要") >= 3000


# --- dates ----------------------------------------------------------------------------------


def test_dates_are_shown_in_wareki_in_tokyo():
    assert date_ja(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert date_ja(None) == "—"
    assert datetime_ja(dt.datetime(2025, 5, 16, 15, 5, tzinfo=dt.UTC)) == "令和7年5月17日 0時05分"
    with pytest.raises(ValueError, match="naive"):
        datetime_ja(dt.datetime(2025, 5, 16, 15, 5))


# --- malformed input ------------------------------------------------------------------------


def _without(path: str) -> dict:
    d = copy.deepcopy(designation())
    *parents, last = path.split(".")
    target = d
    for key in parents:
        target = target[key]
    del target[last]
    return d


@pytest.mark.parametrize(
    "key",
    [
        "reference",
        "organ_name_ja",
        "title",
        "summary",
        "category",
        "category.code",
        "category.name_ja",
        "sub_item",
        "sub_item.code",
        "sub_item.name_ja",
        "requirements",
        "requirements.category_fit",
        "requirements.not_public",
        "requirements.harm_if_leaked",
        "designated_on",
        "term_end",
        "protective_measure",
        "approved_by",
        "rules_version",
        "history",
    ],
)
def test_a_missing_key_is_named_in_the_error(key):
    with pytest.raises(ValueError, match=rf"missing required key '{key}'"):
        designation_document(_without(key))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "required key 'title' is empty"),
        ({"protective_measure": "stamp"}, "'protective_measure' must be one of 'marking', 'written_notice'"),
        ({"designated_on": "16 May 2025"}, "'designated_on' must be a date"),
        ({"term_end": dt.date(2025, 5, 1)}, "'term_end' is before 'designated_on'"),
        ({"category": "(1)"}, "category must be a mapping"),
        ({"history": [{"event_ja": "指定"}]}, "missing required key 'history\\[0\\].date'"),
        ({"history": "指定"}, "'history' must be a list"),
        ({"approved_by": ("経済 太郎",)}, "'approved_by' must be \\(name, post\\)"),
        ({"to_verify_notes": [""]}, "'to_verify_notes\\[0\\]' must be non-empty text"),
    ],
)
def test_malformed_designation_input_is_refused_by_key(changes, message):
    with pytest.raises(ValueError, match=message):
        designation_document(designation(**changes))


def test_input_must_be_a_mapping():
    with pytest.raises(ValueError, match="designation_document: input must be a mapping"):
        designation_document(["METI-2025-0007"])


def test_malformed_ledger_input_is_refused_by_key():
    rows = ledger_rows(5)
    del rows[2]["term_end"]
    with pytest.raises(ValueError, match=r"missing required key 'rows\[2\].term_end'"):
        designation_ledger(ORGAN, rows, GENERATED_AT)
    rows = ledger_rows(5)
    rows[4]["state"] = "archived"
    with pytest.raises(ValueError, match=r"'rows\[4\].state' must be one of 'designated'"):
        designation_ledger(ORGAN, rows, GENERATED_AT)
    rows = ledger_rows(2)
    rows[1]["records"] = [{"date": dt.date(2026, 1, 1)}]
    with pytest.raises(ValueError, match=r"'rows\[1\].records\[0\]' needs 'event_ja' or 'detail'"):
        designation_ledger(ORGAN, rows, GENERATED_AT)
    with pytest.raises(ValueError, match="missing required key 'organ.name_ja'"):
        designation_ledger({"code": "METI"}, [], GENERATED_AT)
    with pytest.raises(ValueError, match="'generated_at' must be a timezone-aware datetime"):
        designation_ledger(ORGAN, [], dt.datetime(2025, 6, 2, 10, 30))


# --- no network -----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_rendering_touches_no_network(monkeypatch):
    # pytest-socket blocks connections beyond localhost for the whole suite: prove it is on,
    # then also trap the name look-ups and connections a font or image fetch would need.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(SocketConnectBlockedError):
        sock.connect(("203.0.113.1", 443))

    def refuse(*args, **kwargs):
        raise AssertionError("the PDF layer tried to reach the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert designation_document(designation()).startswith(b"%PDF-")
    assert designation_ledger(ORGAN, ledger_rows(30), GENERATED_AT).startswith(b"%PDF-")


def test_the_builder_refuses_what_it_cannot_lay_out():
    with pytest.raises(ValueError, match="title"):
        Document(title="")
    with pytest.raises(ValueError, match="created_at must be timezone-aware"):
        Document(title="t", created_at=dt.datetime(2025, 5, 16, 9, 0))
    doc = Document(title="t")
    with pytest.raises(ValueError, match="a row has 1 cells, the header 2"):
        doc.table(["a", "b"], [["only one"]])
    with pytest.raises(ValueError, match="2 columns but 3 widths"):
        doc.table(["a", "b"], [], widths=[1, 2, 3])
