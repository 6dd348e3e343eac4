"""The rules-pack screens (DOMAIN §9): list of versions, one pack's values and taxonomy with their
"to verify" / "awaiting confirmation" flags, and publishing from an uploaded file with errors by line.

Personas (STYLE): anonymous → sign-in; any role holder reads; only the Cabinet Office's organ head
publishes (hozen/access/rules/rules_packs.py: not the system administrator, not another organ's
head) and a wrong role gets 403 with the policy's reason, audited; a bad file lists every problem
with its line and writes nothing.
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hozen.audit.models import AuditEntry
from hozen.rules.models import RulesPack
from tests import factories

from .conftest import line_of, variant

pytestmark = pytest.mark.django_db


def upload(text: str, name: str = "jp-esi-2025-v2.yaml", action: str = "publish") -> dict:
    return {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="application/x-yaml"),
            "action": action}


@pytest.fixture
def cao_head(orgs, signed_in):
    account = factories.account(role="organ_head", organisation=orgs["CAO"])
    return account, signed_in(account)


def test_anonymous_is_sent_to_sign_in(packs):
    for url in ("/rules/", "/rules/jp-esi-2025/v1/", "/rules/publish/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"] == f"/signin/?next={url}"


@pytest.mark.parametrize("role", ["sysadmin", "esi_manager", "organ_head", "oversight"])
def test_every_role_holder_lists_the_published_versions(packs, people, signed_in, role):
    page = signed_in(people[role]).get("/rules/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/rules/jp-esi-2025/v1/" in text and "/rules/jp-sds/v1/" in text
    # Only the publisher is offered the publish button.
    assert "/rules/publish/" not in text


def test_a_pack_shows_its_values_and_taxonomy_with_the_to_verify_flags(packs, people, signed_in):
    esi = packs["esi"]
    page = signed_in(people["esi_manager"]).get("/rules/jp-esi-2025/v1/")
    assert page.status_code == 200
    text = page.content.decode()
    # The 60-year cap is applied but flagged "to verify" (DOMAIN §2); the 5-year term is confirmed.
    cap = text[text.index('id="value-cumulativeabsolute_cap_years"'):]
    cap = cap[:cap.index("</tr>")]
    assert "60" in cap and 'class="to-verify"' in cap
    term = text[text.index('id="value-designationmax_term_years"'):]
    assert 'class="to-verify"' not in term[:term.index("</tr>")]
    assert len(page.context["values"]) == len(esi.data["values"])
    assert page.context["to_verify_count"] == len(esi.to_verify_keys()) > 0
    # Sub-items: the confirmed A-1 and those awaiting confirmation, marked as such.
    awaiting = esi.sub_items.exclude(status="confirmed")
    assert page.context["awaiting_count"] == awaiting.count() > 0
    row = text[text.index(f'id="sub-item-{awaiting.first().code}"'):]
    assert 'class="to-verify"' in row[:row.index("</tr>")]
    a1 = text[text.index('id="sub-item-A-1"'):]
    assert 'class="to-verify"' not in a1[:a1.index("</tr>")]


def test_an_unknown_pack_version_is_404(packs, people, signed_in):
    assert signed_in(people["sysadmin"]).get("/rules/jp-esi-2025/v9/").status_code == 404


@pytest.mark.parametrize("role", ["sysadmin", "organ_head", "esi_manager", "oversight"])
def test_only_the_cabinet_office_organ_head_opens_the_publish_screen(packs, people, signed_in, role):
    client = signed_in(people[role])
    response = client.get("/rules/publish/")
    assert response.status_code == 403 and response.context["code"] == "not_rules_publisher"
    before = RulesPack.objects.count()
    assert client.post("/rules/publish/", upload(variant(version=2))).status_code == 403
    assert RulesPack.objects.count() == before
    assert AuditEntry.objects.filter(action="rules_pack.publish", outcome="denied").exists()


def test_the_cabinet_office_organ_head_publishes_a_new_version_from_a_file(packs, cao_head):
    account, client = cao_head
    assert "/rules/publish/" in client.get("/rules/").content.decode()
    response = client.post("/rules/publish/", upload(variant(version=2)), follow=True)
    assert response.redirect_chain[-1][0] == "/rules/jp-esi-2025/v2/"
    pack = RulesPack.objects.get(code="jp-esi-2025", version=2)
    assert pack.filename == "jp-esi-2025-v2.yaml" and pack.published_by["account"] == account.username
    entry = json.loads(AuditEntry.objects.filter(action="rules_pack.published").latest("id").data)
    assert entry["details"]["version"] == 2 and entry["actor"]["channel"] == "web"


def test_checking_a_file_validates_it_and_writes_nothing(packs, cao_head):
    _, client = cao_head
    before = RulesPack.objects.count()
    response = client.post("/rules/publish/", upload(variant(version=2), action="check"))
    assert response.status_code == 200 and response.context["checked"]["version"] == 2
    assert 'id="pack-checked"' in response.content.decode()
    assert RulesPack.objects.count() == before


def test_a_bad_file_lists_every_problem_with_its_line_and_writes_nothing(packs, cao_head):
    _, client = cao_head
    text = variant(version=2).replace("    value: 5\n    unit: years\n", "    value: five\n    unit: years\n", 1)
    text = text.replace("      domain: C\n", "      domain: D\n", 1)
    before = RulesPack.objects.count()
    response = client.post("/rules/publish/", upload(text, name="bad.yaml"))
    assert response.status_code == 200 and RulesPack.objects.count() == before
    problems = response.context["problems"]
    assert len(problems) == 2
    assert problems[0].startswith(f"bad.yaml:{line_of(text, 'value: five')}: ")
    assert problems[1].startswith(f"bad.yaml:{line_of(text, 'domain: D')}: ")
    assert 'id="pack-problems"' in response.content.decode()


def test_a_version_already_published_is_refused_with_the_reason(packs, cao_head):
    _, client = cao_head
    response = client.post("/rules/publish/", upload(variant(version=1, effective_from="2025-05-16")))
    assert response.status_code == 200
    assert any("version" in e or "版" in e for e in response.context["form"].non_field_errors())
    assert RulesPack.objects.filter(code="jp-esi-2025").count() == 1


def test_a_file_that_is_not_utf8_text_is_refused_beside_the_field(packs, cao_head):
    _, client = cao_head
    response = client.post("/rules/publish/", {"file": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00bad"),
                                               "action": "publish"})
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert client.post("/rules/publish/", {"action": "publish"}).context["form"].errors["file"]


def test_every_value_of_every_shipped_pack_has_a_label_in_both_languages():
    from pathlib import Path

    import yaml
    from django.utils import translation

    from hozen.rules.labels import VALUE_LABELS

    packs = Path(__file__).resolve().parents[2] / "src" / "hozen" / "rules" / "packs"
    keys = {key for f in packs.glob("*.yaml") for key in yaml.safe_load(f.read_text(encoding="utf-8"))["values"]}
    assert keys and keys <= set(VALUE_LABELS), sorted(keys - set(VALUE_LABELS))
    for key in keys:
        with translation.override("en"):
            english = str(VALUE_LABELS[key])
        with translation.override("ja"):
            japanese = str(VALUE_LABELS[key])
        assert japanese != english and not japanese.isascii(), key  # translated, not the English left in


def test_the_pack_page_names_its_values_never_by_their_internal_keys(packs, people, signed_in):
    text = signed_in(people["esi_manager"]).get("/rules/jp-esi-2025/v1/").content.decode()
    table = text[text.index('id="values"'):]
    table = table[:table.index("</table>")]
    shown = re.sub(r'(id|title|class)="[^"]*"', "", table)  # attributes are not what a person reads
    assert "designation.max_term_years" not in shown and "assessment.target_days" not in shown
    assert "1件の指定の最長期間" in shown  # the label, in Japanese by default


def _shipped_notes() -> set[str]:
    from pathlib import Path

    import yaml

    packs = Path(__file__).resolve().parents[2] / "src" / "hozen" / "rules" / "packs"
    return {v["source"] for f in packs.glob("*.yaml") for v in yaml.safe_load(f.read_text(encoding="utf-8"))["values"].values()}


def test_the_source_notes_of_the_shipped_packs_are_all_in_the_catalogue_list():
    from hozen.rules.pack_texts import NOTES

    assert _shipped_notes() == set(NOTES)


def test_no_shipped_note_is_shown_citing_the_internal_rulebook():
    """The published files cite DOMAIN.md (and LESSONS.md), Hozen's own rulebook; the note shown in
    their place cites the law a reader can look up, or nothing."""
    from hozen.rules.pack_texts import note

    for source in _shipped_notes():
        shown = note(source)
        assert "DOMAIN" not in shown and "LESSONS" not in shown and ".md" not in shown, shown
    # Where the rulebook names the article, the note names it with the Act.
    exemption = next(note(s) for s in _shipped_notes() if s.startswith("Art. 12(1)(i) — a favourable ESI result"))
    assert exemption.startswith("Act on the Protection and Utilization of Critical Economic Security Information, "
                                "Art. 12(1)(i)(a) — ")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_no_rules_pack_screen_cites_the_internal_rulebook(packs, people, signed_in, language):
    from hozen.core import services as core_services
    from hozen.core.actor import Actor

    account = people["esi_manager"]
    core_services.set_language(actor=Actor.for_account(account, None, channel="web"), language=language)
    client = signed_in(account)
    for url in ("/rules/", "/rules/jp-esi-2025/v1/", "/rules/jp-sds/v1/"):
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert f'<html lang="{language}">' in text, url
        for internal in ("DOMAIN.md", "DOMAIN §", "LESSONS.md", "制度仕様"):  # 制度仕様: how Japanese named DOMAIN.md
            assert internal not in text, (url, language, internal)


def test_the_pack_page_gives_the_source_notes_in_japanese(packs, people, signed_in):
    text = signed_in(people["esi_manager"]).get("/rules/jp-esi-2025/v1/").content.decode()
    row = text[text.index('id="value-designationmax_term_years"'):]
    row = row[:row.index("</tr>")]
    assert "指定の有効期間は1回につき最長5年" in row and "DOMAIN.md" not in row and 'lang="en"' not in row
