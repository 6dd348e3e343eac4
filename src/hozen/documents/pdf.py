"""Building blocks for Japanese government documents as PDF (ReportLab underneath).

`Document` collects blocks (title, headings, paragraphs, key–value tables, long tables with
their header repeated on each page, boxed notes) and renders them to bytes: A4 portrait or
landscape, a header and a "1 / 3" page number on every page, and the marking (e.g.
重要経済安保情報) at the top and bottom of every page when one is given.

Every PDF embeds a subset of the IPAex Gothic font shipped in `fonts/` (nothing is read from
the system and nothing from the network), and every piece of text goes through
`hozen.documents.text.break_lines`, so Japanese text wraps with 禁則処理 and never runs past
its column. Text is always plain text, never markup: what a caller passes is what is printed.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as landscape_of
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, LongTable, SimpleDocTemplate, Spacer, TableStyle

from hozen.core.calendars import TOKYO, wareki

from .text import line_spans, normalize

FONT_NAME = "Hozen-IPAexGothic"
FONT_FILE = "ipaexg.ttf"
AUTHOR = "Hozen"

_font_lock = threading.Lock()
_font_registered = False


def font_path() -> Path:
    """The shipped IPAex Gothic, from the installed package (never a system font)."""
    return Path(str(resources.files("hozen.documents").joinpath("fonts", FONT_FILE)))


def register_font() -> str:
    """Register the shipped font with ReportLab once per process; returns its name."""
    global _font_registered
    with _font_lock:
        if not _font_registered:
            path = font_path()
            if not path.is_file():
                raise RuntimeError(f"the Japanese font is missing from the installed package: {path}")
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
            _font_registered = True
    return FONT_NAME


def _measure(size: float) -> Callable[[str], float]:
    return lambda text: pdfmetrics.stringWidth(text, FONT_NAME, size)


# ---------------------------------------------------------------------------------------------
# Dates


def date_ja(value: dt.date | dt.datetime | None, *, empty: str = "—") -> str:
    """令和7年5月16日 (an aware datetime is read in Asia/Tokyo); `empty` for None."""
    return empty if value is None else wareki(value)


def datetime_ja(value: dt.datetime) -> str:
    """令和7年5月16日 9時05分, in Asia/Tokyo; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not allowed: store UTC, show Asia/Tokyo")
    local = value.astimezone(TOKYO)
    return f"{wareki(local)} {local.hour}時{local.minute:02d}分"


# ---------------------------------------------------------------------------------------------
# Text flowable


@dataclass(frozen=True)
class TextStyle:
    size: float = 10.0
    leading: float = 16.0
    align: str = "left"  # left | center | right
    color: colors.Color = colors.black
    space_before: float = 0.0
    space_after: float = 0.0


BODY = TextStyle()
SMALL = TextStyle(size=7.5, leading=10.0)
TITLE = TextStyle(size=18.0, leading=26.0, align="center", space_after=4.0)
SUBTITLE = TextStyle(size=11.0, leading=16.0, align="center", space_after=10.0)
HEADING = TextStyle(size=12.0, leading=18.0, space_before=10.0, space_after=4.0)
SUBHEADING = TextStyle(size=10.5, leading=16.0, space_before=6.0, space_after=2.0)


class Text(Flowable):
    """Plain text broken into lines by `line_spans`; splits across pages and table rows.

    `bullet` (e.g. "・") is drawn before the first line; the other lines are indented to align
    with the text after it, also after a page break (`continued`)."""

    def __init__(
        self,
        text: str,
        style: TextStyle = BODY,
        *,
        bullet: str = "",
        keep_with_next: bool = False,
        continued: bool = False,
    ):
        super().__init__()
        self.text = normalize(text)
        self.style = style
        self.bullet = bullet
        self.continued = continued
        self.spaceBefore = style.space_before
        self.spaceAfter = style.space_after
        self.keepWithNext = keep_with_next
        self._spans: tuple[float, list[tuple[int, int]]] | None = None
        self.width = 0.0
        self.height = 0.0

    def _indent(self) -> float:
        return pdfmetrics.stringWidth(self.bullet, FONT_NAME, self.style.size) if self.bullet else 0.0

    def _line_spans(self, avail_width: float) -> list[tuple[int, int]]:
        width = max(avail_width - self._indent(), self.style.size)
        if self._spans is None or self._spans[0] != width:
            self._spans = (width, line_spans(self.text, width, _measure(self.style.size)))
        return self._spans[1]

    def wrap(self, availWidth, availHeight):  # ReportLab's names
        self.width = availWidth
        self.height = len(self._line_spans(availWidth)) * self.style.leading
        return self.width, self.height

    def split(self, availWidth, availHeight):
        # A table splitting a row passes the column's width without its padding (ReportLab
        # 4-5); the width this was last wrapped to is the one the text is drawn at.
        width = min(availWidth, self.width) if self.width else availWidth
        spans = self._line_spans(width)
        fit = int((availHeight + 1e-6) // self.style.leading)
        if fit <= 0 or fit >= len(spans):
            return []
        return [
            Text(
                self.text[: spans[fit - 1][1]],
                replace(self.style, space_after=0.0),
                bullet=self.bullet,
                continued=self.continued,
            ),
            Text(
                self.text[spans[fit][0] :],
                replace(self.style, space_before=0.0),
                bullet=self.bullet,
                continued=True,
            ),
        ]

    def draw(self):
        canvas = self.canv
        style = self.style
        indent = self._indent()
        canvas.setFillColor(style.color)
        canvas.setFont(FONT_NAME, style.size)
        # The baseline sits so that the em box is centred in the line's leading.
        baseline = self.height - (style.leading - style.size) / 2 - style.size * 0.88
        if self.bullet and not self.continued:
            canvas.drawString(0, baseline, self.bullet)
        for start, end in self._line_spans(self.width):
            line = self.text[start:end]
            if style.align == "center":
                canvas.drawCentredString(self.width / 2, baseline, line)
            elif style.align == "right":
                canvas.drawRightString(self.width, baseline, line)
            else:
                canvas.drawString(indent, baseline, line)
            baseline -= style.leading


# ---------------------------------------------------------------------------------------------
# Page furniture


@dataclass(frozen=True)
class _Furniture:
    """What every page carries besides the flowing content."""

    pagesize: tuple[float, float]
    marking: str | None
    header_left: str
    header_right: str
    footer_left: str


_MARKING_COLOR = colors.HexColor("#b00020")
_RULE_COLOR = colors.HexColor("#9e9e9e")
_GREY = colors.HexColor("#555555")


def _draw_marking(canvas: Canvas, text: str, centre_x: float, baseline: float) -> None:
    size = 11.0
    width = pdfmetrics.stringWidth(text, FONT_NAME, size)
    canvas.setStrokeColor(_MARKING_COLOR)
    canvas.setFillColor(_MARKING_COLOR)
    canvas.setLineWidth(1.0)
    canvas.rect(centre_x - width / 2 - 3 * mm, baseline - 1.6 * mm, width + 6 * mm, size + 2.2 * mm)
    canvas.setFont(FONT_NAME, size)
    canvas.drawCentredString(centre_x, baseline, text)


def _decorate(canvas: Canvas, furniture: _Furniture, page: int, pages: int) -> None:
    page_width, page_height = furniture.pagesize
    left, right = _MARGIN_X, page_width - _MARGIN_X
    canvas.saveState()
    if furniture.marking:
        _draw_marking(canvas, furniture.marking, page_width / 2, page_height - 10 * mm)
        _draw_marking(canvas, furniture.marking, page_width / 2, 7 * mm)
    canvas.setFont(FONT_NAME, 8)
    canvas.setFillColor(_GREY)
    if furniture.header_left:
        canvas.drawString(left, page_height - 18 * mm, _fit(furniture.header_left, (right - left) / 2 - 6, 8))
    if furniture.header_right:
        canvas.drawRightString(
            right, page_height - 18 * mm, _fit(furniture.header_right, (right - left) / 2 - 6, 8)
        )
    canvas.setStrokeColor(_RULE_COLOR)
    canvas.setLineWidth(0.5)
    canvas.line(left, page_height - 19.5 * mm, right, page_height - 19.5 * mm)
    canvas.line(left, 18.5 * mm, right, 18.5 * mm)
    if furniture.footer_left:
        canvas.drawString(left, 14.5 * mm, _fit(furniture.footer_left, (right - left) / 2 - 30, 8))
    canvas.setFont(FONT_NAME, 9)
    canvas.setFillColor(colors.black)
    canvas.drawCentredString(page_width / 2, 14.5 * mm, f"{page} / {pages}")
    canvas.restoreState()


def _fit(text: str, width: float, size: float) -> str:
    """Cut one-line header text to `width`, ending with … when cut."""
    if pdfmetrics.stringWidth(text, FONT_NAME, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", FONT_NAME, size) > width:
        text = text[:-1]
    return text + "…"


class _PagedCanvas(Canvas):
    """Holds pages back until the end so each can say "n / total" (ReportLab's usual recipe)."""

    def __init__(self, *args, furniture: _Furniture, **kwargs):
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._held_pages: list[dict] = []

    def showPage(self):
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._held_pages)
        for state in self._held_pages:
            self.__dict__.update(state)
            _decorate(self, self._furniture, self.getPageNumber(), total)
            super().showPage()
        super().save()


# ---------------------------------------------------------------------------------------------
# Document


_MARGIN_X = 18 * mm
_MARGIN_TOP = 23 * mm
_MARGIN_BOTTOM = 22 * mm
_HEADER_FILL = colors.HexColor("#e8e8e8")
_KEY_FILL = colors.HexColor("#f3f3f3")
_NOTE_FILL = colors.HexColor("#fff8e1")
_NOTE_BORDER = colors.HexColor("#8d6e00")
_GRID = colors.HexColor("#7a7a7a")
_DETERMINISTIC_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class Document:
    """A document under construction; `render()` returns the PDF's bytes.

    deterministic=True gives byte-identical output for identical input (a fixed file
    identifier; the creation date is `created_at`, or 2000-01-01 when none is given): for
    tests and for documents whose hash is recorded."""

    def __init__(
        self,
        *,
        title: str,
        marking: str | None = None,
        landscape: bool = False,
        header_left: str = "",
        header_right: str = "",
        footer_left: str = "",
        subject: str = "",
        created_at: dt.datetime | None = None,
        deterministic: bool = False,
    ):
        if not title:
            raise ValueError("a document needs a title (it becomes the PDF's metadata title)")
        if created_at is not None and created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        register_font()
        self.title = title
        self.subject = subject
        self.deterministic = deterministic
        self.created_at = created_at or (_DETERMINISTIC_EPOCH if deterministic else dt.datetime.now(dt.UTC))
        self.pagesize = landscape_of(A4) if landscape else A4
        self._furniture = _Furniture(self.pagesize, marking or None, header_left, header_right, footer_left)
        self._story: list[Flowable] = []

    @property
    def content_width(self) -> float:
        """The width blocks can use, in points (inside the frame's padding)."""
        return self.pagesize[0] - 2 * _MARGIN_X - 12

    # Blocks ------------------------------------------------------------------------------

    def title_block(self, title: str, *, subtitle: str = "") -> None:
        self._story.append(Text(title, TITLE, keep_with_next=bool(subtitle)))
        if subtitle:
            self._story.append(Text(subtitle, SUBTITLE))

    def heading(self, text: str, *, level: int = 1) -> None:
        self._story.append(Text(text, HEADING if level <= 1 else SUBHEADING, keep_with_next=True))

    def paragraph(self, text: str, *, align: str = "left", small: bool = False, bullet: str = "") -> None:
        style = replace(SMALL if small else BODY, align=align, space_after=4.0)
        self._story.append(Text(text, style, bullet=bullet))

    def spacer(self, height_mm: float) -> None:
        self._story.append(Spacer(1, height_mm * mm))

    def key_values(self, rows: Iterable[tuple[str, str]], *, key_share: float = 0.26) -> None:
        """Two-column table: the label, shaded, on the left; the value on the right."""
        key_width = self.content_width * key_share
        widths = [key_width, self.content_width - key_width]
        data = [[[Text(key, BODY)], [Text(value, BODY)]] for key, value in rows]
        if not data:
            return
        table = LongTable(data, colWidths=widths, splitInRow=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
                    _CELL_FONT,
                    ("BACKGROUND", (0, 0), (0, -1), _KEY_FILL),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    *_PADDING,
                ]
            )
        )
        table.spaceAfter = 8
        self._story.append(table)

    def table(
        self,
        header: Sequence[str],
        rows: Iterable[Sequence[str]],
        *,
        widths: Sequence[float] | None = None,
        small: bool = False,
        empty: str = "該当なし",
    ) -> None:
        """A table whose header row repeats on every page it runs over.

        `widths` are relative shares of the content width (default: equal)."""
        shares = list(widths) if widths else [1.0] * len(header)
        if len(shares) != len(header):
            raise ValueError(f"{len(header)} columns but {len(shares)} widths")
        total = sum(shares)
        col_widths = [self.content_width * share / total for share in shares]
        style = SMALL if small else BODY
        head_style = replace(style, align="center")
        data = [[[Text(cell, head_style)] for cell in header]]
        for row in rows:
            if len(row) != len(header):
                raise ValueError(f"a row has {len(row)} cells, the header {len(header)}")
            data.append([[Text(cell, style)] for cell in row])
        if len(data) == 1:
            data.append([[Text(empty, style)]] + [[Text("", style)] for _ in header[1:]])
        table = LongTable(data, colWidths=col_widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
                    _CELL_FONT,
                    ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
                    ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                    ("VALIGN", (0, 1), (-1, -1), "TOP"),
                    *(_PADDING_SMALL if small else _PADDING),
                ]
            )
        )
        table.spaceAfter = 8
        self._story.append(table)

    def note(self, lines: Sequence[str], *, title: str = "") -> None:
        """A boxed note (注意・要確認事項): a title line, then one bullet per line."""
        content: list[Flowable] = []
        if title:
            content.append(Text(title, replace(BODY, space_after=2.0)))
        content.extend(Text(line, BODY, bullet="・") for line in lines)
        if not content:
            return
        table = LongTable([[content]], colWidths=[self.content_width], splitInRow=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 1.2, _NOTE_BORDER),
                    _CELL_FONT,
                    ("BACKGROUND", (0, 0), (-1, -1), _NOTE_FILL),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        table.spaceBefore = 4
        table.spaceAfter = 8
        self._story.append(table)

    # Output ------------------------------------------------------------------------------

    def render(self) -> bytes:
        buffer = io.BytesIO()
        template = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=_MARGIN_X,
            rightMargin=_MARGIN_X,
            topMargin=_MARGIN_TOP,
            bottomMargin=_MARGIN_BOTTOM,
            title=self.title,
            author=AUTHOR,
            subject=self.subject,
            creator=AUTHOR,
            lang="ja-JP",
            invariant=1 if self.deterministic else 0,
            initialFontName=FONT_NAME,
            initialFontSize=10,
        )
        furniture = self._furniture
        created = _pdf_date(self.created_at)

        def make_canvas(*args, **kwargs) -> Canvas:
            canvas = _PagedCanvas(*args, furniture=furniture, **kwargs)
            canvas.setDateFormatter(lambda *_: created)
            return canvas

        story = self._story or [Spacer(1, 1)]
        template.build(list(story), canvasmaker=make_canvas)
        return buffer.getvalue()


# Tables set their cells' font even when the cells hold flowables: name ours, or ReportLab's
# default (Helvetica, not embedded) would appear in the PDF's font resources.
_CELL_FONT = ("FONTNAME", (0, 0), (-1, -1), FONT_NAME)
_PADDING = (
    ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ("TOPPADDING", (0, 0), (-1, -1), 3),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
)
_PADDING_SMALL = (
    ("LEFTPADDING", (0, 0), (-1, -1), 3),
    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ("TOPPADDING", (0, 0), (-1, -1), 2),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
)


def _pdf_date(value: dt.datetime) -> str:
    """A PDF date string (D:YYYYMMDDHHmmSS+09'00'), in Asia/Tokyo."""
    local = value.astimezone(TOKYO)
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"D:{local:%Y%m%d%H%M%S}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"
