"""Issue 15, busy indicators (hozen.js): a form being sent says so at once and is sent only once.

The sign-in form's POST is held back in the browser (Playwright's route interception) until the
test has seen what the page shows while the password is checked (Argon2, about 0.7 s in
production): nothing here depends on how long a step takes. Every POST the page sends to the
sign-in address passes through that route, so the count of POSTs is exact.

While its navigation is under way Playwright answers no question about the page (locators and
evaluate wait for the next page), so the page reports its own state through the console: the
form's `aria-busy`, the button's `disabled`, the status text, every 50 ms once the form is sent.

No screen sends a form through htmx yet (no ``hx-post`` or ``hx-get`` in the templates), so htmx's
indicator has no action to be proved on.
"""

from __future__ import annotations

import json
import re

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.argon2]  # the production password hasher, as a person meets it

#: Registered after hozen.js (on load), so each report says whether hozen.js refused the submit.
#: 100 ms after the first submit it sends the form again as a script would (requestSubmit()).
REPORTER = """
window.addEventListener("load", function () {
  var form = document.querySelector("main form");
  if (!form) { return; }
  var sent = 0;
  document.addEventListener("submit", function (event) {
    sent += 1;
    console.log("hozen-test-submit " + JSON.stringify({n: sent, refused: event.defaultPrevented}));
    if (sent > 1) { return; }
    setTimeout(function () { form.requestSubmit(); }, 100);
    setInterval(function () {
      var button = form.querySelector("button[type=submit]");
      var status = form.querySelector(".busy-status");
      console.log("hozen-test-busy " + JSON.stringify({
        busy: form.getAttribute("aria-busy"), disabled: button.disabled,
        status: status && status.textContent, role: status && status.getAttribute("role"),
        shown: !!status && !status.hidden && status.getClientRects().length > 0}));
    }, 50);
  });
});
"""


def ja(message: str) -> str:
    with translation.override("ja"):
        return str(gettext(message))


class Watch:
    """The POSTs held at the sign-in address and the page's own reports."""

    def __init__(self, page):
        self.page = page
        self.held = []
        self.lines: list[str] = []
        page.on("console", lambda message: self.lines.append(message.text))
        page.add_init_script(REPORTER)
        page.route(re.compile(r"/signin/$"), self._hold)

    def _hold(self, route, request):
        if request.method == "POST":
            self.held.append(route)  # answered by the test, once it has looked
        else:
            route.continue_()

    def reports(self, kind: str) -> list[dict]:
        prefix = f"hozen-test-{kind} "
        return [json.loads(line[len(prefix):]) for line in self.lines if line.startswith(prefix)]

    def until(self, test, what: str) -> None:
        for _ in range(200):  # 10 s
            if test():
                return
            self.page.wait_for_timeout(50)  # the page's reports and the held request arrive meanwhile
        raise AssertionError(f"the page never reported {what}: {self.lines[-3:]}")

    def until_busy(self) -> dict:
        self.until(lambda: any(r["disabled"] for r in self.reports("busy")), "a disabled button")
        return self.reports("busy")[-1]


@pytest.fixture
def watch(page):
    return Watch(page)


def _fill_sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(live_server.url + "/signin/")
    page.wait_for_function("document.documentElement.dataset.jsReady === '1'")
    page.get_by_label(ja("User name"), exact=True).fill(username)
    page.get_by_label(ja("Password"), exact=True).fill(password)


def _centre(locator) -> tuple[float, float]:
    """Where a person clicks: with the mouse, since a locator's click would wait for the held
    navigation to finish (and, once the button is disabled, for it to be enabled again)."""
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_sign_in_shows_it_is_working_and_sends_the_password_once(page, live_server, orgs, watch):
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    _fill_sign_in(page, live_server, account.username, factories.PASSWORD)
    x, y = _centre(page.get_by_role("button", name=ja("Sign in"), exact=True))

    page.mouse.click(x, y)
    page.mouse.click(x, y)  # a double click
    # The answer is held: the page still shows the form, which says it is working.
    shown = watch.until_busy()
    assert shown == {"busy": "true", "disabled": True, "status": ja("Working…"), "role": "status", "shown": True}
    # More tries while it waits: a click on the disabled button, Enter, and the page's own
    # requestSubmit() (the reporter's), which fires a submit event that hozen.js refuses.
    page.mouse.click(x, y)
    page.keyboard.press("Enter")
    watch.until(lambda: len(watch.reports("submit")) >= 2, "the second submit")
    page.wait_for_timeout(300)  # room for another POST to reach the route, were one sent
    first, *again = watch.reports("submit")
    assert first == {"n": 1, "refused": False} and again and all(r["refused"] for r in again)
    assert len(watch.held) == 1, f"{len(watch.held)} POSTs sent for one sign-in"

    watch.held[0].continue_()
    expect(page).to_have_url(re.compile(r"/signin/verify/$"))  # the password was right: the second factor
    assert len(watch.held) == 1
    # The next page's form is usable at once.
    expect(page.locator("main form button[type=submit]").first).to_be_enabled()
    expect(page.locator("main form[aria-busy=true]")).to_have_count(0)


def test_a_refused_sign_in_comes_back_usable(page, live_server, orgs, watch):
    """The form held while a wrong password is checked is a fresh form when the refusal arrives."""
    account = factories.account(role="investigator", organisation=orgs["CAO"])
    _fill_sign_in(page, live_server, account.username, "not the password")
    page.mouse.click(*_centre(page.get_by_role("button", name=ja("Sign in"), exact=True)))
    assert watch.until_busy()["status"] == ja("Working…")

    watch.held[0].continue_()
    expect(page.locator("#error-summary")).to_contain_text(ja("The user name or password is not correct."))
    expect(page.get_by_role("button", name=ja("Sign in"), exact=True)).to_be_enabled()
    expect(page.locator("main form[aria-busy=true]")).to_have_count(0)
    expect(page.locator(".busy-status:not([hidden])")).to_have_count(0)
    assert len(watch.held) == 1
