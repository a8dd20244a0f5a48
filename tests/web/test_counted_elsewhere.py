"""A unit whose people a round counted in the unit above (fewer than k invited) has no results of its own: its
results pages say so and where the answers count, to those whose scope holds the unit — and to nobody else."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.factories import make_person, sign_in
from tests.figures import Made, release_rounds


@pytest.fixture
def made(app: Flask, session: Session) -> Made:
    """A department with teams of 6, 2 and 3 (k = 5, so the 2 and the 3 count in the department together), one
    released round; then a manager of the team of 2 only and one of the team of 6 only."""
    result = release_rounds(session, app, {"stora": 6, "lilla": 2, "mini": 3}, [{
        "stora": [{"OSA-WL1": v} for v in (4, 3, 5, 4, 2, 3)], "lilla": [{"OSA-WL1": 1}] * 2,
        "mini": [{"OSA-WL1": 2}] * 3}], k=5, k_dist=5)
    make_person(session, "chef.lilla@example.org", manages=[result.teams["lilla"]], language="sv")
    make_person(session, "chef.stora@example.org", manages=[result.teams["stora"]], language="en")
    session.commit()
    return result


def pages(made: Made, unit: int) -> list[str]:
    release, survey = made.releases[-1], made.survey.id
    return [f"/staff/results/{release}/units/{unit}", f"/staff/results/{release}/units/{unit}/heatmap",
            f"/staff/results/surveys/{survey}/units/{unit}/trends", f"/staff/results/{release}/units/{unit}/apt"]


def same_page(html: str) -> str:
    """A page with its CSRF tokens blanked: they differ from one second to the next."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)


def test_every_results_page_of_a_merged_unit_says_where_it_counts(client: FlaskClient, made: Made) -> None:
    sign_in(client, "admin@example.org")  # English, sees everything
    small, dept = made.teams["lilla"].id, made.dept.id
    for url in pages(made, small):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "no results of its own" in text and "fewer than 5 of its people were invited" in text, url
        assert "Their answers count in Avdelning." in text, url
        assert f'href="/staff/results/{made.releases[-1]}/units/{dept}"' in text, url
        # Nothing of the round's figures: no table, no count of answers or of people.
        assert "<table" not in text and "answered" not in text.lower(), url
    # The department, where the two count, has its own results as before.
    assert client.get(f"/staff/results/{made.releases[-1]}/units/{dept}").status_code == 200


def test_the_manager_of_the_small_team_reads_it_in_swedish_without_a_link_outside_their_scope(
        client: FlaskClient, made: Made) -> None:
    sign_in(client, "chef.lilla@example.org")
    small, dept = made.teams["lilla"].id, made.dept.id
    for url in pages(made, small)[:3]:
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "inga egna resultat" in text and "färre än 5" in text, url
        assert "Avdelning" in text and "som du inte kan öppna resultaten för" in text, url
        assert f"/units/{dept}" not in text, url  # no link to results they may not open
    # The department itself stays closed to them, exactly like a unit that does not exist.
    assert client.get(f"/staff/results/{made.releases[-1]}/units/{dept}").status_code == 404


def test_outside_the_scope_a_merged_unit_is_a_plain_404(client: FlaskClient, made: Made) -> None:
    """The manager of the large team learns nothing of the small one: not its name, not that it was merged."""
    sign_in(client, "chef.stora@example.org")
    small = made.teams["lilla"].id
    for url, unknown in zip(pages(made, small), pages(made, 999999), strict=True):
        response, missing = client.get(url), client.get(unknown)
        assert response.status_code == missing.status_code == 404, url
        # The same page as for a unit that does not exist (each names its own address, for the language switch,
        # and carries a CSRF token stamped with the second it was made).
        text = response.get_data(as_text=True)
        assert same_page(text.replace(f"/{small}", "/ID")) == same_page(
            missing.get_data(as_text=True).replace("/999999", "/ID")), url
        assert "lilla" not in text
