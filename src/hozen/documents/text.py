"""Japanese line breaking (禁則処理) for the PDF layer.

Pure functions: the caller passes a `measure(text) -> width` callback, so the rules can be
tested without a PDF. The rules are a small subset of JIS X 4051:
- a line may break between any two Japanese characters;
- 行頭禁則: closing brackets, 、。, small kana, ー, ・, ？！ etc. never start a line; they are
  kept on the line before together with the character they follow (追い出し, never hanging
  into the margin, so no line is ever wider than the space it was given);
- 行末禁則: opening brackets never end a line; they move down with what they open;
- 分離禁止: ……, ―― and runs of Latin letters, digits and ASCII punctuation (METI-2025-0007,
  URLs) stay whole, unless a run alone is wider than a line, which then breaks between
  characters;
- spaces between Latin words are break opportunities and vanish at a line's ends.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

Measure = Callable[[str], float]

# 行頭禁則文字: may not begin a line.
NO_LINE_START = frozenset(
    "、。，．：；？！‼⁇⁈⁉・･"
    "）］｝〕〉》」』】〙〗〟’”｠"
    "ヽヾーｰァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻ゝゞ"
    "ｧｨｩｪｫｯｬｭｮ"
    "‐゠–〜～"
    "％℃°′″"
    ")]},.:;?!%"  # ASCII: only matters where a Latin run meets Japanese text
)
# 行末禁則文字: may not end a line.
NO_LINE_END = frozenset("（［｛〔〈《「『【〘〖〝‘“｟￥＄＃([{$#")
# 分離禁止: a run of the same one of these stays on one line.
INSEPARABLE = frozenset("…‥―—")

_EPSILON = 1e-6


def normalize(text: str) -> str:
    """The text as lines are cut from it: newlines unified, tabs as spaces."""
    return str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")


def break_lines(text: str, width: float, measure: Measure) -> list[str]:
    """Split `text` into lines no wider than `width`; newlines in the text are hard breaks.

    Every returned line measures at most `width`, except a single character wider than
    `width` on its own (the only way to make progress)."""
    text = normalize(text)
    return [text[start:end] for start, end in line_spans(text, width, measure)]


def line_spans(text: str, width: float, measure: Measure) -> list[tuple[int, int]]:
    """(start, end) of each line in normalize(text): what a layout needs to cut a paragraph
    in two and re-break either part at another width. Spaces at a break belong to no line."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for hard_line in text.split("\n"):
        spans.extend((offset + start, offset + end) for start, end in _break_one(hard_line, width, measure))
        offset += len(hard_line) + 1
    return spans


def _is_space(char: str) -> bool:
    # The ideographic space (U+3000) is a full-width character (often an indent), not a gap.
    return char != "\u3000" and (char.isspace() or unicodedata.category(char) == "Zs")


def _breaks_anywhere(char: str) -> bool:
    """True for characters a line may break before or after (Japanese and other wide text)."""
    width = unicodedata.east_asian_width(char)
    if width in ("W", "F", "H"):
        return True
    # Ambiguous-width symbols (※, ○, →, …) behave like Japanese; ambiguous letters (Greek,
    # Cyrillic) stay in their word.
    return width == "A" and not unicodedata.category(char).startswith(("L", "N"))


def _kind(char: str) -> str:
    if _is_space(char):
        return "space"
    return "wide" if _breaks_anywhere(char) else "latin"


def _units(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_space): one wide character, one Latin run, or one run of spaces."""
    units: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or _kind(text[i]) == "wide" or _kind(text[i]) != _kind(text[start]):
            units.append((start, i, _kind(text[start]) == "space"))
            start = i
    return units


def _glue(text: str, units: list[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """Join units that must not be separated by a line break (禁則 and 分離禁止)."""
    groups: list[tuple[int, int, bool]] = []
    for start, end, is_space in units:
        if not is_space and groups and not groups[-1][2]:
            first, last = text[start], text[groups[-1][1] - 1]
            if first in NO_LINE_START or last in NO_LINE_END or (first in INSEPARABLE and last == first):
                groups[-1] = (groups[-1][0], end, False)
                continue
        groups.append((start, end, is_space))
    return groups


def _break_one(text: str, width: float, measure: Measure) -> list[tuple[int, int]]:
    """Greedy filling of one hard line, as (start, end) spans."""
    spans: list[tuple[int, int]] = []
    line_start: int | None = None  # None: the line is still empty
    line_end = 0
    used = 0.0
    for start, end, is_space in _glue(text, _units(text)):
        if is_space:
            continue
        group_width = measure(text[start:end])
        gap_width = measure(text[line_end:start]) if line_start is not None and start > line_end else 0.0
        if line_start is None and group_width <= width + _EPSILON:
            line_start, line_end, used = start, end, group_width
        elif line_start is not None and used + gap_width + group_width <= width + _EPSILON:
            line_end, used = end, used + gap_width + group_width
        elif group_width <= width + _EPSILON:
            spans.append((line_start, line_end))
            line_start, line_end, used = start, end, group_width
        else:
            # Wider than any line (a long URL, a run of glued brackets): fill the current line,
            # then break between characters, at least one character per line.
            if line_start is not None and used + gap_width + measure(text[start]) > width + _EPSILON:
                spans.append((line_start, line_end))
                line_start = None
            if line_start is None:
                line_start, used = start, 0.0
            else:
                used += gap_width
            for i in range(start, end):
                char_width = measure(text[i])
                if i > line_start and used + char_width > width + _EPSILON:
                    spans.append((line_start, i))
                    line_start, used = i, 0.0
                used += char_width
            line_end = end
    spans.append((0, 0) if line_start is None else (line_start, line_end))
    return spans
