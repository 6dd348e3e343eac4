"""Japanese line breaking (禁則処理) of hozen.documents.text, measured in ems: no PDF needed."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from hozen.documents.pdf import BODY, FONT_NAME, Text, register_font
from hozen.documents.text import NO_LINE_END, NO_LINE_START, break_lines, line_spans, normalize


def ems(text: str) -> float:
    """Wide characters 1 em, the rest half an em: the shape of IPAex Gothic's metrics."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in text)


def test_a_closing_mark_never_starts_a_line():
    # "。" falls exactly on the 11th place: it is pushed out with the character before it.
    assert break_lines("あいうえおかきくけこ。さしすせそ", 10, ems) == [
        "あいうえおかきくけ",
        "こ。さしすせそ",
    ]
    assert break_lines("あいうえおかきくけこ」と", 10, ems) == ["あいうえおかきくけ", "こ」と"]
    assert break_lines("あいうえおかきくけこっか", 10, ems) == ["あいうえおかきくけ", "こっか"]


def test_an_opening_bracket_never_ends_a_line():
    assert break_lines("あいうえおかきくけ「こ」、さしすせそ", 10, ems) == [
        "あいうえおかきくけ",
        "「こ」、さしすせそ",
    ]


def test_latin_words_and_reference_numbers_stay_whole():
    assert break_lines("指定番号はMETI-2025-0007です。", 10, ems) == ["指定番号は", "METI-2025-0007です。"]
    assert break_lines("This is an English sentence with words", 10, ems) == [
        "This is an English",
        "sentence with words",
    ]


def test_a_run_longer_than_a_line_is_broken_between_characters():
    assert break_lines("x" * 30, 10, ems) == ["x" * 20, "x" * 10]
    lines = break_lines("詳細はhttps://example.go.jp/a/very/long/pathを参照", 10, ems)
    assert lines[0].startswith("詳細はhttps")  # fills the line it starts on
    assert "".join(lines) == "詳細はhttps://example.go.jp/a/very/long/pathを参照"


def test_newlines_are_hard_breaks_and_ideographic_space_is_kept():
    assert break_lines("一\r\n二\n\n三", 10, ems) == ["一", "二", "", "三"]
    assert break_lines("\u3000字下げ", 10, ems) == ["\u3000字下げ"]
    assert break_lines("", 10, ems) == [""]


def test_a_line_narrower_than_one_character_still_makes_progress():
    assert break_lines("あいう", 0.5, ems) == ["あ", "い", "う"]


TEXT = st.text(
    alphabet=st.sampled_from(
        list("あいうえおアイウエオ漢字情報保護指定ゃっー。、「」（）・… ABCxyz019-./") + ["\n", "\u3000"]
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, width=st.integers(min_value=1, max_value=40))
def test_lines_fit_and_lose_nothing_but_the_spaces_at_breaks(text, width):
    lines = break_lines(text, width, ems)
    for line in lines:
        assert ems(line) <= width or len(line) == 1
    squeeze = str.maketrans("", "", " \n")
    assert "".join(lines).translate(squeeze) == text.translate(squeeze)


def _may_break(text: str, i: int) -> bool:
    """The rules restated: may a line break fall between text[i - 1] and text[i]?"""
    before, after = text[i - 1], text[i]
    if " " in (before, after):
        return True
    if after in NO_LINE_START or before in NO_LINE_END or (after == before and after in "…‥―—"):
        return False
    latin = [unicodedata.east_asian_width(c) not in "WFHA" for c in (before, after)]
    return not all(latin)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, width=st.integers(min_value=1, max_value=40))
def test_a_forbidden_break_happens_only_inside_a_run_wider_than_the_line(text, width):
    for hard_line in normalize(text).split("\n"):
        spans = line_spans(hard_line, width, ems)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            if start > end or end == 0 or start == len(hard_line) or _may_break(hard_line, start):
                continue
            # The unbreakable run around this break must be too wide for any line.
            left, right = start, start
            while left > 0 and not _may_break(hard_line, left):
                left -= 1
            while right < len(hard_line) and (right == start or not _may_break(hard_line, right)):
                right += 1
            assert ems(hard_line[left:right]) > width, (hard_line, width, hard_line[left:right])


@settings(max_examples=200, deadline=None)
@given(text=TEXT, width=st.integers(min_value=1, max_value=40), data=st.data())
def test_the_rest_of_a_paragraph_breaks_as_it_did_in_the_whole(text, width, data):
    # What a page break relies on: the text after line k, broken again, gives the same lines.
    text = normalize(text)
    spans = line_spans(text, width, ems)
    k = data.draw(st.integers(min_value=0, max_value=len(spans) - 1))
    rest = text[spans[k][0] :]
    whole = [text[a:b] for a, b in spans]
    assert break_lines(rest, width, ems) == whole[k:]


def test_a_text_block_split_at_a_page_break_keeps_every_line():
    register_font()
    text = "重要経済安保情報の指定に関する記録。" * 60
    block = Text(text, BODY)
    _, height = block.wrap(200, 10_000)
    lines = height / BODY.leading
    head, tail = block.split(200, BODY.leading * 5)
    assert head.wrap(200, 10_000)[1] == 5 * BODY.leading
    assert tail.wrap(200, 10_000)[1] == (lines - 5) * BODY.leading
    assert head.text + tail.text == text
    assert tail.continued and not head.continued
    assert FONT_NAME  # the flowable measures with the shipped font
