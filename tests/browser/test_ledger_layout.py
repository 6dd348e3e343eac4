"""The designation ledger lays out at 1280 px (issue 15): no column squeezed to a character or two
per line by the long texts beside it (the record of extensions and endings, correction requests).
A real browser measures every cell; each must be at least about three characters wide."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from hozen.core.actor import Actor
from hozen.designation import services
from hozen.designation.periods import add_years
from tests import factories

from .test_designation_journey import shipped_packs, sign_in  # noqa: F401  (shipped_packs is a fixture)

pytestmark = pytest.mark.browser

LONG = ("独立公文書管理監から、要件2（非公知性）の理由に公表資料との関係が具体的に記載されていないとの指摘があり、"
        "関係する白書及び報道発表資料の記載を確認した上で理由を補うよう求められたもの。") * 2

#: A cell narrower than this many times its font size wraps (Japanese) text a character or two per line.
MIN_CHARACTERS = 3

MEASURE = """
() => [...document.querySelectorAll('#ledger th, #ledger tbody td')].map(cell => {
  const style = getComputedStyle(cell);
  const inner = cell.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {text: cell.innerText.slice(0, 30), width: inner, em: parseFloat(style.fontSize)};
})
"""


def _actor(account):
    return Actor.for_account(account, account.active_assignments().first(), channel="web",
                             second_factor_verified=True)


def test_no_ledger_column_is_squeezed_at_1280_px(page, live_server, orgs, shipped_packs):  # noqa: F811
    manager = factories.account(role="esi_manager", organisation=orgs["METI"])
    head = factories.account(role="organ_head", organisation=orgs["METI"])
    oversight_body = orgs.get("IPRMS") or next(o for o in orgs.values() if o.kind == "oversight_body")
    supervisor = factories.account(role="oversight", organisation=oversight_body)
    item = shipped_packs.sub_items.select_related("category").get(code="A-1")
    today = timezone.localdate()
    for i in range(3):
        draft = services.create_draft(
            actor=_actor(manager), organisation=orgs["METI"], title=f"送電網の防護計画に関する情報（その{i + 1}）",
            summary="基幹インフラの送電設備に係る防護措置の計画（内容は記載しない）", category=item.category,
            sub_item=item, justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
            justification_not_public="公表されておらず、関係者以外に知られていない。",
            justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。", in_advance=False,
            advance_reason="", designated_on=today, term_end=add_years(today, 2) - dt.timedelta(days=1),
            protective_measure="marking")
        d = services.approve(actor=_actor(head), designation=draft.pk)
        services.extend(actor=_actor(head), designation=d.pk, new_end=add_years(today, 4) - dt.timedelta(days=1),
                        reason="要件を引き続き満たすため延長する", cabinet_approval_ref="")
        correction = services.request_correction(actor=_actor(supervisor), designation=d.pk, kind="amend",
                                                 request=LONG)
        services.answer_correction(actor=_actor(head), correction=correction, answer=LONG)

    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, head)
    page.goto(live_server.url + "/designations/ledger/METI/")
    cells = page.evaluate(MEASURE)
    assert len(cells) == 10 + 3 * 10
    squeezed = [c for c in cells if c["width"] < MIN_CHARACTERS * c["em"]]
    assert not squeezed, squeezed
