"""Writing a validated pack's rows: one path for the publish service and the data migration.

The model classes are passed in so the migration can use its historical models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from . import loader

PACKS_DIR = Path(__file__).resolve().parent / "packs"
#: The packs shipped in the package and loaded by migration 0002 (DOMAIN §9).
SHIPPED = ("jp-esi-2025.yaml", "jp-sds.yaml")


def sha256_of(source_text: str) -> str:
    """The SHA-256 of the file's bytes (UTF-8; read them undecoded-newline so the hash matches)."""
    return hashlib.sha256(source_text.encode("utf-8")).hexdigest()


def write_pack(RulesPack, Category, SubItem, *, data: dict, source_text: str, filename: str,
               published_by: dict, published_at=None):
    """Create the pack, its categories and sub-items from `loader.load`'s output."""
    extra = {"published_at": published_at} if published_at is not None else {}
    pack = RulesPack.objects.create(
        code=data["code"], tier=data["tier"], version=data["version"],
        effective_from=dt.date.fromisoformat(data["effective_from"]), title_ja=data["title_ja"],
        title_en=data["title_en"], data=data, sha256=sha256_of(source_text), filename=filename[:200],
        source_text=source_text, published_by=published_by, **extra,
    )
    categories = {}
    for position, row in enumerate(data["taxonomy"]["categories"]):
        categories[row["code"]] = Category.objects.create(
            pack=pack, code=row["code"], name_ja=row["name_ja"], name_en=row["name_en"], note=row["note"],
            position=position)
    SubItem.objects.bulk_create([
        SubItem(pack=pack, code=row["code"], domain=row["domain"], category=categories.get(row["category"]),
                name_ja=row["name_ja"], name_en=row["name_en"], status=row["status"], note=row["note"],
                position=position)
        for position, row in enumerate(data["taxonomy"]["sub_items"])
    ])
    return pack


def load_shipped(RulesPack, Category, SubItem, *, published_by: dict) -> list:
    """Load each shipped file whose (code, version) is not in the database yet. Idempotent, so a
    later migration shipping a new version can call it again; validated by the same loader."""
    created = []
    for name in SHIPPED:
        source_text = (PACKS_DIR / name).read_bytes().decode("utf-8")
        data = loader.load(source_text, name)
        if RulesPack.objects.filter(code=data["code"], version=data["version"]).exists():
            continue
        created.append(write_pack(RulesPack, Category, SubItem, data=data, source_text=source_text, filename=name,
                                  published_by=published_by))
    return created
