"""Results pages, exports and comment moderation on the demo organisation (history made through the real
close path), for each role."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.demo import DEMO_PASSWORD
from pulse.domain.questionbank import BANK
from pulse.models import AuditEntry, Comment, Person, Release, Round, Unit
from tests.factories import PASSWORD
from tests.figures import Made, release_rounds


@pytest.fixture
def demo(runner: FlaskCliRunner, session: Session) -> dict[str, int]:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    units = {u.key: u.id for u in session.scalars(select(Unit))}
    latest = session.scalar(select(Release.id).order_by(Release.id.desc()).limit(1))
    assert latest is not None
    return {**units, "release": latest}


def sign_in(client: FlaskClient, who: str, session: Session, language: str = "sv") -> None:
    email = {"manager": "helena.enhetschef@exempelstad.se", "office": "kontorschef.rinkeby@exempelstad.se",
             "safety": "samira.skyddsombud@exempelstad.se", "employee": "elsa.medarbetare@exempelstad.se",
             "admin": "ada.administrator@exempelstad.se"}[who]
    session.execute(Person.__table__.update().where(Person.email == email).values(language=language))
    session.commit()
    response = client.post("/staff/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_manager_sees_protected_results_for_their_units(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "manager", session)
    index = client.get("/staff/results/").get_data(as_text=True)
    assert "Enheten för medborgarservice" in index
    url = f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Medborgarkontor Husby" in text and "svarade" in text  # Swedish page
    # Hidden cells all carry the same neutral label (whether the demo hides any here depends on its answers).
    from pulse import disclosure
    from pulse.services.org import Scope

    shown = disclosure.unit_result(session, demo["release"], demo["jarva-mbk"], Scope(True, frozenset()))
    hidden = [c for c in shown.children if not c.published] + [r for r in shown.rows if r.now.hidden]
    assert ("för få svar" in text) == bool(hidden)
    # Outside the manager's scope: exactly like a unit that does not exist.
    assert client.get(f"/staff/results/{demo['release']}/units/{demo['jarva-fritid']}").status_code == 404
    assert client.get(f"/staff/results/{demo['release']}/units/999999").status_code == 404
    assert client.get(f"/staff/results/999999/units/{demo['jarva-mbk']}").status_code == 404
    views = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "release.view"))
    assert views == 1


def test_trends_heatmap_and_chart(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "manager", session, "en")
    survey = session.scalar(select(Round.survey_id).limit(1))
    page = client.get(f"/staff/results/surveys/{survey}/units/{demo['jarva-mbk']}/trends")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<table" in text and "Round 6" in text
    chart_url = re.search(r'src="([^"]+/charts/[^"]+\.svg)"', text)
    assert chart_url
    chart = client.get(chart_url.group(1))
    assert chart.mimetype == "image/svg+xml"
    assert b"<title id=\"chart-title\">" in chart.data and b"<desc" in chart.data
    heat = client.get(f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}/heatmap")
    assert heat.status_code == 200 and "Index per unit and area" in heat.get_data(as_text=True)
    assert client.get(f"/staff/results/surveys/{survey}/units/{demo['jarva-mbk']}/charts/nope.svg").status_code == 404


def test_exports_mark_hidden_cells_as_on_screen(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "manager", session, "en")
    base = f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}"
    csv_response = client.get(base + "/export.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    text = csv_response.data.decode("utf-8-sig")
    assert "Thresholds;k=6;k_dist=10;k_comments=10" in text
    assert "Release version;1" in text
    assert "too few answers" in text
    assert "Medborgarkontor Fritid" not in text and "Fritidsgård" not in text  # outside the scope
    xlsx = client.get(base + "/export.xlsx")
    book = load_workbook(io.BytesIO(xlsx.data))
    values = [c.value for row in book.active.iter_rows() for c in row]  # type: ignore[union-attr]
    assert "too few answers" in values and "Enheten för medborgarservice" in values
    exports = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "release.export"))
    assert exports == 2


def test_roles_without_results(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    url = f"/staff/results/{demo['release']}/units/{demo['jarva-mbk']}"
    assert client.get(url).status_code == 302  # not signed in
    sign_in(client, "employee", session)
    assert client.get(url).status_code == 403
    assert client.get("/staff/results/moderation").status_code == 403


def test_open_round_has_no_results_yet(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "manager", session, "en")
    open_round = session.scalar(select(Round.id).where(Round.status == "open"))
    response = client.get(f"/staff/results/rounds/{open_round}")
    assert response.status_code == 409 and "still open" in response.get_data(as_text=True)
    closed = session.scalar(select(Round.id).where(Round.status == "closed").limit(1))
    assert client.get(f"/staff/results/rounds/{closed}").status_code == 302
    assert client.get("/staff/results/rounds/99999").status_code == 404


def test_moderation_then_managers_see_released_comments(app: Flask, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    safety, manager = app.test_client(), app.test_client()
    sign_in(safety, "safety", session, "en")
    queue = safety.get("/staff/results/moderation").get_data(as_text=True)
    ids = re.findall(r'action="/staff/results/moderation/([0-9a-f-]+)', queue)
    assert ids, queue[:2000]
    first, *rest = ids
    assert safety.post(f"/staff/results/moderation/{first}", data={"decision": "redacted",
                                                                   "redacted": "[name removed] needs help"}).status_code == 302
    for comment_id in rest:
        assert safety.post(f"/staff/results/moderation/{comment_id}", data={"decision": "withheld"}).status_code == 302
    assert safety.post(f"/staff/results/moderation/{first}", data={"decision": "nonsense"}).status_code == 400
    assert safety.post(f"/staff/results/moderation/{first}", data={"decision": "redacted", "redacted": " "}).status_code == 400
    assert safety.post("/staff/results/moderation/not-a-comment", data={"decision": "released"}).status_code == 404
    session.rollback()
    comment = session.get_one(Comment, first)
    assert comment.status == "redacted"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "comment.redacted"))
    assert entry is not None and "name removed" not in entry.details
    # A comment placed outside the safety area cannot be moderated by this safety representative.
    tensta = session.scalar(select(Comment.id).where(Comment.home_unit_id == demo["mbk-tensta"]).limit(1))
    if tensta:
        assert safety.post(f"/staff/results/moderation/{tensta}", data={"decision": "released"}).status_code == 404
    sign_in(manager, "manager", session, "en")
    release_of_comment = session.scalar(select(Release.id).where(Release.round_id == comment.round_id))
    page = manager.get(f"/staff/results/{release_of_comment}/units/{demo['jarva-mbk']}/comments")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "[name removed] needs help" in text
    # Managers cannot moderate.
    assert manager.get("/staff/results/moderation").status_code == 403


def test_an_empty_release_exports_and_shows(app: Flask, session: Session) -> None:
    """A round nobody answered: everything is hidden, and pages and exports still work."""
    from pulse import scheduler
    from tests.factories import Org
    from tests.rounds import keys, make_survey, open_with_credentials

    org = Org(session)
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    with app.app_context():
        scheduler.close_round(session, opened.round, keys(app), now=opened.round.closes_at)
    session.commit()
    release = session.scalar(select(Release.id))
    client = app.test_client()
    client.post("/staff/login", data={"email": "admin@example.org", "password": "correct horse battery staple"})
    for suffix in ("", "/heatmap", "/comments", "/export.csv", "/export.xlsx"):
        assert client.get(f"/staff/results/{release}/units/{org.dept.id}{suffix}").status_code == 200, suffix
    assert "för få svar" in client.get(f"/staff/results/{release}/units/{org.dept.id}/export.csv").data.decode()


# --- what a bound and a yes/no item show on every output (docs/ANONYMITY.md) ------------------------------------


def _outputs(client: FlaskClient, runner: FlaskCliRunner, made: Made, unit: int) -> dict[str, object]:
    """One unit's figures as every output shows them: page rows, CSV and XLSX rows, API cells."""
    from tests.web.test_precision import parse

    release = made.releases[0]
    base = f"/staff/results/{release}/units/{made.dept.id}"
    page = parse(client.get(f"/staff/results/{release}/units/{unit}").get_data(as_text=True))
    table = list(csv.reader(io.StringIO(client.get(base + "/export.csv").data.decode("utf-8-sig")), delimiter=";"))
    book = load_workbook(io.BytesIO(client.get(base + "/export.xlsx").data))
    sheet = [["" if c.value is None else str(c.value) for c in row] for row in book.active.iter_rows()]  # type: ignore[union-attr]
    token = runner.invoke(args=["api-token", "create", "admin@example.org", "--name", "BI"]).output.strip()
    api = client.get(f"/api/v1/releases/{release}/units/{made.dept.id}", headers={"Authorization": f"Bearer {token}"})
    from tests.web.test_api import validate

    cells = validate(api, "/api/v1/releases/{release_id}/units/{unit_id}")["cells"]
    return {"page": page, "csv": table, "xlsx": sheet, "api": cells}


def _export_row(table: list[list[str]], name: str, code: str, width: int = 2) -> tuple[str, ...]:
    """A question's columns in a unit's row: CSV (figure as shown, answered), XLSX with ``width=3`` (the number,
    answered, and what is shown instead when the figure is not exact)."""
    header = next(r for r in table if r and r[0] == "Unit")
    column = next(i for i, h in enumerate(header) if h.startswith(f"{code} v"))
    assert width == 2 or header[column + 2] == f"{code} shown as"
    row = next(r for r in table if r and r[0] == name and r[1] == "whole unit")
    return tuple(row[column:column + width])


def test_a_censored_mean_shows_its_bound_and_nothing_more(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                                          session: Session) -> None:
    wl = "OSA-WL1"
    made = release_rounds(session, app, {"alfa": 3, "beta": 6}, [{
        "alfa": [{wl: 1}] * 3, "beta": [{wl: v} for v in (4, 3, 5, 4, 2, 3)]}], k=3, k_dist=5)
    client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD})
    alfa = made.teams["alfa"].id
    out = _outputs(client, runner, made, alfa)
    row = next(r for r in out["page"].rows if r and wl in r[0])  # type: ignore[attr-defined]
    assert row[1:3] == ["≤ 1.5", "–"]  # the bound, and no answered count
    assert _export_row(out["csv"], "alfa", wl) == ("≤ 1.5", "")  # type: ignore[arg-type]
    # XLSX: no number at all for a bound, and the bound in the column beside.
    assert _export_row(out["xlsx"], "alfa", wl, 3) == ("", "", "≤ 1.5")  # type: ignore[arg-type]
    cell = next(c for c in out["api"] if c["unit_id"] == alfa and c["part"] == "total")  # type: ignore[attr-defined]
    assert cell["questions"][wl] == {"version": 1, "form": "bound", "censored": "low", "bound": 1.5}
    # The trend chart leaves the bound out (a point would show more than "≤ 1,5"); its table has the bound.
    from tests.web.test_precision import chart_values

    trends = client.get(f"/staff/results/surveys/{made.survey.id}/units/{alfa}/trends").get_data(as_text=True)
    assert "≤ 1.5" in trends
    chart = re.search(r'src="([^"]+/charts/workload\.svg)"', trends)
    assert chart is not None and chart_values(client.get(chart.group(1)).get_data(as_text=True)) == []


def test_yes_no_items_and_flags_only_at_k_dist(app: Flask, client: FlaskClient, runner: FlaskCliRunner,
                                               session: Session) -> None:
    """Alfa's three "no" would show as "no 'yes' answers" — everyone's answer; the flag belongs to the lowest
    level with at least k_dist answers, here the department (docs/ANONYMITY.md, "Yes/no items and flags")."""
    vi = "OSA-VI1"
    no, yes = {vi: 0}, {vi: 1}
    made = release_rounds(session, app, {"alfa": 3, "beta": 3, "gamma": 2, "delta": 2}, [{
        "alfa": [no] * 3, "beta": [no] * 3, "gamma": [yes, no], "delta": [no, no]}], k=3, k_dist=5)
    client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD})
    from tests.web.test_precision import parse

    text = next(q.en for q in BANK if q.code == vi)
    dept_page = " ".join(parse(client.get(f"/staff/results/{made.releases[0]}/units/{made.dept.id}")
                               .get_data(as_text=True)).texts)
    assert "Flag for risk assessment" in dept_page and text in dept_page
    alfa = made.teams["alfa"].id
    out = _outputs(client, runner, made, alfa)
    page_text = " ".join(out["page"].texts)  # type: ignore[attr-defined]
    assert "Flag for risk assessment" not in page_text and "“yes”" not in page_text.replace("answered “yes”", "")
    row = next(r for r in out["page"].rows if r and vi in r[0])  # type: ignore[attr-defined]
    assert row[1:3] == ["too few answers", "–"]
    assert _export_row(out["csv"], "alfa", vi) == ("too few answers", "")  # type: ignore[arg-type]
    assert _export_row(out["csv"], "Avdelning", vi) == ("10 % yes", "10")  # type: ignore[arg-type]
    assert _export_row(out["xlsx"], "alfa", vi, 3) == ("", "", "too few answers")  # type: ignore[arg-type]
    assert _export_row(out["xlsx"], "Avdelning", vi, 3) == ("10", "10", "")  # type: ignore[arg-type]
    cells = {(c["unit_id"], c["part"]): c for c in out["api"]}  # type: ignore[attr-defined]
    assert cells[(alfa, "total")]["questions"][vi] is None
    dept = cells[(made.dept.id, "total")]["questions"][vi]
    assert (dept["flag"], dept["yes_percent"], dept["distribution"], dept["answered"]) == (True, 10, [9, 1, 0], 10)
    # The start page still shows the latest results.
    assert client.get("/staff/").status_code == 200
