"""POST /api/v1/answers: the JSON answering API for kiosks and integrations."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pulse.models import PendingResponse, Round
from tests.rounds import make_survey, open_with_credentials

URL = "/api/v1/answers"
GOOD = {"OSA-WL1": 4, "OSA-SP1": None, "OSA-VI1": 0, "OSA-NPS": 10}


@pytest.fixture
def opened(session: Session, app: Flask, org, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from pulse.respondent.answer_api import views
    from pulse.respondent.guard import limiter

    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(limiter, "_failures", {})
    return open_with_credentials(session, app, make_survey(session, [org.dept]))


def post(client: FlaskClient, body: object, **kw: object):  # type: ignore[no-untyped-def]
    return client.post(URL, data=json.dumps(body), content_type="application/json", **kw)


def stored(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(PendingResponse)) or 0


def test_answer_then_replay(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    response = post(client, {"token": link, "answers": GOOD, "comment": "Bra"})
    assert response.status_code == 201 and response.get_json() == {"status": "stored"}
    assert "Set-Cookie" not in response.headers
    replay = post(client, {"token": link, "answers": GOOD})
    assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "token_used"
    assert stored(session) == 1


def test_the_typed_code_is_accepted_too(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    _, code = opened.credentials["safety@example.org"]
    assert post(client, {"token": code, "answers": {}}).status_code == 201


@pytest.mark.parametrize(("answers", "problem"), [
    ({"NOPE": 1}, {"NOPE": "unknown_question"}),
    ({"OSA-WL1": 0}, {"OSA-WL1": "out_of_scale"}),
    ({"OSA-NPS": 11}, {"OSA-NPS": "out_of_scale"}),
    ({"OSA-WL1": 2.5}, {"OSA-WL1": "out_of_scale"}),
    ({"OSA-WL1": "4"}, {"OSA-WL1": "out_of_scale"}),
])
def test_invalid_answers_name_the_problem(client: FlaskClient, opened, session: Session, answers: dict[str, object],  # type: ignore[no-untyped-def]
                                          problem: dict[str, str]) -> None:
    link, _ = opened.credentials["employee@example.org"]
    response = post(client, {"token": link, "answers": answers})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["problems"]
    assert {k: v["code"] for k, v in problems.items()} == problem
    assert stored(session) == 0
    assert post(client, {"token": link, "answers": GOOD}).status_code == 201  # still usable


def test_comment_limits(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    response = post(client, {"token": link, "answers": GOOD, "comment": "x" * 2001})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["problems"]["comment"]["code"] == "comment_too_long"
    assert post(client, {"token": link, "answers": GOOD, "comment": 5}).status_code == 400


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b'{"token": "x"}', "text/plain", 415, "unsupported_media_type"),
    (b"token=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"{not json", "application/json", 400, "invalid_json"),
    (b'"just a string"', "application/json", 400, "invalid_body"),
    (b'{"token": "x", "answers": {}, "extra": 1}', "application/json", 400, "unknown_fields"),
    (b'{"answers": {}}', "application/json", 400, "missing_token"),
    (b'{"token": "x"}', "application/json", 400, "missing_answers"),
    (b'{"token": "x", "answers": []}', "application/json", 400, "missing_answers"),
    ('{"token": "\u00e5\u00e4\u00f6", "answers": {}}'.encode("latin-1"), "application/json", 400, "not_utf8"),
    (b'{"token": "NOT-A-TOKEN", "answers": {}}', "application/json", 404, "unknown_token"),
    (b'{"token": "\\ud800", "answers": {}}', "application/json", 404, "unknown_token"),
    (b'{"token": "   ", "answers": {}}', "application/json", 400, "missing_token"),
    (b'{"token": "x", "answers": {}, "comment": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "application/json", 400,
     "invalid_json"),
    (b"{" * 30_000, "application/json", 400, "invalid_json"),
])
def test_malformed_requests(client: FlaskClient, opened, data: bytes, content_type: str, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(URL, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert "Set-Cookie" not in response.headers


def test_a_comment_that_is_not_text_is_refused(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    body = b'{"token": "' + link.encode() + b'", "answers": {}, "comment": "hej \\ud800"}'
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["problems"]["comment"]["code"] == "not_text"


def test_huge_bodies_are_refused(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    response = post(client, {"token": link, "answers": GOOD, "comment": "x" * 70_000})
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"


def test_closed_round(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    session.execute(update(Round).values(closes_at=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    session.commit()
    response = post(client, {"token": link, "answers": GOOD})
    assert response.status_code == 410 and response.get_json()["error"]["code"] == "round_closed"


def test_get_is_not_allowed(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response.is_json
