"""The read-only JSON API: personal tokens, scope, the same numbers as the pages, and responses that match the
OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.format import mean_text
from pulse.demo import DEMO_PASSWORD
from pulse.models import ApiToken, AuditEntry, Release, Round, Unit
from pulse.services.org import Scope
from pulse.staff.api.openapi import document

SPEC = document()


@pytest.fixture
def demo(runner: FlaskCliRunner, session: Session) -> dict[str, Any]:
    assert runner.invoke(args=["demo"]).exit_code == 0
    token = runner.invoke(args=["api-token", "create", "helena.enhetschef@exempelstad.se", "--name", "BI"])
    assert token.exit_code == 0, token.output
    units = {u.key: u.id for u in session.scalars(select(Unit))}
    return {"units": units, "token": token.output.strip(),
            "release": session.scalar(select(Release.id).order_by(Release.id.desc()).limit(1))}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    # Local "#/components/..." references resolve against the whole document.
    return Draft202012Validator({**schema, "components": SPEC["components"]})


def validate(response: Any, path: str, method: str = "get") -> Any:
    schema = SPEC["paths"][path][method]["responses"][str(response.status_code)]["content"]["application/json"][
        "schema"]
    validator(schema).validate(response.get_json())
    return response.get_json()


def test_releases_and_cells_match_the_pages(client: FlaskClient, runner: FlaskCliRunner, demo,  # type: ignore[no-untyped-def]
                                            session: Session) -> None:
    listing = client.get("/api/v1/releases", headers=auth(demo["token"]))
    assert listing.status_code == 200 and "Set-Cookie" not in listing.headers
    body = validate(listing, "/api/v1/releases")
    assert body["releases"] and all(r["round"]["number"] >= 1 for r in body["releases"])
    unit = demo["units"]["jarva-mbk"]
    response = client.get(f"/api/v1/releases/{demo['release']}/units/{unit}", headers=auth(demo["token"]))
    cells = validate(response, "/api/v1/releases/{release_id}/units/{unit_id}")["cells"]
    # The same figures as the page shows (means to one decimal).
    scope = Scope(True, frozenset())
    result = disclosure.unit_result(session, demo["release"], unit, scope)
    api_unit = next(c for c in cells if c["unit_id"] == unit and c["part"] == "total")
    assert api_unit["respondents"] == result.unit.respondents
    for row in result.rows:
        figures = api_unit["questions"][row.question.code]
        if figures is None:
            assert row.now.hidden
        elif figures.get("mean") is not None:
            assert figures["mean"] == float(mean_text(row.now, row.question).replace(",", "."))
    # Hidden cells carry no figures at all (the demo hides some above the citizen offices).
    admin = runner.invoke(args=["api-token", "create", "ada.administrator@exempelstad.se", "--name", "All"])
    wider = client.get(f"/api/v1/releases/{demo['release']}/units/{demo['units']['jarva']}",
                       headers=auth(admin.output.strip()))
    hidden = [c for c in [*cells, *validate(wider, "/api/v1/releases/{release_id}/units/{unit_id}")["cells"]]
              if not c["published"]]
    assert hidden and all(c["respondents"] is None and c["questions"] == {} for c in hidden)
    # Units outside the owner's scope never appear, and asking for one looks like asking for nothing.
    names = {c["name"] for c in cells}
    assert "Fritidsgård Rinkeby" not in names
    outside = client.get(f"/api/v1/releases/{demo['release']}/units/{demo['units']['jarva-fritid']}",
                         headers=auth(demo["token"]))
    missing = client.get(f"/api/v1/releases/{demo['release']}/units/999999", headers=auth(demo["token"]))
    assert outside.status_code == missing.status_code == 404
    assert outside.get_json() == missing.get_json()
    validate(outside, "/api/v1/releases/{release_id}/units/{unit_id}")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "release.api_view")) == 2


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer pulse_x"])
def test_missing_or_garbage_tokens_get_401(client: FlaskClient, demo, header: str | None) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/releases", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    validate(response, "/api/v1/releases")


def test_revoked_tokens_stop_working(client: FlaskClient, runner: FlaskCliRunner, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/questions", headers=auth(demo["token"])).status_code == 200
    token_id = session.scalar(select(ApiToken.id))
    assert runner.invoke(args=["api-token", "revoke", str(token_id)]).exit_code == 0
    assert client.get("/api/v1/questions", headers=auth(demo["token"])).status_code == 401
    assert runner.invoke(args=["api-token", "revoke", "999"]).exit_code == 1
    assert "revoked" in runner.invoke(args=["api-token", "list", "helena.enhetschef@exempelstad.se"]).output
    assert runner.invoke(args=["api-token", "create", "nobody@example.org"]).exit_code == 1


def test_question_bank_and_open_round(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    body = validate(client.get("/api/v1/questions", headers=auth(demo["token"])), "/api/v1/questions")
    assert {q["code"] for q in body["questions"]} >= {"OSA-WL1", "HME-1"}
    open_round = session.scalar(select(Round.id).where(Round.status == "open"))
    not_yet = client.get(f"/api/v1/rounds/{open_round}/release", headers=auth(demo["token"]))
    assert not_yet.status_code == 409 and not_yet.get_json()["error"]["code"] == "not_released"
    validate(not_yet, "/api/v1/rounds/{round_id}/release")
    closed = session.scalar(select(Round.id).where(Round.status == "closed").limit(1))
    validate(client.get(f"/api/v1/rounds/{closed}/release", headers=auth(demo["token"])),
             "/api/v1/rounds/{round_id}/release")
    assert client.get("/api/v1/rounds/99999/release", headers=auth(demo["token"])).status_code == 404


def test_tokens_from_the_settings_page(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    client.post("/staff/login", data={"email": "samira.skyddsombud@exempelstad.se", "password": DEMO_PASSWORD})
    page = client.post("/staff/settings/tokens", data={"token-name": "Kalkylark"}).get_data(as_text=True)
    secret = re.search(r'<code class="secret">(pulse_[^<]+)</code>', page)
    assert secret
    assert client.post("/staff/settings/tokens", data={"token-name": ""}).status_code == 400
    listing = client.get("/api/v1/releases", headers=auth(secret.group(1)))
    assert listing.status_code == 200
    session.rollback()
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "Kalkylark"))
    assert client.post(f"/staff/settings/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/releases", headers=auth(secret.group(1))).status_code == 401
    # Someone else's token cannot be revoked from here.
    other = session.scalar(select(ApiToken.id).where(ApiToken.name == "BI"))
    assert client.post(f"/staff/settings/tokens/{other}/revoke").status_code == 404


def test_the_answering_api_matches_the_document(client: FlaskClient) -> None:
    response = client.post("/api/v1/answers", data="{}", content_type="application/json")
    validate(response, "/api/v1/answers", "post")
    response = client.post("/api/v1/answers", data="x", content_type="text/plain")
    validate(response, "/api/v1/answers", "post")
    assert client.get("/api/v1/openapi.json").get_json()["openapi"] == "3.1.0"
    Draft202012Validator.check_schema(SPEC["components"]["schemas"]["Cell"])
