"""Publishing a rules pack version (issue 5 §1): validation with line-precise errors, version and
date order, the policy, the audit entry; a refused file writes nothing."""

from __future__ import annotations

import json

import pytest

from hozen.access import policy
from hozen.audit.models import AuditEntry
from hozen.core.errors import RuleViolation
from hozen.rules import loader, services
from hozen.rules.models import Category, RulesPack, SubItem
from tests import factories

from .conftest import actor_of, esi_text, line_of, variant

pytestmark = pytest.mark.django_db


def _counts():
    return (RulesPack.objects.count(), Category.objects.count(), SubItem.objects.count(),
            AuditEntry.objects.filter(action="rules_pack.published").count())


def test_publishing_a_new_version_is_audited_with_code_version_and_hash(packs, operator):
    pack = services.publish_pack(actor=operator, source_text=variant(version=2), filename="/tmp/jp-esi-2025-v2.yaml")
    assert pack.version == 2 and pack.filename == "jp-esi-2025-v2.yaml"
    assert pack.published_by["kind"] == "system" and pack.published_by["channel"] == "cli"
    entry = AuditEntry.objects.filter(action="rules_pack.published").latest("id")
    data = json.loads(entry.data)
    assert data["target"] == {"type": "rules.rulespack", "id": str(pack.pk)}
    assert data["details"] == {"code": "jp-esi-2025", "tier": "esi", "version": 2, "effective_from": "2027-04-01",
                               "sha256": pack.sha256}


def test_the_cabinet_office_organ_head_may_publish(packs, orgs):
    head = factories.account(role="organ_head", organisation=orgs["CAO"])
    pack = services.publish_pack(actor=actor_of(head), source_text=variant(version=2), filename="v2.yaml")
    assert pack.published_by["account"] == head.username and pack.published_by["organisation"] == "CAO"


@pytest.mark.parametrize("role", ["organ_head", "sysadmin", "esi_manager", "auditor", "oversight"])
def test_a_wrong_role_cannot_publish_and_the_refusal_is_audited(packs, people, role):
    """METI's organ head is not the Cabinet Office's; the system administrator runs the software
    but does not decide the law's figures."""
    actor = actor_of(people[role])
    before = _counts()
    denied_before = AuditEntry.objects.filter(action="rules_pack.publish", outcome="denied").count()
    with pytest.raises(policy.PolicyDenied) as info:
        services.publish_pack(actor=actor, source_text=variant(version=2), filename="v2.yaml")
    assert info.value.decision.code == "not_rules_publisher"
    assert "内閣府" in info.value.decision.reason_ja and "Cabinet Office" in info.value.decision.reason_en
    policy.audit_unrecorded_denial(actor, info.value)  # what the web, API and CLI handlers do
    assert AuditEntry.objects.filter(action="rules_pack.publish", outcome="denied").count() == denied_before + 1
    assert _counts() == before


def test_publishing_a_version_that_exists_is_refused(packs, operator):
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=1), filename="again.yaml")
    assert info.value.code == "rules_pack_version_exists"
    assert _counts() == before


def test_a_version_that_skips_a_number_is_refused_and_writes_nothing(packs, operator):
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=3), filename="v3.yaml")
    assert info.value.code == "rules_pack_version_gap" and info.value.field == "version"
    assert "next version of jp-esi-2025 is 2" in info.value.message_en and "次の版は 2" in info.value.message_ja
    assert _counts() == before


def test_the_first_version_of_a_new_code_is_one(packs, operator):
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(code="jp-esi-2027", version=2,
                                                                  effective_from="2027-04-01"), filename="x.yaml")
    assert info.value.code == "rules_pack_version_gap" and "is 1" in info.value.message_en
    assert _counts() == before


def test_publishing_a_lower_version_is_refused(packs, operator):
    # A series with a gap, as publishing allowed before versions had to follow each other (issue 11).
    from hozen.rules.storage import write_pack

    text = variant(version=3)
    write_pack(RulesPack, Category, SubItem, data=loader.load(text, "v3.yaml"), source_text=text, filename="v3.yaml",
               published_by={"kind": "system", "name": "tests", "channel": "cli"})
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=2), filename="v2.yaml")
    assert info.value.code == "rules_pack_version_not_newer"
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=3), filename="v3.yaml")
    assert info.value.code == "rules_pack_version_exists" and "next is 4" in info.value.message_en
    assert _counts() == before


def test_a_new_version_cannot_take_effect_before_the_previous_one(packs, operator):
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=2, effective_from="2025-05-15"),
                              filename="v2.yaml")
    # Caught by the loader already: no ESI pack may take effect before the regime started.
    assert "regime_start" in info.value.message_en
    services.publish_pack(actor=operator, source_text=variant(version=2, effective_from="2027-01-01"),
                          filename="v2.yaml")
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=variant(version=3, effective_from="2026-12-31"),
                              filename="v3.yaml")
    assert info.value.code == "rules_pack_effective_date_earlier"
    assert "2026-12-31" in info.value.message_ja and "2027-01-01" in info.value.message_en
    assert _counts()[0] == before[0] + 1  # v2 only


def test_a_pack_with_a_new_code_can_be_published(packs, operator):
    pack = services.publish_pack(actor=operator, source_text=variant(code="jp-esi-2027", version=1,
                                                                      effective_from="2027-04-01"),
                                 filename="jp-esi-2027.yaml")
    assert str(pack) == "jp-esi-2027 v1" and pack.tier == "esi"


# --- line-precise validation -----------------------------------------------------------------------

def _break(old: str, new: str, *, count: int = 1) -> str:
    text = variant(version=2)
    assert old in text, old
    return text.replace(old, new, count)


CASES = {
    "wrong_type": (
        lambda: _break("designation.max_term_years:\n    value: 5", "designation.max_term_years:\n    value: five"),
        "value: five", "designation.max_term_years must be a positive whole number"),
    "unknown_key": (
        lambda: _break("  review.interval_months:", "  review.interval_monhts:"),
        "review.interval_monhts:", "unknown key 'review.interval_monhts' (did you mean 'review.interval_months'?)"),
    "duplicate_sub_item": (
        lambda: _break("    - code: B-2\n", "    - code: B-1\n"),
        "- code: B-1\n      domain: B\n      category: \"1\"\n      name_ja: 重要物資のサプライチェーンに係る",
        "duplicate sub-item code 'B-1'"),
    "bad_date": (
        lambda: _break("effective_from: 2027-04-01", "effective_from: 2027-02-30"),
        "effective_from: 2027-02-30", "effective_from: '2027-02-30' is not a valid date (YYYY-MM-DD)"),
    "missing_required_key": (
        lambda: _break("  assessment.validity_years:\n    value: 10\n    unit: years\n",
                       "  assessment.validity_years:\n    unit: years\n"),
        "  assessment.validity_years:", "assessment.validity_years: required key 'value' is missing"),
    "domain_letter": (
        lambda: _break("      domain: C\n", "      domain: D\n"),
        "domain: D", "taxonomy.sub_items[13].domain must be one of A, B, C, got 'D'"),
    "unknown_category": (
        lambda: _break("      category: \"4\"\n", "      category: \"7\"\n"),
        "category: \"7\"", "sub-item A-6: category '7' is not one of the pack's categories (1, 2, 3, 4)"),
    "wrong_unit": (
        lambda: _break("    value: 12\n    unit: months\n", "    value: 12\n    unit: years\n"),
        "unit: years\n    to_verify: true\n    source: Each designation's reasons",
        "review.interval_months: the unit must be 'months', got 'years'"),
}


def _line_in(text: str, fragment: str) -> int:
    if "\n" not in fragment:
        return line_of(text, fragment)
    start = text.index(fragment)
    assert text.count(fragment) == 1, fragment
    return text[:start].count("\n") + 1


@pytest.mark.parametrize("case", list(CASES))
def test_pack_file_errors_name_the_line(case):
    make, fragment, message = CASES[case]
    text = make()
    line = _line_in(text, fragment)
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "jp-esi-2025.yaml")
    assert info.value.message_en.startswith(f"jp-esi-2025.yaml:{line}: "), info.value.message_en
    assert message in info.value.message_en
    assert info.value.message_ja.startswith(f"jp-esi-2025.yaml:{line}: ") and info.value.message_ja != info.value.message_en
    assert info.value.line == line and info.value.code == "rules_pack_invalid" and info.value.field is None


@pytest.mark.parametrize("case", list(CASES))
def test_a_malformed_pack_writes_nothing(packs, operator, case):
    text = CASES[case][0]()
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        services.publish_pack(actor=operator, source_text=text, filename="jp-esi-2025.yaml")
    assert info.value.message_en.startswith("jp-esi-2025.yaml:")
    assert _counts() == before


def test_a_missing_top_level_key_is_reported_at_the_start_of_the_pack():
    text = _break("title_en: ", "# title_en: ")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert info.value.line == line_of(text, "code: jp-esi-2025")
    assert "required key 'title_en' is missing" in info.value.message_en


def test_every_problem_is_listed_in_line_order():
    text = _break("designation.max_term_years:\n    value: 5", "designation.max_term_years:\n    value: 0")
    text = text.replace("      domain: A\n", "      domain: Z\n", 1)
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    lines = info.value.lines()
    assert len(lines) == 2 and [int(x.split(":")[1]) for x in lines] == sorted(int(x.split(":")[1]) for x in lines)
    assert "(and 1 more problem;" in info.value.message_en


def test_tier_must_match_the_code():
    text = _break("tier: esi", "tier: sds")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert info.value.line == line_of(text, "tier: sds") and "does not match the code" in info.value.message_en
    assert len(info.value.errors) == 1, "one mistake, one message (no cascade of tier-specific errors)"


def test_a_typo_in_a_value_key_cannot_leave_the_figure_at_its_old_value():
    text = _break("  cumulative.absolute_cap_years:", "  cumulative.absolute_cap_yaers:")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert any("required key 'cumulative.absolute_cap_years' is missing" in line for line in info.value.lines())


def test_duplicate_mapping_keys_are_refused():
    text = _break("version: 2\n", "version: 2\nversion: 3\n")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert info.value.line == line_of(text, "version: 3") and "duplicate key 'version'" in info.value.message_en


def test_cross_checked_figures_must_agree():
    text = _break("cumulative.absolute_cap_years:\n    value: 60", "cumulative.absolute_cap_years:\n    value: 25")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert "must exceed cumulative.cabinet_approval_threshold_years" in info.value.message_en


def test_a_penalty_states_its_figures_as_its_combination_says():
    text = _break("      fine_yen: 5000000\n      combination: fine_only", "      combination: fine_only")
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert "penalties.employer_fine: combination 'fine_only' takes exactly fine_yen" in info.value.message_en


@pytest.mark.parametrize("text, line, words", [
    ("", 1, "the file is empty"),
    ("code: [unclosed\n", 2, "not valid YAML"),
    ("- just\n- a list\n", 1, "must be a mapping"),
    ("code: &a jp-esi-x\ntier: *a\n", 2, "not allowed"),
    ("code: !!python/object:os.system x\n", 1, "unsupported tag"),
])
def test_unusable_files_are_refused_with_a_line(text, line, words):
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "p.yaml")
    assert info.value.line == line and words in info.value.message_en


def test_yaml_aliases_cannot_expand_a_small_file():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
    with pytest.raises(loader.PackError):
        loader.load(bomb, "bomb.yaml")


def test_an_sds_pack_cannot_carry_the_esi_recognition_window():
    from .conftest import SDS_FILE

    text = SDS_FILE.read_text(encoding="utf-8").replace(
        "  assessment.sds_recognition_window_years:",
        "  assessment.esi_recognition_window_years:\n    value: 10\n    unit: years\n    to_verify: false\n"
        "    source: wrong tier\n  assessment.sds_recognition_window_years:", 1)
    with pytest.raises(loader.PackError) as info:
        loader.load(text, "jp-sds.yaml")
    assert info.value.line == line_of(text, "assessment.esi_recognition_window_years:")
    assert "does not apply to a sds pack" in info.value.message_en


def test_the_shipped_file_round_trips_unchanged():
    assert loader.load(esi_text(), "a.yaml") == loader.load(variant(version=1, effective_from="2025-05-16"), "b.yaml")
