"""Rules packs: the versioned, effective-dated figures and taxonomy of DOMAIN.md §9.

A pack version is never changed or deleted once published: decisions point at the version they
applied (`on_delete=PROTECT`), and a correction is a new version with its own effective date.
`Category` and `SubItem` rows belong to one pack version, so a designation's sub-item names the
exact taxonomy it was chosen from (a sub-item of another version is caught by `sub_item.pack_id`).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hozen.core.errors import RuleViolation

from . import loader


class Tier(models.TextChoices):
    ESI = "esi", _("Important Economic Security Information (重要経済安保情報)")
    SDS = "sds", _("Specially Designated Secret (特定秘密)")


class Domain(models.TextChoices):
    INFRASTRUCTURE = "A", _("A: infrastructure services")
    SUPPLY_CHAINS = "B", _("B: supply chains of critical goods")
    BOTH = "C", _("C: both")


class SubItemStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation against the Operational Standards")


def _bilingual(language: str | None, ja: str, en: str) -> str:
    return en if (language or "ja").startswith("en") else ja


class RulesPack(models.Model):
    """One published version of a rules pack (e.g. jp-esi-2025 v1). Content in `data`, as loaded."""

    code = models.CharField(_("code"), max_length=64)
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    title_ja = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    data = models.JSONField(_("normalised content"), editable=False)
    sha256 = models.CharField(_("SHA-256 of the source file"), max_length=64, editable=False)
    filename = models.CharField(_("source file name"), max_length=200, blank=True, editable=False)
    source_text = models.TextField(_("source file"), editable=False)
    published_at = models.DateTimeField(_("published"), default=timezone.now, editable=False)
    # The publisher by value, as the audit log stores actors (never a foreign key that could cascade).
    published_by = models.JSONField(_("published by"), editable=False)

    class Meta:
        verbose_name = _("rules pack (ルールパック)")
        verbose_name_plural = _("rules packs")
        ordering = ["tier", "code", "version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="rules_pack_code_version_unique")]
        indexes = [models.Index(fields=["tier", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    def title(self, language: str | None) -> str:
        return _bilingual(language, self.title_ja, self.title_en)

    # -- values -----------------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        return key in (self.data.get("values") or {})

    def entry(self, key: str) -> dict[str, Any]:
        """{key, value, unit, to_verify, source} for one value key; dates as datetime.date.

        A key Hozen does not know is a programming error (KeyError); a known key this pack does
        not carry is a RuleViolation the screens can show.
        """
        if key not in loader.VALUE_SPECS:
            raise KeyError(f"unknown rules value key {key!r}")
        stored = (self.data.get("values") or {}).get(key)
        if stored is None:
            raise RuleViolation(
                "rules_value_missing",
                f"ルールパック {self} には {key} の値がありません。",
                f"The rules pack {self} has no value for {key}.",
            )
        return {"key": key, "value": loader.to_python(key, copy.deepcopy(stored["value"])),
                "unit": stored.get("unit"), "to_verify": bool(stored["to_verify"]), "source": stored["source"]}

    def value(self, key: str) -> Any:
        return self.entry(key)["value"]

    def is_to_verify(self, key: str) -> bool:
        return self.entry(key)["to_verify"]

    def to_verify_keys(self) -> list[str]:
        return sorted(k for k, v in (self.data.get("values") or {}).items() if v.get("to_verify"))

    def describe(self, key: str, language: str | None = "ja") -> str:
        """The value as a person reads it, with the to-verify flag: "60 years (to verify)"."""
        e = self.entry(key)
        return describe_value(e["value"], e["unit"], e["to_verify"], language)

    # -- taxonomy ----------------------------------------------------------------------------------

    def sub_item(self, code: str) -> SubItem:
        try:
            return self.sub_items.select_related("category").get(code=code)
        except SubItem.DoesNotExist:
            raise RuleViolation(
                "unknown_sub_item",
                f"細目 {code} はルールパック {self} にありません。",
                f"The sub-item {code} is not in the rules pack {self}.",
                field="sub_item",
            ) from None

    def cap_exemptions(self, sub_item: SubItem) -> list[dict]:
        """The absolute-cap exemptions that name this sub-item (check `is_to_verify` on the key).

        Most exemptions describe a kind of information, not a sub-item; for those the organ
        records which one it relies on, and this returns nothing.
        """
        if sub_item.pack_id != self.pk or not self.has("cumulative.absolute_cap_exempt_categories"):
            return []
        return [e for e in self.value("cumulative.absolute_cap_exempt_categories")
                if sub_item.code in e.get("sub_items", [])]


def describe_value(value: Any, unit: str | None, to_verify: bool, language: str | None) -> str:
    en = (language or "ja").startswith("en")
    if isinstance(value, bool):
        text = ("yes" if value else "no") if en else ("はい" if value else "いいえ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif unit in ("years", "months", "days") and isinstance(value, int):
        suffix_ja = {"years": "年", "months": "か月", "days": "日"}[unit]
        text = (f"{value} {unit}" if value != 1 else f"1 {unit[:-1]}") if en else f"{value}{suffix_ja}"
    elif isinstance(value, dict):  # a penalty
        text = describe_penalty(value, language)
    elif isinstance(value, list):
        text = ("; " if en else "、").join(item.get("name_en" if en else "name_ja", "") for item in value)
    else:
        text = str(value)
    if to_verify:
        text += " (to verify)" if en else "（要確認）"
    return text


def describe_penalty(p: dict, language: str | None) -> str:
    """A penalty entry in words, e.g. "up to 5 years' imprisonment (拘禁刑) and/or a fine up to ¥5,000,000"."""
    en = (language or "ja").startswith("en")
    prison, fine, combination = p.get("prison_years"), p.get("fine_yen"), p.get("combination")
    if en:
        jail = f"up to {prison} years' imprisonment (拘禁刑)"
        money = f"a fine up to ¥{fine:,}" if fine else ""
        forms = {"and_or": f"{jail} and/or {money}", "or": f"{jail} or {money}",
                 "prison_with_optional_fine": f"{jail}, with {money} added only together with it",
                 "prison_only": jail, "fine_only": money}
    else:
        jail = f"{prison}年以下の拘禁刑"
        money = f"{fine:,}円以下の罰金" if fine else ""
        forms = {"and_or": f"{jail}若しくは{money}又はその併科", "or": f"{jail}又は{money}",
                 "prison_with_optional_fine": f"{jail}（情状により{money}を併科）",
                 "prison_only": jail, "fine_only": money}
    return forms.get(combination, str(p))


class Category(models.Model):
    """A statutory category (ESI: Art. 2(4) items 1–4; SDS: the 別表 items) of one pack version."""

    pack = models.ForeignKey(RulesPack, on_delete=models.PROTECT, related_name="categories",
                             verbose_name=_("rules pack"))
    code = models.CharField(_("code"), max_length=16)
    name_ja = models.CharField(_("name (Japanese)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300)
    note = models.TextField(_("note"), blank=True)
    position = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("category (区分)")
        verbose_name_plural = _("categories")
        ordering = ["pack", "position"]
        constraints = [models.UniqueConstraint(fields=["pack", "code"], name="rules_category_code_unique")]

    def __str__(self) -> str:
        return f"({self.code}) {self.name_ja}"

    def name(self, language: str | None) -> str:
        return _bilingual(language, self.name_ja, self.name_en)


class SubItem(models.Model):
    """A sub-item (細目) of the Operational Standards, in one pack version."""

    pack = models.ForeignKey(RulesPack, on_delete=models.PROTECT, related_name="sub_items",
                             verbose_name=_("rules pack"))
    code = models.CharField(_("code"), max_length=16)
    domain = models.CharField(_("domain"), max_length=1, choices=Domain.choices, blank=True)  # blank for SDS
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="sub_items", null=True,
                                 blank=True, verbose_name=_("category"))
    name_ja = models.CharField(_("name (Japanese)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300)
    status = models.CharField(_("status"), max_length=32, choices=SubItemStatus.choices)
    note = models.TextField(_("note"), blank=True)
    position = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("sub-item (細目)")
        verbose_name_plural = _("sub-items")
        ordering = ["pack", "position"]
        constraints = [models.UniqueConstraint(fields=["pack", "code"], name="rules_sub_item_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name_ja}"

    def name(self, language: str | None) -> str:
        return _bilingual(language, self.name_ja, self.name_en)

    @property
    def is_confirmed(self) -> bool:
        return self.status == SubItemStatus.CONFIRMED
