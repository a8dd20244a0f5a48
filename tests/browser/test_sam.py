"""A manager records an APT's decision as an action and takes feedback back and out again — by keyboard, on a
phone — and an employee then sees it before answering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import LiveServer, new_context, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def test_a_decision_becomes_an_action_by_keyboard_on_a_phone(browser: Browser, live_server: LiveServer) -> None:
    context = new_context(browser, "sv", viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, live_server.emails["manager"])
    page.goto(live_server(f"/staff/sam/meetings/{live_server.memo['sam_meeting']}"))
    page.get_by_role("link", name="Lägg till ett beslut som åtgärd").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "meeting_id=" in page.url
    page.locator("#activity").focus()
    page.keyboard.type("Boka in företagshälsovården för en genomgång")
    page.keyboard.press("Tab")
    page.keyboard.type("Alla vet vart de kan vända sig")
    page.keyboard.press("Tab")
    page.keyboard.type("Enhetschef")
    page.locator("main form button[type=submit]").focus()
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value is not None and navigation.value.status == 200
    assert "/staff/sam/meetings/" in page.url
    assert page.get_by_text("Boka in företagshälsovården för en genomgång").is_visible()
    # Nothing on the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_feedback_taken_back_is_gone_for_employees_and_back_when_published(browser: Browser,
                                                                           live_server: LiveServer) -> None:
    manager = new_context(browser, "sv")
    page = manager.new_page()
    sign_in(page, live_server, live_server.emails["manager"])
    page.goto(live_server(f"/staff/sam/feedback/{live_server.memo['sam_feedback']}"))
    page.get_by_role("button", name="Dra tillbaka").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("Ett utkast: medarbetarna ser det inte än.").is_visible()

    employee = new_context(browser, "sv")
    answer = employee.new_page()
    answer.goto(live_server("/r?lang=sv"))
    answer.fill("#credential", live_server.memo["team_a_code"])
    with answer.expect_navigation():
        answer.locator("#start-form button[type=submit]").click()
    assert answer.locator("section.feedback").count() == 0
    assert employee.cookies() == []

    page.get_by_role("button", name="Publicera för medarbetarna").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    answer.goto(live_server("/r?lang=sv"))
    answer.fill("#credential", live_server.memo["team_a_code"])
    with answer.expect_navigation():
        answer.locator("#start-form button[type=submit]").click()
    feedback = answer.locator("section.feedback")
    assert feedback.is_visible() and "Ni sa att tiden inte räcker." in feedback.inner_text()
    assert employee.cookies() == []
    manager.close()
    employee.close()
