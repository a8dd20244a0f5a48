"""Admin pages for questions, surveys and rounds; the staff "Answer now" hand-off; round integrity pages."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, PendingResponse, Question, Round, Survey
from pulse.services import questions as question_service
from tests.factories import make_person, sign_in
from tests.rounds import make_survey


def english(session: Session, email: str) -> None:
    from pulse.models import Person

    session.execute(Person.__table__.update().where(Person.email == email).values(language="en"))
    session.commit()


def test_question_bank_pages(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    question_service.install_bank(session)
    session.commit()
    english(session, "admin@example.org")
    sign_in(client, "admin@example.org")
    page = client.get("/staff/admin/questions").get_data(as_text=True)
    assert "OSA-WL1" in page and "HME-1" in page and "Sveriges Kommuner och Regioner" in page
    # Edit: a new version, the old one kept.
    response = client.post("/staff/admin/questions/OSA-WL1", data={
        "area": "workload", "text_sv": "Jag hinner med jobbet.", "text_en": "I get my work done.",
        "allow_skip": "y"})
    assert response.status_code == 302
    session.rollback()
    assert [q.version for q in question_service.versions(session, "OSA-WL1")] == [2, 1]
    page = client.get("/staff/admin/questions/OSA-WL1").get_data(as_text=True)
    assert "version 2" in page and "Earlier versions" in page
    # Saving the same again is refused with a message, not a new version.
    response = client.post("/staff/admin/questions/OSA-WL1", data={
        "area": "workload", "text_sv": "Jag hinner med jobbet.", "text_en": "I get my work done.",
        "allow_skip": "y"})
    assert response.status_code == 400 and "no new version was made" in response.get_data(as_text=True)
    # Add a question; a taken code is refused.
    new = {"code": "own-1", "scale": "agree5", "area": "support", "text_sv": "Fråga?", "text_en": "Question?"}
    assert client.post("/staff/admin/questions/new", data=new).status_code == 302
    taken = client.post("/staff/admin/questions/new", data=new)
    assert taken.status_code == 400 and "already used" in taken.get_data(as_text=True)
    bad = client.post("/staff/admin/questions/new", data={**new, "code": "bad code!", "scale": "stars"})
    assert bad.status_code == 400
    assert client.get("/staff/admin/questions/NOPE").status_code == 404
    assert client.post("/staff/admin/questions/OWN-1/retire").status_code == 302
    session.rollback()
    assert session.scalar(select(Question.retired).where(Question.code == "OWN-1")) is True


def _survey_form(org, **changes: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "name": "Veckopuls", "units": [str(org.dept.id)], "questions": ["OSA-WL1", "OSA-SP1", "OSA-NPS"],
        "question_mode": "fixed", "cadence": "weekly", "open_weekday": "0", "open_time": "08:00", "open_days": "5",
        "language": "sv", "min_group_size": "6", "min_dist_size": "10", "min_comment_size": "10",
        "comment_enabled": "y", "reminder_policy": "everyone", "reminder_after_days": "2", "active": "y",
    }
    data.update(changes)
    return data


def test_create_edit_open_and_close_a_survey(client: FlaskClient, org, session: Session, app: Flask) -> None:  # type: ignore[no-untyped-def]
    question_service.install_bank(session)
    for i in range(8):
        make_person(session, f"member{i}@example.org", unit=org.team_b, password=None)
    session.commit()
    english(session, "admin@example.org")
    sign_in(client, "admin@example.org")
    assert client.get("/staff/admin/surveys/new").status_code == 200
    low = client.post("/staff/admin/surveys/new", data=_survey_form(org, min_group_size="4"))
    assert low.status_code == 400 and "may not be lower than 6" in low.get_data(as_text=True)
    rotation = client.post("/staff/admin/surveys/new", data=_survey_form(org, question_mode="rotation",
                                                                          rotation_count="3"))
    assert rotation.status_code == 400 and "between 1 and 2" in rotation.get_data(as_text=True)
    response = client.post("/staff/admin/surveys/new", data=_survey_form(org))
    assert response.status_code == 302
    survey_url = response.headers["Location"]
    session.rollback()
    survey = session.scalar(select(Survey))
    assert survey is not None and survey.next_open_at is not None
    # Raising a threshold is audited.
    assert client.post(survey_url, data=_survey_form(org, min_group_size="7")).status_code == 302
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.update"))
    assert entry is not None and '"min_group_size":{"from":6,"to":7}' in entry.details
    # Open a round by hand: invitations go to the outbox.
    response = client.post(survey_url + "/open")
    assert response.status_code == 302
    round_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitations" in round_page and "not shown while so few are invited" in round_page
    # Team B's nine are invited; team A's one employee and the department's manager would be two in a group,
    # fewer than k = 7, so they are not invited, and the page says so.
    assert "Not invited" in round_page and "Team A: not invited" in round_page
    assert "9 sent" in round_page
    assert len(list(app.config["PULSE"].outbox_dir.glob("*.eml"))) == 9
    again = client.post(survey_url + "/open", follow_redirects=True)
    assert "already open" in again.get_data(as_text=True)
    session.rollback()
    rnd = session.scalar(select(Round))
    assert rnd is not None
    # Closing early asks first: what it means, the answers so far (a band safe by the k rule, here nothing with
    # nine invited) and the date it would have closed; the round stays open until confirmed.
    asked = client.post(f"/staff/admin/rounds/{rnd.id}/close")
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Close round 1 now?" in text and "cannot be undone" in text
    assert "Would have closed" in text and "not shown while so few are invited" in text
    assert 'name="confirm" value="yes"' in text
    session.rollback()
    assert session.get_one(Round, rnd.id).status == "open"
    assert client.post(f"/staff/admin/rounds/{rnd.id}/close", data={"confirm": "yes"}).status_code == 302
    session.rollback()
    assert session.get_one(Round, rnd.id).status == "closed"
    assert client.get("/staff/admin/rounds/999").status_code == 404
    assert client.get("/staff/admin/surveys/999").status_code == 404


def test_answer_now_hands_over_to_the_anonymous_page(client: FlaskClient, org, session: Session,  # type: ignore[no-untyped-def]
                                                     app: Flask) -> None:
    from tests.rounds import open_with_credentials

    opened = open_with_credentials(session, app, make_survey(session, [org.dept]))
    session.execute(Round.__table__.update().values(closes_at=opened.round.closes_at.replace(year=2099)))
    session.commit()
    sign_in(client, "employee@example.org")
    home = client.get("/staff/").get_data(as_text=True)
    assert "Svara nu" in home
    handoff = client.post(f"/staff/answer/{opened.round.id}")
    text = handoff.get_data(as_text=True)
    assert handoff.status_code == 200 and 'action="http://pulse.test/r/start"' in text  # the respondent app
    credential = re.search(r'name="credential" value="([^"]+)"', text)
    assert credential
    anonymous = app.test_client()  # the browser does not send the staff cookie to /r
    response = anonymous.post("/r/submit", data={"credential": credential.group(1), "q-OSA-WL1": "4"})
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1
    # Answered: no more "Answer now" — only the person can see this, with the key their password unlocked — and
    # the hand-off says so instead of handing over a used credential.
    home = client.get("/staff/").get_data(as_text=True)
    assert "Svara nu" not in home and "Du har svarat" in home
    again = client.post(f"/staff/answer/{opened.round.id}")
    assert again.status_code == 302 and again.headers["Location"].endswith("/staff/")
    assert client.post("/staff/answer/12345").status_code == 404


def test_integrity_page_for_safety_representatives(client: FlaskClient, org, session: Session, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_person
    from tests.rounds import open_with_credentials

    for i in range(3):
        make_person(session, f"elsewhere{i}@example.org", unit=org.other)
    session.commit()
    inside = open_with_credentials(session, app, make_survey(session, [org.dept])).round
    outside = open_with_credentials(session, app, make_survey(session, [org.other], name="Annan")).round
    sign_in(client, "safety@example.org")
    listing = client.get("/staff/rounds").get_data(as_text=True)
    assert "Veckopuls" in listing
    page = client.get(f"/staff/rounds/{inside.id}")
    assert page.status_code == 200 and "Inbjudningar" in page.get_data(as_text=True)
    assert client.get("/staff/rounds/999").status_code == 404
    assert "Annan" not in listing
    assert client.get(f"/staff/rounds/{outside.id}").status_code == 404  # outside the safety area
    client.post("/staff/logout")
    sign_in(client, "manager@example.org")
    assert client.get(f"/staff/rounds/{inside.id}").status_code == 403
