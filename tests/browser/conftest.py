"""Headless Chromium (Debian's, never a Playwright download) driven by Playwright's sync API.

Every test here is marked `browser`. A test fails when the page logged a console error, an uncaught
script error or a CSP violation ("Refused to ..."), and a screenshot of a failing test goes to
test-results/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent.parent / "test-results"
DEFAULT_TIMEOUT_MS = 10_000
# Chromium logs CSP violations as console errors ("Refused to ..." or, lately, "... violates the following
# Content Security Policy directive ..."); the page's own event reports them whatever the wording.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def pytest_collection_modifyitems(config, items):
    # Hooks of a conftest see every collected item, so mark only the ones under this folder.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_browser_report_{report.when}", report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Console errors fail the test itself (not its teardown), so the screenshot is taken too.
    result = yield
    problems = getattr(item, "_browser_console_problems", None)
    if problems:
        raise AssertionError("the page reported errors in the browser console:\n  " + "\n  ".join(problems))
    return result


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`) to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: browser tests must not be skipped)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (expect() has its own default of 5 s otherwise).
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    problems: list[str] = []
    request.node._browser_console_problems = problems

    def on_console(message):
        text = message.text
        if message.type == "error" or text.startswith("Refused to") or "Content Security Policy" in text:
            location = message.location or {}
            problems.append(f"console {message.type}: {text} ({location.get('url', '?')})")

    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught script error: {error}"))
    try:
        yield page
    finally:
        call = getattr(request.node, "_browser_report_call", None)
        if call is not None and call.failed:
            RESULTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
            try:
                page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"could not take a screenshot: {exc}")
        context.close()
