"""The organisation in the admin pages without CSV: the people list (paged, filtered), adding and editing a unit,
adding a person, and the preview a move shows before it is saved."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, Management, Person, PersonStatus, Unit
from tests.factories import Org, make_person, sign_in, snapshot
from tests.web.test_admin import move_digest


@pytest.fixture
def admin(client: FlaskClient, org: Org, session: Session) -> FlaskClient:
    org.admin.language = "en"
    session.commit()
    sign_in(client, org.emails["admin"])
    return client


def audit(session: Session, action: str) -> list[AuditEntry]:
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))
    session.commit()
    return entries


def names_on(page: str) -> list[str]:
    """The names in the people table, in order."""
    return re.findall(r'<th scope="row"><a href="/staff/admin/people/\d+">([^<]+)</a></th>', page)


def crowd(session: Session, unit: Unit, count: int, prefix: str, **kwargs: object) -> None:
    for i in range(count):
        make_person(session, f"{prefix}{i:03d}@example.org", unit=unit, name=f"{prefix.title()} {i:03d}",
                    password=None, **kwargs)  # type: ignore[arg-type]
    session.commit()


# --- the people list ---------------------------------------------------------------------------------------


def test_the_list_pages_through_everyone_and_says_how_many(admin: FlaskClient, org: Org, session: Session) -> None:
    crowd(session, org.team_a, 109, "zed")  # 4 + 109 = 113 people, the organisation
    first = admin.get("/staff/admin/people").get_data(as_text=True)
    assert "113 people" in first
    assert "Page 1 of 3" in first
    seen = names_on(first)
    assert len(seen) == 50
    second = admin.get("/staff/admin/people?page=2").get_data(as_text=True)
    third = admin.get("/staff/admin/people?page=3").get_data(as_text=True)
    seen += names_on(second) + names_on(third)
    assert len(seen) == 113 and len(set(seen)) == 113
    assert seen == sorted(seen)
    assert 'rel="prev"' in third and 'rel="next"' not in third
    assert admin.get("/staff/admin/people?page=4").status_code == 404
    assert admin.get("/staff/admin/people?page=0").status_code == 404


def test_filters_keep_working_across_pages(admin: FlaskClient, org: Org, session: Session) -> None:
    crowd(session, org.team_b, 60, "bee")
    crowd(session, org.team_a, 30, "ant")
    crowd(session, org.team_b, 5, "gone", status=PersonStatus.LEFT)
    page = admin.get(f"/staff/admin/people?unit={org.team_b.id}&status=active").get_data(as_text=True)
    assert "61 people match" in page  # 60 + Sam Skyddsombud
    next_link = re.search(r'href="([^"]+)" rel="next"', page)
    assert next_link
    href = next_link.group(1).replace("&amp;", "&")
    assert f"unit={org.team_b.id}" in href and "status=active" in href
    second = admin.get(href).get_data(as_text=True)
    assert "Page 2 of 2" in second
    assert len(names_on(second)) == 11
    assert not [name for name in names_on(page) + names_on(second) if name.startswith(("Ant", "Gone"))]
    # A text search inside the unit, carried the same way.
    assert names_on(admin.get(f"/staff/admin/people?unit={org.dept.id}&q=ant+01").get_data(as_text=True)) == [
        f"Ant {i:03d}" for i in range(10, 20)]


def test_the_unit_filter_includes_units_below(admin: FlaskClient, org: Org) -> None:
    page = admin.get(f"/staff/admin/people?unit={org.dept.id}").get_data(as_text=True)
    assert names_on(page) == ["Erik Anställd", "Maja Chef", "Sam Skyddsombud"]


@pytest.mark.parametrize(("role", "expected"), [
    ("admin", ["Ada Admin"]), ("manager", ["Maja Chef"]), ("safety_rep", ["Sam Skyddsombud"]),
    ("none", ["Erik Anställd"]),
])
def test_the_role_filter(admin: FlaskClient, org: Org, role: str, expected: list[str]) -> None:
    assert names_on(admin.get(f"/staff/admin/people?role={role}").get_data(as_text=True)) == expected


@pytest.mark.parametrize("query", ["role=boss", "status=dead", "unit=999999", "unit=x", "q=" + "a" * 101])
def test_a_bad_filter_is_a_clear_400(admin: FlaskClient, org: Org, query: str) -> None:
    response = admin.get(f"/staff/admin/people?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


# --- adding a person ---------------------------------------------------------------------------------------


def new_person(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"email": "Ny.Person@Example.org", "name": "Ny Person", "unit": "0",
                               "language": "sv", "status": "active"}
    data.update(changes)
    return data


def test_adding_a_person_stores_them_like_the_import_and_audits_it(admin: FlaskClient, org: Org,
                                                                    session: Session) -> None:
    response = admin.post("/staff/admin/people/new", data=new_person(
        unit=str(org.team_b.id), manages=[str(org.team_b.id)], language="en"))
    assert response.status_code == 302
    person = session.scalars(select(Person).where(Person.email == "ny.person@example.org")).one()
    assert (person.name, person.unit_id, person.language, person.status, person.is_admin,
            person.password_hash) == ("Ny Person", org.team_b.id, "en", PersonStatus.ACTIVE, False, None)
    assert list(session.scalars(select(Management.unit_id).where(Management.person_id == person.id))) == [
        org.team_b.id]
    session.commit()
    [entry] = audit(session, "person.create")
    assert entry.target == f"person:{person.id}"
    assert json.loads(entry.details) == {
        "email": "ny.person@example.org", "name": "Ny Person", "unit_id": org.team_b.id, "language": "en",
        "status": "active", "is_admin": False, "manages": [org.team_b.id], "safety_area": []}
    assert "Ny Person is added." in admin.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("changes", "message"), [
    ({"email": "employee@EXAMPLE.org"}, "Someone in the organisation already has this e-mail address."),
    ({"email": "not an address"}, "This is not a valid e-mail address."),
    ({"email": ""}, "Enter an e-mail address."),
    ({"name": ""}, "Enter a name."),
    ({"unit": "0"}, "Choose the unit the person works in."),
    ({"unit": "999999"}, "Not a valid choice"),
    ({"manages": ["999999"]}, "is not a valid choice"),
])
def test_a_bad_new_person_is_refused_and_keeps_what_was_typed(admin: FlaskClient, org: Org, session: Session,
                                                              changes: dict[str, object], message: str) -> None:
    data = new_person(unit=str(org.team_a.id), name="Kvar Text")
    data.update(changes)
    before = snapshot(session)
    response = admin.post("/staff/admin/people/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    if data["name"]:
        assert 'value="Kvar Text"' in page
    assert snapshot(session) == before


def test_every_problem_of_a_new_person_is_listed_at_once(admin: FlaskClient, org: Org) -> None:
    response = admin.post("/staff/admin/people/new", data=new_person(email="not an address", name="", unit="0"))
    assert response.status_code == 400
    summary = response.get_data(as_text=True).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    for message in ("This is not a valid e-mail address.", "Enter a name.", "Choose the unit the person works in."):
        assert message in summary


# --- units -------------------------------------------------------------------------------------------------


def test_adding_a_unit_below_another(admin: FlaskClient, org: Org, session: Session) -> None:
    form = admin.get(f"/staff/admin/units/new?parent={org.dept.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{org.dept.id}">', form)
    response = admin.post("/staff/admin/units/new", data={"key": " team-c ", "name": "Team C",
                                                          "parent": str(org.dept.id)})
    assert response.status_code == 302
    unit = session.scalars(select(Unit).where(Unit.key == "team-c")).one()
    assert (unit.name, unit.parent_id, unit.active) == ("Team C", org.dept.id, True)
    session.commit()
    [entry] = audit(session, "unit.create")
    assert json.loads(entry.details) == {"key": "team-c", "name": "Team C", "parent_id": org.dept.id}


@pytest.mark.parametrize(("data", "message"), [
    ({"key": "team-a", "name": "Dubblett"}, "Another unit already has this unit id."),
    ({"key": "x" * 65, "name": "Lång"}, "Field cannot be longer than 64 characters."),
    ({"key": "", "name": "Utan id"}, "Enter a unit id."),
    ({"key": "ny", "name": ""}, "Enter a name."),
    ({"key": "ny", "name": "Ny", "parent": "999999"}, "Not a valid choice"),
])
def test_a_bad_unit_is_refused(admin: FlaskClient, org: Org, session: Session, data: dict[str, str],
                               message: str) -> None:
    before = snapshot(session)
    response = admin.post("/staff/admin/units/new", data={"parent": "0", **data})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_a_unit_cannot_be_placed_below_itself(admin: FlaskClient, org: Org, session: Session) -> None:
    form = admin.get(f"/staff/admin/units/{org.dept.id}/edit").get_data(as_text=True)
    assert f'value="{org.team_a.id}"' not in form  # not even offered
    before = snapshot(session)
    response = admin.post(f"/staff/admin/units/{org.dept.id}/edit",
                          data={"name": "Förvaltningen", "parent": str(org.team_a.id), "active": "y"})
    assert response.status_code == 400
    assert snapshot(session) == before


def test_renaming_a_unit_is_saved_at_once_with_its_diff(admin: FlaskClient, org: Org, session: Session) -> None:
    response = admin.post(f"/staff/admin/units/{org.team_a.id}/edit",
                          data={"name": "Team Alfa", "parent": str(org.dept.id), "active": "y", "key": "hacked"})
    assert response.status_code == 302
    session.refresh(org.team_a)
    assert (org.team_a.name, org.team_a.key) == ("Team Alfa", "team-a")
    session.commit()
    [entry] = audit(session, "unit.update")
    assert json.loads(entry.details) == {"name": {"from": "Team A", "to": "Team Alfa"}}


def test_a_unit_with_people_cannot_be_made_inactive(admin: FlaskClient, org: Org, session: Session) -> None:
    before = snapshot(session)
    response = admin.post(f"/staff/admin/units/{org.team_a.id}/edit",
                          data={"name": "Team A", "parent": str(org.dept.id)})
    assert response.status_code == 400
    assert "People or active units are still in this unit. Move them first." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_moving_a_unit_shows_what_it_changes_before_saving(admin: FlaskClient, org: Org, session: Session) -> None:
    crowd(session, org.team_a, 6, "ant")
    before = snapshot(session)
    data = {"name": "Team A", "parent": str(org.other.id), "active": "y"}
    response = admin.post(f"/staff/admin/units/{org.team_a.id}/edit", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert snapshot(session) == before  # nothing saved yet
    assert "What this move changes" in page
    assert "7 active people move with them." in page
    assert "Safety representatives whose safety area no longer includes it: Sam Skyddsombud." in page
    assert "Team A is in no safety representative&#39;s safety area." in page
    digest = move_digest(page)
    assert digest
    # A forged or stale fingerprint shows the preview again instead of saving.
    assert admin.post(f"/staff/admin/units/{org.team_a.id}/edit",
                      data={**data, "move_digest": "0" * 64}).status_code == 200
    assert snapshot(session) == before
    response = admin.post(f"/staff/admin/units/{org.team_a.id}/edit", data={**data, "move_digest": digest})
    assert response.status_code == 302
    session.refresh(org.team_a)
    assert org.team_a.parent_id == org.other.id
    session.commit()
    [entry] = audit(session, "unit.update")
    assert json.loads(entry.details) == {"parent_id": {"from": org.dept.id, "to": org.other.id}}


def test_moving_a_person_shows_who_gains_sight_and_where_answers_count(admin: FlaskClient, org: Org,
                                                                       session: Session) -> None:
    leader = make_person(session, "lead@example.org", unit=org.other, manages=[org.other], name="Olle Ledare")
    crowd(session, org.team_a, 5, "ant")  # with Erik: 6 in Team A; k is 6 in the tests' configuration
    session.commit()
    before = snapshot(session)
    data = {"name": "Erik Anställd", "unit": str(org.other.id), "language": "sv", "status": "active"}
    response = admin.post(f"/staff/admin/people/{org.employee.id}", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert snapshot(session) == before
    assert "Managers who start seeing these results: Olle Ledare." in page
    assert "Managers who stop seeing these results: Maja Chef." in page
    assert "Safety representatives whose safety area no longer includes it: Sam Skyddsombud." in page
    assert re.search(r"The answers of 1 person would count in [^<]+ instead of Team A\.", page)
    assert leader.name not in names_on(page)
    digest = move_digest(page)
    response = admin.post(f"/staff/admin/people/{org.employee.id}", data={**data, "move_digest": digest})
    assert response.status_code == 302
    session.refresh(org.employee)
    assert org.employee.unit_id == org.other.id


def test_a_move_that_leaves_a_team_below_k_says_so(admin: FlaskClient, org: Org, session: Session) -> None:
    crowd(session, org.team_a, 5, "ant")  # with Erik: 6 in Team A, exactly k
    data = {"name": "Erik Anställd", "unit": str(org.team_b.id), "language": "sv", "status": "active"}
    page = admin.post(f"/staff/admin/people/{org.employee.id}", data=data).get_data(as_text=True)
    assert "Only 5 people&#39;s answers would count in Team A, fewer than 6" in page


def test_the_new_forms_work_in_swedish(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.emails["admin"])
    assert "Lägg till en person" in client.get("/staff/admin/people/new").get_data(as_text=True)
    assert "Lägg till en enhet" in client.get("/staff/admin/units/new").get_data(as_text=True)
    page = client.post(f"/staff/admin/units/{org.team_a.id}/edit",
                       data={"name": "Team A", "parent": str(org.other.id), "active": "y"}).get_data(as_text=True)
    assert "Vad flytten ändrar" in page


def test_the_staff_menu_has_a_disclosure_button_for_phones(admin: FlaskClient) -> None:
    page = admin.get("/staff/admin/people").get_data(as_text=True)
    # Hidden until the script shows it (without JavaScript the menu simply stays open); it controls the list.
    assert re.search(r'<button type="button" class="menu-toggle" hidden aria-expanded="false" '
                     r'aria-controls="main-menu">Menu</button>\s*<ul id="main-menu">', page)
    assert '<script src="/static/js/menu.js" defer></script>' in page
    assert admin.get("/static/js/menu.js").status_code == 200
