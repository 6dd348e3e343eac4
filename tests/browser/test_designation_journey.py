"""Issue 5's journey in a real browser: an ESI manager drafts a designation; the organ head (another
account) approves it, extends it and cancels it; the 指定書 and the 指定管理簿 come out as PDFs; the
organ acknowledges a written notice and sees the other still unacknowledged.

The live server's clock is not frozen, so dates are relative to today (Japan time): a term within
the pack's five years, a designation date after the regime started (2025-05-16).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hozen.audit.models import AuditEntry
from hozen.designation.models import STATE_LABELS, Designation, State
from hozen.designation.periods import add_years
from tests import factories

from .test_sign_in_journey import heading, ja, password_step, second_factor_step

pytestmark = pytest.mark.browser


@pytest.fixture
def shipped_packs(transactional_db):
    """Migration 0002 loads the packs; a transactional test's flush may have removed them since."""
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "cli"})
    return RulesPack.objects.get(code="jp-esi-2025", version=1)


def sign_in(page, live_server, account):
    password_step(page, live_server, account)
    second_factor_step(page, factories.current_totp(account))
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def sign_out(page):
    page.get_by_role("button", name=ja("Sign out"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/signin/"))


def main_link(page, name):
    return page.get_by_role("main").get_by_role("link", name=name, exact=True)


def download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    with open(info.value.path(), "rb") as fh:
        return fh.read()


def test_manager_drafts_head_approves_extends_and_cancels_with_both_pdfs(page, live_server, orgs, shipped_packs):
    manager = factories.account(role="esi_manager", organisation=orgs["METI"])
    head = factories.account(role="organ_head", organisation=orgs["METI"])
    item = shipped_packs.sub_items.select_related("category").get(code="A-1")
    today = timezone.localdate()
    term_end = add_years(today, 3) - dt.timedelta(days=1)
    new_end = add_years(term_end, 1)

    # --- the ESI manager drafts -------------------------------------------------------------------
    sign_in(page, live_server, manager)
    page.get_by_role("navigation", name=ja("Main navigation")).get_by_role(
        "link", name=ja("New draft designation"), exact=True).click()
    expect(heading(page)).to_have_text(ja("New draft designation"))
    page.get_by_label(ja("Title"), exact=True).fill("送電網の防護計画に関する情報")
    page.get_by_label(ja("Summary"), exact=True).fill("基幹インフラの送電設備に係る防護措置の計画（内容は記載しない）")
    page.get_by_label(ja("Category"), exact=True).select_option(label=f"(1) {item.category.name_ja}")
    page.get_by_label(ja("Sub-item"), exact=True).select_option(label=f"A-1 {item.name_ja}")
    page.get_by_label(ja("Requirement 1: why it falls in the category and sub-item"), exact=True).fill(
        "法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。")
    page.get_by_label(ja("Requirement 2: why it is not public"), exact=True).fill(
        "公表されておらず、関係者以外に知られていない。")
    page.get_by_label(ja("Requirement 3: why its leak would hinder national security"), exact=True).fill(
        "漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。")
    page.get_by_label(ja("Designation date"), exact=True).fill(today.isoformat())
    page.get_by_label(ja("Term end"), exact=True).fill(term_end.isoformat())
    page.get_by_role("button", name=ja("Save the draft"), exact=True).click()

    draft = Designation.objects.get()
    expect(page).to_have_url(re.compile(rf"/designations/{draft.pk}/$"))
    expect(heading(page)).to_have_text(f"{ja('Draft designation')} #{draft.pk}")
    expect(page.locator("#state")).to_have_text(ja("Draft"))
    # The manager cannot approve: no button.
    expect(main_link(page, ja("Approve and designate"))).to_have_count(0)
    sign_out(page)

    # --- the organ head approves from the dashboard ----------------------------------------------
    sign_in(page, live_server, head)
    approvals = page.locator("#panel-approvals")
    expect(approvals.get_by_role("heading", name=ja("Designations awaiting approval"))).to_be_visible()
    approvals.get_by_role("link", name="送電網の防護計画に関する情報").click()
    main_link(page, ja("Approve and designate")).click()
    expect(heading(page)).to_have_text(ja("Approve and designate"))
    page.get_by_role("button", name=ja("Approve and designate"), exact=True).click()

    draft.refresh_from_db()
    reference = draft.reference
    assert draft.state == State.DESIGNATED and reference == f"METI-{today.year}-0001"
    expect(heading(page)).to_have_text(ja("Designation %(reference)s") % {"reference": reference})
    expect(page.locator("#marking")).to_have_text("重要経済安保情報")
    expect(page.locator("#state")).to_have_text(ja("Designated"))

    # --- extends: the form shows the pack's limits, the unconfirmed cap flagged -----------------------
    main_link(page, ja("Extend the term")).click()
    expect(heading(page)).to_have_text(ja("Extend the term"))
    expect(page.locator("#extension-limits")).to_contain_text(
        ja("this figure is awaiting confirmation against the Operational Standards"))
    page.get_by_label(ja("New term end"), exact=True).fill(new_end.isoformat())
    page.get_by_label(ja("Reason for the extension"), exact=True).fill("要件を引き続き満たすため延長する。")
    page.get_by_role("button", name=ja("Extend"), exact=True).click()
    expect(page.locator(".message.success")).to_have_text(ja("The term was extended. Every holder has been notified."))
    expect(page.locator("#extensions tbody tr")).to_have_count(1)
    expect(page.locator("#designation-facts")).to_contain_text(new_end.isoformat())

    # --- the 指定書 as PDF ----------------------------------------------------------------------------
    body = download(page, main_link(page, ja("Designation document (指定書, PDF)")))
    assert body.startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="designation.document_exported", outcome="success").count() == 1

    # --- cancels ----------------------------------------------------------------------------------
    main_link(page, ja("Cancel the designation")).click()
    expect(heading(page)).to_have_text(ja("Cancel the designation"))
    page.get_by_label(ja("Reason for the cancellation"), exact=True).fill("非公知性の要件を満たさなくなったため。")
    page.get_by_role("button", name=ja("Cancel the designation"), exact=True).click()
    # One state label for the screen and the ledger's files (issue 15): the ledger's own word.
    expect(page.locator("#state")).to_have_text(STATE_LABELS["cancelled"][0])
    expect(page.locator("#marking")).to_have_text("重要経済安保情報（指定解除）")
    expect(main_link(page, ja("Extend the term"))).to_have_count(0)

    # --- the ledger: on screen, as CSV and as PDF --------------------------------------------------------
    main_link(page, ja("Designation ledger")).click()
    expect(heading(page)).to_have_text(ja("Designation ledger"))
    row = page.locator("#ledger tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(reference)
    csv_body = download(page, main_link(page, ja("Export as CSV")))
    assert csv_body.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))
    assert lines[0][0] == "指定番号" and lines[1][0] == reference and lines[1][7] == "解除"
    pdf = download(page, main_link(page, ja("Export as PDF (指定管理簿)")))
    assert pdf.startswith(b"%PDF")
    formats = [e.data for e in AuditEntry.objects.filter(action="designation.ledger_exported", outcome="success")]
    assert len(formats) == 2 and '"format":"csv"' in formats[0] and '"format":"pdf"' in formats[1]

    # --- the written notices: the organ acknowledges one, the sender sees the other still open ------------
    page.get_by_role("navigation", name=ja("Main navigation")).get_by_role(
        "link", name=ja("Designation notices"), exact=True).click()
    notices = page.locator("#notifications tbody tr")
    expect(notices).to_have_count(2)  # the extension's and the cancellation's, to METI itself
    notices.first.get_by_role("button", name=ja("Acknowledge receipt"), exact=True).click()
    expect(page.locator(".message.success")).to_have_text(
        ja("The notice about %(reference)s was acknowledged.") % {"reference": reference})
    expect(page.get_by_role("button", name=ja("Acknowledge receipt"), exact=True)).to_have_count(1)
    main_link(page, ja("Notices sent and their acknowledgement")).click()
    expect(heading(page)).to_have_text(ja("Notices sent and their acknowledgement"))
    expect(page.locator("#notices-sent tbody tr")).to_have_count(2)
    expect(page.locator("#notices-sent tbody tr").first).to_contain_text(ja("Not yet acknowledged"))
    assert AuditEntry.objects.filter(action="designation.notification_acknowledged").count() == 1


def test_a_colleagues_save_meanwhile_is_shown_and_nothing_is_overwritten(page, live_server, orgs, shipped_packs,
                                                                         request):
    """Issue 11: two ESI managers edit one draft; the second to save is told, in the browser, that it
    changed since they opened it (409), sees who changed which field and keeps what they typed; sending
    again applies their change on top, without reverting the colleague's."""
    from hozen.designation import services
    from tests.designation.conftest import actor_of

    me = factories.account(role="esi_manager", organisation=orgs["METI"])
    colleague = factories.account(role="esi_manager", organisation=orgs["METI"])
    item = shipped_packs.sub_items.select_related("category").get(code="A-1")
    today = timezone.localdate()
    draft = services.create_draft(
        actor=actor_of(me), organisation=orgs["METI"], title="送電網の防護計画に関する情報",
        summary="基幹インフラの送電設備に係る防護措置の計画（内容は記載しない）", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。", designated_on=today,
        term_end=add_years(today, 3) - dt.timedelta(days=1), protective_measure="marking")

    sign_in(page, live_server, me)
    page.goto(f"{live_server.url}/designations/{draft.pk}/edit/")
    expect(heading(page)).to_have_text(ja("Edit the draft"))
    # The colleague saves a new title while my form is open.
    services.update_draft(actor=actor_of(colleague), designation=draft.pk, version=draft.version,
                          title="同僚が改めた送電網の件名")
    page.get_by_label(ja("Summary"), exact=True).fill("私が書き直した概要（内容は記載しない）")
    page.get_by_role("button", name=ja("Save the draft"), exact=True).click()

    stale = page.locator("#stale-edit")
    expect(stale).to_be_visible()
    expect(stale.get_by_role("heading")).to_have_text(ja("Changed by someone else since you opened it"))
    expect(stale).to_contain_text(colleague.username)
    expect(page.locator("#stale-yours")).to_contain_text("送電網の防護計画に関する情報")  # what my form had
    expect(page.get_by_label(ja("Title"), exact=True)).to_have_value("同僚が改めた送電網の件名")
    expect(page.get_by_label(ja("Summary"), exact=True)).to_have_value("私が書き直した概要（内容は記載しない）")
    stored = Designation.objects.get(pk=draft.pk)
    assert stored.title == "同僚が改めた送電網の件名" and stored.summary.startswith("基幹インフラ")
    # The refused save is a 409 page, which the browser logs as a console error: expected here.
    problems = request.node._browser_console_problems
    assert problems and all(re.search(r"status of 409", p) for p in problems), problems
    del problems[:]

    page.get_by_role("button", name=ja("Save the draft"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/designations/{draft.pk}/$"))
    stored = Designation.objects.get(pk=draft.pk)
    # Stored as the text policy normalises it: NFKC makes the full-width parentheses ASCII (issue 12).
    assert stored.title == "同僚が改めた送電網の件名" and stored.summary == "私が書き直した概要(内容は記載しない)"
