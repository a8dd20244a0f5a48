"""The admin pages work with the keyboard alone, and focus can always be seen."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import LiveServer, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

#: How many Tab presses a test may use to reach what it looks for.
MAX_TABS = 60

#: What has focus, and whether it is visibly marked: an outline or a box shadow of at least 2 px, shown for
#: keyboard focus (:focus-visible).
_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const shadow = style.boxShadow !== 'none' && /\\b([2-9]|\\d\\d+)px\\b/.test(style.boxShadow);
  return {
    tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, href: el.getAttribute('href'),
    name: (el.getAttribute('aria-label') || el.innerText || el.value || '').trim(),
    visible: el.matches(':focus-visible') && (outline || shadow),
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`, shadow: style.boxShadow,
    inMain: !!el.closest('main'), inNav: !!el.closest('nav.main-nav'),
  };
}"""


def _tab(page: Page, key: str = "Tab") -> dict[str, Any]:
    page.keyboard.press(key)
    focused: dict[str, Any] = page.evaluate(_FOCUSED)
    assert focused["visible"], f"focus is not visible on {focused}"
    return focused


def _tab_to(page: Page, predicate: Any, what: str) -> dict[str, Any]:
    for _ in range(MAX_TABS):
        focused = _tab(page)
        if predicate(focused):
            return focused
    raise AssertionError(f"{what} was not reached with {MAX_TABS} presses of Tab")


def test_skip_link_is_first_and_moves_focus_to_the_main_content(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, live_server.emails["admin"])
    page.goto(live_server("/staff/admin/units"))
    first = _tab(page)
    assert "skip-link" in first["cls"], first
    assert first["href"] == "#main"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None
    assert box["y"] >= 0, f"the focused skip link is off screen: {box}"
    assert box["height"] >= 44
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab continues inside the main content, past the header and the menu.
    assert _tab(page)["inMain"]


def test_menu_and_organisation_tree_are_reached_with_tab(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, live_server.emails["admin"])
    page.goto(live_server("/staff/admin/units"))
    menu = page.locator("nav.main-nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    tree = page.locator(".tree-table a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(menu) >= 6, menu
    assert len(tree) == 5, tree

    reached: list[str] = []
    for _ in range(MAX_TABS):
        focused = _tab(page)
        if focused["href"]:
            reached.append(focused["href"])
        if reached[-len(tree):] == tree:
            break
    # Every link, in reading order: the menu first, the tree later.
    assert set(menu) <= set(reached), reached
    assert set(tree) <= set(reached), reached
    order = [reached.index(href) for href in menu + tree]
    assert order == sorted(order), reached
    # The sign-out button in the menu is reachable too.
    page.goto(live_server("/staff/admin/units"))
    _tab_to(page, lambda f: f["tag"] == "button" and f["inNav"], "the sign-out button")


def test_open_and_save_a_person_with_the_keyboard_only(page: Page, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    sign_in(page, live_server, live_server.emails["admin"])
    page.goto(live_server("/staff/admin/units"))
    # Organisation → Förvaltningen → Maja Chef, following links with Enter.
    _tab_to(page, lambda f: f["name"] == "Förvaltningen" and f["inMain"], "the unit Förvaltningen")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/staff/admin/units/\d+$"))
    _tab_to(page, lambda f: f["name"] == "Maja Chef" and f["inMain"], "the person Maja Chef")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/staff/admin/people/{live_server.person_ids['manager']}$"))

    _tab_to(page, lambda f: f["id"] == "name", "the name field")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("Maja Chef-Berg")
    _tab_to(page, lambda f: f["id"] == "language", "the language field")
    page.keyboard.press("ArrowDown")  # Svenska → English
    _tab_to(page, lambda f: f["id"] == "is_admin", "the administrator checkbox")
    page.keyboard.press("Space")
    _tab_to(page, lambda f: f["tag"] == "button" and f["inMain"], "the save button")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(rf"/staff/admin/people/{live_server.person_ids['manager']}$"))
    expect(page.locator(".notice-success")).to_have_text("Ändringarna för Maja Chef-Berg är sparade.")
    person = live_server.person(live_server.emails["manager"])
    assert (person.name, person.language, person.is_admin) == ("Maja Chef-Berg", "en", True)
