"""Which releases and top units a viewer is offered: the results index, the start page's latest results and
``/api/v1/releases`` all list exactly the highest units inside the viewer's scope — read as an attacker would,
from the links and ids the responses carry, against an organisation whose scopes the test sets up by hand.

(Issue 13: negating the scope condition of ``disclosure.visible_releases`` was caught only by the authorization
matrix's administrator rows, and the start page's results had no test at all.)
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from tests.factories import make_person, sign_in
from tests.figures import Made, release_rounds

TEAMS = {"lagret": 3, "kundtjanst": 3, "verkstaden": 3}
ANSWER: dict[str, int | None] = {"OSA-WL1": 4}


@pytest.fixture
def made(session: Session, app: Flask) -> Made:
    """A released round on Kommun → Avdelning → three teams of three (lagret, kundtjanst, verkstaden; k = 3, everyone answered, so every cell is
    published), with a manager of one team, a manager of the department and a safety representative for two
    teams."""
    made = release_rounds(session, app, TEAMS, [{t: [ANSWER] * n for t, n in TEAMS.items()}], k=3, k_dist=3)
    make_person(session, "lagerchef@example.org", manages=[made.teams["lagret"]])
    make_person(session, "avdelningschef@example.org", manages=[made.dept])
    make_person(session, "skyddsombud@example.org", unit=made.teams["verkstaden"],
                safety_area=[made.teams["kundtjanst"], made.teams["verkstaden"]])
    session.commit()
    return made


def linked_units(html: str, release: int) -> list[int]:
    """The units a page links results of, for one release, in order (each once: a list, so twice would show)."""
    return sorted(int(u) for u in re.findall(rf'href="/staff/results/{release}/units/(\d+)"', html))


def expected(made: Made, who: str) -> list[int]:
    """The highest units of the release inside each viewer's scope, worked out by hand from the set-up."""
    teams = made.teams
    return sorted({"lagerchef": {teams["lagret"].id},
                   "avdelningschef": {made.dept.id},
                   "skyddsombud": {teams["kundtjanst"].id, teams["verkstaden"].id},
                   "admin": {made.dept.id}}[who])


WHO = ["lagerchef", "avdelningschef", "skyddsombud", "admin"]


@pytest.mark.parametrize("who", WHO)
def test_the_results_index_lists_the_highest_units_in_scope(client: FlaskClient, made: Made, who: str) -> None:
    sign_in(client, f"{who}@example.org")
    page = client.get("/staff/results/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    release = made.releases[0]
    assert linked_units(html, release) == expected(made, who)
    outside = {"Kommun", *TEAMS, "Avdelning"} - {u.name for u in made.teams.values()
                                                  if u.id in expected(made, who)}
    if who not in ("avdelningschef", "admin"):
        # Names of units outside the scope appear nowhere on the page (the department's name included).
        assert not [name for name in outside if f">{name}<" in html]


@pytest.mark.parametrize("who", WHO)
def test_the_start_page_shows_the_latest_results_in_scope(client: FlaskClient, made: Made, who: str) -> None:
    sign_in(client, f"{who}@example.org")
    html = client.get("/staff/").get_data(as_text=True)
    # The start page may link a unit's results from more than one of its sections: which units, not how often.
    assert sorted(set(linked_units(html, made.releases[0]))) == expected(made, who)


def test_the_start_page_shows_no_results_to_an_employee(client: FlaskClient, made: Made, session: Session) -> None:
    make_person(session, "medarbetare@example.org", unit=made.teams["lagret"])
    session.commit()
    sign_in(client, "medarbetare@example.org")
    html = client.get("/staff/").get_data(as_text=True)
    assert linked_units(html, made.releases[0]) == []


@pytest.mark.parametrize("who", WHO)
def test_the_api_lists_the_highest_units_in_scope(client: FlaskClient, runner: FlaskCliRunner, made: Made,
                                                  who: str) -> None:
    created = runner.invoke(args=["api-token", "create", f"{who}@example.org", "--name", "BI"])
    assert created.exit_code == 0, created.output
    response = client.get("/api/v1/releases", headers={"Authorization": f"Bearer {created.output.strip()}"})
    assert response.status_code == 200
    releases = response.get_json()["releases"]
    assert [r["id"] for r in releases] == [made.releases[0]]
    assert sorted(releases[0]["units"]) == expected(made, who)


def test_the_api_gives_a_unit_its_parts_and_nothing_outside_the_scope(client: FlaskClient, runner: FlaskCliRunner,
                                                                        made: Made) -> None:
    """The department's cells: its total, its remainder (nobody directly in it) and its teams' totals; the team
    manager asking for the department gets nothing."""
    headers = {}
    for who in ("admin", "lagerchef"):
        created = runner.invoke(args=["api-token", "create", f"{who}@example.org", "--name", "BI"])
        headers[who] = {"Authorization": f"Bearer {created.output.strip()}"}
    url = f"/api/v1/releases/{made.releases[0]}/units/{made.dept.id}"
    cells = client.get(url, headers=headers["admin"]).get_json()["cells"]
    assert sorted((c["unit_id"], c["part"]) for c in cells) == sorted(
        [(made.dept.id, "total"), (made.dept.id, "remainder"), *((t.id, "total") for t in made.teams.values())])
    assert client.get(url, headers=headers["lagerchef"]).status_code == 404
