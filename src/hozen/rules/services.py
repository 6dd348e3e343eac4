"""Publishing a rules pack version (DOMAIN §9): one use case, one transaction, one audit entry."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from hozen import audit
from hozen.access import policy
from hozen.core.errors import RuleViolation
from hozen.core.text import clean

from . import loader, storage
from .models import Category, RulesPack, SubItem


def _version_exists(code: str, version: int, latest: int) -> RuleViolation:
    return RuleViolation(
        "rules_pack_version_exists",
        f"{code} の版 {version} は既に公表されています。版番号を上げてください（最新は {latest}、次は {latest + 1}）。",
        f"{code} version {version} is already published; raise the version (latest is {latest}, next is "
        f"{latest + 1}).",
        field="version",
    )


@transaction.atomic(durable=True)
def publish_pack(*, actor, source_text: str, filename: str) -> RulesPack:
    """Validate a pack file and store it as a new version. An earlier version stays for the
    decisions taken under it; `current_pack` picks by effective date.

    A code's versions are 1, 2, 3… without gaps: the file must carry the next number. Refused: an
    invalid file (RuleViolation naming file:line), a version already published or lower than the
    latest, a version that skips a number, an effective date earlier than the latest version's.

    Lock what you check (ARCHITECTURE rule 8): the code's published versions are locked (id order)
    and the latest is read after the lock, so two publishes of one code at once are checked one
    after the other against what the first stored: the same number twice gives one version and one
    refusal, and the next number is always the latest plus one. The unique constraint on (code,
    version) holds the same in the database (a first version of a new code has no row to lock).
    """
    policy.require(actor, "rules_pack.publish")
    # The file's name by the one text policy before it names anything (messages name the path as
    # given; the pack stores the file's own name).
    filename = clean(filename, field="file", label=("ファイル名", "File name"), max_length=4096, min_visible=1,
                     required=True)
    stored_name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    data = loader.load(source_text, filename)
    code, version = data["code"], data["version"]
    list(RulesPack.objects.select_for_update(no_key=True).filter(code=code).order_by("pk").values_list("pk", flat=True))
    latest = RulesPack.objects.filter(code=code).order_by("-version").only("version", "effective_from").first()
    if latest is not None and version <= latest.version:
        if version == latest.version or RulesPack.objects.filter(code=code, version=version).exists():
            raise _version_exists(code, version, latest.version)
        raise RuleViolation(
            "rules_pack_version_not_newer",
            f"{code} の版 {version} は最新の版 {latest.version} より古い番号です。",
            f"{code} version {version} is lower than the latest version {latest.version}.",
            field="version",
        )
    expected = 1 if latest is None else latest.version + 1
    if version != expected:
        raise RuleViolation(
            "rules_pack_version_gap",
            f"{code} の次の版は {expected} です（版 {version} では番号が飛びます）。",
            f"The next version of {code} is {expected}; version {version} would skip a number.",
            field="version",
        )
    effective = dt.date.fromisoformat(data["effective_from"])
    if latest is not None and effective < latest.effective_from:
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
                                      filename=stored_name, published_by=actor.describe())
    except IntegrityError:  # a concurrent first publish of the same code and version won
        raise _version_exists(code, version, version) from None
    audit.record(actor, "rules_pack.published", pack, details={
        "code": code, "tier": pack.tier, "version": version, "effective_from": pack.effective_from,
        "sha256": pack.sha256,
    })
    return pack
