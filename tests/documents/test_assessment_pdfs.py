"""The assessment's papers (hozen.documents.assessment) read back with pypdf: 告知書, 同意書,
結果通知書 and the submitted-questionnaire copy, in Japanese and English (DOMAIN §6, issue 6 §4)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from hozen.assessment.items import ITEMS
from hozen.documents import assessment as papers

from .test_pdf import flat, fonts

AT = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)  # 令和8年6月1日 12時00分 in Tokyo
ITEM_DATA = [{"number": i.number, "label_ja": i.label_ja, "label_en": i.label_en} for i in ITEMS]
CASE = {"case_ref": "42", "person_name": "山田 太郎", "organ_name": "経済産業省",
        "nominating_organisation": "東和重工業株式会社", "post": "技術部 主任"}


def notice(language="ja", **over):
    return papers.assessment_notice({**CASE, "notice_given_at": AT, "rules_version": "jp-esi-2025 v1",
                                     "items": ITEM_DATA, **over}, language=language)


def test_notice_in_japanese_names_the_seven_items_methods_refusal_and_no_disadvantage():
    text = flat(notice())
    assert "告知書" in text and "山田 太郎" in text and "令和8年6月1日" in text
    for item in ITEMS:
        assert item.label_ja in text
    assert "同意しないことができます" in text
    assert "不利益な取扱いを受けることはありません" in text
    assert "面接" in text and "照会" in text
    assert "思想、信条、信教" in text


def test_notice_in_english():
    text = flat(notice("en"))
    assert "Notice of an aptitude assessment" in text and "You may refuse" in text and "No disadvantage" in text
    assert "Credit and other financial circumstances" in text and "2026-06-01" in text


def test_notice_is_deterministic_from_stored_facts_and_embeds_only_the_shipped_font():
    assert notice() == notice()
    names = {str(f.get("/BaseFont", "")) for f in fonts(notice())}
    assert names and all("IPAex" in n for n in names if n)


def test_notice_refuses_anything_but_the_seven_items_and_a_known_language():
    with pytest.raises(ValueError):
        notice(items=ITEM_DATA[:6])
    with pytest.raises(ValueError):
        notice("fr")
    with pytest.raises(ValueError, match="notice_given_at"):
        notice(notice_given_at=dt.datetime(2026, 6, 1, 3, 0))  # naive


def consent(language="ja", declarations=None):
    return papers.consent_record({**CASE, "notice_given_at": AT, "declarations": declarations or [
        {"kind": "consented", "at": AT + dt.timedelta(days=2)}]}, language=language)


def test_consent_record_in_japanese_and_english():
    text = flat(consent())
    assert "同意書" in text and "適性評価の実施に同意します" in text and "二要素認証" in text
    assert "令和8年6月3日" in text
    text = flat(consent("en"))
    assert "Record of consent" in text and "I consent to the aptitude assessment" in text


def test_consent_record_of_a_refusal_and_of_a_withdrawal():
    assert "不同意書" in flat(consent(declarations=[{"kind": "refused", "at": AT}]))
    text = flat(consent(declarations=[{"kind": "consented", "at": AT},
                                      {"kind": "consent_withdrawn", "at": AT + dt.timedelta(days=10)}]))
    assert "同意を取り下げました" in text and "令和8年6月11日" in text
    with pytest.raises(ValueError):
        consent(declarations=[{"kind": "maybe", "at": AT}])


REASONS = [{**i, "reason": f"事項{i['number']}について懸念は認められない。"} for i in ITEM_DATA]


def result(language="ja", **over):
    return papers.result_notice({**CASE, "notified_at": AT, "favourable": True, "valid_until": dt.date(2036, 6, 1),
                                 "reasons_waived": False, "reasons": REASONS, **over}, language=language)


def test_result_notice_carries_result_valid_until_and_reasons_per_item():
    text = flat(result())
    assert "結果通知書" in text and "漏らすおそれがないと認められる" in text
    assert "令和18年6月1日" in text  # valid until
    for n in range(1, 8):
        assert f"事項{n}について懸念は認められない。" in text
    assert "苦情" in text


def test_result_notice_without_reasons_when_waived_and_in_english():
    text = flat(result(reasons_waived=True, reasons=None))
    assert "事項1について" not in text and "理由の通知を希望しない" in text
    text = flat(result("en", favourable=False, valid_until=None))
    assert "Unfavourable" in text and "Valid until" not in text and "Reasons" in text


@pytest.mark.parametrize("valid_until", [None, dt.date(2036, 6, 1)])
def test_unfavourable_result_notice_has_no_valid_until_row_in_either_language(valid_until):
    english = flat(result("en", favourable=False, valid_until=valid_until))
    assert "Unfavourable" in english and "Notified" in english
    assert "Valid until" not in english and "2036-06-01" not in english and "—" not in english
    japanese = flat(result(favourable=False, valid_until=valid_until))
    assert "漏らすおそれがないとは認められない" in japanese and "通知の日" in japanese
    assert "有効期間の満了日" not in japanese and "令和18年" not in japanese


def test_favourable_result_notice_in_english_shows_valid_until():
    text = flat(result("en"))
    assert "Valid until" in text and "2036-06-01" in text


def test_questionnaire_copy_shows_the_answers_and_the_hash():
    canonical = '{"case":"abc","sections":{"identity":{"family_name":"山田"}}}'
    sha = hashlib.sha256(canonical.encode()).hexdigest()
    pdf = papers.questionnaire_copy({**CASE, "submitted_at": AT, "sha256": sha, "case_id": "abc", "canonical": canonical,
                                     "sections": [{"title": "本人に関する事項", "rows": [("氏", "山田")], "groups": [
                                         {"title": "旧姓・旧名", "entries": [[("氏", "佐藤")]]}]}]})
    text = flat(pdf)
    assert sha in text and "本人に関する事項" in text and "佐藤" in text and canonical in text
    with pytest.raises(ValueError):
        papers.questionnaire_copy({**CASE, "submitted_at": AT, "sha256": "not-a-hash", "case_id": "abc",
                                   "canonical": canonical, "sections": []})
