"""Every page of the app, as a browser reaches it: who is signed in, and how to get there.

The accessibility scan and the narrow-screen test both walk this list, so a new page added here is checked
by both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import LiveServer

#: A valid pair of organisation files: adds a unit and a person, changes one, leaves one out.
VALID_UNITS = """unit_id,name,parent_id
root,Exempelstad,
dept,Förvaltningen,root
team-a,Team A,dept
team-b,Team B,dept
team-c,Team C,dept
other,Annan förvaltning,root
"""
VALID_PEOPLE = """email,name,unit_id,roles,manages,safety_area,language,status
admin@example.org,Ada Admin,root,admin,,,{lang},active
manager@example.org,Maja Chef,dept,manager,team-a;team-c,,{lang},active
safety@example.org,Sam Skyddsombud,team-b,safety_rep,,dept,{lang},active
nora@example.org,Nora Ny,team-c,employee,,,{lang},active
"""
#: Files with a problem of each kind on several lines.
BAD_UNITS = """unit_id,name,parent_id
root,Exempelstad,
dept,Förvaltningen,nowhere
"""
BAD_PEOPLE = """email,name,unit_id,roles
not-an-address,Ada Admin,root,admin
manager@example.org,Maja Chef,dept,boss
"""


@dataclass(frozen=True)
class PageSpec:
    """One page: its name in test ids, the role signed in (None: nobody) and how to open it."""

    name: str
    role: str | None
    open: Callable[[Page, LiveServer], None]


def visit(path: str | Callable[[LiveServer], str], status: int = 200) -> Callable[[Page, LiveServer], None]:
    def open_(page: Page, server: LiveServer) -> None:
        response = page.goto(server(path if isinstance(path, str) else path(server)))
        assert response is not None
        assert response.status == status, f"{response.url}: {response.status}"

    return open_


def upload(page: Page, server: LiveServer, units: str, people: str, status: int) -> None:
    """Send a pair of organisation files through the import form."""
    visit("/staff/admin/import")(page, server)
    page.set_input_files("#units", files=[{"name": "units.csv", "mimeType": "text/csv",
                                           "buffer": units.encode()}])
    page.set_input_files("#people", files=[{"name": "people.csv", "mimeType": "text/csv",
                                            "buffer": people.encode()}])
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    response = navigation.value
    assert response is not None
    assert response.status == status, f"{response.url}: {response.status}"


def _import_problems(page: Page, server: LiveServer) -> None:
    upload(page, server, BAD_UNITS, BAD_PEOPLE, 400)
    assert page.locator(".error-summary li").count() >= 3


def _import_preview(page: Page, server: LiveServer) -> None:
    upload(page, server, VALID_UNITS, VALID_PEOPLE.format(lang=server.language), 200)
    page.wait_for_url("**/staff/admin/import/*")


def _sign_in_errors(page: Page, server: LiveServer) -> None:
    visit("/staff/login")(page, server)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator(".error-summary").is_visible()


def _reset_link(server: LiveServer) -> str:
    if "reset" not in server.memo:
        server.memo["reset"] = server.reset_path(server.emails["employee"])
    return str(server.memo["reset"])


def _audit_verify(page: Page, server: LiveServer) -> None:
    visit("/staff/admin/audit")(page, server)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/staff/admin/audit/verify" in page.url


def _code(server: LiveServer, *, spend: bool) -> str:
    """A typed code of the open round: shared for looking, a fresh one for each answer that is sent."""
    codes: list[str] = server.memo["codes"]
    return codes.pop() if spend else codes[0]


def _answer_page(page: Page, server: LiveServer) -> None:
    visit(f"/r?lang={server.language}")(page, server)
    page.fill("#credential", _code(server, spend=False))
    with page.expect_navigation() as navigation:
        page.locator("#start-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("#answer-form fieldset").count() >= 4


def _thanks_page(page: Page, server: LiveServer) -> None:
    visit(f"/r?lang={server.language}")(page, server)
    page.fill("#credential", _code(server, spend=True))
    with page.expect_navigation():
        page.locator("#start-form button[type=submit]").click()
    page.locator("label[for='q-OSA-WL1-4']").click()
    with page.expect_navigation() as navigation:
        page.locator("#answer-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("#thanks").count() == 1


def _unknown_code(page: Page, server: LiveServer) -> None:
    visit(f"/r?lang={server.language}")(page, server)
    page.fill("#credential", "WRONG-CODE-0000")
    with page.expect_navigation() as navigation:
        page.locator("#start-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 404
    assert page.locator(".error-summary").is_visible()


def _box_errors(page: Page, server: LiveServer) -> None:
    visit("/box")(page, server)
    with page.expect_navigation() as navigation:
        page.locator("#box-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 400
    assert page.locator(".error-summary").is_visible()
def _sam_action_errors(page: Page, server: LiveServer) -> None:
    """The action form sent empty: the error summary, with every field still there."""
    visit(f"/staff/sam/units/{server.unit_ids['team-a']}/actions/new")(page, server)
    page.fill("#activity", "")
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 400
    assert page.locator(".error-summary").is_visible()


def _box_written(page: Page, server: LiveServer) -> None:
    visit("/box")(page, server)
    page.select_option("#unit", str(server.unit_ids["dept"]))
    page.locator("label[for='category-workload']").click()
    page.fill("#text", "Vi hinner inte med ärendena.")
    with page.expect_navigation() as navigation:
        page.locator("#box-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("#reply-key").is_visible()


def _box_conversation(page: Page, server: LiveServer) -> None:
    visit("/box/read")(page, server)
    page.fill("#key", server.memo["box_key"])
    with page.expect_navigation() as navigation:
        page.locator("#read-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator(".conversation li").count() == 2


def _answer_with_feedback(page: Page, server: LiveServer) -> None:
    """Team A's answer page, with its "you said, we did" before the questions."""
    visit(f"/r?lang={server.language}")(page, server)
    page.fill("#credential", server.memo["team_a_code"])
    with page.expect_navigation() as navigation:
        page.locator("#start-form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("section.feedback").is_visible()


def _apt_errors(page: Page, server: LiveServer) -> None:
    """The APT pack with too many discussion questions for a concern: the error on top, the text kept."""
    visit(_release(server, "/apt"))(page, server)
    area = page.locator("textarea[name^='prompts-']").first
    area.fill("\n".join(f"Fråga {i}?" for i in range(9)))
    with page.expect_navigation() as navigation:
        page.locator("#apt-form button[type=submit]").first.click()
    assert navigation.value is not None and navigation.value.status == 400
    assert page.locator(".error-summary").is_visible()


def _close_confirmation(page: Page, server: LiveServer) -> None:
    """Closing the open round asks first (and this page closes nothing)."""
    visit(f"/staff/admin/rounds/{server.memo['open_round']}")(page, server)
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").first.click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("input[name=confirm][value=yes]").count() == 1


def _empty_answer_confirmation(page: Page, server: LiveServer) -> None:
    """The answer form sent with nothing filled in: asked first, nothing spent."""
    _answer_page(page, server)
    with page.expect_navigation() as navigation:
        page.locator("#answer-form > button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator(".confirm-empty").is_visible()


def _submit(page: Page, status: int) -> None:
    with page.expect_navigation() as navigation:
        page.locator("main form[method=post] button[type=submit]").last.click()
    assert navigation.value is not None and navigation.value.status == status, navigation.value


def _person_new_errors(page: Page, server: LiveServer) -> None:
    visit("/staff/admin/people/new")(page, server)
    page.fill("#email", "not an address")
    _submit(page, 400)
    assert page.locator(".error-summary li").count() >= 2


def _person_move_preview(page: Page, server: LiveServer) -> None:
    """The employee moved to another unit: the preview, nothing saved (the shared site stays as it was)."""
    visit(f"/staff/admin/people/{server.person_ids['employee']}")(page, server)
    page.select_option("#unit", str(server.unit_ids["other"]))
    _submit(page, 200)
    assert page.locator(".move-preview").is_visible()


def _unit_move_preview(page: Page, server: LiveServer) -> None:
    visit(f"/staff/admin/units/{server.unit_ids['team-a']}/edit")(page, server)
    page.select_option("#parent", str(server.unit_ids["other"]))
    _submit(page, 200)
    assert page.locator(".move-preview").is_visible()




def _request_errors(page: Page, server: LiveServer) -> None:
    visit("/staff/safety/requests/new")(page, server)
    page.fill("#request-reply_by", "2000-01-01")
    with page.expect_navigation() as navigation:
        page.locator("main form button[type=submit]").click()
    assert navigation.value is not None and navigation.value.status == 400
    assert page.locator(".error-summary li").count() >= 2


def _release(server: LiveServer, suffix: str = "") -> str:
    return f"/staff/results/{server.memo['release']}/units/{server.unit_ids['dept']}{suffix}"


PAGES = [
    PageSpec("public-start", None, visit("/")),
    PageSpec("sign-in", None, visit("/staff/login")),
    PageSpec("sign-in-errors", None, _sign_in_errors),
    PageSpec("forgot-password", None, visit("/staff/password/forgot")),
    PageSpec("reset-valid", None, visit(_reset_link)),
    PageSpec("reset-invalid", None, visit("/staff/password/reset/not-a-valid-link", 400)),
    PageSpec("home-admin", "admin", visit("/staff/")),
    PageSpec("home-manager", "manager", visit("/staff/")),
    PageSpec("home-safety-rep", "safety_rep", visit("/staff/")),
    PageSpec("home-employee", "employee", visit("/staff/")),
    PageSpec("settings", "employee", visit("/staff/settings")),
    PageSpec("my-units", "safety_rep", visit("/staff/units")),
    PageSpec("unit", "manager", visit(lambda s: f"/staff/units/{s.unit_ids['team-a']}")),
    PageSpec("admin-units", "admin", visit("/staff/admin/units")),
    PageSpec("admin-unit", "admin", visit(lambda s: f"/staff/admin/units/{s.unit_ids['dept']}")),
    PageSpec("people-search", "admin", visit("/staff/admin/people?q=example")),
    PageSpec("person-edit", "admin", visit(lambda s: f"/staff/admin/people/{s.person_ids['manager']}")),
    PageSpec("people-list", "admin", visit("/staff/admin/people")),
    PageSpec("people-filtered", "admin", visit(lambda s: f"/staff/admin/people?unit={s.unit_ids['dept']}&role=none")),
    PageSpec("person-new", "admin", visit("/staff/admin/people/new")),
    PageSpec("person-new-errors", "admin", _person_new_errors),
    PageSpec("person-move-preview", "admin", _person_move_preview),
    PageSpec("unit-new", "admin", visit(lambda s: f"/staff/admin/units/new?parent={s.unit_ids['dept']}")),
    PageSpec("unit-edit", "admin", visit(lambda s: f"/staff/admin/units/{s.unit_ids['team-a']}/edit")),
    PageSpec("unit-move-preview", "admin", _unit_move_preview),
    PageSpec("audit-log-filtered", "admin", visit("/staff/admin/audit?event=round.open&person=example")),
    PageSpec("import", "admin", visit("/staff/admin/import")),
    PageSpec("import-problems", "admin", _import_problems),
    PageSpec("import-preview", "admin", _import_preview),
    PageSpec("audit-log", "admin", visit("/staff/admin/audit")),
    PageSpec("audit-verify", "admin", _audit_verify),
    PageSpec("not-found-public", None, visit("/no-such-page", 404)),
    PageSpec("not-found-staff", "admin", visit("/staff/admin/units/999999", 404)),
    PageSpec("forbidden", "employee", visit("/staff/admin/units", 403)),
    # Answering (no sign-in, no cookie).
    PageSpec("privacy", None, visit("/privacy")),
    PageSpec("respond-landing", None, visit("/r")),
    PageSpec("respond-unknown-code", None, _unknown_code),
    PageSpec("respond-answer", None, _answer_page),
    PageSpec("respond-thanks", None, _thanks_page),
    PageSpec("respond-mine", None, visit("/r/mine")),
    PageSpec("answer-now", "employee", visit("/staff/")),
    # Surveys, questions and rounds.
    PageSpec("admin-questions", "admin", visit("/staff/admin/questions")),
    PageSpec("admin-question", "admin", visit("/staff/admin/questions/OSA-WL1")),
    PageSpec("admin-question-new", "admin", visit("/staff/admin/questions/new")),
    PageSpec("admin-surveys", "admin", visit("/staff/admin/surveys")),
    PageSpec("admin-survey", "admin", visit(lambda s: f"/staff/admin/surveys/{s.memo['survey']}")),
    PageSpec("admin-survey-new", "admin", visit("/staff/admin/surveys/new")),
    PageSpec("admin-round", "admin", visit(lambda s: f"/staff/admin/rounds/{s.memo['open_round']}")),
    PageSpec("rounds-safety-rep", "safety_rep", visit("/staff/rounds")),
    PageSpec("round-integrity", "safety_rep", visit(lambda s: f"/staff/rounds/{s.memo['closed_round']}")),
    # Results.
    PageSpec("results-index", "manager", visit("/staff/results/")),
    PageSpec("results-unit", "safety_rep", visit(lambda s: _release(s))),
    PageSpec("results-heatmap", "safety_rep", visit(lambda s: _release(s, "/heatmap"))),
    PageSpec("results-comments", "safety_rep", visit(lambda s: _release(s, "/comments"))),
    PageSpec("results-trends", "safety_rep", visit(
        lambda s: f"/staff/results/surveys/{s.memo['survey']}/units/{s.unit_ids['dept']}/trends")),
    PageSpec("results-pooled", "safety_rep", visit(
        lambda s: f"/staff/results/surveys/{s.memo['survey']}/units/{s.unit_ids['dept']}/pooled")),
    PageSpec("results-not-yet", "manager", visit(lambda s: f"/staff/results/rounds/{s.memo['open_round']}", 409)),
    PageSpec("moderation", "safety_rep", visit("/staff/results/moderation")),
    # The complaint box: anonymous, then staff.
    PageSpec("box-write", None, visit("/box")),
    PageSpec("box-write-errors", None, _box_errors),
    PageSpec("box-written", None, _box_written),
    PageSpec("box-read", None, visit("/box/read")),
    PageSpec("box-conversation", None, _box_conversation),
    PageSpec("box-index", "manager", visit("/staff/box/")),
    PageSpec("box-item-safety-rep", "safety_rep", visit(lambda s: f"/staff/box/{s.memo['box_item']}")),
    PageSpec("box-item-manager", "manager", visit(lambda s: f"/staff/box/{s.memo['box_item']}")),
    PageSpec("box-write-named", "employee", visit("/staff/box/new")),
    PageSpec("box-report", "safety_rep", visit("/staff/box/report")),
    PageSpec("box-settings", "admin", visit("/staff/box/settings")),


    # SAM records: a manager writes, the safety representative reads.
    PageSpec("sam-index", "manager", visit("/staff/sam/")),
    PageSpec("sam-unit", "manager", visit(lambda s: f"/staff/sam/units/{s.unit_ids['team-a']}")),
    PageSpec("sam-risk-new", "manager", visit(
        lambda s: f"/staff/sam/units/{s.unit_ids['team-a']}/risks/new?release_id={s.memo['release']}"
                  f"&question_id=OSA-WL1&source=low_score")),
    PageSpec("sam-risk", "manager", visit(lambda s: f"/staff/sam/risks/{s.memo['sam_risk']}")),
    PageSpec("sam-risk-read", "safety_rep", visit(lambda s: f"/staff/sam/risks/{s.memo['sam_risk']}")),
    PageSpec("sam-action-new", "manager", visit(lambda s: f"/staff/sam/units/{s.unit_ids['team-a']}/actions/new")),
    PageSpec("sam-action", "manager", visit(lambda s: f"/staff/sam/actions/{s.memo['sam_action']}")),
    PageSpec("sam-action-errors", "manager", lambda page, s: _sam_action_errors(page, s)),
    PageSpec("sam-meeting", "manager", visit(lambda s: f"/staff/sam/meetings/{s.memo['sam_meeting']}")),
    PageSpec("sam-feedback", "manager", visit(lambda s: f"/staff/sam/feedback/{s.memo['sam_feedback']}")),
    PageSpec("sam-unit-help", "manager", visit(lambda s: f"/staff/sam/units/{s.unit_ids['team-a']}/help")),
    PageSpec("sam-org-help", "admin", visit("/staff/sam/help")),
    PageSpec("respond-answer-feedback", None, lambda page, s: _answer_with_feedback(page, s)),
    # The APT pack, its print view and its refusal; the confirmations before irreversible steps.
    PageSpec("results-apt", "safety_rep", visit(lambda s: _release(s, "/apt"))),
    PageSpec("results-apt-team", "manager", visit(
        lambda s: f"/staff/results/{s.memo['release']}/units/{s.unit_ids['team-a']}/apt")),
    PageSpec("results-apt-print", "safety_rep", visit(lambda s: _release(s, "/apt/print"))),
    PageSpec("results-apt-errors", "safety_rep", lambda page, s: _apt_errors(page, s)),
    PageSpec("admin-round-close", "admin", lambda page, s: _close_confirmation(page, s)),
    PageSpec("respond-empty-confirm", None, lambda page, s: _empty_answer_confirmation(page, s)),
    # The safety desk.
    PageSpec("safety-desk", "safety_rep", visit("/staff/safety/")),
    PageSpec("safety-desk-manager", "manager", visit("/staff/safety/")),
    PageSpec("request-new", "safety_rep", visit("/staff/safety/requests/new")),
    PageSpec("request-new-errors", "safety_rep", _request_errors),
    PageSpec("request-employer", "manager", visit(lambda s: f"/staff/safety/requests/{s.memo['safety_request']}")),
    PageSpec("request-safety-rep", "safety_rep",
             visit(lambda s: f"/staff/safety/requests/{s.memo['safety_request']}")),
    PageSpec("follow-up", "manager", visit(lambda s: f"/staff/safety/follow-ups/{s.memo['follow_up']}")),
    PageSpec("safety-report", "safety_rep", visit("/staff/safety/report?start=2020-01-01&end=2030-12-31")),
]
PAGE_IDS = [spec.name for spec in PAGES]
