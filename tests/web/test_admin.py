"""The admin pages: editing people, searching, the organisation tree, and the audit log with its chain check."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from pulse.cli import main as pulse_command
from pulse.models import AuditEntry, Management, Person, PersonStatus, SafetyAreaUnit
from tests.factories import PASSWORD, Org, make_person, make_unit, sign_in, snapshot


@pytest.fixture
def admin(client: FlaskClient, org: Org, session: Session) -> FlaskClient:
    """The test client, signed in as the organisation's administrator, with pages in English."""
    org.admin.language = "en"
    session.commit()
    sign_in(client, org.emails["admin"])
    return client


def person_form(person: Person, **changes: object) -> dict[str, object]:
    """The person form as the page would send it back unchanged, with ``changes`` applied."""
    data: dict[str, object] = {"name": person.name, "unit": str(person.unit_id or 0), "language": person.language,
                               "status": person.status.value}
    if person.is_admin:
        data["is_admin"] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def move_digest(page: str) -> str | None:
    """The fingerprint a move preview puts in its form, or None when the page shows no preview."""
    found = re.search(r'name="move_digest" type="hidden" value="([0-9a-f]{64})"', page)
    return found.group(1) if found else None


def save_person(client: FlaskClient, url: str, data: dict[str, object]) -> TestResponse:
    """Send the person form as an administrator would: a move first shows its preview (200), and is saved from
    the preview's button, which sends the same form back with the preview's fingerprint."""
    response = client.post(url, data=data)
    if response.status_code == 200:
        digest = move_digest(response.get_data(as_text=True))
        assert digest, "a 200 answer to the person form is a move preview"
        response = client.post(url, data={**data, "move_digest": digest})
    return response


def audit_entries(session: Session, action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        query = query.where(AuditEntry.action == action)
    entries = list(session.scalars(query))
    session.commit()
    return entries


def reload(session: Session, person: Person) -> Person:
    """The person as stored now. Only this object is refreshed, and the transaction ends: on SQLite a test session
    that stays in a transaction (say, to load an expired object) holds the write lock the app needs."""
    fresh = session.scalars(select(Person).where(Person.id == person.id)
                            .execution_options(populate_existing=True)).one()
    session.commit()
    return fresh


def assignments(session: Session, person: Person) -> tuple[list[int], list[int]]:
    managed = sorted(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    safety = sorted(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    session.commit()
    return managed, safety


def flashes(client: FlaskClient, response_location: str) -> str:
    return client.get(response_location).get_data(as_text=True)


# --- Editing a person ---------------------------------------------------------------------------------------


def test_editing_a_person_writes_one_audit_entry_with_the_diff(admin: FlaskClient, org: Org,
                                                               session: Session) -> None:
    employee = org.employee
    response = save_person(admin, f"/staff/admin/people/{employee.id}", data=person_form(
        employee, name="Erik Ny", unit=str(org.team_b.id), language="en", status="on_leave", is_admin="y",
        manages=[str(org.team_b.id)], safety_area=[str(org.team_a.id), str(org.team_b.id)]))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/people/{employee.id}"
    assert "The changes to Erik Ny are saved." in flashes(admin, response.headers["Location"])

    fresh = reload(session, employee)
    assert (fresh.name, fresh.unit_id, fresh.language, fresh.status, fresh.is_admin) == (
        "Erik Ny", org.team_b.id, "en", PersonStatus.ON_LEAVE, True)
    assert assignments(session, employee) == ([org.team_b.id], sorted([org.team_a.id, org.team_b.id]))

    [entry] = audit_entries(session, "person.update")
    assert entry.target == f"person:{employee.id}"
    assert entry.actor == org.admin.email
    assert json.loads(entry.details) == {
        "name": {"from": "Erik Anställd", "to": "Erik Ny"},
        "unit_id": {"from": org.team_a.id, "to": org.team_b.id},
        "language": {"from": "sv", "to": "en"},
        "status": {"from": "active", "to": "on_leave"},
        "is_admin": {"from": False, "to": True},
        "manages": {"from": [], "to": [org.team_b.id]},
        "safety_area": {"from": [], "to": sorted([org.team_a.id, org.team_b.id])},
    }


def test_each_field_alone_is_recorded(admin: FlaskClient, org: Org, session: Session) -> None:
    employee = org.employee
    changes = [("name", "Erik A"), ("unit", str(org.dept.id)), ("language", "en"), ("status", "on_leave"),
               ("manages", [str(org.team_a.id)])]
    for field, value in changes:
        current = reload(session, employee)
        response = save_person(admin, f"/staff/admin/people/{employee.id}", data=person_form(current, **{field: value}))
        assert response.status_code == 302, field
    recorded = [set(json.loads(entry.details)) for entry in audit_entries(session, "person.update")]
    assert recorded == [{"name"}, {"unit_id"}, {"language"}, {"status"}, {"manages"}]


def test_saving_without_changes_writes_nothing(admin: FlaskClient, org: Org, session: Session) -> None:
    before = snapshot(session)
    response = save_person(admin, f"/staff/admin/people/{org.manager.id}",
                          data=person_form(org.manager, manages=[str(org.team_a.id)]))
    assert response.status_code == 302
    assert "Nothing was changed." in flashes(admin, response.headers["Location"])
    assert snapshot(session) == before


def test_the_form_shows_the_current_values(admin: FlaskClient, org: Org) -> None:
    page = admin.get(f"/staff/admin/people/{org.safety.id}").get_data(as_text=True)
    assert 'value="Sam Skyddsombud"' in page
    assert re.search(rf'<option selected value="{org.team_b.id}">', page)
    # Roles are checkboxes (keyboard and phone friendly), ticked where the person has the role.
    safety_boxes = page[page.index('id="safety_area"'):]
    assert re.search(rf'<input checked id="safety_area-\d+" name="safety_area" type="checkbox" value="{org.dept.id}">',
                     safety_boxes)
    assert "<select multiple" not in page


def test_the_last_administrator_cannot_be_removed(admin: FlaskClient, org: Org, session: Session) -> None:
    before = snapshot(session)
    response = save_person(admin, f"/staff/admin/people/{org.admin.id}", data=person_form(org.admin, is_admin=None))
    assert response.status_code == 400
    assert "At least one active administrator must remain." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_an_administrator_who_has_left_does_not_count(admin: FlaskClient, org: Org, session: Session) -> None:
    make_person(session, "old-admin@example.org", unit=org.root, admin=True, status=PersonStatus.LEFT)
    session.commit()
    response = save_person(admin, f"/staff/admin/people/{org.admin.id}", data=person_form(org.admin, is_admin=None))
    assert response.status_code == 400
    assert reload(session, org.admin).is_admin


def test_with_a_second_administrator_the_first_may_step_down(admin: FlaskClient, org: Org,
                                                             session: Session) -> None:
    make_person(session, "admin2@example.org", unit=org.root, admin=True)
    session.commit()
    response = save_person(admin, f"/staff/admin/people/{org.admin.id}", data=person_form(org.admin, is_admin=None))
    assert response.status_code == 302
    assert not reload(session, org.admin).is_admin
    # The change takes effect at once: the admin pages are closed to them now.
    assert admin.get("/staff/admin/units").status_code == 403


def test_you_cannot_mark_yourself_as_left(admin: FlaskClient, org: Org, session: Session) -> None:
    make_person(session, "admin2@example.org", unit=org.root, admin=True)
    session.commit()
    before = snapshot(session)
    response = save_person(admin, f"/staff/admin/people/{org.admin.id}", data=person_form(org.admin, status="left"))
    assert response.status_code == 400
    assert "You cannot mark yourself as having left." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_the_last_administrator_cannot_be_marked_as_left_by_anyone(admin: FlaskClient, org: Org,
                                                                   session: Session) -> None:
    response = save_person(admin, f"/staff/admin/people/{org.admin.id}", data=person_form(org.admin, status="left"))
    assert response.status_code == 400
    assert reload(session, org.admin).status == PersonStatus.ACTIVE


def test_someone_on_leave_can_still_sign_in_and_shows_as_on_leave(app: Flask, admin: FlaskClient, org: Org,
                                                                  session: Session) -> None:
    response = save_person(admin, f"/staff/admin/people/{org.manager.id}",
                          data=person_form(org.manager, status="on_leave", manages=[str(org.team_a.id)]))
    assert response.status_code == 302
    assert "On leave" in admin.get(f"/staff/admin/units/{org.dept.id}").get_data(as_text=True)
    other = app.test_client()
    sign_in(other, org.emails["manager"])
    assert other.get("/staff/units").status_code == 200


def test_someone_who_has_left_is_signed_out_and_loses_every_role(app: Flask, admin: FlaskClient, org: Org,
                                                                 session: Session) -> None:
    manager = app.test_client()
    sign_in(manager, org.emails["manager"])
    assert manager.get("/staff/units").status_code == 200
    # The form still has the units ticked: leaving takes the roles away regardless.
    response = save_person(admin, f"/staff/admin/people/{org.manager.id}",
                          data=person_form(org.manager, status="left", manages=[str(org.team_a.id)], is_admin="y"))
    assert response.status_code == 302
    assert "The changes to Maja Chef are saved." in flashes(admin, response.headers["Location"])
    assert manager.get("/staff/units").status_code == 302
    response = manager.post("/staff/login", data={"email": org.emails["manager"], "password": PASSWORD})
    assert response.status_code == 401
    fresh = reload(session, org.manager)
    assert fresh.status == PersonStatus.LEFT
    assert not fresh.is_admin
    assert assignments(session, org.manager) == ([], [])
    [entry] = audit_entries(session, "person.update")
    assert json.loads(entry.details) == {"status": {"from": "active", "to": "left"},
                                         "manages": {"from": [org.team_a.id], "to": []}}
    # Left people are hidden from the unit page until asked for, and no longer lead it.
    unit_page = admin.get(f"/staff/admin/units/{org.dept.id}").get_data(as_text=True)
    assert "Maja Chef" not in unit_page
    assert "Maja Chef" in admin.get(f"/staff/admin/units/{org.dept.id}?left=1").get_data(as_text=True)
    team_page = admin.get(f"/staff/admin/units/{org.team_a.id}").get_data(as_text=True)
    assert "Maja Chef" not in team_page


def test_someone_who_has_left_can_come_back(admin: FlaskClient, org: Org, session: Session) -> None:
    save_person(admin, f"/staff/admin/people/{org.employee.id}", data=person_form(org.employee, status="left"))
    response = save_person(admin, f"/staff/admin/people/{org.employee.id}", data=person_form(reload(session, org.employee),
                                                                                     status="active"))
    assert response.status_code == 302
    assert reload(session, org.employee).status == PersonStatus.ACTIVE


def test_a_person_in_an_inactive_unit_can_still_be_edited(admin: FlaskClient, org: Org, session: Session) -> None:
    closed = make_unit(session, "closed", "Nedlagd enhet", org.dept, active=False)
    person = make_person(session, "kvar@example.org", unit=closed, name="Kim Kvar", manages=[closed])
    session.commit()
    page = admin.get(f"/staff/admin/people/{person.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{closed.id}">', page)
    response = save_person(admin, f"/staff/admin/people/{person.id}",
                          data=person_form(person, name="Kim Kvar-Berg", manages=[str(closed.id)]))
    assert response.status_code == 302, response.get_data(as_text=True)
    fresh = reload(session, person)
    assert (fresh.name, fresh.unit_id) == ("Kim Kvar-Berg", closed.id)
    assert assignments(session, person) == ([closed.id], [])
    # Other people cannot be moved into the inactive unit.
    response = save_person(admin, f"/staff/admin/people/{org.employee.id}",
                          data=person_form(org.employee, unit=str(closed.id)))
    assert response.status_code == 400


# --- Searching for people -----------------------------------------------------------------------------------


@pytest.fixture
def more_people(org: Org, session: Session) -> None:
    make_person(session, "asa.ostlund@example.org", unit=org.team_a, name="Åsa Östlund")
    make_person(session, "per_persson@example.org", unit=org.team_b, name="Per Persson")
    make_person(session, "procent@example.org", unit=org.team_b, name="Hundra % Säker")
    make_person(session, "gone@example.org", unit=org.team_b, name="Gunnar Gått", status=PersonStatus.LEFT)
    session.commit()


SEARCHES = {
    "part of a name": ("ersso", {"Per Persson"}),
    "another case": ("PER P", {"Per Persson"}),
    "Swedish letters in another case": ("åSA ÖST", {"Åsa Östlund"}),
    "Swedish letters in lower case": ("östlund", {"Åsa Östlund"}),
    "an e-mail address with an underscore": ("per_persson", {"Per Persson"}),
    "an underscore is not a wildcard": ("per_p", {"Per Persson"}),
    "a percent sign is not a wildcard": ("%", {"Hundra % Säker"}),
    "part of an e-mail address": ("@EXAMPLE.org", {"Åsa Östlund", "Per Persson", "Hundra % Säker", "Gunnar Gått",
                                                   "Ada Admin", "Maja Chef", "Sam Skyddsombud", "Erik Anställd"}),
    "people who have left too": ("gunnar", {"Gunnar Gått"}),
    "nobody": ("zzz", set()),
}


def found(page: str) -> set[str]:
    return set(re.findall(r'<a href="/staff/admin/people/\d+">([^<]+)</a>', page))


@pytest.mark.parametrize("search", SEARCHES)
def test_people_search(search: str, admin: FlaskClient, more_people: None) -> None:
    query, expected = SEARCHES[search]
    response = admin.get("/staff/admin/people", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert found(page) == expected
    if not expected:
        assert "Nobody to show." in page


def test_an_empty_search_lists_everyone(admin: FlaskClient, org: Org) -> None:
    page = admin.get("/staff/admin/people").get_data(as_text=True)
    assert found(page) == {"Ada Admin", "Maja Chef", "Sam Skyddsombud", "Erik Anställd"}


# --- The organisation ---------------------------------------------------------------------------------------


def test_the_unit_tree_with_counts_and_inactive_units(admin: FlaskClient, org: Org, session: Session) -> None:
    make_unit(session, "closed", "Nedlagd enhet", org.team_a, active=False)
    make_person(session, "gone@example.org", unit=org.team_a, status=PersonStatus.LEFT)
    session.commit()
    page = admin.get("/staff/admin/units").get_data(as_text=True)
    rows = re.findall(r'class="depth-(\d)">\s*<a href="/staff/admin/units/(\d+)">([^<]+)</a>.*?'
                      r'<td class="num">(\d+)</td>', page, re.S)
    assert [(int(depth), name, int(count)) for depth, _, name, count in rows] == [
        (0, "Exempelstad", 1), (1, "Annan förvaltning", 0), (1, "Förvaltningen", 1), (2, "Team A", 1),
        (2, "Team B", 1)]
    assert "Nedlagd enhet" not in page
    page = admin.get("/staff/admin/units?inactive=1").get_data(as_text=True)
    assert "Nedlagd enhet" in page


def test_a_unit_page(admin: FlaskClient, org: Org) -> None:
    page = admin.get(f"/staff/admin/units/{org.team_a.id}").get_data(as_text=True)
    assert "<h1>Team A" in page
    assert f'href="/staff/admin/units/{org.dept.id}">Förvaltningen</a>' in page  # the way up
    assert f'href="/staff/admin/people/{org.manager.id}">Maja Chef</a>' in page  # its manager
    assert f'href="/staff/admin/people/{org.employee.id}">Erik Anställd</a>' in page  # its people
    page = admin.get(f"/staff/admin/units/{org.dept.id}").get_data(as_text=True)
    assert f'href="/staff/admin/units/{org.team_b.id}">Team B</a>' in page  # the units below


def test_the_staff_unit_page_of_a_manager(client: FlaskClient, org: Org, session: Session) -> None:
    make_unit(session, "closed", "Nedlagd enhet", org.team_a, active=False)
    session.commit()
    sign_in(client, org.emails["safety_rep"])
    page = client.get(f"/staff/units/{org.dept.id}").get_data(as_text=True)
    assert "Maja Chef" in page
    assert "Team A" in page
    assert "Team B" in page
    page = client.get(f"/staff/units/{org.team_a.id}").get_data(as_text=True)
    assert "Erik Anställd" in page
    assert "Nedlagd enhet" not in page
    # Only names: e-mail addresses and admin links are for administrators.
    assert org.employee.email not in page
    assert "/staff/admin/" not in page


def test_the_csv_export(admin: FlaskClient, org: Org) -> None:
    response = admin.get("/staff/admin/export/people.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="people.csv"'
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeffemail,")
    assert "manager@example.org,Maja Chef,dept," in body


# --- The audit log ------------------------------------------------------------------------------------------


def add_entries(app: Flask, session: Session, count: int) -> None:
    from pulse.common.context import record_audit

    with app.app_context():
        for number in range(count):
            record_audit(session, "test.entry", f"thing:{number}", {"number": number})
    session.commit()


def test_the_audit_log_is_paged_newest_first(app: Flask, admin: FlaskClient, session: Session) -> None:
    add_entries(app, session, 121)  # three pages of 50 (signing in is not recorded: docs/ANONYMITY.md)
    first = admin.get("/staff/admin/audit").get_data(as_text=True)
    assert "121 entries" in first
    assert "Page 1 of 3" in first

    def sequence_numbers(page: str) -> list[int]:
        return [int(seq) for seq in re.findall(r"<tr>\s*<td>(\d+)</td>", page)]

    assert sequence_numbers(first) == list(range(121, 71, -1))
    assert 'href="/staff/admin/audit?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = admin.get("/staff/admin/audit?page=2").get_data(as_text=True)
    assert sequence_numbers(second) == list(range(71, 21, -1))
    assert 'href="/staff/admin/audit?page=1" rel="prev"' in second
    last = admin.get("/staff/admin/audit?page=3").get_data(as_text=True)
    assert sequence_numbers(last) == list(range(21, 0, -1))
    assert 'rel="next"' not in last
    assert admin.get("/staff/admin/audit?page=4").status_code == 404


def test_checking_an_intact_chain(app: Flask, admin: FlaskClient, session: Session) -> None:
    add_entries(app, session, 4)
    page = admin.get("/staff/admin/audit").get_data(as_text=True)
    assert 'action="/staff/admin/audit/verify"' in page  # the button
    response = admin.post("/staff/admin/audit/verify")
    assert response.status_code == 200
    assert "The chain is intact: 4 entries checked." in response.get_data(as_text=True)


def drop_append_only_triggers(session: Session) -> None:
    """What a database administrator could do before editing the log by hand."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))
    else:
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))
    session.commit()


def test_the_log_refuses_changes_while_its_triggers_are_in_place(app: Flask, session: Session, org: Org) -> None:
    from sqlalchemy.exc import DatabaseError

    add_entries(app, session, 2)
    for statement in ("UPDATE audit_entry SET details = '{}' WHERE seq = 1", "DELETE FROM audit_entry WHERE seq = 1"):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()


TAMPERING = {
    "changed details": "UPDATE audit_entry SET details = '{\"number\": 99}' WHERE seq = 3",
    "changed actor": "UPDATE audit_entry SET actor = 'someone-else@example.org' WHERE seq = 3",
    "removed entry": "DELETE FROM audit_entry WHERE seq = 3",
    "entry linked elsewhere": "UPDATE audit_entry SET prev_hash = '" + "0" * 64 + "' WHERE seq = 3",
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_tampering_is_found_by_the_web_check_and_the_command(tampering: str, app: Flask, admin: FlaskClient,
                                                             runner: FlaskCliRunner, session: Session) -> None:
    add_entries(app, session, 5)
    result = runner.invoke(pulse_command, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 5 entries")

    drop_append_only_triggers(session)
    session.execute(text(TAMPERING[tampering]))
    session.commit()

    response = admin.post("/staff/admin/audit/verify")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The chain is broken at entry 3." in page
    assert "The chain is intact" not in page
    result = runner.invoke(pulse_command, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at entry 3" in result.output
