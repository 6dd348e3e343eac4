"""Vault fixtures: a designation in force, cleared handlers, PDFs to upload, the local storage.

Cleared handlers come from ``tests.handling_factories.make_cleared_handler`` (the handling app's
own helper), so the vault's tests exercise the real ``designation.material.read`` rule.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine

from hozen.core.actor import Actor
from hozen.documents.pdf import Document as PdfDocument
from hozen.rules.queries import current_pack
from tests import factories

TODAY = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _vault_folder(settings, tmp_path):
    """Each test stores its documents in its own folder (the default local storage)."""
    settings.DATA_DIR = tmp_path
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "vault"}
    return tmp_path / "vault"


def actor_of(account, role: str | None = None, channel: str = "web"):
    assignments = account.active_assignments()
    assignment = assignments.filter(role=role).first() if role else assignments.first()
    return Actor.for_account(account, assignment, channel=channel, second_factor_verified=True)


@pytest.fixture
def meti(people, orgs):
    return {
        "manager": actor_of(people["esi_manager"]),
        "head": actor_of(people["organ_head"]),
        "security": actor_of(people["security_officer"]),
        "sysadmin": actor_of(people["sysadmin"]),
        "auditor": actor_of(people["auditor"]),
        "oversight": actor_of(people["oversight"]),
        "head_mic": actor_of(factories.account(role="organ_head", organisation=orgs["MIC"])),
    }


@pytest.fixture
def draft_fields(db):
    pack = current_pack("esi", TODAY)
    item = pack.sub_items.select_related("category").get(code="A-1")
    return {
        "title": "発電設備の防護計画に関する情報",
        "summary": "基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）",
        "category": item.category, "sub_item": item,
        "justification_category": "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        "justification_not_public": "公表されておらず、関係者以外に知られていない。",
        "justification_harm": "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        "in_advance": False, "advance_reason": "",
        "designated_on": TODAY, "term_end": dt.date(2031, 5, 31), "protective_measure": "marking",
    }


@pytest.fixture
def make_designation(meti, orgs, draft_fields):
    from hozen.designation import services

    def make(**overrides):
        draft = services.create_draft(actor=meti["manager"], organisation=orgs["METI"], **{**draft_fields, **overrides})
        return services.approve(actor=meti["head"], designation=draft)

    return make


@pytest.fixture
def designation(make_designation):
    return make_designation()


@pytest.fixture
def cleared():
    """cleared(designation, account=None) -> an actor allowed to read the designation's material."""
    from tests.handling_factories import make_cleared_handler

    return make_cleared_handler


@pytest.fixture
def handler(cleared, designation):
    return cleared(designation)


def make_pdf(pages: int = 3, title: str = "試験文書") -> bytes:
    doc = PdfDocument(title=title, deterministic=True)
    for n in range(pages):
        doc.heading(f"第{n + 1}章")
        doc.paragraph("本文。" * 20)
        doc._story.append(__import__("reportlab.platypus", fromlist=["PageBreak"]).PageBreak())
    return doc.render()


@pytest.fixture
def pdf_bytes():
    return make_pdf(3)


@pytest.fixture
def upload_pdf(handler, designation, pdf_bytes):
    from hozen.vault import services

    def upload(*, actor=None, data: bytes | None = None, title: str = "防護計画書", filename: str = "plan.pdf"):
        body = pdf_bytes if data is None else data
        return services.upload(actor=actor or handler, designation=designation, title=title,
                               source=io.BytesIO(body), filename=filename, content_type="application/pdf",
                               declared_size=len(body))

    return upload
