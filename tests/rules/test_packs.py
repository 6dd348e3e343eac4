"""The shipped rules packs (issue 5 §1, DOMAIN §2, §6, §7, §9): figures, flags and taxonomy."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from hozen.core.errors import RuleViolation
from hozen.rules import loader
from hozen.rules.models import RulesPack, SubItemStatus

from .conftest import ESI_FILE, SDS_FILE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [ESI_FILE, SDS_FILE], ids=["jp-esi-2025", "jp-sds"])
def test_shipped_pack_files_validate(path):
    data = loader.load(path.read_bytes().decode("utf-8"), path.name)
    assert set(data) == {"code", "tier", "version", "effective_from", "title_ja", "title_en", "values", "taxonomy"}
    assert data["code"] == path.stem and data["version"] == 1


def test_migration_loads_the_shipped_packs_with_the_file_hash(packs):
    for pack, path in ((packs["esi"], ESI_FILE), (packs["sds"], SDS_FILE)):
        assert pack.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert pack.source_text.encode("utf-8") == path.read_bytes()
        assert pack.data == loader.load(pack.source_text, path.name)
    assert packs["esi"].tier == "esi" and packs["esi"].effective_from == dt.date(2025, 5, 16)
    assert packs["sds"].tier == "sds"


def test_pack_is_named_by_code_and_version(packs):
    assert str(packs["esi"]) == "jp-esi-2025 v1"
    assert str(packs["sds"]) == "jp-sds v1"


def test_esi_has_four_statutory_categories(packs):
    codes = list(packs["esi"].categories.values_list("code", flat=True))
    assert codes == ["1", "2", "3", "4"]
    assert all(c.name_ja and c.name_en for c in packs["esi"].categories.all())


def test_esi_has_nineteen_sub_items_only_a1_to_a3_confirmed(packs):
    items = list(packs["esi"].sub_items.select_related("category"))
    assert len(items) == 19
    confirmed = [i.code for i in items if i.status == SubItemStatus.CONFIRMED]
    assert confirmed == ["A-1", "A-2", "A-3"]
    assert all(i.status == SubItemStatus.AWAITING_CONFIRMATION for i in items if i.code not in confirmed)
    # Working names say so in both languages, so no screen shows one as if it were official.
    for item in items:
        if not item.is_confirmed:
            assert "（仮称）" in item.name_ja and "(working name)" in item.name_en, item.code


def test_esi_sub_items_carry_domain_letter_and_category_of_the_same_pack(packs):
    items = list(packs["esi"].sub_items.select_related("category"))
    assert {i.domain for i in items} == {"A", "B", "C"}
    assert all(i.code.startswith(i.domain + "-") for i in items)
    assert all(i.category is not None and i.category.pack_id == packs["esi"].pk for i in items)
    a1 = packs["esi"].sub_item("A-1")
    assert a1.name_en == "Securing facilities and equipment" and a1.category.code == "1"
    assert packs["esi"].sub_item("A-3").name_en == "Vulnerabilities of facilities and equipment"


def test_sds_has_the_four_table_categories_and_sub_items_without_domain(packs):
    names = list(packs["sds"].categories.values_list("name_en", flat=True))
    assert names == ["Defence", "Diplomacy", "Prevention of designated harmful activities", "Prevention of terrorism"]
    items = list(packs["sds"].sub_items.all())
    assert items and all(i.domain == "" and i.category_id for i in items)


def test_unknown_sub_item_code_is_a_rule_violation(packs):
    with pytest.raises(RuleViolation) as info:
        packs["esi"].sub_item("Z-9")
    assert info.value.code == "unknown_sub_item" and "Z-9" in info.value.message_ja


def test_esi_confirmed_figures(packs):
    esi = packs["esi"]
    assert esi.value("regime_start") == dt.date(2025, 5, 16)
    assert esi.value("designation.max_term_years") == 5
    assert esi.value("extension.max_term_years") == 5
    assert esi.value("cumulative.cabinet_approval_threshold_years") == 30
    assert esi.value("assessment.validity_years") == 10
    assert esi.value("assessment.esi_recognition_window_years") == 10
    assert esi.value("assessment.sds_recognition_window_years") == 5
    assert esi.value("review.interval_months") == 12
    assert esi.value("briefing.reack_months") == 12
    assert esi.value("penalties.intentional_leak") == {"prison_years": 5, "fine_yen": 5_000_000, "combination": "and_or"}
    for key in ("designation.max_term_years", "extension.max_term_years",
                "cumulative.cabinet_approval_threshold_years", "penalties.intentional_leak", "regime_start"):
        assert not esi.is_to_verify(key), key


def test_sixty_year_cap_exemptions_and_archives_transfer_are_to_verify(packs):
    esi = packs["esi"]
    assert esi.value("cumulative.absolute_cap_years") == 60
    assert esi.value("archives.transfer_on_refused_approval") is True
    exempt = esi.value("cumulative.absolute_cap_exempt_categories")
    assert exempt and all({"code", "name_ja", "name_en"} <= set(e) for e in exempt)
    for key in ("cumulative.absolute_cap_years", "cumulative.absolute_cap_exempt_categories",
                "archives.transfer_on_refused_approval"):
        assert esi.is_to_verify(key), key
        assert key in esi.to_verify_keys()


def test_unconfirmed_penalties_and_configurable_figures_are_to_verify(packs):
    esi = packs["esi"]
    for key in ("penalties.negligent_leak", "penalties.unlawful_acquisition", "penalties.attempt",
                "penalties.conspiracy_incitement", "penalties.employer_fine", "retention.investigation_file_years",
                "retention.business_favourable_notice_years", "retention.business_other_papers_years",
                "exempt_office_holders"):
        assert esi.is_to_verify(key), key
    # The SDS fine is added only together with prison, never "and/or" (DOMAIN §7); flagged.
    sds = packs["sds"]
    leak = sds.value("penalties.intentional_leak")
    assert leak == {"prison_years": 10, "fine_yen": 10_000_000, "combination": "prison_with_optional_fine"}
    assert sds.is_to_verify("penalties.intentional_leak")


def test_sds_figures(packs):
    sds = packs["sds"]
    assert sds.value("designation.max_term_years") == 5
    assert sds.value("extension.max_term_years") == 5
    assert sds.value("cumulative.cabinet_approval_threshold_years") == 30
    assert sds.value("cumulative.absolute_cap_years") == 60
    assert sds.value("assessment.validity_years") == 5


def test_an_esi_result_never_exempts_from_sds_so_the_sds_pack_has_no_esi_window(packs):
    assert not packs["sds"].has("assessment.esi_recognition_window_years")
    with pytest.raises(RuleViolation) as info:
        packs["sds"].value("assessment.esi_recognition_window_years")
    assert info.value.code == "rules_value_missing"


def test_entry_gives_value_unit_flag_and_source(packs):
    entry = packs["esi"].entry("cumulative.absolute_cap_years")
    assert entry["value"] == 60 and entry["unit"] == "years" and entry["to_verify"] is True
    assert "NOT yet confirmed" in entry["source"]


def test_an_unknown_value_key_is_a_programming_error(packs):
    with pytest.raises(KeyError):
        packs["esi"].value("designation.max_term_yeras")


def test_value_copies_cannot_change_the_pack(packs):
    holders = packs["esi"].value("exempt_office_holders")
    holders.clear()
    assert packs["esi"].value("exempt_office_holders")


def test_describe_shows_the_to_verify_flag_in_both_languages(packs):
    esi = packs["esi"]
    assert esi.describe("cumulative.absolute_cap_years", "en") == "60 years (to verify)"
    assert esi.describe("cumulative.absolute_cap_years", "ja") == "60年（要確認）"
    assert esi.describe("designation.max_term_years", "ja") == "5年"
    assert esi.describe("penalties.intentional_leak", "ja") == "5年以下の拘禁刑若しくは5,000,000円以下の罰金又はその併科"
    assert "added only together" in packs["sds"].describe("penalties.intentional_leak", "en")


def test_cap_exemptions_are_found_by_sub_item_only_where_the_pack_maps_them(packs):
    crypto = packs["sds"].sub_item("1-7")
    assert [e["code"] for e in packs["sds"].cap_exemptions(crypto)] == ["cryptography"]
    assert packs["sds"].cap_exemptions(packs["sds"].sub_item("1-1")) == []
    # ESI: no sub-item is mapped yet, and a sub-item of another pack never matches.
    assert packs["esi"].cap_exemptions(packs["esi"].sub_item("A-1")) == []
    assert packs["esi"].cap_exemptions(crypto) == []


def test_a_published_pack_cannot_be_deleted(packs):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        RulesPack.objects.filter(pk=packs["esi"].pk).delete()
