"""The APT pack in a real browser: prepared and printed by keyboard, in both languages, on a laptop and a phone;
tables never clipped at desktop width and scrolling in their own region on a phone; the print stylesheet hides
the navigation and prints in black and white."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer, new_context, serve, sign_in
from tests.browser.test_keyboard import _tab_to

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

#: Tables whose content is wider than their box (clipped or scrolled), with the widths.
_CLIPPED = """() => Array.from(document.querySelectorAll('main table')).map(t => {
  const box = t.closest('.table-scroll') || t.parentElement;
  return {html: t.outerHTML.slice(0, 80), table: t.scrollWidth, box: box.clientWidth,
          scrolls: getComputedStyle(box).overflowX};
})"""


def _pack_url(server: LiveServer) -> str:
    return server(f"/staff/results/{server.memo['release']}/units/{server.unit_ids['dept']}/apt")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_safety_rep_edits_the_questions_and_opens_the_print_view_by_keyboard(browser: Browser, tmp_path: Path,
                                                                                language: str) -> None:
    with serve(tmp_path, language=language) as server:
        context = new_context(browser, language)
        page = context.new_page()
        sign_in(page, server, server.emails["safety_rep"])
        page.goto(_pack_url(server))
        assert page.get_attribute("html", "lang") == language
        area = _tab_to(page, lambda f: f["tag"] == "textarea" and f["id"].startswith("prompts-"),
                       "the first discussion question")
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type("Vad gör vi före jul?")
        _tab_to(page, lambda f: f["tag"] == "button" and f["inMain"], "the print button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/apt/print" in page.url and page.locator("body.print-view").count() == 1
        assert page.get_by_text("Vad gör vi före jul?").is_visible()
        # The same form makes the PDF with the same questions.
        page.go_back()
        page.locator(f"#{area['id']}").fill("Vem ringer vi om vikarier?")
        with page.expect_download() as download:
            page.locator("#apt-form button[formaction]").click()
        assert download.value.suggested_filename.endswith(".pdf")
        # Printed: no navigation, no buttons, the chart in grey.
        page.goto(_pack_url(server) + "/print")
        page.emulate_media(media="print")
        assert not page.locator(".site-header").is_visible() and not page.locator(".print-tools").is_visible()
        assert page.locator(".apt-chart img").evaluate("e => getComputedStyle(e).filter") == "grayscale(1)"
        context.close()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_a_manager_saves_the_questions_and_restores_the_banks_by_keyboard(browser: Browser, tmp_path: Path,
                                                                          language: str) -> None:
    """Saved questions come back on the page and in print for the next reader; "restore" brings the bank's back."""
    words = {"sv": ("Spara frågorna", "Återställ frågebankens frågor", "Vad gör vi före jul?"),
             "en": ("Save the questions", "Restore the question bank's questions", "What do we do before Christmas?")}
    save, restore, mine = words[language]
    with serve(tmp_path, language=language) as server:
        context = new_context(browser, language)
        page = context.new_page()
        sign_in(page, server, server.emails["admin"])
        page.goto(_pack_url(server))
        area = _tab_to(page, lambda f: f["tag"] == "textarea" and f["id"].startswith("prompts-"),
                       "the first discussion question")
        bank = page.locator(f"#{area['id']}").input_value()
        page.keyboard.press("Control+A")
        page.keyboard.type(mine)
        _tab_to(page, lambda f: f["tag"] == "button" and f["name"] == save, "the save button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator(f"#{area['id']}").input_value() == mine
        assert page.locator(".flashes [role=status]").is_visible()
        # Another reader's print view has them too.
        reader = new_context(browser, language).new_page()
        sign_in(reader, server, server.emails["safety_rep"])
        reader.goto(_pack_url(server) + "/print")
        assert reader.get_by_text(mine).is_visible()
        # Restore, by keyboard: the bank's questions are back.
        page.get_by_role("button", name=restore).first.focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator(f"#{area['id']}").input_value() == bank
        assert page.get_by_role("button", name=restore).count() == 0
        context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_tables_are_never_clipped_on_a_laptop_and_scroll_on_a_phone(browser: Browser, site: LiveServer,
                                                                    width: int) -> None:
    context = new_context(browser, site.language, viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, site, site.emails["safety_rep"])
    release, dept = site.memo["release"], site.unit_ids["dept"]
    for path in (f"/staff/results/{release}/units/{dept}", f"/staff/results/{release}/units/{dept}/heatmap",
                 f"/staff/results/{release}/units/{dept}/apt",
                 f"/staff/results/surveys/{site.memo['survey']}/units/{dept}/trends"):
        page.goto(site(path))
        assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth"), path
        for table in page.evaluate(_CLIPPED):
            if width >= 1280:
                assert table["table"] <= table["box"], (path, table)  # the whole table shows
            elif table["table"] > table["box"]:
                assert table["scrolls"] == "auto", (path, table)  # wider than the phone: it scrolls in its box
    context.close()
