"""Uniqueness added over existing data (issue 11): the migration that makes copy numbers unique per
document checks the copies first and names the ones that break it, rather than failing with an
opaque database error; with the data corrected it applies."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("vault", "0002_copy_document")]
AFTER = [("vault", "0003_copy_number_unique_per_document")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_repeated_copy_numbers_of_one_document_are_named_before_the_constraint(people, orgs):
    from tests.vault.conftest import NOW

    apps = _migrate(BEFORE)
    try:
        Designation = apps.get_model("designation", "Designation")
        Document = apps.get_model("vault", "Document")
        DocumentVersion = apps.get_model("vault", "DocumentVersion")
        Copy = apps.get_model("vault", "Copy")
        designation_id = _a_designation(people, orgs)
        account = people["esi_manager"].pk
        doc = Document.objects.create(designation=Designation.objects.get(pk=designation_id), title="t",
                                      created_by_id=account, created_at=NOW, copies_issued=2)
        versions = [DocumentVersion.objects.create(
            document=doc, number=n, filename="a.txt", content_type="text/plain", size=1, sha256="0" * 64,
            stored_name=f"vault/{n}.hzv", stored_size=1, uploaded_by_id=account, uploaded_at=NOW) for n in (1, 2)]
        # The same copy number on two versions of one document: allowed by the old schema.
        copies = [Copy.objects.create(version=v, document=doc, number=1, kind="download", token=f"{n:024d}",
                                      recipient_name="x", recipient_organisation="x", holder_name="x", issued_at=NOW)
                  for n, v in enumerate(versions)]
        refused = importlib.import_module("hozen.vault.migrations.0003_copy_number_unique_per_document")
        with pytest.raises(refused.CopyNumbersRepeat) as exc:
            _migrate(AFTER)
        message = str(exc.value)
        assert f"document {doc.pk}: copy number 1 is held by copies {copies[0].pk}, {copies[1].pk}" in message
        # Corrected (renumbered, as the message asks), the migration applies.
        Copy.objects.filter(pk=copies[1].pk).update(number=2)
        _migrate(AFTER)
    finally:
        _migrate(AFTER)


def _a_designation(people, orgs) -> int:
    from hozen.designation import services
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.queries import current_pack
    from hozen.rules.storage import load_shipped
    from tests.handling_factories import actor_for

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})
    item = current_pack("esi", dt.date(2026, 6, 1)).sub_items.select_related("category").get(code="A-1")
    draft = services.create_draft(
        actor=actor_for(people["esi_manager"]), organisation=orgs["METI"], title="件名", summary="概要",
        category=item.category, sub_item=item, justification_category="法第2条第4項第1号の措置に関する計画である。",
        justification_not_public="公表されておらず関係者以外に知られていない。",
        justification_harm="漏えいすれば安全保障に支障を与えるおそれがある。", designated_on=dt.date(2026, 6, 1),
        term_end=dt.date(2031, 5, 31), protective_measure="marking")
    return services.approve(actor=actor_for(people["organ_head"]), designation=draft).pk
