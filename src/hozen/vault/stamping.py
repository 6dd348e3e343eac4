"""Marked, stamped, traceable renderings of vault documents (DOMAIN §2 marking, §5 copies).

Pure functions over bytes: no models, no storage. ``services.deliver`` calls them for every view
and download, so every rendering a person receives carries:

- the designation's **current marking** (e.g. 重要経済安保情報, or 重要経済安保情報（指定解除）
  once the designation is cancelled) at the top and the bottom of every page;
- a **visible recipient stamp** on every page: name, organisation, time of issue and copy number;
- an **invisible per-copy identifier**, three times over so a leaked file still names its copy
  after pages are removed or metadata is stripped: in the XMP metadata and the document
  information dictionary, and as invisible text (PDF text render mode 3) on every page, which
  text extraction finds but no viewer or printer shows.

The page overlay is drawn once per page size with ReportLab (the shipped IPAex font) and placed
on each page as one Form XObject wrapped in ``q``/``Q``, so the original page content is never
parsed or rewritten: stamping a 100-page PDF costs one overlay and a few small objects per page.

Files that are not PDFs travel inside a ZIP with a marked cover sheet (``package_with_cover``):
the cover carries the same marking, stamp and identifier, and the ZIP's comment repeats them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
)
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from hozen.core.calendars import TOKYO
from hozen.documents.pdf import FONT_NAME, Document, register_font

#: The identifier's textual form, on every page and in the metadata: HOZEN-COPY:<token>:<page>.
TOKEN_PATTERN = re.compile(r"HOZEN-COPY:([0-9a-f]{24})")
INFO_KEY = "/HozenCopy"
XMP_NS = "https://hozen.example/ns/vault/1.0/"

_MARKING_COLOR = colors.HexColor("#b00020")
_STAMP_COLOR = colors.HexColor("#7a0016")


class NotAPdf(ValueError):
    """The bytes are not a PDF pypdf can read (or one locked with a password)."""


@dataclass(frozen=True)
class Stamp:
    """What each copy says about itself, visibly (all but ``token``) and invisibly (``token``)."""

    marking: str
    recipient: str
    organisation: str
    issued_at: dt.datetime
    copy_number: int
    token: str
    reference: str = ""  # the designation's reference number, e.g. METI-2026-0001

    def issued_text(self) -> str:
        local = self.issued_at.astimezone(TOKYO)
        return f"{local:%Y-%m-%d %H:%M} JST"

    def line_ja(self) -> str:
        return (f"交付先 {self.recipient}（{self.organisation}） 交付日時 {self.issued_text()} "
                f"複製番号 第{self.copy_number}号")

    def line_en(self) -> str:
        ref = f" · {self.reference}" if self.reference else ""
        return f"Issued to {self.recipient} ({self.organisation}) at {self.issued_text()} · copy no. {self.copy_number}{ref}"


# --- reading -----------------------------------------------------------------------------------------

def open_pdf(data: bytes) -> PdfReader:
    """A reader over ``data``; ``NotAPdf`` for anything pypdf cannot read or that needs a password."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotAPdf("the PDF is protected by a password")
        _ = len(reader.pages)  # forces the page tree to parse
    except NotAPdf:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise NotAPdf(str(exc) or type(exc).__name__) from None
    return reader


def page_count(data: bytes) -> int:
    return len(open_pdf(data).pages)


def looks_like_pdf(head: bytes) -> bool:
    return head.lstrip()[:5] == b"%PDF-"


# --- the overlay -------------------------------------------------------------------------------------

def _fit(text: str, width: float, size: float) -> str:
    if pdfmetrics.stringWidth(text, FONT_NAME, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", FONT_NAME, size) > width:
        text = text[:-1]
    return text + "…"


def _marking_box(canvas: Canvas, text: str, centre_x: float, baseline: float, size: float) -> None:
    width = pdfmetrics.stringWidth(text, FONT_NAME, size)
    canvas.setStrokeColor(_MARKING_COLOR)
    canvas.setFillColor(colors.white)
    canvas.setLineWidth(1.0)
    canvas.rect(centre_x - width / 2 - 2.5 * mm, baseline - 1.5 * mm, width + 5 * mm, size + 2.2 * mm,
                stroke=1, fill=1)
    canvas.setFillColor(_MARKING_COLOR)
    canvas.setFont(FONT_NAME, size)
    canvas.drawCentredString(centre_x, baseline, text)


def _overlay_pdf(width: float, height: float, stamp: Stamp) -> bytes:
    """One page of ``width`` × ``height`` points holding only the marking and the stamp."""
    register_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    size = max(6.0, min(11.0, width / 55))
    small = max(4.5, min(6.5, width / 90))
    canvas.saveState()
    if stamp.marking:
        _marking_box(canvas, stamp.marking, width / 2, height - 3 * mm - size, size)
        _marking_box(canvas, stamp.marking, width / 2, 3.5 * mm, size)
    # The recipient stamp, above the bottom marking (visible on screen and in print).
    canvas.setFillColor(_STAMP_COLOR)
    canvas.setFont(FONT_NAME, small)
    canvas.drawCentredString(width / 2, 3.5 * mm + size + 4.0, _fit(stamp.line_ja(), width - 12 * mm, small))
    canvas.drawCentredString(width / 2, 3.5 * mm + size + 4.0 + small + 1.5,
                             _fit(stamp.line_en(), width - 12 * mm, small))
    # A faint diagonal repeat of the recipient and copy number: a photographed screen still names them.
    canvas.setFillColor(_STAMP_COLOR)
    canvas.setFillAlpha(0.10)
    diagonal = max(14.0, min(34.0, width / 18))
    canvas.setFont(FONT_NAME, diagonal)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, _fit(f"{stamp.recipient} · No.{stamp.copy_number}", width * 1.1, diagonal))
    canvas.restoreState()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _form_xobject(writer: PdfWriter, width: float, height: float, stamp: Stamp) -> IndirectObject:
    page = PdfReader(io.BytesIO(_overlay_pdf(width, height, stamp))).pages[0]
    form = DecodedStreamObject()
    form.set_data(page.get_contents().get_data())
    form.update({
        NameObject("/Type"): NameObject("/XObject"),
        NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]),
        NameObject("/Resources"): page["/Resources"].clone(writer),
    })
    return writer._add_object(form)


def _invisible_font(writer: PdfWriter) -> IndirectObject:
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    })
    return writer._add_object(font)


def _stream(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def _placement(page) -> tuple[float, float, tuple[float, ...]]:
    """The visible width and height of ``page`` and the matrix taking overlay space to user space.

    The overlay is drawn upright for the page as it is shown: /Rotate and a box that does not
    start at the origin are both honoured, so the marking is at the top of what the reader sees.
    """
    box = page.cropbox
    x0, y0 = float(box.left), float(box.bottom)
    w, h = float(box.width), float(box.height)
    rotation = (page.rotation or 0) % 360
    if rotation == 90:
        return h, w, (0, 1, -1, 0, x0 + w, y0)
    if rotation == 180:
        return w, h, (-1, 0, 0, -1, x0 + w, y0 + h)
    if rotation == 270:
        return h, w, (0, -1, 1, 0, x0, y0 + h)
    return w, h, (1, 0, 0, 1, x0, y0)


def _unique_name(existing: Iterable[str], stem: str) -> NameObject:
    taken = set(existing)
    n = 0
    while f"/{stem}{n}" in taken:
        n += 1
    return NameObject(f"/{stem}{n}")


def _contents_refs(page) -> list:
    raw = page.raw_get("/Contents") if "/Contents" in page else None
    if raw is None:
        return []
    resolved = raw.get_object() if isinstance(raw, IndirectObject) else raw
    if isinstance(resolved, ArrayObject):
        return list(resolved)
    return [raw]


def _inherited(page, key: str):
    """``key`` of the page or, as PDF allows for /Resources, of the nearest /Pages node above it.

    The page gets its own copy with the overlay added, so the resources it inherited stay in force."""
    node = page
    for _ in range(64):  # a bounded walk: a malformed file may loop
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _xmp(stamp: Stamp) -> bytes:
    issued = stamp.issued_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:hozen="{XMP_NS}">'
        f"<hozen:copy>HOZEN-COPY:{stamp.token}</hozen:copy>"
        f"<hozen:copyNumber>{stamp.copy_number}</hozen:copyNumber>"
        f"<hozen:issuedAt>{issued}</hozen:issuedAt>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def stamp_pdf(data: bytes, stamp: Stamp, *, title: str = "") -> bytes:
    """``data`` (a PDF) with the marking, the recipient stamp and the copy's identifier on every page."""
    reader = open_pdf(data)
    writer = PdfWriter(clone_from=reader)
    font_ref = _invisible_font(writer)
    begin_ref = _stream(writer, b"q\n")
    overlays: dict[tuple[float, float], IndirectObject] = {}
    total = len(writer.pages)
    for index, page in enumerate(writer.pages, start=1):
        width, height, matrix = _placement(page)
        key = (round(width, 2), round(height, 2))
        if key not in overlays:
            overlays[key] = _form_xobject(writer, width, height, stamp)
        resources = _inherited(page, "/Resources")
        resources = DictionaryObject(resources.get_object()) if resources is not None else DictionaryObject()
        xobjects = DictionaryObject(resources["/XObject"].get_object()) if "/XObject" in resources else DictionaryObject()
        fonts = DictionaryObject(resources["/Font"].get_object()) if "/Font" in resources else DictionaryObject()
        form_name = _unique_name(xobjects.keys(), "HzMark")
        font_name = _unique_name(fonts.keys(), "HzCopy")
        xobjects[form_name] = overlays[key]
        fonts[font_name] = font_ref
        resources[NameObject("/XObject")] = xobjects
        resources[NameObject("/Font")] = fonts
        page[NameObject("/Resources")] = resources
        cm = " ".join(_number(v) for v in matrix)
        # Render mode 3 (neither fill nor stroke): found by text extraction, shown by nothing.
        hidden = f"HOZEN-COPY:{stamp.token}:{index}/{total}"
        end = (f"Q\nq {cm} cm {form_name} Do Q\n"
               f"BT 3 Tr {font_name} 1 Tf 1 0 0 1 {_number(matrix[4] + 2)} {_number(matrix[5] + 2)} Tm "
               f"({hidden}) Tj ET\n").encode("ascii")
        page[NameObject("/Contents")] = ArrayObject([begin_ref, *_contents_refs(page), _stream(writer, end)])
    info = {INFO_KEY: f"HOZEN-COPY:{stamp.token}", "/Producer": "Hozen vault"}
    if title:
        info["/Title"] = title
    writer.add_metadata(info)
    writer.xmp_metadata = _xmp(stamp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- the cover sheet and the ZIP for other files --------------------------------------------------------

@dataclass(frozen=True)
class FileFacts:
    filename: str
    content_type: str
    size: int
    sha256: str
    version: int
    document_title: str
    designation_reference: str


def cover_sheet(stamp: Stamp, facts: FileFacts) -> bytes:
    """A one-page marked cover for a file that is not a PDF, then stamped like any PDF page."""
    doc = Document(title=f"{facts.designation_reference} {facts.document_title}".strip(),
                   marking=stamp.marking, header_left=facts.designation_reference,
                   header_right="Hozen 文書庫 / document vault", created_at=stamp.issued_at)
    doc.title_block("表紙（添付ファイル）", subtitle="Cover sheet of an attached file")
    doc.key_values([
        ("表示 / Marking", stamp.marking or "—"),
        ("指定 / Designation", facts.designation_reference or "—"),
        ("文書 / Document", facts.document_title),
        ("版 / Version", str(facts.version)),
        ("ファイル / File", facts.filename),
        ("種類 / Type", facts.content_type or "application/octet-stream"),
        ("大きさ / Size", f"{facts.size:,} bytes"),
        ("SHA-256", facts.sha256),
        ("交付先 / Recipient", f"{stamp.recipient}（{stamp.organisation}）"),
        ("交付日時 / Issued", stamp.issued_text()),
        ("複製番号 / Copy no.", str(stamp.copy_number)),
    ])
    doc.note([
        "この表紙と添付ファイルは一体として取り扱い、表示に従って管理すること。",
        "The attached file is handled together with this cover and under its marking.",
        "複製・交付・返却・廃棄はすべて記録される。Every copy, transfer, return and destruction is recorded.",
    ], title="取扱上の注意 / Handling")
    return stamp_pdf(doc.render(), stamp, title=facts.document_title)


def package_with_cover(source: IO[bytes], stamp: Stamp, facts: FileFacts, target: IO[bytes]) -> None:
    """Write a ZIP to ``target``: ``00_cover.pdf`` (marked, stamped) and the file, streamed."""
    # Stored, not deflated: the cover PDF is compressed already, and most files worth filing (office
    # documents, images, archives) are too; deflating them costs time and saves nothing.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.comment = (f"{stamp.marking} | HOZEN-COPY:{stamp.token} | copy {stamp.copy_number}"
                           ).encode()[:65535]
        archive.writestr("00_cover.pdf", cover_sheet(stamp, facts))
        name = facts.filename.replace("\\", "_").lstrip("/") or "file"
        with archive.open(f"01_{name}", "w", force_zip64=True) as member:
            while True:
                chunk = source.read(1024 * 1024)
                if not chunk:
                    break
                member.write(chunk)


# --- tracing -------------------------------------------------------------------------------------------

@dataclass
class Evidence:
    """Where a file's copy identifiers were found: token → places (``metadata``, ``page 3``, ...)."""

    tokens: dict[str, list[str]]
    pages: int | None = None
    kind: str = "unknown"  # pdf | zip | unknown


def _add(evidence: Evidence, token: str, place: str) -> None:
    evidence.tokens.setdefault(token, [])
    if place not in evidence.tokens[token]:
        evidence.tokens[token].append(place)


def _pdf_evidence(data: bytes, evidence: Evidence, prefix: str = "") -> None:
    try:
        reader = open_pdf(data)
    except NotAPdf:
        return
    evidence.kind = "pdf" if not prefix else evidence.kind
    evidence.pages = len(reader.pages) if not prefix else evidence.pages
    try:
        info = reader.metadata or {}
        for match in TOKEN_PATTERN.finditer(str(info.get(INFO_KEY, ""))):
            _add(evidence, match.group(1), f"{prefix}document information")
    except Exception:  # noqa: BLE001 - damaged metadata must not stop the page scan
        pass
    try:
        root = reader.trailer["/Root"]
        if "/Metadata" in root:
            xmp = root["/Metadata"].get_object().get_data().decode("utf-8", "replace")
            for match in TOKEN_PATTERN.finditer(xmp):
                _add(evidence, match.group(1), f"{prefix}XMP metadata")
    except Exception:  # noqa: BLE001
        pass
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - one unreadable page must not hide the others
            continue
        for match in TOKEN_PATTERN.finditer(text.replace("\n", "")):
            _add(evidence, match.group(1), f"{prefix}page {number}")


def find_identifiers(data: bytes) -> Evidence:
    """Every copy identifier in ``data`` (a PDF, or a ZIP made by ``package_with_cover``)."""
    evidence = Evidence(tokens={})
    if looks_like_pdf(data[:1024]):
        _pdf_evidence(data, evidence)
        return evidence
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                evidence.kind = "zip"
                for match in TOKEN_PATTERN.finditer(archive.comment.decode("utf-8", "replace")):
                    _add(evidence, match.group(1), "ZIP comment")
                for info in archive.infolist():
                    if info.filename.lower().endswith(".pdf") and info.file_size < 64 * 1024 * 1024:
                        _pdf_evidence(archive.read(info), evidence, prefix=f"{info.filename}: ")
        except zipfile.BadZipFile:
            pass
    return evidence


__all__ = ["Stamp", "FileFacts", "NotAPdf", "stamp_pdf", "cover_sheet", "package_with_cover", "find_identifiers",
           "open_pdf", "page_count", "looks_like_pdf", "TOKEN_PATTERN"]
