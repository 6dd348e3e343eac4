"""`hozen rules list/show/validate/publish` (issue 5 §1)."""

from __future__ import annotations

import json

import pytest

from hozen.cli import main
from hozen.rules.models import RulesPack

from .conftest import ESI_FILE, line_of, variant

pytestmark = pytest.mark.django_db


def test_rules_list_as_json_marks_the_packs_in_force(packs, capsys):
    assert main(["rules", "list", "--json"]) == 0
    rows = {(r["code"], r["version"]): r for r in json.loads(capsys.readouterr().out)}
    esi = rows[("jp-esi-2025", 1)]
    assert esi["in_force"] and esi["sub_items"] == 19 and "cumulative.absolute_cap_years" in esi["to_verify"]
    assert rows[("jp-sds", 1)]["tier"] == "sds"


def test_rules_show_flags_figures_to_verify_and_sub_items_awaiting_confirmation(packs, capsys):
    assert main(["rules", "show", "jp-esi-2025"]) == 0
    out = capsys.readouterr().out
    assert "cumulative.absolute_cap_years = 60 years  [TO VERIFY]" in out
    assert "designation.max_term_years = 5 years\n" in out
    assert "A-1 (domain A, category 1) Securing facilities and equipment\n" in out
    assert "A-4 (domain A, category 2)" in out and "[AWAITING CONFIRMATION]" in out


def test_rules_show_json_carries_values_and_taxonomy(packs, capsys):
    assert main(["rules", "show", "jp-sds", "--version", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["values"]["penalties.intentional_leak"]["value"]["combination"] == "prison_with_optional_fine"
    assert [c["code"] for c in data["categories"]] == ["1", "2", "3", "4"]


def test_rules_show_of_an_unknown_pack_is_one_line(packs, capsys):
    assert main(["rules", "show", "jp-nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "jp-nope" in err


def test_rules_validate_accepts_the_shipped_file(capsys):
    assert main(["rules", "validate", str(ESI_FILE)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "19 sub-items (16 awaiting confirmation)" in out


def test_rules_validate_prints_file_and_line_and_exits_1(tmp_path, capsys):
    text = variant().replace("  extension.max_term_years:\n    value: 5", "  extension.max_term_years:\n    value: -5")
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["rules", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"{path}:{line_of(text, 'value: -5')}: extension.max_term_years must be a positive whole number\n"


def test_rules_validate_of_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["rules", "validate", str(tmp_path / "none.yaml")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_rules_publish_stores_a_new_version_with_the_file_hash(packs, tmp_path, capsys):
    path = tmp_path / "jp-esi-2025-v2.yaml"
    path.write_bytes(variant(version=2).replace("\n", "\r\n").encode("utf-8"))  # CRLF kept byte for byte
    assert main(["rules", "publish", str(path)]) == 0
    assert "published jp-esi-2025 v2" in capsys.readouterr().out
    import hashlib

    pack = RulesPack.objects.get(code="jp-esi-2025", version=2)
    assert pack.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pack.published_by["name"].endswith(":rules publish")


def test_rules_publish_of_a_bad_file_is_one_line_and_writes_nothing(packs, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(variant(version=2).replace("tier: esi", "tier: top"), encoding="utf-8")
    before = RulesPack.objects.count()
    assert main(["rules", "publish", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}:13: tier must be one of esi, sds" in err
    assert RulesPack.objects.count() == before
