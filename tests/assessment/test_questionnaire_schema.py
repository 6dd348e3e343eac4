"""The questionnaire asks the seven items and the listed background sections, and nothing else
(DOMAIN §6 step 4: investigating beliefs or lawful political or union activity is forbidden)."""

from __future__ import annotations

import re

from hozen.assessment import items, questionnaire
from hozen.assessment.questionnaire import BACKGROUND_SECTIONS, KINDS, SECTIONS

FORBIDDEN = re.compile(
    r"relig|faith|belief|believ|worship|church|temple|shrine|politic|party|parties|union|labou?r_?move|strike|"
    r"vote|voting|elect|ideolog|opinion|conscien|philosoph|sexual|orientation|ethnic|race|racial|caste|buraku|"
    r"membership|association|protest|demonstrat|petition|activis|宗教|信仰|信条|思想|政治|政党|労働組合|組合|選挙|"
    r"投票|性的|民族|人種|出自",
    re.IGNORECASE)


def test_the_seven_items_carry_the_acts_labels_verbatim():
    assert [i.label_ja for i in items.ITEMS] == [
        "重要経済基盤毀損活動との関係に関する事項", "犯罪及び懲戒の経歴に関する事項",
        "情報の取扱いに係る非違の経歴に関する事項", "薬物の濫用及び影響に関する事項", "精神疾患に関する事項",
        "飲酒についての節度に関する事項", "信用状態その他の経済的な状況に関する事項"]
    assert [i.number for i in items.ITEMS] == list(range(1, 8))


def test_every_section_is_one_of_the_seven_items_or_a_listed_background_section():
    for section in SECTIONS:
        assert section.item in (None, *items.ITEM_CODES), section.code
        if section.item is None:
            assert section.code in BACKGROUND_SECTIONS, section.code
    assert set(BACKGROUND_SECTIONS) <= {s.code for s in SECTIONS}
    assert {s.code for s in SECTIONS if s.code.startswith("item_")} == set(items.ITEM_CODES)
    assert questionnaire.section("relatives_and_cohabitants").item == "item_1"  # family details belong to item 1


def test_the_questionnaire_asks_nothing_about_beliefs_religion_politics_or_unions():
    for path, field in questionnaire.walk():
        for text in (path, field.label_ja, field.label_en, *(c.code + c.label_ja + c.label_en for c in field.choices)):
            assert not FORBIDDEN.search(text), (path, text)
    for section in SECTIONS:
        assert not FORBIDDEN.search(section.title_ja + section.title_en), section.code


def test_relatives_cover_every_relation_domain_lists_with_name_birth_nationality_and_address():
    group = next(f for f in questionnaire.section("relatives_and_cohabitants").fields if f.name == "relatives")
    relation = next(f for f in group.fields if f.name == "relation")
    assert [c.code for c in relation.choices] == ["spouse", "parent", "child", "sibling", "spouse_parent",
                                                  "spouse_child", "cohabitant"]
    assert "common-law" in relation.choices[0].label_en
    assert {f.name for f in group.fields} == {"relation", "name", "date_of_birth", "nationalities",
                                              "former_nationalities", "address"}


def test_employment_asks_jobs_of_one_month_or_more_without_overlaps_within_ten_years():
    jobs = next(f for f in questionnaire.section("employment_10y").fields if f.name == "jobs")
    assert (jobs.period.min_months, jobs.period.no_overlap, jobs.period.within_years) == (1, True, 10)


def test_every_field_has_a_known_kind_and_both_languages():
    for path, field in questionnaire.walk():
        assert field.kind in KINDS, path
        assert field.label_ja and field.label_en, path
        if field.required_if is not None:
            assert not field.required, path
