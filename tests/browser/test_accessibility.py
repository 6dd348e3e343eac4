"""Accessibility checked in CI (issue 15): axe-core (through axe-playwright-python, its script
bundled in the package, nothing downloaded) finds no serious or critical violation on any page a
demo role reaches from its navigation, at desktop width, nor on its dashboard at phone width.

With ``HOZEN_SCREENSHOTS=1`` (``make screenshots``) the same walk saves every role's dashboard at
both widths under docs/screenshots/, the pictures committed with a change to the screens.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from hozen.core import demo
from hozen.core.actor import Actor

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")
PAGES_PER_ROLE = 12
AXE = Axe()


@pytest.fixture
def demo_world(transactional_db):
    from hozen.rules.models import Category, RulesPack, SubItem
    from hozen.rules.storage import load_shipped

    load_shipped(RulesPack, Category, SubItem, published_by={"kind": "system", "name": "tests", "channel": "tests"})
    demo.load(actor=Actor.operator("tests"))
    demo.load_scenarios(actor=Actor.operator("tests"))


def _sign_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/signin/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(demo.DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/signin/verify/|/dashboard/$"))
    if "/signin/verify/" in page.url:  # the assessed person signs in with the password alone
        page.locator("#id_token").fill(demo.current_code(username))
        page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def _violations(page) -> list[str]:
    results = AXE.run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s), e.g. {v['nodes'][0]['target']}"
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def _nav_links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("nav a[href], main a[href]", "els => els.map(e => e.getAttribute('href'))")
    paths = []
    for href in hrefs:
        if href and href.startswith("/") and not re.search(r"signout|/static/|/api/|download|export|\.pdf|\.csv", href):
            if href not in paths:
                paths.append(href)
    return paths[:PAGES_PER_ROLE]


@pytest.mark.parametrize("username", [row[0] for row in demo.ACCOUNTS])
def test_no_serious_accessibility_violation_on_a_roles_pages(page, live_server, demo_world, username):
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server, username)
    found = {}
    if problems := _violations(page):
        found["/dashboard/ (desktop)"] = problems
    save = os.environ.get("HOZEN_SCREENSHOTS") == "1"
    if save:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{username}-desktop.png"), full_page=True)
    links = _nav_links(page, live_server.url)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/dashboard/")
    if problems := _violations(page):
        found["/dashboard/ (phone)"] = problems
    if save:
        page.screenshot(path=str(SCREENSHOTS / f"{username}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    for path in links:
        response = page.goto(live_server.url + path)
        if response is None or response.status != 200:
            continue
        if problems := _violations(page):
            found[path] = problems
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(p) for path, p in found.items())


def test_the_check_finds_a_serious_violation_when_there_is_one(page):
    """The check itself can fail: an image without a text alternative and a button without a name."""
    page.set_content('<html lang="ja"><head><title>t</title></head><body><main><img src="data:,">'
                     '<button></button></main></body></html>')
    found = " ".join(_violations(page))
    assert "image-alt (critical)" in found and "button-name (critical)" in found
