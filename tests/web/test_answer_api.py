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
    assert post(client, {"token": code, "answers": {}, "confirm_empty": True}).status_code == 201


@pytest.mark.parametrize("language", ["sv", "en"])
def test_an_empty_set_is_refused_until_confirmed_and_the_invitation_still_works(  # type: ignore[no-untyped-def]
        client: FlaskClient, opened, session: Session, language: str) -> None:
    """Like the form (tests/web/test_confirm_empty.py): nothing answered, no "prefer not to say" and no comment
    would use the invitation up for nothing, so the API asks — 422 ``confirm_empty``, in the page's words — and
    stores nothing; the same invitation then works, once."""
    link, code = opened.credentials["employee@example.org"]
    for body in ({"token": link, "answers": {}}, {"token": code, "answers": {}, "comment": "  \n "},
                 {"token": link, "answers": {}, "comment": None, "confirm_empty": False}):
        refused = post(client, body, headers={"Accept-Language": language})
        assert refused.status_code == 422, body
        error = refused.get_json()["error"]
        assert error["code"] == "confirm_empty" and error["details"]["field"] == "confirm_empty"
        words = {"sv": ("Du har inte svarat på något", "Skicka utan svar", "inbjudan"),
                 "en": ("You have not answered anything", "Send without answers", "invitation")}[language]
        assert error["details"]["title"] == words[0] and error["details"]["confirm"] == words[1]
        assert words[2] in error["message"]
        assert "Set-Cookie" not in refused.headers
    assert stored(session) == 0  # nothing stored, and the credential is not spent:
    sent = post(client, {"token": link, "answers": {}, "confirm_empty": True})
    assert sent.status_code == 201 and stored(session) == 1
    again = post(client, {"token": code, "answers": {}, "confirm_empty": True})
    assert again.status_code == 409 and stored(session) == 1


def test_prefer_not_to_say_or_a_comment_is_not_an_empty_set(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    first, _ = opened.credentials["employee@example.org"]
    second, _ = opened.credentials["safety@example.org"]
    assert post(client, {"token": first, "answers": {"OSA-SP1": None}}).status_code == 201
    assert post(client, {"token": second, "answers": {}, "comment": "Bra"}).status_code == 201
    assert stored(session) == 2


def test_an_unconfirmed_empty_set_tells_nothing_about_the_invitation(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                      session: Session) -> None:
    """Refused before anything is tried: the same 422 for a used and an unused invitation (docs/ANONYMITY.md,
    "Who learns who answered"), while an unknown one is still told it is unknown."""
    used, _ = opened.credentials["employee@example.org"]
    unused, _ = opened.credentials["safety@example.org"]
    assert post(client, {"token": used, "answers": GOOD}).status_code == 201
    looks = [(r.status_code, r.get_data(as_text=True)) for r in
             (post(client, {"token": t, "answers": {}}) for t in (used, unused))]
    assert looks[0] == looks[1] and looks[0][0] == 422
    assert post(client, {"token": "ABCD-EFGH-JKLM", "answers": {}}).status_code == 404
    assert stored(session) == 1
    assert post(client, {"token": unused, "answers": GOOD}).status_code == 201


def test_a_round_that_requires_an_answer_says_so_instead(client: FlaskClient, app: Flask, org,  # type: ignore[no-untyped-def]
                                                         session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a question offers no "prefer not to say", an empty set cannot be stored at all: the question's own
    error, as on the form, and confirming does not get round it."""
    from pulse.models import Question
    from pulse.respondent.answer_api import views

    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    survey = make_survey(session, [org.dept])
    session.execute(Question.__table__.update().where(Question.code == "OSA-WL1").values(allow_skip=False))
    session.commit()
    link = open_with_credentials(session, app, survey).credentials["employee@example.org"][0]
    for confirmed in (False, True):
        response = post(client, {"token": link, "answers": {}, "confirm_empty": confirmed})
        assert response.status_code == 422
        assert response.get_json()["error"]["details"]["problems"]["OSA-WL1"]["code"] == "required"
    assert stored(session) == 0


@pytest.mark.parametrize(("data", "content_type", "status", "code"), [
    (b'{"token": "x"}', "text/plain", 415, "unsupported_media_type"),
    (b"token=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"{not json", "application/json", 400, "invalid_json"),
    (b'"just a string"', "application/json", 400, "invalid_body"),
    (b'{"token": "x", "answers": {}, "extra": 1}', "application/json", 400, "unknown_fields"),
    (b'{"token": "x", "answers": {}, "confirm_empty": "yes"}', "application/json", 400, "invalid_confirm_empty"),
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


@pytest.mark.parametrize(("language", "unknown", "malformed"), [
    ("sv", "Ingen öppen inbjudan har den här token eller koden.", "Innehållet är inte giltig JSON."),
    ("en", "No open invitation has this token or code.", "The body is not valid JSON."),
])
def test_errors_are_written_in_the_language_asked_for(client: FlaskClient, opened, language: str,  # type: ignore[no-untyped-def]
                                                      unknown: str, malformed: str) -> None:
    headers = {"Accept-Language": language}
    response = post(client, {"token": "x" * 40, "answers": {}, "comment": None}, headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["message"] == unknown
    response = client.post("/api/v1/answers", data=b"{not json", content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.get_json()["error"]["message"] == malformed
    response = client.post("/api/v1/answers", data=b"{}", content_type="text/plain", headers=headers)
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_media_type"
    assert response.get_json()["error"]["message"] != "Send the answers as JSON (Content-Type: application/json)." \
        or language == "en"


def test_a_comment_to_a_round_without_comments_is_refused(client: FlaskClient, app: Flask, org,  # type: ignore[no-untyped-def]
                                                          session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """A round that collects no comments refuses one (422, ``comments_closed`` on ``comment``) and stores nothing;
    the same answers without a comment — or with a blank one — are stored."""
    from pulse.respondent.answer_api import views

    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    quiet = open_with_credentials(session, app, make_survey(session, [org.dept], comment_enabled=False))
    link, _ = quiet.credentials["employee@example.org"]
    refused = post(client, {"token": link, "answers": GOOD, "comment": "Mer fika"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_answers"
    problems = refused.get_json()["error"]["details"]["problems"]
    assert {k: v["code"] for k, v in problems.items()} == {"comment": "comments_closed"}
    assert stored(session) == 0
    assert post(client, {"token": link, "answers": GOOD}).status_code == 201
    other, _ = quiet.credentials["safety@example.org"]
    assert post(client, {"token": other, "answers": GOOD, "comment": " \n "}).status_code == 201
    assert stored(session) == 2


def test_an_unknown_question_is_named_by_its_first_40_characters(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                 session: Session) -> None:
    """A client that sends a code the round does not ask is told which one — cut to its first 40 characters, so a
    long made-up key is not echoed back whole."""
    link, _ = opened.credentials["employee@example.org"]
    long_code = "Q" * 39 + "WXYZ"
    response = post(client, {"token": link, "answers": {**GOOD, long_code: 1}})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["problems"]
    assert list(problems) == ["Q" * 39 + "W"]
    assert problems["Q" * 39 + "W"]["code"] == "unknown_question"
    assert stored(session) == 0


def test_while_the_invitations_are_still_going_out_the_client_is_told_to_wait(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                             session: Session) -> None:
    """A round whose mail-out is not done (here: being sent again after a failure) answers 503 ``not_ready`` with
    Retry-After, stores nothing and does not spend the invitation, which works once the mail-out is done."""
    link, _ = opened.credentials["employee@example.org"]
    for state in ("pending", "sending"):
        session.execute(update(Round).values(mailout=state))
        session.commit()
        response = post(client, {"token": link, "answers": GOOD})
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "not_ready"
        assert response.headers["Retry-After"] == "120"
        assert stored(session) == 0
    session.execute(update(Round).values(mailout="done"))
    session.commit()
    assert post(client, {"token": link, "answers": GOOD}).status_code == 201


def test_an_answer_that_cannot_be_sealed_is_refused_as_too_long(client: FlaskClient, opened, session: Session,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Defensive branch (normal input cannot reach it: the comment is checked against MAX_COMMENT first), reached by
    monkeypatching the sealing to fail: the client gets 422 ``comment_too_long`` on ``comment``, nothing is stored and
    the invitation still works."""
    from pulse.domain.sealing import SealingError
    from pulse.services import answers

    def too_big(*_args: object) -> bytes:
        raise SealingError("does not fit")

    link, _ = opened.credentials["employee@example.org"]
    with monkeypatch.context() as patch:
        patch.setattr(answers, "seal_payload", too_big)
        response = post(client, {"token": link, "answers": GOOD, "comment": "Bra"})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["problems"]
    assert {k: v["code"] for k, v in problems.items()} == {"comment": "comment_too_long"}
    assert stored(session) == 0
    assert post(client, {"token": link, "answers": GOOD, "comment": "Bra"}).status_code == 201
