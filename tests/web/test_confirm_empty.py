"""Sending the answer form with nothing filled in would use up the invitation: the page asks first, without
JavaScript, storing and remembering nothing meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import PendingResponse
from tests.rounds import make_survey, open_with_credentials
from tests.web.test_respond import ANSWERS
from tests.web.test_respond import opened as opened  # noqa: F401 - the fixture


def stored(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(PendingResponse)) or 0


def test_an_empty_answer_set_asks_first_then_sends_when_confirmed(client: FlaskClient, opened,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                  session: Session) -> None:
    link, _ = opened.credentials["employee@example.org"]
    asked = client.post("/r/submit", data={"credential": link, "comment": "   "})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Set-Cookie" not in asked.headers
    assert "Du har inte svarat på något" in text and "inbjudan är förbrukad" in text
    # The same form is still there, with the credential in the body (never the address), and a second button.
    assert 'name="credential" value="' + link + '"' in text and 'name="confirm_empty" value="yes"' in text
    assert 'form="answer-form"' in text and "<fieldset" in text
    assert stored(session) == 0
    # Going back and answering works: the invitation was not used.
    done = client.post("/r/submit", data={"credential": link, **ANSWERS})
    assert done.status_code == 200 and "utan koppling till dig" in done.get_data(as_text=True)
    assert stored(session) == 1


def test_confirmed_empty_set_is_sent(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    link, _ = opened.credentials["employee@example.org"]
    done = client.post("/r/submit", data={"credential": link, "confirm_empty": "yes"})
    assert done.status_code == 200 and "utan koppling till dig" in done.get_data(as_text=True)
    assert stored(session) == 1
    again = client.post("/r/submit", data={"credential": link, **ANSWERS})
    assert "redan sparats" in again.get_data(as_text=True)


def test_prefer_not_to_say_or_a_comment_is_not_empty(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    first, _ = opened.credentials["employee@example.org"]
    assert "utan koppling till dig" in client.post("/r/submit", data={"credential": first, "q-OSA-SP1": "skip"}
                                                   ).get_data(as_text=True)
    second = next(link for email, (link, _) in opened.credentials.items() if email != "employee@example.org")
    assert "utan koppling till dig" in client.post("/r/submit", data={"credential": second, "comment": "Bra"}
                                                   ).get_data(as_text=True)
    assert stored(session) == 2


def test_a_round_with_a_required_question_shows_its_error_instead(client: FlaskClient, app: Flask, org,  # type: ignore[no-untyped-def]
                                                                  session: Session,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Such a set cannot be stored at all, so the form's error says what is missing (no offer to send anyway)."""
    from pulse.models import Question
    from pulse.respondent.answering import views

    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    survey = make_survey(session, [org.dept])
    session.execute(Question.__table__.update().where(Question.code == "OSA-WL1").values(allow_skip=False))
    session.commit()
    fresh = open_with_credentials(session, app, survey)
    link = fresh.credentials["employee@example.org"][0]
    page = client.post("/r/submit", data={"credential": link})
    assert page.status_code == 400 and "confirm_empty" not in page.get_data(as_text=True)
    assert "Välj ett svar på fråga 1" in page.get_data(as_text=True)
    assert stored(session) == 0


def test_closing_early_shows_the_answers_as_a_band_and_the_planned_date(client: FlaskClient, app: Flask, org,  # type: ignore[no-untyped-def]
                                                                      session: Session) -> None:
    """The count on the confirmation is the open round's band (never the exact number, which would tell the
    administrator who answered when compared over time), with the date the round would have closed."""
    import re

    from pulse.domain.participation import open_participation
    from pulse.models import Round
    from pulse.services import answers as answer_service
    from tests.factories import make_person, sign_in
    from tests.rounds import keys

    for i in range(12):
        make_person(session, f"member{i}@example.org", unit=org.team_b, password=None)
    session.commit()
    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    for link, _ in list(opened.credentials.values())[:7]:
        answer_service.submit(session, keys(app).token, link, {"OSA-WL1": 3}, None, now=opened.round.opened_at)
    session.commit()
    rnd = session.get_one(Round, opened.round.id)
    band = open_participation(rnd.invited, 7, rnd.min_group_size).band
    assert band is not None and band[0] <= 7 <= band[1] and band[1] - band[0] + 1 >= rnd.min_group_size
    sign_in(client, "admin@example.org")
    page = client.post(f"/staff/admin/rounds/{rnd.id}/close").get_data(as_text=True)
    assert re.search(rf"(mellan|between) {band[0]} (och|and) {band[1]}", page), page[page.find("<dl"):][:800]
    assert str(rnd.closes_at.year) in page
    session.rollback()
    assert session.get_one(Round, rnd.id).status == "open"
