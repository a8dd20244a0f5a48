"""The answering path in a real browser: the #fragment link, screen-reader structure, keyboard, no cookies,
no JavaScript, a phone-sized screen, and the private copy kept only in the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, new_context

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


def test_the_link_opens_the_answer_page_and_leaves_no_trace(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, viewport=PHONE, has_touch=True)
    page = context.new_page()
    link = live_server.memo["links"].pop()
    page.goto(live_server(f"/r#t={link}"))
    page.wait_for_selector("#answer-form")
    # The token left the address bar and history at once, and went only in a POST body.
    assert "#t=" not in page.url and link not in page.url
    assert context.cookies() == []
    # One group per question, named by its legend; every option has its own name.
    groups = page.get_by_role("group")
    assert groups.count() >= 4
    first = page.locator("fieldset").first
    expect(first).to_have_accessible_name(page.locator("fieldset legend").first.inner_text())
    radio = page.locator("fieldset").first.get_by_role("radio").first
    expect(radio).to_have_accessible_name("Instämmer inte alls")
    # No sideways scrolling on a phone, and the options are big enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".option label").first.bounding_box()
    assert box is not None and box["height"] >= 44
    context.close()


def test_answering_by_keyboard_and_keeping_a_private_copy(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server("/r"))
    page.fill("#credential", live_server.memo["codes"].pop())
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer-form")
    # Tab into the first question and choose with the arrow keys, as a screen-reader user would.
    page.locator("fieldset").first.get_by_role("radio").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator("fieldset").first.locator("input:checked").get_attribute("value") == "3"
    page.fill("#comment", "Mer tid, tack")
    with page.expect_navigation():
        page.locator("#answer-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("utan koppling till dig")
    page.locator("#keep-copy").click()
    expect(page.locator("#copy-saved")).not_to_be_empty()
    stored = page.evaluate("JSON.parse(localStorage.getItem('pulse.myAnswers'))")
    assert stored[0]["comment"] == "Mer tid, tack" and stored[0]["answers"][0]["value"] == 3
    assert context.cookies() == []
    page.goto(live_server("/r/mine"))
    expect(page.locator("#my-answers")).to_contain_text("Mer tid, tack")
    expect(page.locator("#my-answers")).to_contain_text("Instämmer delvis")
    page.get_by_role("button", name="Ta bort alla kopior från den här webbläsaren").click()
    assert page.evaluate("localStorage.getItem('pulse.myAnswers')") is None
    context.close()


def test_answers_typed_so_far_survive_a_reload(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server("/r"))
    page.fill("#credential", live_server.memo["codes"][0])
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer-form")
    page.locator("label[for='q-OSA-WL1-5']").click()
    # Switching language re-sends the page; the draft in this tab is put back.
    with page.expect_navigation():
        page.locator("form.language-switch button").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#q-OSA-WL1-5").is_checked()
    context.close()


def test_answering_works_without_javascript(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server("/r"))
    page.fill("#credential", live_server.memo["codes"].pop())
    with page.expect_navigation():
        page.locator("#start-form button[type=submit]").click()
    page.locator("label[for='q-OSA-WL1-2']").click()
    with page.expect_navigation() as navigation:
        page.locator("#answer-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    expect(page.locator("h1")).to_contain_text("utan koppling till dig")
    # Sending the same form again (a double click, a reload) stores nothing twice.
    page.go_back()
    page.wait_for_selector("#answer-form")
    with page.expect_navigation() as again:
        page.locator("#answer-form button[type=submit]").click()
    assert again.value is not None and again.value.status == 409
    context.close()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_an_empty_answer_set_asks_first_with_javascript_and_by_keyboard(browser: Browser, live_server: LiveServer,
                                                                       language: str) -> None:
    """With JavaScript on (the #fragment link), sending nothing asks first — the same question and choices as
    without it — and both choices work from the keyboard: going back leaves the invitation usable, sending
    anyway stores the empty set once."""
    words = {"sv": ("Du har inte svarat på något", "Gå tillbaka till frågorna", "Skicka utan svar",
                    "utan koppling till dig"),
             "en": ("You have not answered anything", "Go back to the questions", "Send without answers",
                    "without any link to you")}[language]
    context = new_context(browser)
    page = context.new_page()
    page.goto(live_server(f"/r?lang={language}#t={live_server.memo['links'].pop()}"))
    page.wait_for_selector("#answer-form")
    page.locator("#answer-form > button[type=submit]").focus()
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value is not None and navigation.value.status == 200
    notice = page.locator(".confirm-empty[role=alert]")
    expect(notice).to_contain_text(words[0])
    # Back to the questions by keyboard: nothing was spent, so answering still works.
    page.get_by_role("link", name=words[1]).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name=words[2]).focus()
    with page.expect_navigation() as sent:
        page.keyboard.press("Enter")
    assert sent.value is not None and sent.value.status == 200
    expect(page.locator("h1")).to_contain_text(words[3])
    assert context.cookies() == []
    context.close()
