"""What employees see of "you said, we did" and of the help text: without signing in, for the unit their one-time
credential counts in, the same for everyone there, and never anything of another unit or a draft."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pulse import disclosure, scheduler
from pulse.common.db import get_database
from pulse.services import rounds as round_service
from pulse.services import sam
from pulse.services.org import Scope
from tests.figures import Made, release_rounds
from tests.rounds import TZ, keys, open_with_credentials

ADMIN = Scope(True, frozenset())
HEARD_ALFA = "Ni sa att tiden inte räcker till dokumentationen."
HEARD_BETA = "Beta-gruppen saknar stöd från chefen."


@pytest.fixture
def made(session: Session, app: Flask, monkeypatch: pytest.MonkeyPatch) -> Made:
    from pulse.respondent import guard
    from pulse.respondent.answering import views

    made = release_rounds(session, app, {"alfa": 6, "beta": 6}, [{"alfa": [{"OSA-WL1": 2}] * 6}], k=3, k_dist=3)
    closed = disclosure.release_info(session, made.releases[0]).closed_at
    monkeypatch.setattr(views, "utcnow", lambda: closed + dt.timedelta(days=3, hours=1))
    monkeypatch.setattr(guard.limiter, "_failures", {})
    return made


def publish(session: Session, made: Made, team: str, heard: str, *, draft: bool = False) -> int:
    unit = made.teams[team]
    action = sam.create_action(session, unit.id, sam.ActionInput(
        "Dokumentationstid i schemat varje vecka", "", "Enhetschef", None, dt.date(2026, 12, 1),
        dt.date(2027, 1, 15)), scope=ADMIN, by=None)
    feedback = sam.create_feedback(session, unit.id, sam.FeedbackInput(made.releases[0], heard, "Vi provar i vår.",
                                                                       (action.id,)), scope=ADMIN, by=None)
    if not draft:
        sam.publish_feedback(session, feedback.id, scope=ADMIN, now=dt.datetime.now(dt.UTC))
    session.commit()
    return feedback.id


def next_round(session: Session, app: Flask, made: Made):  # type: ignore[no-untyped-def]
    closed = disclosure.release_info(session, made.releases[0]).closed_at
    return open_with_credentials(session, app, made.survey, now=closed + dt.timedelta(days=3))


def test_the_answer_page_shows_the_unit_s_feedback_before_the_questions(client: FlaskClient, app: Flask,
                                                                        session: Session, made: Made) -> None:
    publish(session, made, "alfa", HEARD_ALFA)
    publish(session, made, "beta", HEARD_BETA, draft=True)
    opened = next_round(session, app, made)
    page = client.post("/r/start", data={"credential": opened.credentials["alfa0@example.org"][0]})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert "Ni sa, vi gjorde" in text and HEARD_ALFA in text and "Dokumentationstid i schemat" in text
    assert text.index(HEARD_ALFA) < text.index("<fieldset")
    # Everyone who counts in alfa sees the same; beta's is a draft, so beta sees nothing — and never alfa's.
    other = client.post("/r/start", data={"credential": opened.credentials["alfa3@example.org"][0]})
    assert HEARD_ALFA in other.get_data(as_text=True)
    beta = client.post("/r/start", data={"credential": opened.credentials["beta0@example.org"][0]})
    beta_text = beta.get_data(as_text=True)
    assert beta.status_code == 200 and HEARD_ALFA not in beta_text and HEARD_BETA not in beta_text
    assert "Ni sa, vi gjorde" not in beta_text


def test_the_thanks_page_shows_help_to_everyone_whatever_they_answered(client: FlaskClient, app: Flask,
                                                                       session: Session, made: Made) -> None:
    sam.set_help(session, None, "Ring företagshälsovården på 010-123 45 67.",
                 "Rutin mot kränkningar | https://intranet.example.se/rutin", scope=ADMIN)
    session.commit()
    publish(session, made, "alfa", HEARD_ALFA)
    opened = next_round(session, app, made)
    helps = []
    for person, victimised in (("alfa0", "2"), ("alfa1", "0"), ("alfa2", "skip")):
        done = client.post("/r/submit", data={"credential": opened.credentials[f"{person}@example.org"][0],
                                              "q-OSA-WL1": "3", "q-OSA-VI1": victimised})
        text = done.get_data(as_text=True)
        assert done.status_code == 200 and "Set-Cookie" not in done.headers, text[:300]
        assert HEARD_ALFA in text
        section = re.search(r'<section class="card help".*?</section>', text, re.S)
        assert section, "no help section"
        helps.append(section.group(0))
    # Exactly the same text for a "yes", a "no" and a skipped question: it says nothing about the answer.
    assert len(set(helps)) == 1
    assert "010-123 45 67" in helps[0] and 'href="https://intranet.example.se/rutin"' in helps[0]


def test_no_help_where_the_round_asked_nothing_about_victimisation_or_threats(
        client: FlaskClient, app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from pulse.respondent.answering import views

    made = release_rounds(session, app, {"alfa": 6}, [{"alfa": [{"OSA-WL1": 2}] * 6}], k=3, k_dist=3,
                          questions=("OSA-WL1", "OSA-SP1"))
    closed = disclosure.release_info(session, made.releases[0]).closed_at
    monkeypatch.setattr(views, "utcnow", lambda: closed + dt.timedelta(days=3, hours=1))
    sam.set_help(session, None, "Ring företagshälsovården.", "", scope=ADMIN)
    session.commit()
    opened = next_round(session, app, made)
    done = client.post("/r/submit", data={"credential": opened.credentials["alfa0@example.org"][0],
                                          "q-OSA-WL1": "3"})
    assert done.status_code == 200 and "företagshälsovården" not in done.get_data(as_text=True)


def test_the_next_invitation_carries_the_feedback_of_the_unit(app: Flask, session: Session, made: Made) -> None:
    publish(session, made, "alfa", HEARD_ALFA)
    closed = disclosure.release_info(session, made.releases[0]).closed_at
    rnd = round_service.open_round(session, made.survey, keys(app), now=closed + dt.timedelta(days=3), tz=TZ)
    session.commit()
    with app.app_context():
        outcome = scheduler.mail_invitations(get_database(app), rnd.id, keys(app))
    assert outcome.outcome == "done"
    folder = app.config["PULSE"].outbox_dir
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in folder.glob("*.eml")]
    texts = {m["To"]: str(m.get_body(preferencelist=("plain",)).get_content()) for m in messages}  # type: ignore[union-attr]
    assert all(HEARD_ALFA in texts[f"alfa{i}@example.org"] for i in range(6))
    assert all(HEARD_ALFA not in texts[f"beta{i}@example.org"] for i in range(6))
