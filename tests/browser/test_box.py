"""The complaint box in a real browser: writing anonymously by keyboard on a phone, keeping the reply key in the
browser and opening the answer with it, and the safety representative's review — in Swedish and English, by
keyboard on a 320 px screen, with axe — before anything reaches the manager."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, new_context, serve, sign_in

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


NARROW = {"width": 320, "height": 800}
#: What each step is called on the page, per language.
WORDS = {
    "sv": {"release_redacted": "Skicka vidare maskerad", "close": "Avsluta ärendet", "closed": "Avslutad",
           "passed_on": "Skickad vidare med detaljer borttagna"},
    "en": {"release_redacted": "Pass on redacted", "close": "Close the item", "closed": "Closed",
           "passed_on": "Passed on with details removed"},
}


def axe_serious(page: Page) -> list[dict[str, object]]:
    from axe_playwright_python.sync_playwright import Axe

    return [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]


def fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def tab_to(page: Page, label: str, *, limit: int = 15) -> None:
    """Press Tab until the focused element is the one named ``label`` (keyboard only, as a person would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == label:
            return
    raise AssertionError(f"{label!r} not reached by Tab")


@pytest.fixture(params=["sv", "en"])
def box_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh server whose people all speak Swedish, then English (the seeded item waits for review)."""
    with serve(tmp_path, language=request.param) as server:
        yield server


def test_the_review_flow_by_keyboard_on_a_narrow_screen(browser: Browser, box_server: LiveServer) -> None:
    """The manager sees that a text waits for review and nothing of it; the safety representative releases it
    redacted by keyboard on a 320 px screen; the manager then reads the redacted text, never the original; the
    writer sees what became of their text. Every page passes axe, in Swedish and in English."""
    server, words = box_server, WORDS[box_server.language]
    item = server.memo["box_item"]
    manager = new_context(browser, server.language, viewport=NARROW).new_page()
    sign_in(manager, server, server.emails["manager"])
    manager.goto(server(f"/staff/box/{item}"))
    expect(manager.locator("#box-review-note")).to_be_visible()
    expect(manager.locator(".conversation")).not_to_contain_text("förrådet")
    assert not axe_serious(manager) and fits(manager)
    safety = new_context(browser, server.language, viewport=NARROW).new_page()
    sign_in(safety, server, server.emails["safety_rep"])
    expect(safety.locator("#desk-box-reviews")).to_contain_text("Team A")
    safety.goto(server(f"/staff/box/{item}"))
    expect(safety.locator(".conversation")).to_contain_text("Ventilationen i förrådet fungerar inte.")
    assert not axe_serious(safety) and fits(safety)
    # Keyboard only: into the redaction field, replace the text, Tab to "release redacted", Enter.
    safety.locator("#redacted-1").focus()
    safety.keyboard.press("Control+A")
    safety.keyboard.type("Ventilationen fungerar inte.")
    tab_to(safety, words["release_redacted"])
    with safety.expect_navigation():
        safety.keyboard.press("Enter")
    expect(safety.locator(".notice-success, [role=status]").first).to_be_visible()
    assert not axe_serious(safety) and fits(safety)
    manager.reload()
    expect(manager.locator(".conversation")).to_contain_text("Ventilationen fungerar inte.")
    expect(manager.locator(".conversation")).not_to_contain_text("i förrådet")
    expect(manager.locator("#box-review-note")).to_have_count(0)
    assert not axe_serious(manager) and fits(manager)
    # The writer, with the key, on a phone: their own words, and what the manager reads.
    writer = new_context(browser, server.language, viewport=NARROW).new_page()
    writer.goto(server(f"/box/read?lang={server.language}"))
    writer.locator("#key").focus()
    writer.keyboard.type(server.memo["box_key"])
    with writer.expect_navigation():
        writer.keyboard.press("Enter")
    expect(writer.locator(".conversation")).to_contain_text("Ventilationen i förrådet fungerar inte.")
    expect(writer.locator("#review-1")).to_contain_text(words["passed_on"])
    assert not axe_serious(writer) and fits(writer)
    # The manager closes it after the answer that is already there, by keyboard: Tab until the button, Enter.
    manager.locator("#text").focus()
    tab_to(manager, words["close"])
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    expect(manager.locator(".facts")).to_contain_text(words["closed"])
    for page in (manager, safety, writer):
        page.context.close()
