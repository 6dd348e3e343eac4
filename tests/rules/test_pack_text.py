"""A rules pack's texts and dates under the one text and date policy (issue 12 §1-2): YAML escapes
can write any character, so the loader refuses what every other channel refuses, naming the line."""

from __future__ import annotations

import pytest

from hozen.core.errors import RuleViolation
from hozen.rules import loader, services
from hozen.rules.models import RulesPack
from tests import factories

from .conftest import esi_text, line_of, variant

TITLE = "title_ja: 重要経済安保情報保護活用法に基づく規則（2025年）"


@pytest.mark.parametrize(("escape", "code"), [("\\u202e", "U+202E"), ("\\0", "U+0000"), ("\\x85", "U+0085"),
                                              ("\\u2066", "U+2066")])
def test_a_pack_title_with_a_control_or_direction_character_is_refused_naming_its_line(escape, code):
    text = esi_text().replace(TITLE, f'title_ja: "重要経済安保情報{escape}規則"')
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "bad.yaml")
    assert info.value.line == line_of(esi_text(), TITLE)
    assert "title_ja: character 9 is not allowed" in info.value.problem_en and code in info.value.problem_en


def test_official_wording_keeps_its_full_width_brackets():
    # Refused characters only: a pack's names are published texts, not NFKC-normalised.
    assert loader.load(esi_text(), "jp-esi-2025.yaml")["title_ja"] == "重要経済安保情報保護活用法に基づく規則（2025年）"


def test_a_pack_date_outside_the_plausible_range_is_refused_naming_its_line():
    text = esi_text().replace("    value: 2025-05-16", "    value: 1800-05-16", 1)
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "bad.yaml")
    assert "regime_start" in info.value.problem_en and "between 1900-01-01 and 2200-12-31" in info.value.problem_en


@pytest.mark.django_db
def test_publishing_under_a_file_name_with_a_direction_override_is_refused_and_writes_nothing(packs):
    before = RulesPack.objects.count()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=factories.operator(), source_text=variant(version=2),
                              filename="jp-esi\u202elmay.yaml")
    assert (info.value.code, info.value.field) == ("invalid_character", "file")
    assert RulesPack.objects.count() == before
