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
    PageSpec("import", "admin", visit("/staff/admin/import")),
    PageSpec("import-problems", "admin", _import_problems),
    PageSpec("import-preview", "admin", _import_preview),
    PageSpec("audit-log", "admin", visit("/staff/admin/audit")),
    PageSpec("audit-verify", "admin", _audit_verify),
    PageSpec("not-found-public", None, visit("/no-such-page", 404)),
    PageSpec("not-found-staff", "admin", visit("/staff/admin/units/999999", 404)),
    PageSpec("forbidden", "employee", visit("/staff/admin/units", 403)),
]
PAGE_IDS = [spec.name for spec in PAGES]
