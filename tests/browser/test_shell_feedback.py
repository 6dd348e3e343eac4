"""Issue 15 in a real browser: the error summary takes the focus, a slow form shows it is working and
is sent once however often it is clicked, and a refusal page keeps the site's layout and language.

The page fixture fails a test on any console error or CSP violation, so these also prove that the
shell's script runs under the project's CSP (script-src 'self', no inline scripts).
"""

from __future__ import annotations

import json
import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from hozen.audit.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.browser


def ja(message: str) -> str:
    with translation.override("ja"):
        return str(gettext(message))


WATCH_BUSY = """
document.addEventListener("submit", function () {
  setTimeout(function () {
    var form = document.querySelector("form[aria-busy=true]");
    var status = form && form.querySelector(".busy-status");
    sessionStorage.setItem("hozen-test-busy", JSON.stringify(form && {
      button: form.querySelector("button[type=submit]").disabled,
      status: status.textContent, role: status.getAttribute("role")}));
  }, 100);
});
"""


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings, as tests/browser/test_accessibility.py counts them."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def open_sign_in(page, live_server):
    page.goto(live_server.url + "/signin/")
    page.wait_for_function("document.documentElement.dataset.jsReady === '1'")


def test_the_error_summary_takes_the_focus_and_its_links_lead_to_the_fields(page, live_server, db):
    open_sign_in(page, live_server)
    page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text(ja("There is a problem"))
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    assert [links.nth(i).get_attribute("href") for i in range(2)] == ["#id_username", "#id_password"]
    # Each field says what is wrong beside it, and the input is described by that message.
    expect(page.locator("#id_username")).to_have_attribute("aria-describedby", "id_username_error")
    expect(page.locator("#id_username_error")).to_be_visible()
    assert serious_violations(page) == []
    links.nth(1).click()
    expect(page.locator("#id_password")).to_be_focused()


def test_clicking_sign_in_twice_quickly_sends_the_password_once(page, live_server, orgs, monkeypatch):
    from hozen.core.views import auth

    account = factories.account(role="investigator", organisation=orgs["CAO"])
    checked = auth.authenticate

    def slow_check(*args, **kwargs):  # Argon2 takes 0.6-0.9 s in production: room to click again
        time.sleep(1.0)
        return checked(*args, **kwargs)

    monkeypatch.setattr(auth, "authenticate", slow_check)  # the live server runs in this process
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/signin/" in r.url else None)
    # What the form shows while the password is checked, noted by the page itself a moment after the
    # submit (the test cannot ask a page that is navigating away) and read back from the next page.
    page.add_init_script(WATCH_BUSY)
    open_sign_in(page, live_server)
    page.get_by_label(ja("User name"), exact=True).fill(account.username)
    page.get_by_label(ja("Password"), exact=True).fill("not the password")
    button = page.get_by_role("button", name=ja("Sign in"), exact=True)
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.mouse.click(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(x, y)
    # The answer: the wrong password, once.
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text(ja("The user name or password is not correct."))
    assert posts == [live_server.url + "/signin/"]
    assert AuditEntry.objects.filter(action="session.sign_in_failed").count() == 1
    # While it was checked, the form said it was working and its button could not be pressed.
    busy = json.loads(page.evaluate("sessionStorage.getItem('hozen-test-busy')"))
    assert busy == {"button": True, "status": ja("Working…"), "role": "status"}
    # The page that came back is usable again.
    expect(page.get_by_role("button", name=ja("Sign in"), exact=True)).to_be_enabled()


def test_a_busy_form_is_usable_again_after_the_back_button(page, live_server, db):
    open_sign_in(page, live_server)
    page.get_by_label(ja("User name"), exact=True).fill("nobody")
    page.get_by_label(ja("Password"), exact=True).fill("x")
    page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    expect(page.locator("#error-summary")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/signin/$"))
    expect(page.get_by_role("button", name=ja("Sign in"), exact=True)).to_be_enabled()
    expect(page.locator("form[aria-busy=true]")).to_have_count(0)


def expected_error_status(request, url: str, status: int) -> None:
    """Chromium logs the page's own error status as a console error; here that status is the point."""
    problems = request.node._browser_console_problems
    problems[:] = [p for p in problems if not (f"status of {status}" in p and url in p)]


def test_a_not_found_designation_keeps_the_layout_and_names_whom_to_ask(page, live_server, orgs, request):
    subject = factories.account(role="subject", organisation=orgs["TOWA"], totp_device=False)
    officer = factories.account(role="business_officer", organisation=orgs["TOWA"])
    open_sign_in(page, live_server)
    page.get_by_label(ja("User name"), exact=True).fill(subject.username)
    page.get_by_label(ja("Password"), exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/(dashboard|assessment)/"))
    page.goto(live_server.url + "/vault/designations/987654/")
    expected_error_status(request, "/vault/designations/987654/", 404)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text(ja("Page not found"))
    expect(page.get_by_role("navigation", name=ja("Main navigation"))).to_be_visible()
    expect(page.locator("#ask-officer")).to_contain_text(officer.person.full_name)
    assert serious_violations(page) == []
    page.locator("#back-link").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_a_form_sent_after_its_token_lapsed_says_what_to_do(page, live_server, db, request):
    open_sign_in(page, live_server)
    page.context.clear_cookies()  # as after a sign-in or sign-out in another window, or a long pause
    page.get_by_label(ja("User name"), exact=True).fill("someone")
    page.get_by_label(ja("Password"), exact=True).fill("x")
    page.get_by_role("button", name=ja("Sign in"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ja("The form could not be sent"))
    expected_error_status(request, "/signin/", 403)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("main")).to_contain_text(ja("Go back, reload the page and try again."))
    assert serious_violations(page) == []
    page.locator("#back-link").click()
    expect(page).to_have_url(re.compile(r"/signin/$"))
