"""One text policy for every free-text field on every channel (ARCHITECTURE rule 7; issue 12).

Screens, the API, CSV imports and the CLI all reach the same services; each service passes every
free-text value it stores through `clean()` (and every date through `check_date()`), so the rule
is the same whichever way the text arrived:

- a lone surrogate, a C0/C1 control character (newline and tab only in multi-line fields; a
  carriage return is folded into the newline), a bidirectional override or isolate (U+202A–U+202E,
  U+2066–U+2069, which can make a title read differently from what it holds) or a Unicode
  non-character is refused, naming the field and the character's position (1-based, in the text as
  given);
- the text is NFKC-normalised (half-width katakana becomes full-width, full-width ASCII becomes
  ASCII), as people's names already are, and stripped of surrounding white space;
- length limits are counted after normalisation; "at least N characters" counts visible characters
  only (not spaces, not invisible format characters), so ten spaces or eleven NULs never pass it.

Each refusal is a RuleViolation with a stable code (`invalid_character`, `text_too_long`,
`text_too_short`, `text_required`, `date_out_of_range`) and Japanese and English messages.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import re
import unicodedata
from typing import Any

from .errors import RuleViolation

#: Bidirectional embeddings, overrides and isolates: text that displays differently from what it is.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))

#: Dates no record of this regime can carry (a birth in 1899 or a term ending in 2201 is a typing error).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _refusal(ch: str, position: int, field: str, label: tuple[str, str]) -> RuleViolation:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        what_ja, what_en = "不正な文字コード（対になっていないサロゲート）", "a broken character (an unpaired surrogate)"
    elif ch in BIDI_CONTROLS:
        what_ja, what_en = "表示の向きを変える制御文字", "a control character that changes the text's direction"
    elif _is_noncharacter(code):
        what_ja, what_en = "文字として使えない符号", "a code point that is not a character"
    else:
        what_ja, what_en = "制御文字", "a control character"
    return RuleViolation(
        "invalid_character",
        f"{label[0]}の{position}文字目に使用できない文字があります（{what_ja}、U+{code:04X}）。",
        f"{label[1]}: character {position} is not allowed ({what_en}, U+{code:04X}).",
        field=field)


def forbidden_position(value: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """(1-based position, character) of the first character the policy refuses, or None."""
    allowed = {"\n", "\t", "\r"} if multiline else set()
    for index, ch in enumerate(value, start=1):
        code = ord(ch)
        if ch in allowed:
            continue
        if (code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or ch in BIDI_CONTROLS
                or _is_noncharacter(code)):
            return index, ch
    return None


def visible_length(value: str) -> int:
    """Characters a reader sees: not white space, not invisible format characters."""
    return sum(1 for ch in value if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Zl", "Zp"))


def clean(value: Any, *, field: str, label: tuple[str, str] | None = None, multiline: bool = False,
          max_length: int | None = None, min_visible: int = 0, required: bool = False) -> str:
    """The text as stored: checked, NFKC-normalised, stripped. `label` is (Japanese, English) for
    the messages (default: the field's name); `required` refuses an empty value; `min_visible`
    counts visible characters; `max_length` counts characters after normalisation."""
    label = label or (field, field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleViolation("text_required", f"{label[0]}は文字列で入力してください。",
                            f"{label[1]} must be text.", field=field)
    found = forbidden_position(value, multiline=multiline)
    if found is not None:
        raise _refusal(found[1], found[0], field, label)
    text = unicodedata.normalize("NFKC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    # NFKC never makes a control or bidi character out of allowed ones; checked again all the same.
    found = forbidden_position(text, multiline=multiline)
    if found is not None:
        raise _refusal(found[1], found[0], field, label)
    if required and not text:
        raise RuleViolation("text_required", f"{label[0]}を入力してください。", f"Enter {label[1].lower()}.",
                            field=field)
    if max_length is not None and len(text) > max_length:
        raise RuleViolation("text_too_long", f"{label[0]}は{max_length}文字以内で入力してください（{len(text)}文字）。",
                            f"{label[1]} must be at most {max_length} characters (it has {len(text)}).", field=field)
    if min_visible and text and visible_length(text) < min_visible:
        raise RuleViolation("text_too_short", f"{label[0]}は{min_visible}文字以上で記載してください。",
                            f"{label[1]} needs at least {min_visible} visible characters.", field=field)
    return text


#: A date typed as text: year, month and day, separated by "-" (ISO 8601) or "/".
_DATE_TEXT = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def parse_date_text(value: Any, *, field: str, label: tuple[str, str] | None = None,
                    separators: str = "-/") -> dt.date:
    """A date typed as text, YYYY-MM-DD (or YYYY/MM/DD when `separators` allows "/").

    Text in that shape that names a day the calendar does not have (2025-02-30, 2026-13-01) is
    refused as such, `date_not_in_calendar`, saying which days the month has: the format was
    right, so "use YYYY-MM-DD" would mislead (issue 15). Anything else is `invalid_date`, with the
    format and an example. `label` (Japanese, English) prefixes the messages; without it they
    stand alone (beside a form's field)."""
    text = value.strip() if isinstance(value, str) else ""
    match = _DATE_TEXT.fullmatch(text)
    ja_prefix, en_prefix = (f"{label[0]}: ", f"{label[1]}: ") if label else ("", "")
    if match is None or match.group(2) not in separators:
        raise RuleViolation("invalid_date", f"{ja_prefix}日付は YYYY-MM-DD の形で入力してください（例: 2026-06-01）。",
                            f"{en_prefix}{'e' if label else 'E'}nter a date as YYYY-MM-DD, for example 2026-06-01.",
                            field=field)
    year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
    with contextlib.suppress(ValueError):  # a real date; otherwise say why the calendar has no such day
        return dt.date(year, month, day)
    typed_ja, typed_en = f"{year}年{month}月{day}日", f"{year:04d}-{month:02d}-{day:02d}"
    if not 1 <= month <= 12:
        why_ja, why_en = "月は1から12までです", "months run from 1 to 12"
    elif year < 1:
        why_ja, why_en = "年は1以上です", "years start at 1"
    else:
        last = calendar.monthrange(year, month)[1]
        why_ja = f"{year}年{month}月は{last}日までです"
        why_en = f"{_MONTHS_EN[month - 1]} {year} has {last} days"
    raise RuleViolation("date_not_in_calendar", f"{ja_prefix}{typed_ja}は暦にない日付です（{why_ja}）。",
                        f"{en_prefix}{typed_en} is not a date in the calendar ({why_en}).", field=field)


def check_date(value: Any, *, field: str, label: tuple[str, str] | None = None,
               earliest: dt.date = EARLIEST_DATE, latest: dt.date = LATEST_DATE) -> dt.date:
    """A date within plausible bounds (1900–2200 unless the rule says narrower), refused naming the field."""
    label = label or (field, field)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise RuleViolation("invalid_date", f"{label[0]}は日付（YYYY-MM-DD）で入力してください。",
                            f"{label[1]} must be a date written YYYY-MM-DD.", field=field)
    if not earliest <= value <= latest:
        raise RuleViolation("date_out_of_range",
                            f"{label[0]}は{earliest:%Y-%m-%d}から{latest:%Y-%m-%d}までの日付にしてください。",
                            f"{label[1]} must be between {earliest:%Y-%m-%d} and {latest:%Y-%m-%d}.", field=field)
    return value
