"""The UI is bilingual: a complete Japanese catalogue, compiled .mo files that match, both languages served."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from hozen.core.roles import OrganisationKind, Role

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "hozen"


def _load_messages_script():
    spec = importlib.util.spec_from_file_location("hozen_messages_script", ROOT / "scripts" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


messages = _load_messages_script()
JA_PO, JA_MO = messages.catalogue_paths("ja")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def _entries(lang: str):
    po, _ = messages.catalogue_paths(lang)
    return [e for e in messages.parse_po(po) if not e.is_header]


def test_japanese_catalogue_has_no_untranslated_or_fuzzy_entry():
    assert JA_PO.exists(), "run `make messages` to create the catalogue"
    assert len(_entries("ja")) > 100  # the parser read the file, not an empty one
    assert messages.untranslated_or_fuzzy(JA_PO) == []


def test_japanese_header_declares_one_plural_form_and_utf8():
    header = next(e for e in messages.parse_po(JA_PO) if e.is_header)
    assert not header.fuzzy
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Language: ja\n" in header.msgstr[0]


def test_japanese_translations_keep_every_placeholder():
    for e in _entries("ja"):
        wanted = sorted(PLACEHOLDER.findall(e.msgid))
        for text in e.msgstr.values():
            assert sorted(PLACEHOLDER.findall(text)) == wanted, e.msgid


def test_english_catalogue_exists_with_the_same_entries():
    ja = {(e.msgctxt, e.msgid) for e in _entries("ja")}
    en = {(e.msgctxt, e.msgid) for e in _entries("en")}
    assert en == ja


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_compiled_mo_gives_back_every_translation_of_its_po(lang):
    po, mo = messages.catalogue_paths(lang)
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    assert messages.mo_mismatches(po, mo) == [], "the .mo is out of date: run `make messages`"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_msgfmt_accepts_the_catalogue(lang, tmp_path):
    po, _ = messages.catalogue_paths(lang)
    result = subprocess.run(["msgfmt", "--check-format", "--check-header", "-o", str(tmp_path / "out.mo"), str(po)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_translate_tag_in_templates_is_in_the_catalogue():
    """A guard for new template text added without `make messages` (works without gettext)."""
    known = {(e.msgctxt, e.msgid) for e in _entries("ja")}
    tag = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.+?)\1(?:\s+context\s+(["'])(.+?)\3)?[^%]*%\}""")
    missing = []
    for path in TEMPLATES.glob("**/templates/**/*.html"):
        for m in tag.finditer(path.read_text(encoding="utf-8")):
            if (m.group(4), m.group(2)) not in known:
                missing.append(f"{path.relative_to(ROOT)}: {m.group(2)!r}")
    assert missing == [], "run `make messages` and translate: " + ", ".join(missing)


def test_role_and_organisation_kind_labels_are_translated():
    for choices in (Role, OrganisationKind):
        for member in choices:
            with translation.override("en"):
                english = str(member.label)
            with translation.override("ja"):
                japanese = str(member.label)
            assert japanese != english, member
    with translation.override("ja"):
        assert str(Role.INVESTIGATOR.label) == "内閣府調査担当"
        assert str(Role.SUBJECT.label) == "評価対象者"


@pytest.mark.django_db
def test_sign_in_page_is_japanese_by_default(client):
    response = client.get("/signin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert "サインイン" in html
    assert "ユーザー名" in html and "パスワード" in html


@pytest.mark.django_db
def test_sign_in_page_is_english_with_the_language_cookie(client):
    client.cookies["hozen_language"] = "en"
    response = client.get("/signin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "サインイン" not in html
