"""The portal on a phone (issue 15 §10): the header and the menu leave the screen to the page (the
menu folds behind a button), nothing is wider than the screen, and the menu opens and closes."""

from __future__ import annotations

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
