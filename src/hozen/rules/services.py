"""Publishing a rules pack version (DOMAIN §9): one use case, one transaction, one audit entry."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation

from . import loader, storage
from .models import Category, RulesPack, SubItem


@transaction.atomic(durable=True)
def publish_pack(*, actor, source_text: str, filename: str) -> RulesPack:
    """Validate a pack file and store it as a new version. An earlier version stays for the
    decisions taken under it; `current_pack` picks by effective date.

    Refused: an invalid file (RuleViolation naming file:line), a version already published or
    lower than the latest, an effective date earlier than the latest version's.
    """
    policy.require(actor, "rules_pack.publish")
    data = loader.load(source_text, filename)
    code, version = data["code"], data["version"]
    latest = (RulesPack.objects.select_for_update().filter(code=code).order_by("-version").first())
    if latest is not None:
        if version == latest.version or RulesPack.objects.filter(code=code, version=version).exists():
            raise RuleViolation(
                "rules_pack_version_exists",
                f"{code} の版 {version} は既に公表されています。版番号を上げてください（最新は {latest.version}）。",
                f"{code} version {version} is already published; raise the version (latest is {latest.version}).",
            )
        if version < latest.version:
            raise RuleViolation(
                "rules_pack_version_not_newer",
                f"{code} の版 {version} は最新の版 {latest.version} より古い番号です。",
                f"{code} version {version} is lower than the latest version {latest.version}.",
            )
        effective = dt.date.fromisoformat(data["effective_from"])
        if effective < latest.effective_from:
            raise RuleViolation(
                "rules_pack_effective_date_earlier",
                f"{code} 版 {version} の適用開始日 {effective} が、前の版 {latest.version} の適用開始日 "
                f"{latest.effective_from:%Y-%m-%d} より前です。",
                f"{code} version {version} takes effect on {effective}, before the previous version "
                f"{latest.version} ({latest.effective_from:%Y-%m-%d}).",
            )
    try:
        with transaction.atomic():
            pack = storage.write_pack(RulesPack, Category, SubItem, data=data, source_text=source_text,
                                      filename=filename.rsplit("/", 1)[-1], published_by=actor.describe())
    except IntegrityError:  # a concurrent publish of the same version won
        raise RuleViolation(
            "rules_pack_version_exists",
            f"{code} の版 {version} は既に公表されています。",
            f"{code} version {version} is already published.",
        ) from None
    audit.record(actor, "rules_pack.published", pack, details={
        "code": code, "tier": pack.tier, "version": version, "effective_from": pack.effective_from,
        "sha256": pack.sha256,
    })
    return pack
