"""Countries for the questionnaire (issue 15): ISO 3166-1 from a maintained package (pycountry),
with names in Japanese and English, never a hand-kept list.

Answers store the two-letter code (what the investigator and the API read); the person picks or
types a name in either language, or the code, and `code_for` turns it into the code.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata

import pycountry

#: Japanese names as Japan's government writes them where the package's catalogue differs
#: (iso-codes renders TW as 中国領・台湾), and everyday names a person may type.
JA_NAMES = {"TW": "台湾", "US": "アメリカ合衆国", "GB": "イギリス"}
JA_ALIASES = {"アメリカ": "US", "米国": "US", "英国": "GB", "韓国": "KR", "北朝鮮": "KP", "中国": "CN"}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


@functools.cache
def _japanese() -> gettext.NullTranslations:
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"])
    except OSError:  # the package without its catalogues: English names only
        return gettext.NullTranslations()


@functools.cache
def names(language: str) -> dict[str, str]:
    """Code → the country's usual name in `language` (Japanese, else English)."""
    out = {}
    for country in pycountry.countries:
        english = getattr(country, "common_name", None) or country.name
        if language == "ja":  # "大韓民国 (韓国)" shown as 大韓民国: the code follows in brackets anyway
            out[country.alpha_2] = (JA_NAMES.get(country.alpha_2)
                                    or _japanese().gettext(country.name).partition(" (")[0])
        else:
            out[country.alpha_2] = english
    return out


@functools.cache
def _index() -> dict[str, str]:
    """Every name a person may type (Japanese, English, official, common, the codes) → code."""
    index = {}
    for country in pycountry.countries:
        official = getattr(country, "official_name", None)
        texts = [country.alpha_2, country.alpha_3, country.name, getattr(country, "common_name", None), official,
                 _japanese().gettext(country.name), _japanese().gettext(official) if official else None]
        for text in filter(None, texts):
            # "大韓民国 (韓国)": the whole, the name before the brackets and the one inside.
            head, _, rest = text.partition(" (")
            for variant in (text, head, rest.rstrip(")")):
                if variant:
                    index.setdefault(_fold(variant), country.alpha_2)
    for code, name in JA_NAMES.items():
        index[_fold(name)] = code
    for name, code in JA_ALIASES.items():
        index[_fold(name)] = code
    return index


_LABELLED = re.compile(r"\(([A-Za-z]{2})\)\s*$")


def code_for(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a code, a name in Japanese or English, or a label as the
    picker shows it ("日本 (JP)"); None if unknown."""
    found = _index().get(_fold(text or ""))
    if found is None and (labelled := _LABELLED.search(unicodedata.normalize("NFKC", text or ""))):
        found = labelled.group(1).upper() if is_code(labelled.group(1).upper()) else None
    return found


def codes_for(text: str) -> list[str]:
    """Several countries typed in one field, separated by commas (、 or ,) or, for codes, spaces;
    each part as `code_for` reads it, an unknown part kept (upper-cased) for the check to refuse."""
    out = []
    for part in filter(None, (p.strip() for p in re.split(r"[,、，;；]+", text or ""))):
        code = code_for(part)
        if code is None and " " in part:  # "JP US": codes separated by spaces
            out += [code_for(word) or word.upper() for word in part.split()]
        else:
            out.append(code or part.upper())
    return out


def is_code(code: str) -> bool:
    return code in names("en")


def label(code: str, language: str) -> str:
    """"日本 (JP)": the name in the language with its code, or the code alone if unknown."""
    name = names(language).get(code)
    return f"{name} ({code})" if name else code


def choices(language: str) -> list[tuple[str, str]]:
    """(code, label) for a picker: Japan first, then by name."""
    rows = sorted(names(language).items(), key=lambda item: (item[0] != "JP", _fold(item[1])))
    return [(code, f"{name} ({code})") for code, name in rows]
