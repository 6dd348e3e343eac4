"""Issue 15 outside the core forms, in a real browser: the auditor's filter with two bad values
answers with one error summary that takes the focus, and its links put the cursor in the field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories

from .test_sign_in_journey import heading, ja, password_step, second_factor_step

pytestmark = pytest.mark.browser


def test_the_audit_filters_error_summary_takes_the_focus_and_leads_to_each_field(page, live_server, orgs):
    auditor = factories.account(role="auditor", organisation=orgs["CAO"])
    password_step(page, live_server, auditor)
    second_factor_step(page, factories.current_totp(auditor))
    page.goto(live_server.url + "/audit/log/")
    expect(heading(page)).to_have_text(ja("Audit log"))

    page.get_by_label(ja("Action"), exact=True).fill("session..x")
    page.get_by_label(ja("From (date)"), exact=True).fill("2025-06-02")
    page.get_by_label(ja("To (date, inclusive)"), exact=True).fill("2025-06-01")
    page.get_by_role("button", name=ja("Show entries"), exact=True).click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_count(1)
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    expect(summary.get_by_role("heading")).to_have_text(ja("There is a problem"))
    expect(summary.locator("li")).to_have_count(2)
    expect(page.get_by_label(ja("Action"), exact=True)).to_have_value("session..x")  # what was typed stays

    summary.get_by_role("link", name=ja("The end date is before the start date.")).click()
    expect(page.get_by_label(ja("To (date, inclusive)"), exact=True)).to_be_focused()
    summary.locator("li a").first.click()
    expect(page.get_by_label(ja("Action"), exact=True)).to_be_focused()
