"""Pooled results on the pages, in the API and the CSV — and the attacker who takes them all (docs/ANONYMITY.md,
"Pooled periods").

The attacker holds a manager's API token and downloads everything: every round's release of the office and the
pooled figures of every unit. With the membership known, each published figure is a sum over atoms (round, unit);
a brute force over every group of atoms must find no hidden round cell and no group smaller than k — in particular
not team A's round 3 (pooled minus rounds 1, 2 and 4). The pages and the CSV show the same cells as the API and no
more.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Hashable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.domain.suppression import Counts
from pulse.models import Person, Release, Survey
from pulse.services import pooling
from tests.factories import sign_in
from tests.integration.test_pooling import HIDDEN_IN_3, K, Period4, four_rounds
from tests.rounds import MONDAY
from tests.unit.test_derivation import brute_force

CODES = ("OSA-WL1", "OSA-SP1", "OSA-NPS", "OSA-VI1")


def pooled_period(session: Session, app: Flask, answering: dict[str, tuple[int, ...]] | None = None) -> Period4:
    made = four_rounds(session, app, **({"answering": answering} if answering else {}))
    pooling.pool_due(session, session.get_one(Survey, made.survey_id), now=MONDAY + dt.timedelta(days=30))
    session.commit()
    return made


def release_of(session: Session, round_id: int) -> int:
    found = session.scalar(select(Release.id).where(Release.round_id == round_id).order_by(Release.version.desc()))
    assert found is not None
    return found


def bearer(runner: FlaskCliRunner) -> dict[str, str]:
    token = runner.invoke(args=["api-token", "create", "chef@example.org", "--name", "BI"])
    assert token.exit_code == 0, token.output
    return {"Authorization": f"Bearer {token.output.strip()}"}


def test_the_pages_show_pooled_figures_where_rounds_have_too_few(client: FlaskClient, session: Session,
                                                                 app: Flask) -> None:
    made = pooled_period(session, app)
    sign_in(client, "chef@example.org")
    last = release_of(session, made.rounds[-1])
    page = client.get(f"/staff/results/{last}/units/{made.units['C']}").get_data(as_text=True)
    assert "För få svar per omgång – sammanslaget per 4 omgångar" in page
    assert "omgång 1–4" in page and "8 svar" in page
    pooled_url = f"/staff/results/surveys/{made.survey_id}/units/{made.units['C']}/pooled"
    assert pooled_url in page
    pooled = client.get(pooled_url)
    text = pooled.get_data(as_text=True)
    assert pooled.status_code == 200 and "Sammanslagna resultat: Team C" in text and 'lang="sv"' in text
    csv_page = client.get(f"{pooled_url}.csv")
    assert csv_page.status_code == 200 and csv_page.mimetype == "text/csv"
    session.commit()  # end the read transaction before writing (SQLite)
    session.execute(Person.__table__.update().where(Person.email == "chef@example.org").values(language="en"))
    session.commit()
    client.post("/staff/logout")
    sign_in(client, "chef@example.org")
    english = client.get(pooled_url).get_data(as_text=True)
    assert "Pooled results: Team C" in english and "rounds 1–4" in english
    # Outside the manager's scope, or a survey that does not exist: like a unit that does not exist.
    assert client.get(f"/staff/results/surveys/{made.survey_id}/units/{made.units['office'] - 1}/pooled"
                      ).status_code == 404
    assert client.get(f"/staff/results/surveys/999/units/{made.units['C']}/pooled").status_code == 404


def published_sets(client: FlaskClient, session: Session, made: Period4, headers: dict[str, str]
                   ) -> dict[str, dict[str, frozenset[Hashable]]]:
    """Per layer ("respondents", or a question code's exact figures): every published cell as its atoms."""
    members = {made.units["office"]: [made.units[n] for n in ("A", "B", "C")]}
    layers: dict[str, dict[str, frozenset[Hashable]]] = {"respondents": {}, **{c: {} for c in CODES}}

    def below(unit: int) -> list[int]:
        return [unit, *members.get(unit, [])]

    for number, round_id in enumerate(made.rounds, start=1):
        release = release_of(session, round_id)
        body = client.get(f"/api/v1/releases/{release}/units/{made.units['office']}", headers=headers).get_json()
        for cell in body["cells"]:
            if not cell["published"]:
                continue
            atoms = frozenset((number, u) for u in (below(cell["unit_id"]) if cell["part"] == "total"
                                                    else [cell["unit_id"]]))
            label = f"round {number} {cell['part']}({cell['unit_id']})"
            layers["respondents"][label] = atoms
            for code, figures in cell["questions"].items():
                if figures and figures.get("answered") is not None:
                    layers[code][label] = atoms
    for unit in below(made.units["office"]):
        body = client.get(f"/api/v1/surveys/{made.survey_id}/units/{unit}/pooled", headers=headers).get_json()
        for period in body["periods"]:
            cell = period["cell"]
            if not cell["published"]:
                continue
            atoms = frozenset((r, u) for r in period["rounds"] for u in below(unit))
            label = f"pooled {period['period']} total({unit})"
            layers["respondents"][label] = atoms
            for code, figures in cell["questions"].items():
                if figures and figures.get("answered") is not None:
                    layers[code][label] = atoms
    return layers


@pytest.mark.parametrize("scenario", ["hidden_in_round_3", "too_small_every_round"])
def test_the_attacker_with_every_output_derives_nothing_hidden(client: FlaskClient, session: Session, app: Flask,
                                                               runner: FlaskCliRunner, scenario: str) -> None:
    made = pooled_period(session, app, HIDDEN_IN_3 if scenario == "hidden_in_round_3" else None)
    headers = bearer(runner)
    layers = published_sets(client, session, made, headers)
    office = made.units["office"]
    atoms: dict[Hashable, Counts] = {**made.atoms, **{(r, office): Counts(0, 0) for r in range(1, 5)}}
    # Every cell of every round that the attacker saw hidden, as atoms: none may be computed.
    team = {n: made.units[n] for n in ("A", "B", "C")}
    hidden_everywhere = {f"round {r} {name}": [(r, u)] for r in range(1, 5) for name, u in team.items()}
    for layer, published in layers.items():
        hidden = {label: group for label, group in hidden_everywhere.items()
                  if f"round {label.split()[1]} total({team[label.split()[2]]})" not in published}
        derivable, groups = brute_force(atoms, published.values(), K, hidden)
        assert groups == [], f"{layer}: groups too small can be computed: {groups}"
        assert derivable == set(), f"{layer}: hidden round cells can be computed: {derivable}"
    if scenario == "hidden_in_round_3":  # the cell the attack was after is hidden, and stays so
        assert f"round 3 total({team['A']})" not in layers["respondents"]
        assert "round 3 A" in hidden_everywhere
    else:  # the pooling shows what no round could
        assert f"pooled rounds-1-4 total({team['C']})" in layers["respondents"]
        assert all(f"round {r} total({team['C']})" not in layers["respondents"] for r in range(1, 5))


def test_the_csv_and_the_page_show_what_the_api_shows_and_no_more(client: FlaskClient, session: Session,
                                                                 app: Flask, runner: FlaskCliRunner) -> None:
    made = pooled_period(session, app, HIDDEN_IN_3)
    headers = bearer(runner)
    sign_in(client, "chef@example.org")
    for name in ("A", "B", "C"):
        unit = made.units[name]
        api = client.get(f"/api/v1/surveys/{made.survey_id}/units/{unit}/pooled", headers=headers).get_json()
        [period] = api["periods"]
        rows = list(csv.reader(io.StringIO(client.get(
            f"/staff/results/surveys/{made.survey_id}/units/{unit}/pooled.csv").get_data(as_text=True).lstrip("\ufeff")),
            delimiter=";"))
        data = rows[-1]
        page = client.get(f"/staff/results/surveys/{made.survey_id}/units/{unit}/pooled").get_data(as_text=True)
        if period["cell"]["published"]:
            assert data[3] == str(period["cell"]["respondents"])
            means = {f["mean"] for f in period["cell"]["questions"].values() if f and "mean" in f}
            for mean in means:
                assert f"{mean:.1f}".replace(".", ",") in data and f"{mean:.1f}".replace(".", ",") in page
        else:
            assert data[3] == "för få svar" and all(v in ("för få svar", "") for v in data[4:])
            assert period["cell"]["questions"] == {}
            assert "(n = " not in page
