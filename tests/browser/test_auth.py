"""Signing in and out through the real forms, with CSRF protection on."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer, sign_in
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _submit(page: Page) -> int:
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    response = navigation.value
    assert response is not None
    return response.status


def test_sign_in_and_sign_out(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, live_server.emails["admin"])
    expect(page.locator("h1")).to_have_text("Hej Ada Admin")
    expect(page.locator(".site-footer")).to_contain_text("admin@example.org")

    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(re.compile(r"/staff/login$"))
    expect(page.locator(".notice-success")).to_have_text("Du är utloggad.")
    expect(page.get_by_role("button", name="Logga ut")).to_have_count(0)
    # The staff pages ask for a sign-in again.
    page.goto(live_server("/staff/admin/units"))
    assert re.search(r"/staff/login\?next=/staff/admin/units$", page.url)


def test_wrong_password_shows_an_error_summary_linked_to_the_form(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(live_server("/staff/login"))
    page.fill("#email", live_server.emails["admin"])
    page.fill("#password", PASSWORD + " but wrong")
    assert _submit(page) == 401

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Något behöver rättas")
    link = summary.get_by_role("link", name="E-postadressen eller lösenordet är fel.")
    expect(link).to_have_attribute("href", "#email")
    link.click()
    expect(page.locator("#email")).to_be_focused()
    # The address is kept, the password is not, and nobody is signed in.
    expect(page.locator("#email")).to_have_value(live_server.emails["admin"])
    expect(page.locator("#password")).to_have_value("")
    expect(page.get_by_role("button", name="Logga ut")).to_have_count(0)


def test_empty_sign_in_links_each_message_to_its_field(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(live_server("/staff/login"))
    assert _submit(page) == 400
    summary = page.locator(".error-summary")
    expect(summary).to_have_attribute("role", "alert")
    for field_id, message in (("email", "Skriv din e-postadress."), ("password", "Skriv ditt lösenord.")):
        link = summary.get_by_role("link", name=message)
        expect(link).to_have_attribute("href", f"#{field_id}")
        field = page.locator(f"#{field_id}")
        expect(field).to_have_attribute("aria-invalid", "true")
        # The message beside the field is what a screen reader hears with it.
        expect(field).to_have_accessible_description(re.compile(re.escape(message)))
        link.click()
        expect(field).to_be_focused()
