"""Refresh and compile Hozen's translation catalogues (`make messages`).

    .venv/bin/python scripts/messages.py           extract, merge, compile
    .venv/bin/python scripts/messages.py --check   the same, then exit 1 if a Japanese entry is
                                                   untranslated or fuzzy, or a .mo is out of date

Source strings are English; the catalogues live in src/hozen/locale/<lang>/LC_MESSAGES/django.po
(LOCALE_PATHS). Japanese is translated in full; the English catalogue holds no translations (the
msgids are English) but exists and compiles. Both .mo files are committed, so a fresh clone runs
without gettext; this script needs GNU gettext (xgettext, msgmerge, msguniq, msgattrib, msgfmt).
"""

from __future__ import annotations

import argparse
import gettext
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "hozen"
LOCALE_DIR = PACKAGE / "locale"
LANGUAGES = ("ja", "en")
TRANSLATED = ("ja",)  # catalogues that must translate every entry
DOMAIN = "django"
TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt")
IGNORE = ["static", "migrations", "locale", "__pycache__"]

HEADER_FIELDS = {
    "ja": {
        "Project-Id-Version": "Hozen",
        "Last-Translator": "Hozen <hozen@localhost>",
        "Language-Team": "Hozen <hozen@localhost>",
        "Language": "ja",
        "Plural-Forms": "nplurals=1; plural=0;",
    },
    "en": {
        "Project-Id-Version": "Hozen",
        "Last-Translator": "Hozen <hozen@localhost>",
        "Language-Team": "Hozen <hozen@localhost>",
        "Language": "en",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    },
}
_DATE_LINE = re.compile(r'^"(POT-Creation-Date|PO-Revision-Date): .*\\n"$', re.MULTILINE)


# --- a small .po reader (no third-party dependency) -------------------------------------------

@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 for singular entries
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def untranslated(self) -> bool:
        return not self.msgstr or any(not s for s in self.msgstr.values())


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{where}: expected a quoted string, got {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text[1:-1])


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header first; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which string a continuation line extends
    pending_flags: set[str] = set()

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line:
            continue
        if line.startswith("#"):
            if current is not None and current.msgstr:
                finish()
            if line.startswith("#,"):
                pending_flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{where}: continuation line outside an entry")
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += _unquote(line, where)
            else:
                setattr(current, name, getattr(current, name) + _unquote(line, where))
            continue
        if keyword in ("msgctxt", "msgid") and (current is None or current.msgstr):
            finish()
        if current is None:
            current, pending_flags = Entry(flags=pending_flags, line=number), set()
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(current, keyword, _unquote(rest, where))
            target = (keyword, 0)
        elif keyword == "msgstr":
            current.msgstr[0] = _unquote(rest, where)
            target = ("msgstr", 0)
        elif (m := re.fullmatch(r"msgstr\[(\d+)\]", keyword)) is not None:
            index = int(m.group(1))
            current.msgstr[index] = _unquote(rest, where)
            target = ("msgstr", index)
        else:
            raise ValueError(f"{where}: unexpected line {raw!r}")
    finish()
    return entries


def catalogue_paths(lang: str) -> tuple[Path, Path]:
    base = LOCALE_DIR / lang / "LC_MESSAGES" / DOMAIN
    return base.with_suffix(".po"), base.with_suffix(".mo")


def untranslated_or_fuzzy(po: Path) -> list[str]:
    """One line per entry that a translated catalogue must not have."""
    problems = []
    for e in parse_po(po):
        if e.is_header:
            if e.fuzzy:
                problems.append(f"{po.name}:{e.line}: the header is marked fuzzy")
            continue
        state = "fuzzy" if e.fuzzy else "untranslated" if e.untranslated else None
        if state:
            problems.append(f"{po.relative_to(ROOT)}:{e.line}: {state}: {e.msgid!r}")
    return problems


def mo_mismatches(po: Path, mo: Path) -> list[str]:
    """Entries of `po` that the compiled `mo` does not give back as written (empty: up to date)."""
    if not mo.exists():
        return [f"{mo.relative_to(ROOT)} is missing"]
    with mo.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # the parsed .mo; stable since Python 2
    wrong = []
    for e in parse_po(po):
        if e.is_header or e.fuzzy or e.untranslated:
            continue  # msgfmt leaves these out; gettext falls back to the msgid
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        for index, text in e.msgstr.items():
            got = catalog.get((key, index)) if e.msgid_plural is not None else catalog.get(key)
            if got != text:
                wrong.append(f"{mo.relative_to(ROOT)}: {e.msgid!r} gives {got!r}, the .po says {text!r}")
    return wrong


# --- extraction and compilation ----------------------------------------------------------------

def _set_header(text: str, lang: str) -> str:
    """Un-fuzzy the header makemessages writes for a new file and fill in its placeholders."""
    head, sep, body = text.partition('msgstr ""\n')
    head = head.replace("#, fuzzy\n", "")
    head = head.replace("# SOME DESCRIPTIVE TITLE.\n", "# Hozen user interface.\n")
    head = head.replace("# Copyright (C) YEAR THE PACKAGE'S COPYRIGHT HOLDER\n", "")
    head = head.replace("# This file is distributed under the same license as the PACKAGE package.\n",
                        "# This file is distributed under the same license as Hozen (Apache-2.0).\n")
    head = head.replace("# FIRST AUTHOR <EMAIL@ADDRESS>, YEAR.\n", "")
    created = re.search(r'^"POT-Creation-Date: (.*)\\n"$', body, flags=re.MULTILINE)
    fields = dict(HEADER_FIELDS[lang], **({"PO-Revision-Date": created.group(1)} if created else {}))
    for name, value in fields.items():
        body = re.sub(rf'^"{re.escape(name)}: .*\\n"$', f'"{name}: {value}\\\\n"', body, count=1, flags=re.MULTILINE)
    return head + sep + body


def _missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def _setup_django() -> None:
    os.chdir(ROOT)  # settings resolve the data folder (var/) against the working directory
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hozen.settings")
    import django

    django.setup()


def update(verbosity: int) -> None:
    from django.core.management import call_command

    before = {}
    for lang in LANGUAGES:
        po, _ = catalogue_paths(lang)
        if po.exists():
            before[lang] = (po.read_text(encoding="utf-8"), po.stat())

    os.chdir(PACKAGE)
    call_command("makemessages", locale=list(LANGUAGES), domain=DOMAIN, no_obsolete=True,
                 add_location="file", ignore_patterns=IGNORE, verbosity=verbosity)

    for lang in LANGUAGES:
        po, mo = catalogue_paths(lang)
        text = _set_header(po.read_text(encoding="utf-8"), lang)
        if lang in before and _DATE_LINE.sub("", text) == _DATE_LINE.sub("", before[lang][0]):
            # Nothing but the creation date changed: keep the file as it was, mtime included.
            po.write_text(before[lang][0], encoding="utf-8")
            os.utime(po, ns=(before[lang][1].st_atime_ns, before[lang][1].st_mtime_ns))
        else:
            po.write_text(text, encoding="utf-8")
        if mo_mismatches(po, mo) and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            os.utime(po)  # a .mo that disagrees with its .po is recompiled whatever the mtimes say

    call_command("compilemessages", locale=list(LANGUAGES), ignore_patterns=IGNORE, verbosity=verbosity)
    os.chdir(ROOT)


def check() -> list[str]:
    problems = []
    for lang in LANGUAGES:
        po, mo = catalogue_paths(lang)
        if not po.exists():
            problems.append(f"{po.relative_to(ROOT)} is missing")
            continue
        if lang in TRANSLATED:
            problems += untranslated_or_fuzzy(po)
        if mo.exists() and mo.stat().st_mtime < po.stat().st_mtime:
            problems.append(f"{mo.relative_to(ROOT)} is older than its .po: run `make messages`")
        problems += mo_mismatches(po, mo)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a Japanese entry is untranslated or fuzzy, or a .mo is out of date")
    parser.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])
    args = parser.parse_args(argv)

    missing = _missing_tools()
    if missing:
        print(f"messages.py: GNU gettext is not installed (missing {', '.join(missing)}); "
              "install it with `apt-get install gettext`.", file=sys.stderr)
        return 2

    _setup_django()
    update(args.verbosity)
    problems = check()
    for line in problems:
        print(line, file=sys.stderr if args.check else sys.stdout)
    if problems:
        print(f"messages.py: {len(problems)} problem(s) in the catalogues.", file=sys.stderr)
        return 1 if args.check else 0
    if args.verbosity:
        print("messages.py: catalogues complete and compiled.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
