"""The SAM pages as a manager uses them, and as an attacker tries them: from a flag to a risk, actions with owners
and dates, an APT with decisions, feedback published; nothing of another unit by id, bad input refused whole."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.models import Action, AptMeeting, AuditEntry, Feedback, Risk
from pulse.services import sam
from pulse.services.org import Scope
from tests.factories import make_person, sign_in, snapshot
from tests.figures import Made, release_rounds

ADMIN = Scope(True, frozenset())
QUESTIONS = ("OSA-WL1", "OSA-VI1", "OSA-TH1")


@pytest.fixture
def made(session: Session, app: Flask) -> Made:
    """Alfa and beta of six each; in alfa someone answered "yes" to both the victimisation and the threats question.
    Alfa's manager ("chef-alfa"), beta's manager, and the department's safety representative."""
    answers = [{"OSA-WL1": 2, "OSA-VI1": 0, "OSA-TH1": 0}] * 5 + [{"OSA-WL1": 2, "OSA-VI1": 1, "OSA-TH1": 2}]
    made = release_rounds(session, app, {"alfa": 6, "beta": 6}, [{"alfa": answers, "beta": answers}], k=3, k_dist=3,
                          questions=QUESTIONS)
    make_person(session, "chef-alfa@example.org", manages=[made.teams["alfa"]], name="Alva Chef")
    make_person(session, "chef-beta@example.org", manages=[made.teams["beta"]], name="Bo Chef")
    make_person(session, "ombud@example.org", safety_area=[made.dept], name="Sara Skyddsombud")
    session.commit()
    return made


def action_form(**changes: str) -> dict[str, str]:
    return {"activity": "Inför en stängd planeringsdag", "goal": "Mindre stress", "owner_role": "Enhetschef",
            "owner_id": "", "start_on": "2026-12-01", "due_on": "2027-01-31", "status": "planned",
            "follow_up_on": "2027-03-01", "cost_sek": "", "result": "", "risk_id": "", "question_code": "",
            "meeting_id": "", **changes}


def test_from_a_flag_to_a_risk_an_action_and_feedback(client: FlaskClient, session: Session, made: Made) -> None:
    alfa = made.teams["alfa"]
    release = made.releases[0]
    sign_in(client, "chef-alfa@example.org")
    page = client.get(f"/staff/results/{release}/units/{alfa.id}", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    flags = re.search(r'<ul class="flag-list">(.*?)</ul>', text, re.S)
    assert flags, text[:2000]
    items = re.findall(r"<li>(.*?)</li>", flags.group(1), re.S)
    # One flag per question, each readable on its own, each with its own link.
    assert len(items) == 2
    assert "kränkande särbehandling" in items[0] and "hotad" in items[1]
    links = [re.search(r'href="([^"]+)"', item).group(1).replace("&amp;", "&") for item in items]  # type: ignore[union-attr]
    query = parse_qs(urlsplit(links[0]).query)
    assert urlsplit(links[0]).path == f"/staff/sam/units/{alfa.id}/risks/new"
    assert query == {"release_id": [str(release)], "question_id": ["OSA-VI1"], "source": ["flag"]}

    form_page = client.get(links[0])
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    assert re.search(r'<option selected value="victimisation">|<option value="victimisation" selected>', html)
    saved = client.post(links[0], data={
        "description": "Någon har blivit utsatt för kränkande särbehandling", "area": "victimisation",
        "serious": "y", "assessed_by": "Alva Chef", "assessed_with": "Skyddsombudet", "safety_rep_involved": "y",
        "assessed_on": "2026-12-02", "status": "open", "release_id": str(release), "question_code": "OSA-VI1"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    session.rollback()  # end the test's read transaction: on SQLite it would keep seeing the moment before
    risk = session.scalars(select(Risk)).one()
    assert (risk.unit_id, risk.release_id, risk.question_code, risk.source, risk.serious) == (
        alfa.id, release, "OSA-VI1", "flag", True)

    owner = session.scalar(select(sam.Person).where(sam.Person.email == "alfa0@example.org"))
    assert owner is not None
    done = client.post(f"/staff/sam/units/{alfa.id}/actions/new", data=action_form(
        risk_id=str(risk.id), owner_id=str(owner.id), question_code="OSA-WL1"))
    assert done.status_code == 302
    session.rollback()
    action = session.scalars(select(Action)).one()
    assert (action.owner_id, action.risk_id, action.due_on) == (owner.id, risk.id, dt.date(2027, 1, 31))
    shown = client.get(f"/staff/sam/actions/{action.id}").get_data(as_text=True)
    assert "Uppmätt effekt" in shown  # the question's released figures are shown

    meeting = client.post(f"/staff/sam/units/{alfa.id}/meetings/new", data={
        "held_on": "2026-12-03", "release_id": str(release), "minutes": "Vi gick igenom resultaten."})
    assert meeting.status_code == 302
    session.rollback()
    meeting_id = session.scalars(select(AptMeeting.id)).one()
    assert client.post(f"/staff/sam/units/{alfa.id}/actions/new", data=action_form(
        activity="Boka in företagshälsovården", meeting_id=str(meeting_id))).status_code == 302
    assert "Boka in företagshälsovården" in client.get(f"/staff/sam/meetings/{meeting_id}").get_data(as_text=True)

    feedback = client.post(f"/staff/sam/units/{alfa.id}/feedback/new", data={
        "release_id": str(release), "heard": "Ni sa att tiden inte räcker.", "doing": "Planeringsdag.",
        "action_ids": [str(action.id)]})
    assert feedback.status_code == 302
    session.rollback()
    feedback_id = session.scalars(select(Feedback.id)).one()
    assert sam.feedback_for(session, alfa.id) is None  # a draft
    # The page shows the released results to write from: the concerns of the release, through the gate.
    draft = client.get(f"/staff/sam/feedback/{feedback_id}").get_data(as_text=True)
    heard_from = draft[draft.index("Ur resultaten"):draft.index("</section>", draft.index("Ur resultaten"))]
    assert "Jag hinner med mina arbetsuppgifter" in heard_from and "2,0" in heard_from
    # Where it is published, the page says when employees see it (each process keeps the notes 30 seconds).
    assert "svarssidorna inom 30 sekunder" in draft
    assert "tacksidan inom 30 sekunder" in client.get(f"/staff/sam/units/{alfa.id}/help").get_data(as_text=True)
    # Showing release figures is a view of the release, in the audit log like the results pages'.
    session.rollback()
    views = session.scalars(select(AuditEntry).where(AuditEntry.action == "release.view")).all()
    assert {json.loads(v.details or "{}").get("page") for v in views} >= {"sam.feedback", "sam.action"}
    assert client.post(f"/staff/sam/feedback/{feedback_id}/publish", data={"publish": "1"}).status_code == 302
    session.rollback()
    seen = sam.feedback_for(session, alfa.id)
    assert seen is not None and [a.activity for a in seen.actions] == ["Inför en stängd planeringsdag"]
    unit_page = client.get(f"/staff/sam/units/{alfa.id}").get_data(as_text=True)
    assert "Inför en stängd planeringsdag" in unit_page and "publicerad" in unit_page


def beta_records(session: Session, made: Made) -> dict[str, int]:
    beta = made.teams["beta"]
    risk = sam.create_risk(session, beta.id, sam.RiskInput("Betas risk", "workload", False, "Bo", "", False,
                                                           dt.date(2026, 12, 1)), scope=ADMIN, by=None)
    action = sam.create_action(session, beta.id, sam.ActionInput("Betas åtgärd", "", "Chef", None,
                                                                 dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
                               scope=ADMIN, by=None)
    meeting = sam.create_meeting(session, beta.id, sam.MeetingInput(dt.date(2026, 12, 1), "Betas protokoll"),
                                 scope=ADMIN, by=None)
    feedback = sam.create_feedback(session, beta.id, sam.FeedbackInput(made.releases[0], "Betas återkoppling"),
                                   scope=ADMIN, by=None)
    session.commit()
    return {"risk": risk.id, "action": action.id, "meeting": meeting.id, "feedback": feedback.id}


def test_another_unit_s_records_are_out_of_reach_by_id(client: FlaskClient, session: Session, made: Made) -> None:
    beta = beta_records(session, made)
    alfa, beta_unit = made.teams["alfa"], made.teams["beta"]
    before = snapshot(session)
    sign_in(client, "chef-alfa@example.org")
    missing = client.get("/staff/sam/risks/999999", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    for path in (f"/staff/sam/risks/{beta['risk']}", f"/staff/sam/actions/{beta['action']}",
                 f"/staff/sam/meetings/{beta['meeting']}", f"/staff/sam/feedback/{beta['feedback']}",
                 f"/staff/sam/units/{beta_unit.id}", f"/staff/sam/units/{beta_unit.id}/risks/new",
                 f"/staff/sam/units/{beta_unit.id}/help"):
        response = client.get(path, headers={"Accept-Language": "en"})
        body = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "Beta" not in body and "beta" not in body.replace(path, ""), path
    for path, data in ((f"/staff/sam/risks/{beta['risk']}", {"description": "Kapad"}),
                       (f"/staff/sam/actions/{beta['action']}", action_form(activity="Kapad")),
                       (f"/staff/sam/feedback/{beta['feedback']}/publish", {"publish": "1"}),
                       (f"/staff/sam/units/{beta_unit.id}/actions/new", action_form()),
                       (f"/staff/sam/units/{beta_unit.id}/feedback/new",
                        {"release_id": str(made.releases[0]), "heard": "x"})):
        assert client.post(path, data=data).status_code == 404, path
    # Linking alfa's new action to beta's risk or meeting, naming a beta person owner, or showing beta's action in
    # alfa's feedback: refused, with the reason at the field.
    beta_person = session.scalar(select(sam.Person.id).where(sam.Person.email == "beta0@example.org"))
    for changes in ({"risk_id": str(beta["risk"])}, {"meeting_id": str(beta["meeting"])},
                    {"owner_id": str(beta_person)}):
        refused = client.post(f"/staff/sam/units/{alfa.id}/actions/new", data=action_form(**changes),
                              headers={"Accept-Language": "en"})
        assert refused.status_code == 400, changes
        field = next(iter(changes))
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"',
                         refused.get_data(as_text=True)), changes
    refused = client.post(f"/staff/sam/units/{alfa.id}/feedback/new", data={
        "release_id": str(made.releases[0]), "heard": "x", "action_ids": [str(beta["action"])]})
    assert refused.status_code == 400
    after = snapshot(session)
    # Nothing changed but the log of alfa's own release figures shown on the refused feedback form.
    logged = [row for row in after.pop("audit_entry") if row not in before["audit_entry"]]
    assert {(row[4], row[5]) for row in logged} <= {("release.view", f"release:{made.releases[0]}")}
    assert all(f'"unit":{alfa.id}' in str(row[6]).replace(" ", "") for row in logged)
    before.pop("audit_entry")
    assert after == before


def test_bad_input_is_refused_whole_with_a_translated_reason(client: FlaskClient, session: Session,
                                                             made: Made) -> None:
    alfa = made.teams["alfa"]
    sign_in(client, "chef-alfa@example.org")
    before = snapshot(session)
    for changes, message in (({"due_on": "2026-13-45"}, "Ange ett datum"),
                             ({"due_on": "2026-11-01"}, "Datumet får inte vara före starten"),
                             ({"activity": ""}, "Skriv vad som ska göras"),
                             ({"cost_sek": "-3"}, "Ange ett helt antal kronor"),
                             ({"status": "hacked"}, "")):
        response = client.post(f"/staff/sam/units/{alfa.id}/actions/new", data=action_form(**changes))
        assert response.status_code == 400, changes
        text = response.get_data(as_text=True)
        assert "error-summary" in text and message in text, changes
        assert 'value="Mindre stress"' in text or "Mindre stress" in text  # what was typed is kept
    assert client.post(f"/staff/sam/units/{alfa.id}/risks/new", data={"description": "x"}).status_code == 400
    assert snapshot(session) == before


def test_the_safety_representative_reads_but_does_not_write(client: FlaskClient, session: Session,
                                                            made: Made) -> None:
    beta = beta_records(session, made)
    sign_in(client, "ombud@example.org")
    page = client.get(f"/staff/sam/risks/{beta['risk']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Betas risk" in text and "<textarea" not in text
    assert client.post(f"/staff/sam/risks/{beta['risk']}", data={"description": "Ändrad"}).status_code == 404
    assert client.get(f"/staff/sam/units/{made.teams['beta'].id}/risks/new").status_code == 403
    session.rollback()
    assert session.get_one(Risk, beta["risk"]).description == "Betas risk"


def test_the_start_page_shows_what_needs_the_manager(client: FlaskClient, session: Session, made: Made) -> None:
    alfa, beta = made.teams["alfa"], made.teams["beta"]
    sam.create_action(session, alfa.id, sam.ActionInput("Alfas försenade åtgärd", "", "Chef", None,
                                                        dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
                      scope=ADMIN, by=None)
    sam.create_action(session, beta.id, sam.ActionInput("Betas försenade åtgärd", "", "Chef", None,
                                                        dt.date(2026, 10, 1), dt.date(2026, 11, 1)),
                      scope=ADMIN, by=None)
    make_person(session, "chef-avd@example.org", manages=[made.dept], name="Avdelningschefen")
    session.commit()
    sign_in(client, "chef-alfa@example.org")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Det här behöver dig" in page and "Alfas försenade åtgärd" in page and "försenad" in page
    # The newest results with one flag per question, each leading to a new risk assessment.
    assert page.count(f"/staff/sam/units/{alfa.id}/risks/new?") == 2
    assert "De senaste resultaten har inte tagits upp på en APT än." in page
    assert "Betas" not in page and f"/staff/sam/units/{beta.id}" not in page
    # The manager of the department sees the plans of both teams below.
    other = app_client(client)
    sign_in(other, "chef-avd@example.org")
    parent = other.get("/staff/").get_data(as_text=True)
    assert "Handlingsplaner för enheterna under" in parent
    assert "Alfas försenade åtgärd" in parent and "Betas försenade åtgärd" in parent
    # Someone who leads nothing (here the safety representative) gets none of it.
    reader = app_client(client)
    sign_in(reader, "ombud@example.org")
    assert "Det här behöver dig" not in reader.get("/staff/").get_data(as_text=True)


def app_client(client: FlaskClient) -> FlaskClient:
    return client.application.test_client()
