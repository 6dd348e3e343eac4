"""Briefing texts (取扱いの義務の説明) per rules pack, as data, and their signed acknowledgement.

The texts live in ``data/briefings/<pack code>.yaml`` (Japanese and English paragraphs, a
version). Penalty figures are never typed into them: ``{penalties.KEY}`` placeholders are filled
from the rules pack in force (DOMAIN §7, §9), so a new pack version changes the text, and its
hash, and every handler acknowledges again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

DATA = Path(__file__).parent / "data" / "briefings"
_PLACEHOLDER = re.compile(r"\{(penalties\.[a-z_]+)\}")


@dataclass(frozen=True)
class Briefing:
    pack_id: int
    pack_code: str
    pack_version: int
    tier: str
    version: int
    title_ja: str
    title_en: str
    paragraphs_ja: tuple[str, ...]
    paragraphs_en: tuple[str, ...]
    sha256: str

    def title(self, language: str | None) -> str:
        return self.title_en if (language or "ja").startswith("en") else self.title_ja

    def paragraphs(self, language: str | None) -> tuple[str, ...]:
        return self.paragraphs_en if (language or "ja").startswith("en") else self.paragraphs_ja


def max_age_days() -> int:
    """Re-acknowledge after this many days (DOMAIN §5; issue 7: 12 months, configurable)."""
    return int(getattr(settings, "HOZEN_BRIEFING_MAX_AGE_DAYS", 365))


@lru_cache(maxsize=16)
def _source(pack_code: str, tier: str) -> dict:
    path = DATA / f"{pack_code}.yaml"
    if not path.exists():  # a new pack code without its own text: the tier's shipped text
        path = DATA / ("jp-sds.yaml" if tier == "sds" else "jp-esi-2025.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _fill(text: str, pack, language: str) -> str:
    from hozen.rules.models import describe_value

    def one(match: re.Match) -> str:
        key = match.group(1)
        if not pack.has(key):
            return "—"
        e = pack.entry(key)
        return describe_value(e["value"], e["unit"], e["to_verify"], language)

    return _PLACEHOLDER.sub(one, text)


@lru_cache(maxsize=64)
def _render(pack_id: int, pack_code: str, pack_version: int, tier: str) -> Briefing:
    from hozen.rules.models import RulesPack

    pack = RulesPack.objects.get(pk=pack_id)
    src = _source(pack_code, tier)
    ja = tuple(_fill(p["ja"], pack, "ja") for p in src["paragraphs"])
    en = tuple(_fill(p["en"], pack, "en") for p in src["paragraphs"])
    canonical = "\n".join([f"{pack_code} v{pack_version}", f"briefing v{src['version']}",
                           src["title_ja"], *ja, src["title_en"], *en])
    sha = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Briefing(pack_id, pack_code, pack_version, tier, int(src["version"]), src["title_ja"], src["title_en"],
                    ja, en, sha)


def for_pack(pack) -> Briefing:
    """The briefing of one rules pack version (memoised: pack versions never change once published)."""
    return _render(pack.pk, pack.code, pack.version, pack.tier)


def current(tier: str, on: dt.date | None = None) -> Briefing:
    from django.utils import timezone

    from hozen.rules.queries import current_pack

    return for_pack(current_pack(tier, on or timezone.localdate()))


def signature(*, account_id: int, briefing: Briefing, acknowledged_at: dt.datetime) -> str:
    """HMAC-SHA256 over who acknowledged which text when (the secret key signs; the audit log keeps it)."""
    message = f"{account_id}|{briefing.pack_code}|{briefing.pack_version}|{briefing.version}|" \
              f"{briefing.sha256}|{acknowledged_at.isoformat()}"
    key = hashlib.sha256(b"hozen.handling.briefing:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()
