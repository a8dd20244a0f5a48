"""The safety desk by keyboard alone, on a phone-sized screen: the safety representative registers a request under
6:6a, and the manager confirms receipt and answers it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer, new_context, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def _focus(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has focus (the keyboard is the only way there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("sel => document.activeElement === document.querySelector(sel)", selector):
            return
    raise AssertionError(f"{selector} was not reached with Tab")


def test_a_request_made_and_answered_by_keyboard_on_a_phone(browser: Browser, live_server: LiveServer) -> None:
    rep = new_context(browser, viewport=PHONE).new_page()
    sign_in(rep, live_server, live_server.emails["safety_rep"])
    rep.goto(live_server("/staff/safety/requests/new"))
    _focus(rep, "#request-unit")
    rep.keyboard.press("ArrowDown")  # from the department to Team A, which the manager leads
    _focus(rep, "#request-title")
    rep.keyboard.type("Belysningen i korridoren")
    _focus(rep, "#request-reasons")
    rep.keyboard.type("Två lysrör är trasiga sedan oktober.")
    _focus(rep, "main form button[type=submit]")
    with rep.expect_navigation():
        rep.keyboard.press("Enter")
    assert "/staff/safety/requests/" in rep.url
    assert rep.locator("h1").inner_text() == "Belysningen i korridoren"
    assert rep.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    request_url = rep.url

    manager = new_context(browser, viewport=PHONE).new_page()
    sign_in(manager, live_server, live_server.emails["manager"])
    manager.goto(request_url)
    _focus(manager, "form[action$='/confirm'] button")
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    _focus(manager, "#answer-answer")
    manager.keyboard.type("Lysrören byts i morgon.")
    _focus(manager, "form[action$='/answer'] button[type=submit]")
    with manager.expect_navigation():
        manager.keyboard.press("Enter")
    assert "Lysrören byts i morgon." in manager.content()
    assert manager.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
