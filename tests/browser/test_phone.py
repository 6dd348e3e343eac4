"""The portal on a phone (issue 15 §10): the header and the menu leave the screen to the page (the
menu folds behind a button), nothing is wider than the screen, and the menu opens and closes."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from .test_accessibility import PHONE, _sign_in, demo_world  # noqa: F401 - demo_world is a fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("username", ["subject.towa", "esi.meti"])
def test_on_a_phone_the_header_and_menu_leave_the_screen_to_the_page(page, live_server, demo_world, username):  # noqa: F811
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server, username)
    toggle = page.locator(".main-nav .menu-toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("#main-nav-list")).to_be_hidden()
    main_top = page.evaluate("document.getElementById('main').getBoundingClientRect().top")
    assert main_top <= 200, f"the page starts {main_top}px down a {PHONE['height']}px screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav-list a").first).to_be_visible()
    toggle.click()
    expect(page.locator("#main-nav-list")).to_be_hidden()


def test_on_a_desktop_the_menu_is_always_open(page, live_server, demo_world):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, "esi.meti")
    expect(page.locator(".main-nav .menu-toggle")).to_be_hidden()
    expect(page.locator("#main-nav-list a").first).to_be_visible()


#: For one list table: its rows' layout, each cell's label against its column heading, and whether
#: anything reaches past the screen's right edge.
CARD_LAYOUT = """
selector => {
  const table = document.querySelector(selector);
  const headings = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
  const row = table.querySelector('tbody tr');
  const cells = [...row.children];
  const shown = cells.filter(cell => cell.getClientRects().length);  // an empty cell is left out
  const labelled = cells.find(cell => cell.dataset.label);
  return {
    rowDisplay: getComputedStyle(row).display,
    headingShown: table.querySelector('thead').getBoundingClientRect().height > 1,
    headings,
    labels: cells.map(cell => cell.dataset.label || null),
    before: labelled ? getComputedStyle(labelled, '::before').content : 'none',
    stacked: shown.every(cell => cell.getBoundingClientRect().left === shown[0].getBoundingClientRect().left),
    right: table.getBoundingClientRect().right,
    pageWidth: document.documentElement.scrollWidth,
    screenWidth: window.innerWidth,
  };
}
"""


def _shows_cards(page, live_server, path: str, selector: str) -> None:
    """At phone width `selector` is one card per row: the headings hidden, each cell on its own line
    under a label that is its column's heading, and nothing wider than the screen."""
    page.goto(live_server.url + path)
    expect(page.locator(f"{selector} tbody tr").first).to_be_visible()
    found = page.evaluate(CARD_LAYOUT, selector)
    where = f"{path} {selector}"
    assert found["rowDisplay"] == "block", f"{where}: rows are still table rows"
    assert not found["headingShown"], f"{where}: the column headings still take a line"
    assert found["stacked"], f"{where}: the cells of a row are not on lines of their own"
    assert found["before"] not in ("none", "normal"), f"{where}: the cells show no label"
    for heading, label in zip(found["headings"], found["labels"], strict=False):
        if heading and label is not None:
            assert label == heading, f"{where}: a cell labelled {label!r} under the heading {heading!r}"
    assert any(found["labels"]), f"{where}: no cell has a label"
    assert found["right"] <= found["screenWidth"], f"{where}: the table reaches {found['right']}px"
    assert found["pageWidth"] <= found["screenWidth"], (
        f"{where}: the page is {found['pageWidth']}px wide on a {found['screenWidth']}px screen")


def test_on_a_phone_list_tables_become_one_card_per_row(page, live_server, demo_world, settings, tmp_path):  # noqa: F811
    """Issue 15: the lists a person meets on a phone (their own portal, the vault, designations,
    handler lists) reflow to cards labelled by their column headings instead of scrolling sideways."""
    from hozen.assessment.models import AssessmentCase
    from hozen.core.models import Account
    from hozen.designation.models import Designation
    from hozen.vault import services as vault
    from tests.handling_factories import make_cleared_handler
    from tests.vault.conftest import make_pdf

    settings.DATA_DIR = tmp_path
    designation = Designation.objects.get(title="発電設備の防護計画に関する情報")
    handler = make_cleared_handler(designation, Account.objects.get(username="security.meti"))
    version = vault.upload(actor=handler, designation=designation, title="発電設備の防護計画書（第一版・配布用）",
                           source=io.BytesIO(make_pdf(2)), filename="hatsuden-setsubi-bogo-keikakusho-daiippan.pdf",
                           content_type="application/pdf")
    page.set_viewport_size(PHONE)

    _sign_in(page, live_server, "security.meti")
    _shows_cards(page, live_server, "/vault/", "#designations")
    _shows_cards(page, live_server, "/vault/", "#documents")
    _shows_cards(page, live_server, f"/vault/designations/{designation.pk}/", "#documents")
    _shows_cards(page, live_server, f"/vault/documents/{version.document_id}/", "#versions")  # a 64-character hash inside
    _shows_cards(page, live_server, "/designations/", "#designations")
    _shows_cards(page, live_server, "/designations/ledger/METI/", "#ledger")
    _shows_cards(page, live_server, f"/handling/designations/{designation.pk}/", "#handlers")

    page.context.clear_cookies()
    _sign_in(page, live_server, "engineer.towa")  # assessed, with an inquiry made about them
    case = AssessmentCase.objects.get(person__account__username="engineer.towa")
    _shows_cards(page, live_server, f"/assessment/portal/{case.pk}/inquiries/", "#inquiries")
