"""What people see in their first minute (issue 12): the staff menu and footer on a phone, the code form's notice
and a mistyped code, the invitation's language on a browser set to another, and "My answers" in the right tense.
The new admin pages are in tests/browser/pages.py (scanned with axe in both languages by test_pages.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, new_context, sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


def axe_serious(page: Page) -> list[dict[str, object]]:
    from axe_playwright_python.sync_playwright import Axe

    return [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_staff_menu_folds_on_a_phone_and_works_by_keyboard(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, viewport=PHONE, has_touch=True)
    page = context.new_page()
    sign_in(page, live_server, live_server.emails["admin"])
    nav = page.get_by_role("navigation", name="Huvudmeny")
    toggle = nav.get_by_role("button", name="Meny")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Personer")).to_be_hidden()
    # Folded, the menu is one line: the header is no taller than a single 44 px row under the brand row.
    box = nav.bounding_box()
    assert box is not None and box["height"] <= 60
    # By keyboard: focus the button, Enter opens, Tab reaches the links, Escape closes and returns focus.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Personer")).to_be_visible()
    assert not axe_serious(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#main-menu') !== null")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert page.evaluate("document.activeElement.classList.contains('menu-toggle')")
    # Nothing scrolls sideways either way.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # On a wide screen there is no button: the whole menu shows.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(toggle).to_be_hidden()
    expect(nav.get_by_role("link", name="Personer")).to_be_visible()
    context.close()


def test_without_javascript_the_staff_menu_is_simply_open(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, live_server.emails["admin"])
    nav = page.get_by_role("navigation", name="Huvudmeny")
    expect(nav.get_by_role("link", name="Personer")).to_be_visible()
    expect(nav.locator(".menu-toggle")).to_be_hidden()
    context.close()


@pytest.mark.parametrize("path", ["/staff/login", "/r/mine", "/no-such-page"])
def test_the_footer_stays_at_the_bottom_of_a_short_page(browser: Browser, live_server: LiveServer,
                                                        path: str) -> None:
    context = new_context(browser, viewport={"width": 375, "height": 1400})
    page = context.new_page()
    page.goto(live_server(path))
    height = page.evaluate("window.innerHeight")
    assert page.evaluate("document.documentElement.scrollHeight") <= height, "the page is not short"
    footer = page.locator("footer.site-footer").bounding_box()
    assert footer is not None and abs(footer["y"] + footer["height"] - height) <= 1
    context.close()


def test_the_code_form_says_opening_only_while_it_is_true_and_keeps_a_wrong_code(browser: Browser,
                                                                                  live_server: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server("/r?lang=sv"))
    expect(page.locator("#opening-link")).to_be_hidden()
    page.fill("#credential", "abcd-efgh-jkmx")
    with page.expect_navigation() as navigation:
        page.locator("#start-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 404
    expect(page.locator("#credential")).to_have_value("abcd-efgh-jkmx")
    expect(page.locator("#opening-link")).to_be_hidden()
    expect(page.locator(".error-summary")).to_be_visible()
    assert not axe_serious(page)
    context.close()


def test_a_swedish_invitation_opens_in_swedish_on_an_english_browser(browser: Browser,
                                                                     live_server: LiveServer) -> None:
    context = new_context(browser, language="en")
    page = context.new_page()
    link = live_server.memo["links"].pop()
    page.goto(live_server(f"/r?lang=sv#t={link}"))
    page.wait_for_selector("#answer-form")
    assert page.get_attribute("html", "lang") == "sv"
    expect(page.locator("fieldset legend").first).to_contain_text("Fråga 1 av")
    # The person's own choice then holds.
    with page.expect_navigation():
        page.locator("form.language-switch button").click()
    assert page.get_attribute("html", "lang") == "en"
    page.locator("label[for='q-OSA-WL1-4']").click()
    with page.expect_navigation():
        page.locator("#answer-form button[type=submit]").click()
    assert page.get_attribute("html", "lang") == "en"
    context.close()


def test_my_answers_says_closes_ahead_and_closed_with_the_real_day(browser: Browser,
                                                                   live_server: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server("/r/mine"))
    today = dt.date.today()
    ahead, past = (today + dt.timedelta(days=7)).isoformat(), (today - dt.timedelta(days=7)).isoformat()
    copies = [{"survey": "Puls", "round": 7, "closes": ahead, "answers": []},
              {"survey": "Puls", "round": 6, "closes": past, "answers": []}]
    page.evaluate("copies => localStorage.setItem('pulse.myAnswers', JSON.stringify(copies))", copies)
    page.reload()
    headings = page.locator("#my-answers h2")
    expect(headings.nth(0)).to_have_text(f"Puls – Omgång 6 (stängde {past})")
    expect(headings.nth(1)).to_have_text(f"Puls – Omgång 7 (stänger {ahead})")
    assert not axe_serious(page)
    context.close()


def test_my_answers_shows_the_day_a_round_really_closed(browser: Browser, live_server: LiveServer) -> None:
    """A round closed early: the copy kept at answering time says the planned day; the page shows the real one."""
    from pulse import scheduler
    from pulse.models import Round
    from tests.rounds import keys

    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server("/r"))
    page.fill("#credential", live_server.memo["codes"].pop())
    with page.expect_navigation():
        page.locator("#start-form button[type=submit]").click()
    page.locator("label[for='q-OSA-WL1-4']").click()
    with page.expect_navigation():
        page.locator("#answer-form button[type=submit]").click()
    page.locator("#keep-copy").click()
    planned = page.evaluate("JSON.parse(localStorage.getItem('pulse.myAnswers'))[0].closes")
    with live_server.app.app_context(), live_server.database.session(write=True) as db:
        rnd = db.get_one(Round, live_server.memo["open_round"])
        scheduler.close_round(db, rnd, keys(live_server.app), now=dt.datetime.now(dt.UTC))
        db.commit()
    page.goto(live_server("/r/mine"))
    closed_today = dt.date.today().isoformat()
    expect(page.locator("#my-answers h2").first).to_contain_text(f"(stängde {closed_today})")
    assert planned > closed_today  # the copy kept at answering time still holds the planned day
    context.close()
