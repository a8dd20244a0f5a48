"""Swedish by default; English and back with the language switch in the header."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _lang(page: Page) -> str | None:
    return page.get_attribute("html", "lang")


def test_public_pages_switch_language_with_links(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(live_server("/"))
    assert _lang(page) == "sv"
    expect(page.locator("h1")).to_have_text("Pulse – hur är det på jobbet?")

    switch = page.get_by_role("navigation", name="Språk")
    english = switch.get_by_role("link", name="English")
    # A plain link: the public pages set no cookie, so the choice travels in the address.
    expect(english).to_have_attribute("href", "/?lang=en")
    expect(english).to_have_attribute("lang", "en")
    english.click()
    page.wait_for_url(re.compile(r"/\?lang=en$"))
    assert _lang(page) == "en"
    expect(page.locator("h1")).to_have_text("Pulse – how are things at work?")
    expect(page.get_by_role("link", name="Skip to main content")).to_have_count(1)

    page.get_by_role("navigation", name="Language").get_by_role("link", name="Svenska").click()
    page.wait_for_url(re.compile(r"/\?lang=sv$"))
    assert _lang(page) == "sv"
    expect(page.locator("h1")).to_have_text("Pulse – hur är det på jobbet?")


def test_staff_pages_switch_language_with_a_form_button(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    # Before signing in, the choice is kept in the staff session.
    page.goto(live_server("/staff/login"))
    assert _lang(page) == "sv"
    english = page.locator("header form.language-switch").get_by_role("button", name="English")
    assert english.evaluate("button => button.form.method") == "post"
    english.click()
    page.wait_for_url(re.compile(r"/staff/login$"))
    assert _lang(page) == "en"
    expect(page.locator("h1")).to_have_text("Sign in")
    page.locator("header form.language-switch").get_by_role("button", name="Svenska").click()
    page.wait_for_url(re.compile(r"/staff/login$"))
    assert _lang(page) == "sv"
    expect(page.locator("h1")).to_have_text("Logga in")

    # Signed in, the choice is saved as the person's language and the page stays where it was.
    sign_in(page, live_server, live_server.emails["admin"])
    page.goto(live_server("/staff/admin/units"))
    page.locator("header form.language-switch").get_by_role("button", name="English").click()
    page.wait_for_url(re.compile(r"/staff/admin/units$"))
    assert _lang(page) == "en"
    expect(page.locator("main .actions .button.secondary")).to_have_text("Import from CSV")
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="People")).to_be_visible()
    assert live_server.person(live_server.emails["admin"]).language == "en"

    page.locator("header form.language-switch").get_by_role("button", name="Svenska").click()
    page.wait_for_url(re.compile(r"/staff/admin/units$"))
    assert _lang(page) == "sv"
    expect(page.locator("main .actions .button.secondary")).to_have_text("Importera från CSV")
    expect(page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Personer")).to_be_visible()
    assert live_server.person(live_server.emails["admin"]).language == "sv"
