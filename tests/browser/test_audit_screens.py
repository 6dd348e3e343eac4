"""Issue 4's screens in a real browser: the auditor filters the log and exports it; the assessed
person sees who has read their data."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hozen.core.actor import Actor
from hozen.crypto import reveal
from tests import factories
from tests.testapp.models import Dossier

from .test_sign_in_journey import heading, ja, password_step, second_factor_step

pytestmark = pytest.mark.browser


def test_auditor_filters_the_log_sees_an_error_beside_a_bad_range_and_exports_csv(page, live_server, orgs):
    auditor = factories.account(role="auditor", organisation=orgs["CAO"])
    password_step(page, live_server, auditor)
    second_factor_step(page, factories.current_totp(auditor))

    page.get_by_role("navigation", name=ja("Main navigation")).get_by_role("link", name=ja("Audit log")).click()
    expect(heading(page)).to_have_text(ja("Audit log"))

    page.get_by_label(ja("Operator (user name)"), exact=True).fill(auditor.username)
    page.get_by_label(ja("Action"), exact=True).fill("session.")
    page.get_by_role("button", name=ja("Show entries"), exact=True).click()
    table = page.locator("#audit-entries")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr").first).to_contain_text("session.signed_in")

    # An end date before the start date: the error sits beside the end date and no table is shown.
    page.get_by_label(ja("From (date)"), exact=True).fill("2025-06-02")
    page.get_by_label(ja("To (date, inclusive)"), exact=True).fill("2025-06-01")
    page.get_by_role("button", name=ja("Show entries"), exact=True).click()
    end = page.get_by_label(ja("To (date, inclusive)"), exact=True)
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=end).locator(".field-errors")).to_have_text(
        ja("The end date is before the start date."))
    expect(page.locator("#audit-entries")).to_have_count(0)

    # Cleared, filtered again, exported: a UTF-8 CSV with a byte-order mark for Excel.
    page.get_by_label(ja("From (date)"), exact=True).fill("")
    page.get_by_label(ja("To (date, inclusive)"), exact=True).fill("")
    page.get_by_role("button", name=ja("Show entries"), exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name=ja("Export this filter as CSV")).click()
    body = open(download.value.path(), "rb").read()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith(ja("Leaf index") + ",")
    assert len(lines) == 2 and "session.signed_in" in lines[1] and auditor.username in lines[1]
    assert re.fullmatch(r"hozen-audit-log-\d{8}T\d{6}Z\.csv", download.value.suggested_filename)


def test_assessed_person_sees_who_has_read_their_data_from_the_dashboard(page, live_server, orgs):
    subject = factories.account(role="subject", organisation=orgs["TOWA"])
    investigator = factories.account(role="investigator", organisation=orgs["CAO"], totp_device=False)
    reader = Actor.for_account(investigator, investigator.active_assignments().first(), channel="web")
    dossier = Dossier.objects.create(title="case", notes="面接記録", family={}, person=subject.person)
    reveal(reader, Dossier.objects.get(pk=dossier.pk), "notes", purpose="investigation")

    page.goto(live_server.url + "/")
    page.get_by_label(ja("User name"), exact=True).fill(subject.username)
    page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.get_by_role("main").get_by_role("link", name=ja("See who has read my data")).click()
    expect(heading(page)).to_have_text(ja("Who has read my data"))
    row = page.locator("#my-reads tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("内閣府調査担当")
    expect(row).to_contain_text("内閣府 (CAO)")
    expect(row).to_contain_text(ja("Aptitude assessment investigation"))
    expect(row).not_to_contain_text(investigator.username)


PHONE = {"width": 390, "height": 844}


def test_assessed_person_reads_grouped_reads_and_a_refused_attempt_on_a_phone_and_exports_them(browser, live_server,
                                                                                                orgs):
    """Issue 12 §7: repeated reads are one line with their count and time range, someone else's refused
    attempt shows without by whom, the page fits a 390 px phone, and the CSV export downloads."""
    from hozen.assessment import reads

    subject = factories.account(role="subject", organisation=orgs["TOWA"])
    officer = factories.account(role="business_officer", organisation=orgs["TOWA"])
    admin = factories.account(role="sysadmin", organisation=orgs["CAO"])
    business = Actor.for_account(officer, officer.active_assignments().first(), channel="api")
    for _ in range(3):
        reads.shown(business, "get_case", [subject.person])
    reads.refused(Actor.for_account(admin, admin.active_assignments().first(), channel="api"), "get_case",
                  subject.person, reason="no_access_to_assessment", asked="assessment.view")

    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(10_000)
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    try:
        page.goto(live_server.url + "/")
        page.get_by_label(ja("User name"), exact=True).fill(subject.username)
        page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
        page.get_by_role("button", name=ja("Sign in"), exact=True).click()
        page.goto(live_server.url + "/audit/my-reads/")
        expect(heading(page)).to_have_text(ja("Who has read my data"))
        rows = page.locator("#my-reads tbody tr")
        expect(rows).to_have_count(2)
        grouped = page.locator("#my-reads tbody tr[data-count='3']")
        expect(grouped).to_contain_text(
            ja("The nominating side following the assessment (status and outcome only)"))
        expect(grouped).to_contain_text("TOWA")
        refused = page.locator("#my-reads tbody tr.denied")
        expect(refused).to_contain_text(ja("Attempted; refused"))
        expect(refused).to_contain_text(ja("Not shown"))
        expect(refused).not_to_contain_text("CAO")
        # One card per line on a phone: nothing wider than the screen, each value with its label.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
        assert page.locator("#my-reads thead").bounding_box()["height"] <= 1
        label = page.evaluate("getComputedStyle(document.querySelector('#my-reads td.count'), '::before').content")
        assert ja("Number of reads") in label
        with page.expect_download() as download:
            page.get_by_role("link", name=ja("Export as CSV")).click()
        lines = open(download.value.path(), "rb").read().decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + 4 and re.fullmatch(r"hozen-my-reads-\d{8}T\d{6}Z\.csv",
                                                     download.value.suggested_filename)
        assert problems == []
    finally:
        context.close()
