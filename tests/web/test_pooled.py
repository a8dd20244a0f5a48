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
import re
from collections.abc import Hashable

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.demo import DEMO_PASSWORD
from pulse.domain.suppression import Counts
from pulse.models import Person, PooledReleaseCell, Release, Survey
from pulse.services import pooling
from tests.factories import sign_in
from tests.integration.test_pooling import HIDDEN_IN_3, K, Period4, finding, four_rounds
from tests.rounds import MONDAY
from tests.unit.test_derivation import brute_force

CODES = ("OSA-WL1", "OSA-SP1", "OSA-NPS", "OSA-VI1")
WL = CODES[0]


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


def test_the_administrator_chooses_the_pooling_until_a_period_is_pooled(client: FlaskClient, session: Session,
                                                                       app: Flask) -> None:
    made = four_rounds(session, app)
    sign_in(client, "admin@example.org")
    url = f"/staff/admin/surveys/{made.survey_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Pooled periods" in page and '<option selected value="rounds">' in page
    bad = client.post(f"{url}/pooling", data={"pooling": "rounds", "pool_rounds": "1"})
    assert bad.status_code == 400 and "Pool between 2 and 13 rounds." in bad.get_data(as_text=True)
    unknown = client.post(f"{url}/pooling", data={"pooling": "fortnight"})
    assert unknown.status_code == 400
    assert client.post(f"{url}/pooling", data={"pooling": "month"}).status_code == 302
    session.commit()
    survey = session.get_one(Survey, made.survey_id)
    assert (survey.pooling, survey.pool_rounds) == ("month", None)
    assert client.post(f"{url}/pooling", data={"pooling": "rounds", "pool_rounds": "4"}).status_code == 302
    session.commit()
    session.refresh(survey)
    assert len(pooling.pool_due(session, survey, now=MONDAY + dt.timedelta(days=30))) == 1
    session.commit()
    locked = client.post(f"{url}/pooling", data={"pooling": "quarter"})
    assert locked.status_code == 400 and "cannot change any more" in locked.get_data(as_text=True)
    session.refresh(survey)
    assert survey.pooling == "rounds"
    refused = client.post(f"/staff/admin/rounds/{made.rounds[0]}/release", follow_redirects=True)
    assert "part of a pooled period" in refused.get_data(as_text=True)


def test_the_survey_page_shows_a_refused_period_in_both_languages(client: FlaskClient, session: Session, app: Flask,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 7: where the pooling is set, the administrator reads which period was refused, when and why — the
    rounds' cells that would be combined, never a figure."""
    made = four_rounds(session, app)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pooling.PoolingError("earlier_unsafe", [finding(made.units["A"])])

    monkeypatch.setattr(pooling, "compute_pooled", refuse)
    pooling.pool_due(session, session.get_one(Survey, made.survey_id), now=MONDAY + dt.timedelta(days=30))
    session.commit()
    sign_in(client, "admin@example.org")
    url = f"/staff/admin/surveys/{made.survey_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Periods not pooled" in page and "rounds-1-4" in page
    assert "Team A in round 3" in page and "It needs a review." in page
    assert f"pulse release pool {made.survey_id} --period PERIOD" in page
    invalid = client.post(f"{url}/pooling", data={"pooling": "rounds", "pool_rounds": "99"})
    assert invalid.status_code == 400 and "Periods not pooled" in invalid.get_data(as_text=True)
    admin = session.scalars(select(Person).where(Person.email == "admin@example.org")).one()
    admin.language = "sv"
    session.commit()
    swedish = client.get(url).get_data(as_text=True)
    assert "Perioder som inte slagits samman" in swedish and "Team A i omgång 3" in swedish
    # A new pooling clears the old periods' refusals (they are tried afresh).
    assert client.post(f"{url}/pooling", data={"pooling": "month"}).status_code == 302
    assert "rounds-1-4" not in client.get(url).get_data(as_text=True)


#: A finer number than one decimal, wherever it is written (2.73, 2,7333, …), as tests/web/test_precision.py.
FINE = re.compile(r"\d[.,]\d{2,}")


def test_pooled_outputs_carry_no_more_precision_than_published(client: FlaskClient, session: Session, app: Flask,
                                                               runner: FlaskCliRunner) -> None:
    """Every pooled output — page, CSV, API — shows means to one decimal, shares and eNPS whole, nothing finer
    (docs/ANONYMITY.md, "Precision"); the API's mean is the page's."""
    made = pooled_period(session, app)
    headers = bearer(runner)
    sign_in(client, "chef@example.org")
    unit = made.units["C"]
    base = f"/staff/results/surveys/{made.survey_id}/units/{unit}/pooled"
    page = client.get(base).get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    assert not FINE.search(text), FINE.search(text)
    assert not FINE.search(client.get(f"{base}.csv").get_data(as_text=True))
    body = client.get(f"/api/v1/surveys/{made.survey_id}/units/{unit}/pooled", headers=headers).get_json()
    [period] = body["periods"]
    shown = [f for f in period["cell"]["questions"].values() if f]
    assert shown, "team C is shown pooled"
    for figures in shown:
        for name in ("mean", "sd"):
            if figures.get(name) is not None:
                assert round(figures[name], 1) == figures[name]
                assert f"{figures[name]:.1f}".replace(".", ",") in text or name == "sd"
        for name in ("enps", "yes_percent", "prefer_not_to_say_percent"):
            if figures.get(name) is not None:
                assert float(figures[name]).is_integer()


def test_the_demo_shows_pooled_periods_and_their_change(client: FlaskClient, runner: FlaskCliRunner,
                                                       session: Session) -> None:
    """The demo pools its rounds in threes: an office manager sees two periods, and where both show a spread of
    answers the change between them, as rounds do (from the published, rounded figures)."""
    from pulse import disclosure
    from pulse.services.org import Scope

    assert runner.invoke(args=["demo"]).exit_code == 0
    survey = session.scalar(select(Survey.id))
    assert survey is not None
    everyone = Scope(True, frozenset())
    units = [u for u, in session.execute(select(PooledReleaseCell.unit_id).where(PooledReleaseCell.kind == "total")
                                        .distinct())]
    trends = {u: disclosure.pooled_trend(session, survey, u, everyone) for u in units}
    assert all(t is not None and [p.key for p in t.periods] == ["rounds-1-3", "rounds-4-6"] for t in trends.values())
    compared = {u: t for u, t in trends.items() if t is not None and any(trends[u].changes.values())}
    assert compared, "some unit shows a spread of answers in both periods"
    unit, trend = next(iter(compared.items()))
    session.commit()
    assert client.post("/staff/login", data={"email": "ada.administrator@exempelstad.se",
                                             "password": DEMO_PASSWORD}).status_code == 302
    page = client.get(f"/staff/results/surveys/{survey}/units/{unit}/pooled").get_data(as_text=True)
    assert "Sedan perioden före" in page and "95 % intervall" in page
    code, found = next((c, v) for c, v in trend.changes.items() if v is not None)
    before, now = trend.series[code][-2], trend.series[code][-1]
    assert before.mean is not None and now.mean is not None
    assert round(found.difference, 6) == round(now.mean - before.mean, 6)  # from the published means


def test_the_pooled_chart_plots_only_published_means(client: FlaskClient, session: Session, app: Flask) -> None:
    """Read back through the axis ticks (tests/web/test_precision.py): every point is a published pooled mean."""
    from pulse import disclosure
    from pulse.services.org import Scope
    from tests.web.test_precision import chart_values

    made = pooled_period(session, app)
    sign_in(client, "chef@example.org")
    base = f"/staff/results/surveys/{made.survey_id}/units/{made.units['C']}/pooled"
    chart = re.search(r'src="([^"]+/pooled/charts/workload\.svg)"', client.get(base).get_data(as_text=True))
    assert chart is not None
    response = client.get(chart.group(1))
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    trend = disclosure.pooled_trend(session, made.survey_id, made.units["C"], Scope(True, frozenset()))
    assert trend is not None
    published = [f.mean for f in trend.series[WL] if f.exact and f.mean is not None]
    points = chart_values(response.get_data(as_text=True))
    assert points and published
    assert all(min(abs(v - m) for m in published) < 1e-6 for v in points), (points, published)
    assert client.get(f"{base}/charts/nowhere.svg").status_code == 404


def test_the_privacy_page_says_what_pooling_shows_and_keeps(client: FlaskClient) -> None:
    sv = client.get("/privacy").get_data(as_text=True)
    en = client.get("/privacy?lang=en").get_data(as_text=True)
    assert "sammanlagda över en fast period" in sv and "Perioderna överlappar aldrig" in sv
    assert "added up over a fixed period" in en and "kept until their period's total is published" in en
