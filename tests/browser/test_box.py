"""The complaint box in a real browser: writing anonymously by keyboard on a phone, keeping the reply key in the
browser and opening the answer with it, and the safety representative's redaction reaching the manager."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, new_context, sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


def test_writing_by_keyboard_on_a_phone_and_reading_the_answer_with_a_saved_key(
        browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, viewport=PHONE, has_touch=True)
    page = context.new_page()
    page.goto(live_server("/box"))
    expect(page.locator("#not-whistleblowing")).to_contain_text("visselblåsarlagen")
    # Keyboard only: the unit list, a category with the arrow keys, the text, Enter on the button.
    page.locator("#unit").focus()
    page.keyboard.press("ArrowDown")  # the first unit with enough people
    page.locator("#category-workload").focus()
    page.keyboard.press("ArrowDown")
    assert page.locator("input[name=category]:checked").get_attribute("value") == "treatment"
    page.locator("#text").focus()
    page.keyboard.type("Vi blir inte lyssnade på vid APT.")
    page.locator("#box-form button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    key = page.locator("#reply-key").inner_text()
    assert len(key.replace("-", "")) == 30
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#keep-key").click()
    expect(page.locator("#key-saved")).not_to_be_empty()
    assert context.cookies() == []
    # Later, on the read page: the saved key opens the conversation with one button, sent in a POST body.
    page.goto(live_server("/box/read"))
    with page.expect_navigation():
        page.locator("#saved-list button").first.click()
    assert "/box/read" in page.url and key not in page.url
    expect(page.locator(".conversation")).to_contain_text("Vi blir inte lyssnade på vid APT.")
    page.fill("#text", "Och ingen tar anteckningar.")
    with page.expect_navigation():
        page.locator("#reply-form button[type=submit]").click()
    expect(page.locator(".conversation li")).to_have_count(2)
    assert context.cookies() == []
    context.close()


def test_a_wrong_key_is_told_plainly_in_english(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, "en")
    page = context.new_page()
    page.goto(live_server("/box/read"))
    page.fill("#key", "not-a-real-key")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value is not None and navigation.value.status == 404
    expect(page.locator(".error-summary")).to_contain_text("does not open anything")
    context.close()


def test_redaction_by_the_safety_representative_reaches_the_manager(browser: Browser,
                                                                   live_server: LiveServer) -> None:
    item = live_server.memo["box_item"]
    safety = new_context(browser).new_page()
    sign_in(safety, live_server, live_server.emails["safety_rep"])
    safety.goto(live_server(f"/staff/box/{item}"))
    safety.fill("#redacted-1", "Ventilationen fungerar inte.")
    with safety.expect_navigation():
        safety.get_by_role("button", name="Visa chefen den maskerade texten").click()
    expect(safety.locator(".notice-success, [role=status]").first).to_be_visible()
    manager = new_context(browser).new_page()
    sign_in(manager, live_server, live_server.emails["manager"])
    manager.goto(live_server(f"/staff/box/{item}"))
    expect(manager.locator(".conversation")).to_contain_text("Ventilationen fungerar inte.")
    expect(manager.locator(".conversation")).not_to_contain_text("i förrådet")
    # The manager closes it after the answer that is already there, by keyboard: Tab until the button, Enter.
    manager.locator("#text").focus()
    for _ in range(10):
        manager.keyboard.press("Tab")
        if manager.evaluate("document.activeElement.textContent.trim()") == "Avsluta ärendet":
            break
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    expect(manager.locator(".facts")).to_contain_text("Avslutad")
