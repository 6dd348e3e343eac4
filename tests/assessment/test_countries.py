"""The questionnaire's countries (issue 15 §11): ISO 3166 from pycountry, picked or typed by name in
Japanese or English, stored as the two-letter code, shown by name."""

from __future__ import annotations

import pytest

from hozen.assessment import countries
from hozen.assessment.forms_portal import _display, _value
from hozen.assessment.questionnaire import Field

COUNTRY = Field("country", "country", "国", "Country")
COUNTRIES = Field("nationalities", "countries", "国籍", "Nationalities")


@pytest.mark.parametrize(("typed", "code"), [
    ("日本", "JP"), ("japan", "JP"), ("JP", "JP"), ("jp", "JP"), ("ＪＰ", "JP"), ("日本 (JP)", "JP"),
    ("米国", "US"), ("アメリカ合衆国", "US"), ("United States", "US"), ("韓国", "KR"), ("台湾", "TW"),
    ("イギリス", "GB"), ("Germany", "DE"), ("DEU", "DE"),
])
def test_a_country_is_found_by_its_name_in_either_language_or_its_code(typed, code):
    assert countries.code_for(typed) == code


def test_every_iso_country_has_a_japanese_and_an_english_name():
    ja, en = countries.names("ja"), countries.names("en")
    assert len(ja) == len(en) >= 249 and set(ja) == set(en)
    assert ja["JP"] == "日本" and en["JP"] == "Japan" and ja["TW"] == "台湾"
    assert countries.choices("ja")[0] == ("JP", "日本 (JP)")


def test_the_form_stores_codes_and_shows_names():
    assert _value(COUNTRY, "日本") == "JP" and _value(COUNTRY, "Narnia") == "NARNIA"  # unknown: refused by the check
    assert _value(COUNTRIES, "日本、米国") == ["JP", "US"] and _value(COUNTRIES, "JP US") == ["JP", "US"]
    assert _value(COUNTRIES, "United States, Japan") == ["US", "JP"]
    assert _display(COUNTRY, "JP", "ja") == "日本 (JP)" and _display(COUNTRY, "JP", "en") == "Japan (JP)"
    assert _display(COUNTRIES, ["JP", "KR"], "ja") == "日本 (JP), 大韓民国 (KR)"


def test_an_unknown_country_is_refused_naming_what_was_typed():
    import datetime as dt

    from hozen.assessment.validation import _Errors, _scalar

    errors = _Errors("identity")
    _scalar(COUNTRY, "XX", "country", errors, today=dt.date(2026, 6, 1))
    _scalar(COUNTRY, "JP", "country", errors, today=dt.date(2026, 6, 1))
    assert len(errors.items) == 1 and "「XX」という国は見つかりません" in errors.items[0].message("ja")
