"""The one text policy (issue 12 §1): what every free-text field refuses and how it stores the rest."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hozen.core.errors import RuleViolation
from hozen.core.text import check_date, clean, visible_length

LABEL = ("件名", "Title")


@pytest.mark.parametrize(("value", "position", "code"), [
    ("abc\x00def", 4, "U+0000"),          # NUL
    ("\u202eevil", 1, "U+202E"),          # right-to-left override
    ("ok\u2066x", 3, "U+2066"),           # isolate
    ("a\ud800b", 2, "U+D800"),            # lone surrogate
    ("x\x85", 2, "U+0085"),               # C1 control
    ("a\ufffe", 2, "U+FFFE"),             # non-character
    ("line\nbreak", 5, "U+000A"),         # a newline in a one-line field
])
def test_forbidden_characters_are_refused_naming_the_field_and_the_position(value, position, code):
    with pytest.raises(RuleViolation) as info:
        clean(value, field="title", label=LABEL)
    assert info.value.code == "invalid_character" and info.value.field == "title"
    assert f"character {position} " in info.value.message_en and code in info.value.message_en
    assert f"{position}文字目" in info.value.message_ja and info.value.message_ja.startswith("件名")


def test_newlines_and_tabs_are_kept_in_multi_line_fields_and_carriage_returns_folded():
    assert clean("一行目\r\n\t二行目\r三行目", field="summary", multiline=True) == "一行目\n\t二行目\n三行目"


def test_text_is_nfkc_normalised_and_stripped():
    assert clean("  ﾊﾝｶｸｶﾅ　ＡＢＣ１２３ ", field="title") == "ハンカクカナ ABC123"


def test_at_least_n_characters_counts_visible_characters_only():
    with pytest.raises(RuleViolation) as info:
        clean("あ" + " " * 20 + "\u200b" * 20, field="reason", min_visible=10, label=("理由", "Reason"))
    assert info.value.code == "text_too_short"
    assert clean("十文字以上の理由を書く", field="reason", min_visible=10) == "十文字以上の理由を書く"


def test_length_limits_count_after_normalisation():
    assert clean("ｱ" * 5, field="title", max_length=5) == "ア" * 5
    with pytest.raises(RuleViolation) as info:
        clean("x" * 6, field="title", max_length=5, label=LABEL)
    assert info.value.code == "text_too_long" and "6" in info.value.message_en


def test_required_and_wrong_types():
    with pytest.raises(RuleViolation) as info:
        clean("   ", field="title", required=True, label=LABEL)
    assert info.value.code == "text_required"
    with pytest.raises(RuleViolation):
        clean(12, field="title")
    assert clean(None, field="note") == ""


@given(st.text())
def test_whatever_is_stored_holds_no_forbidden_character(value):
    try:
        stored = clean(value, field="f", multiline=True)
    except RuleViolation as exc:
        assert exc.code == "invalid_character" and exc.field == "f"
        return
    assert all(ch in "\n\t" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F) for ch in stored)
    assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in stored)
    assert clean(stored, field="f", multiline=True) == stored  # stable: storing it again changes nothing
    assert visible_length(stored) <= len(stored)


def test_dates_outside_plausible_bounds_are_refused_naming_the_field():
    for bad in (dt.date(1, 1, 1), dt.date(1899, 12, 31), dt.date(2201, 1, 1)):
        with pytest.raises(RuleViolation) as info:
            check_date(bad, field="occurred_on", label=("発生日", "Date of the event"))
        assert (info.value.code, info.value.field) == ("date_out_of_range", "occurred_on")
    assert check_date(dt.date(2026, 6, 1), field="occurred_on") == dt.date(2026, 6, 1)
    with pytest.raises(RuleViolation):
        check_date(dt.datetime(2026, 6, 1), field="occurred_on")
    with pytest.raises(RuleViolation) as info:
        check_date(dt.date(2025, 5, 1), field="designated_on", earliest=dt.date(2025, 5, 16))
    assert info.value.code == "date_out_of_range"
