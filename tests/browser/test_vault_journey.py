"""The vault in a real browser (issue 7 "done when"): a cleared handler uploads a PDF and downloads
a copy marked on every page; a colleague without need to know gets the same "not found" page as
for a document that does not exist, and "why can't I open this?" names the condition they fail;
the handler is refused with the reason once their clearance has expired (frozen time) and gets
"not found" once removed from the handler list.

Headless Chromium through the fixtures of tests/browser. The live server's clock is not frozen.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from hozen.audit.models import AuditEntry
from hozen.vault.models import Copy, Document
from tests import factories
from tests.browser.test_designation_journey import shipped_packs, sign_in  # noqa: F401
from tests.vault.conftest import make_pdf

pytestmark = pytest.mark.browser


@pytest.fixture
def journey(transactional_db, shipped_packs, tmp_path, settings):  # noqa: F811
    from hozen.core.actor import Actor
    from hozen.designation import services as designations
    from hozen.handling import services as handling
    from hozen.handling.models import HandlerEntry
    from tests.handling_factories import make_cleared_handler

    settings.DATA_DIR = tmp_path
    orgs = factories.organisations()
    manager = factories.account(role="esi_manager", organisation=orgs["METI"])
    head = factories.account(role="organ_head", organisation=orgs["METI"])

    def actor(account):
        return Actor.for_account(account, account.active_assignments().first(), channel="web",
                                 second_factor_verified=True)

    today = timezone.localdate()
    item = shipped_packs.sub_items.select_related("category").get(code="A-1")
    draft = designations.create_draft(
        actor=actor(manager), organisation=orgs["METI"], title="発電設備の防護計画に関する情報",
        summary="基幹インフラの発電設備に係る防護措置の計画（内容は記載しない）", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        in_advance=False, advance_reason="", designated_on=today, term_end=today + dt.timedelta(days=365 * 3),
        protective_measure="marking")
    designation = designations.approve(actor=actor(head), designation=draft)
    reader = factories.account(role="security_officer", organisation=orgs["METI"])
    handler = make_cleared_handler(designation, reader, valid_until=today + dt.timedelta(days=30))
    # A colleague on the same staff with a valid clearance and the briefing, but no need to know:
    # taken off this designation's handler list.
    colleague = make_cleared_handler(designation, factories.account(role="security_officer",
                                                                    organisation=orgs["METI"])).account
    handling.remove_handler(actor=actor(manager), entry=HandlerEntry.objects.get(designation=designation,
                                                                                account=colleague))
    return {"designation": designation, "handler": handler, "colleague": colleague, "today": today}


def test_cleared_handler_opens_a_marked_document_and_others_get_not_found(browser, page, live_server, journey,  # noqa: F811
                                                                              tmp_path, request):
    designation, handler = journey["designation"], journey["handler"]
    sign_in(page, live_server, handler.account)
    page.goto(f"{live_server.url}/vault/")
    page.get_by_role("link", name=designation.reference).first.click()
    expect(page.locator("#marking")).to_have_text("重要経済安保情報")
    page.locator("#upload-link").click()
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(make_pdf(3))
    page.locator("#id_title").fill("防護計画書")
    page.locator("#id_file").set_input_files(str(pdf))
    page.locator("#upload-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/vault/documents/\d+/$"))
    expect(page.locator("#versions")).to_contain_text("plan.pdf")
    with page.expect_download() as info:
        page.locator("#download-1").click()
    with open(info.value.path(), "rb") as fh:
        data = fh.read()
    texts = [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]
    assert len(texts) == 3 and all("重要経済安保情報" in t for t in texts)
    assert all(handler.account.person.full_name in t for t in texts)
    document_url = page.url

    # A cleared colleague of the same organ, not on the handler list (their own browser): exactly the page
    # of a document that does not exist.
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        other = context.new_page()
        sign_in(other, live_server, journey["colleague"])
        missing = other.goto(f"{live_server.url}/vault/documents/999999/")
        missing_body = missing.body()
        existing = other.goto(document_url)
        assert existing.status == missing.status == 404
        assert existing.body() == missing_body
        # "Why can't I open this?": the colleague sees the condition they fail, about themselves only.
        other.goto(f"{live_server.url}/handling/explain/{designation.pk}/")
        expect(other.locator("main")).to_contain_text("取扱者名簿")
        expect(other.locator("main")).not_to_contain_text(handler.account.person.full_name)
    finally:
        context.close()
    problems = request.node._browser_console_problems
    # The colleague's refused page loads are logged by the browser as console errors: expected here.
    assert all(re.search(r"status of 404", p) for p in problems), problems
    del problems[:]

    # The handler's clearance ends (frozen time, 60 days on): refused, with the reason.
    # (Sixty days idle signs anyone out: the handler signs in again first.)
    with time_machine.travel(timezone.now() + dt.timedelta(days=60), tick=False):
        page.context.clear_cookies()
        sign_in(page, live_server, handler.account)
        refused = page.goto(document_url)
        assert refused.status == 403
        expect(page.locator("main")).to_contain_text("適性評価")
        problems = request.node._browser_console_problems
        assert all(re.search(r"status of 403", p) for p in problems), problems
        del problems[:]
    # Back to today. The authenticator's last accepted step is 60 days ahead (the sign-in above);
    # the test's clock, not the person, went back: reset it so today's code is accepted again.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=handler.account).update(last_t=-1)
    page.context.clear_cookies()
    sign_in(page, live_server, handler.account)

    # Taken off the list: the handler, still signed in, is refused the same way.
    from hozen.handling import services as handling
    from hozen.handling.models import HandlerEntry
    from tests.handling_factories import keeper_for

    entry = HandlerEntry.objects.get(designation=designation, account=handler.account, ended_at__isnull=True)
    handling.remove_handler(actor=keeper_for(designation.organisation), entry=entry, reason="no_longer_needed")
    assert page.goto(document_url).status == 404
    problems = request.node._browser_console_problems
    assert all(re.search(r"status of 404", p) for p in problems), problems
    del problems[:]
    assert Copy.objects.count() == 1 and Document.objects.count() == 1
    assert AuditEntry.objects.filter(action="vault.document.read", outcome="denied").count() >= 2


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_handler_records_a_destruction_through_its_review(page, live_server, journey, size):
    """Issue 15 "review before final": the destruction of a held copy is shown for review (nothing
    recorded), "Go back to edit" keeps what was typed, and only "Confirm" records it — at desktop
    size and at a phone's width, where nothing is wider than the screen."""
    from hozen.vault import services as vault

    handler, witness = journey["handler"], journey["colleague"]
    version = vault.upload(actor=handler, designation=journey["designation"], title="防護計画書",
                           source=io.BytesIO(make_pdf(1)), filename="plan.pdf", content_type="application/pdf")
    delivery = vault.deliver(actor=handler, version=version, kind="download")
    delivery.close()
    copy = delivery.copy
    page.set_viewport_size(size)
    sign_in(page, live_server, handler.account)
    page.goto(f"{live_server.url}/vault/open-items/")
    page.locator(f'#open-items a[href="/vault/copies/{copy.pk}/"]').click()
    form = page.locator("#destroy-form")
    form.locator("#id_destroy-method").fill("シュレッダー（クロスカット）")
    form.locator("#id_destroy-witness").fill(witness.username)
    form.locator("#review-destruction").click()

    expect(page.locator("#destruction-review")).to_be_visible()
    expect(page.locator("#review-method")).to_have_text("シュレッダー(クロスカット)")  # as it will be recorded
    expect(page.locator("#review-witness")).to_have_text(witness.username)
    expect(page.locator("#review-recorded-by")).to_have_text(handler.account.person.full_name)
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    assert Copy.objects.get(pk=copy.pk).state == "out"
    assert not AuditEntry.objects.filter(action="vault.copy.destroyed").exists()

    page.locator("#edit-destruction").click()  # back to the form, with everything typed
    expect(page.locator("#id_destroy-method")).to_have_value("シュレッダー（クロスカット）")
    expect(page.locator("#id_destroy-witness")).to_have_value(witness.username)
    assert Copy.objects.get(pk=copy.pk).state == "out"

    page.locator("#review-destruction").click()
    confirm = page.locator("#confirm-destruction")
    confirm.scroll_into_view_if_needed()
    expect(confirm).to_be_in_viewport()
    confirm.click()
    expect(page).to_have_url(re.compile(rf"/vault/copies/{copy.pk}/$"))
    expect(page.locator("#copy-state")).to_have_text("廃棄済み")
    expect(page.locator("#events")).to_contain_text(witness.person.full_name)
    expect(page.locator("#destroy-form")).to_have_count(0)
    assert Copy.objects.get(pk=copy.pk).state == "destroyed"
    assert AuditEntry.objects.filter(action="vault.copy.destroyed", outcome="success").count() == 1
