"""Reads of rules packs. Packs are reference data (statutory figures and taxonomy), not secrets:
any role holder may read them; lists still go through the policy's scope (STYLE: reads)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from hozen.access import policy
from hozen.core.errors import NotFound, RuleViolation

from .models import RulesPack, Tier

_TIER_JA = {Tier.ESI: "重要経済安保情報", Tier.SDS: "特定秘密"}


def current_pack(tier: str, on: dt.date) -> RulesPack:
    """The pack in force for `tier` on `on`: the latest effective_from on or before that date
    (a later version wins on the same date). Raises RuleViolation ``no_rules_pack`` if none."""
    if tier not in Tier.values:
        raise RuleViolation("invalid_tier", f"区分 {tier!r} は不正です（esi または sds）。",
                            f"Unknown tier {tier!r}; use esi or sds.", field="tier")
    if isinstance(on, dt.datetime):
        on = timezone.localdate(on) if timezone.is_aware(on) else on.date()
    # The source file is for `hozen rules show` and the audit of publishing, never for a decision.
    pack = (RulesPack.objects.filter(tier=tier, effective_from__lte=on).defer("source_text")
            .order_by("-effective_from", "-published_at", "-id").first())
    if pack is None:
        raise RuleViolation(
            "no_rules_pack",
            f"{on:%Y-%m-%d} 時点で有効な{_TIER_JA[Tier(tier)]}のルールパックがありません。",
            f"No {tier.upper()} rules pack is in effect on {on:%Y-%m-%d}.",
        )
    return pack


def pack_for(code: str, version: int | None = None) -> RulesPack:
    """One pack version by code (the latest version when `version` is None). NotFound if absent."""
    packs = RulesPack.objects.filter(code=code)
    pack = packs.filter(version=version).first() if version is not None else packs.order_by("-version").first()
    if pack is None:
        raise NotFound(f"no rules pack {code}" + (f" v{version}" if version is not None else ""))
    return pack


def packs_for(actor) -> QuerySet[RulesPack]:
    """Every pack version the actor may read, oldest first per code."""
    return RulesPack.objects.filter(policy.scope(actor, "rules_pack.view", RulesPack)).order_by("tier", "code",
                                                                                              "version")


def pack_for_actor(actor, code: str, version: int) -> RulesPack:
    """One pack version the actor may read (the screens); NotFound when missing or not readable."""
    pack = packs_for(actor).filter(code=code, version=version).prefetch_related("categories", "sub_items").first()
    if pack is None:
        raise NotFound(f"no rules pack {code} v{version}")
    return pack


def summary(pack: RulesPack, *, today: dt.date | None = None) -> dict:
    """One pack as a plain dict for the CLI and API (values with their flags, taxonomy rows)."""
    today = today or timezone.localdate()
    try:
        in_force = current_pack(pack.tier, today).pk == pack.pk
    except RuleViolation:
        in_force = False
    categories = {c.pk: c.code for c in pack.categories.all()}
    return {
        "code": pack.code, "tier": pack.tier, "version": pack.version,
        "effective_from": pack.effective_from.isoformat(), "in_force": in_force,
        "title_ja": pack.title_ja, "title_en": pack.title_en, "sha256": pack.sha256, "filename": pack.filename,
        "published_at": pack.published_at.isoformat(), "published_by": pack.published_by,
        "to_verify": pack.to_verify_keys(),
        "values": pack.data.get("values", {}),
        "categories": [{"code": c.code, "name_ja": c.name_ja, "name_en": c.name_en} for c in pack.categories.all()],
        "sub_items": [{"code": s.code, "domain": s.domain, "category": categories.get(s.category_id),
                       "name_ja": s.name_ja, "name_en": s.name_en, "status": s.status}
                      for s in pack.sub_items.all()],
    }
