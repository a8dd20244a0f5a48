"""The safety representative's desk over HTTP: 6:6a requests from registration to answer, their files and PDF, the
annual follow-up with both signatures, and who may do what — tried the way an attacker would (other areas' ids,
the wrong side, files that lie about their type)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, FollowUp, SafetyAttachment, SafetyRequest, SafetyRequestEvent
from tests.factories import Org, make_person, make_unit, sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def structure_alt_texts(node: object) -> list[str]:
    """Every /Alt of a PDF's structure tree (where fpdf2 puts a chart's alternative text)."""
    found: list[str] = []
    obj = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(obj, dict):
        if "/Alt" in obj:
            found.append(str(obj["/Alt"]))
        kids = obj.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            found += structure_alt_texts(kid)
    return found


def future(days: int = 14) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def register(client: FlaskClient, org: Org, *, files: list[tuple[bytes, str]] | None = None,
             **fields: object) -> object:
    data: dict[str, object] = {"request-unit": str(org.team_a.id), "request-kind": "measure",
                               "request-title": "Höj- och sänkbara skrivbord i receptionen",
                               "request-reasons": "Flera har ont i nacken.\nSe bifogade bilder.",
                               "request-reply_by": future()}
    data.update({f"request-{k}": v for k, v in fields.items()})
    if files:
        data["request-files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/staff/safety/requests/new", data=data, content_type="multipart/form-data")


def only_request(session: Session) -> SafetyRequest:
    session.commit()  # end the test session's snapshot (SQLite) so it sees what the requests wrote
    session.expire_all()
    found = session.scalars(select(SafetyRequest)).all()
    assert len(found) == 1
    return found[0]


def test_a_request_from_registration_to_answer(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.safety.email)
    response = register(client, org, files=[(PNG, "bild på skrivbord.png"), (PDF, "mätning.pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    item = only_request(session)
    assert item.manager_id == org.manager.id  # Team A's manager
    assert [a.content_type for a in item.attachments] == ["image/png", "application/pdf"]
    assert [a.filename for a in item.attachments] == ["bild-pa-skrivbord.png", "matning.pdf"]
    page = client.get(f"/staff/safety/requests/{item.id}").get_data(as_text=True)
    assert "Höj- och sänkbara skrivbord" in page and "Maja Chef" in page
    # The safety representative cannot confirm for the employer.
    assert client.post(f"/staff/safety/requests/{item.id}/confirm").status_code == 403

    manager = Flask.test_client(client.application)
    sign_in(manager, org.manager.email)
    assert manager.post(f"/staff/safety/requests/{item.id}/confirm").status_code == 302
    assert manager.post(f"/staff/safety/requests/{item.id}/confirm").status_code == 409
    response = manager.post(f"/staff/safety/requests/{item.id}/answer",
                            data={"answer-answer": "", "answer-measures": "x"})
    assert response.status_code == 400 and "Skriv svaret." in response.get_data(as_text=True)
    response = manager.post(f"/staff/safety/requests/{item.id}/answer",
                            data={"answer-answer": "Vi köper in skrivbord.", "answer-measures": "Beställt v. 50."})
    assert response.status_code == 302, response.headers
    item = only_request(session)
    assert item.answer == "Vi köper in skrivbord." and item.answered_at is not None
    kinds = [e.kind for e in item.events]
    assert kinds == ["registered", "attachment", "attachment", "confirmed", "answered"]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("safety_request.%"))
                              .order_by(AuditEntry.seq)).all()
    assert actions == ["safety_request.create", "safety_request.confirm", "safety_request.answer"]

    # The safety representative closes it; the history says so.
    assert client.post(f"/staff/safety/requests/{item.id}/close", data={"close-note": "Nöjd."}).status_code == 302
    assert "Nöjd." in client.get(f"/staff/safety/requests/{item.id}").get_data(as_text=True)


def test_files_are_served_as_downloads_of_their_real_type(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.safety.email)
    assert register(client, org, files=[(PNG, "a.png")]).status_code == 302
    item = only_request(session)
    response = client.get(f"/staff/safety/requests/{item.id}/attachments/{item.attachments[0].id}")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.png"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    # Another request's file id, through this request's URL: not found.
    assert client.get(f"/staff/safety/requests/{item.id}/attachments/{item.attachments[0].id + 1}").status_code == 404


@pytest.mark.parametrize(("content", "name"), [
    (b"<html><script>alert(1)</script></html>", "innocent.pdf"),  # the name lies
    (b"GIF89a" + b"\x00" * 20, "bild.png"),
    (b"", "tom.pdf"),
    (b"%PDF-" + b"\x00" * (4 * 1024 * 1024), "stor.pdf"),  # one byte over the limit
])
def test_a_refused_file_stores_nothing_and_keeps_the_form(client: FlaskClient, org: Org, session: Session,
                                                          content: bytes, name: str) -> None:
    sign_in(client, org.safety.email)
    response = register(client, org, files=[(PNG, "ok.png"), (content, name)])
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Höj- och sänkbara skrivbord i receptionen" in text  # nothing typed is lost
    assert session.scalar(select(func.count()).select_from(SafetyRequest)) == 0
    assert session.scalar(select(func.count()).select_from(SafetyAttachment)) == 0


def test_bad_fields_are_told_in_the_persons_language(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.safety.email)
    response = register(client, org, reply_by="2000-01-01")
    assert response.status_code == 400
    assert "Datumet att svara senast kan inte ha passerat." in response.get_data(as_text=True)
    client.post("/staff/language", data={"language": "en", "next": "/staff/"})
    response = register(client, org, title="")
    assert response.status_code == 400 and "Write what you request." in response.get_data(as_text=True)
    # A unit outside the safety area is not even a choice.
    response = register(client, org, unit=str(org.other.id))
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(SafetyRequest)) == 0


def test_outsiders_are_told_a_request_does_not_exist(app: Flask, client: FlaskClient, org: Org,
                                                     session: Session) -> None:
    """Another area's safety representative, a manager of another branch, an employee and an administrator try
    every URL of a request by its id."""
    other_rep = make_person(session, "annan.ombud@example.org", unit=org.other, safety_area=[org.other])
    other_manager = make_person(session, "annan.chef@example.org", unit=org.other, manages=[org.other])
    session.commit()
    sign_in(client, org.safety.email)
    assert register(client, org, files=[(PNG, "a.png")]).status_code == 302
    item = only_request(session)
    attachment = item.attachments[0].id
    before = session.scalar(select(func.count()).select_from(SafetyRequestEvent))
    urls = [("GET", f"/staff/safety/requests/{item.id}"), ("GET", f"/staff/safety/requests/{item.id}/request.pdf"),
            ("GET", f"/staff/safety/requests/{item.id}/attachments/{attachment}"),
            ("POST", f"/staff/safety/requests/{item.id}/confirm"), ("POST", f"/staff/safety/requests/{item.id}/answer"),
            ("POST", f"/staff/safety/requests/{item.id}/note"), ("POST", f"/staff/safety/requests/{item.id}/close"),
            ("POST", f"/staff/safety/requests/{item.id}/attachments")]
    for email in (other_rep.email, other_manager.email, org.admin.email):
        outsider = app.test_client()
        sign_in(outsider, email)
        for method, url in urls:
            response = outsider.open(url, method=method, data={"answer-answer": "x", "note-note": "x"})
            assert response.status_code == 404, (email, url)
        assert "Höj- och sänkbara" not in outsider.get("/staff/safety/").get_data(as_text=True)
    employee = app.test_client()
    sign_in(employee, org.employee.email)
    assert employee.get(f"/staff/safety/requests/{item.id}").status_code == 403
    session.commit()
    assert session.scalar(select(func.count()).select_from(SafetyRequestEvent)) == before


def test_the_request_pdf_has_the_whole_history(client: FlaskClient, org: Org, session: Session) -> None:
    sign_in(client, org.safety.email)
    assert register(client, org, files=[(PDF, "mätning.pdf")]).status_code == 302
    item = only_request(session)
    client.post(f"/staff/safety/requests/{item.id}/note", data={"note-note": "Ringde chefen, inget svar."})
    response = client.get(f"/staff/safety/requests/{item.id}/request.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    for expected in ("Höj- och sänkbara skrivbord", "Ringde chefen, inget svar.", "Maja Chef", "matning.pdf",
                     item.attachments[0].sha256[:20]):
        assert expected in text
    session.commit()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "safety_request.pdf")).one()
    assert json.loads(entry.details)["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_annual_follow_up_is_signed_by_both_then_locked(app: Flask, client: FlaskClient, org: Org,
                                                         session: Session) -> None:
    year = dt.date.today().year
    sign_in(client, org.safety.email)
    response = client.post("/staff/safety/follow-ups", data={"fu-unit": str(org.team_a.id), "fu-year": str(year)})
    assert response.status_code == 302
    follow_up_id = int(re.search(r"/follow-ups/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    url = f"/staff/safety/follow-ups/{follow_up_id}"
    page = client.get(url).get_data(as_text=True)
    assert "Inga begäranden enligt 6:6a i år." in page  # prefilled from what Pulse knows
    # Signing before every item is answered is refused.
    assert client.post(f"{url}/sign", data={"side": "rep"}).status_code == 400
    answers = {f"status-{key}": "yes" for key in ("routines", "tasks", "risks", "actions", "pulses", "complaints",
                                                   "requests", "incidents", "instructions")}
    answers["status-risks"] = "partly"
    answers["note-risks"] = "Riskbedömning av receptionen saknas."
    assert client.post(url, data=answers).status_code == 302
    # The safety representative cannot sign as the manager.
    assert client.post(f"{url}/sign", data={"side": "manager"}).status_code == 403
    assert client.post(f"{url}/sign", data={"side": "rep"}).status_code == 302
    manager = app.test_client()
    sign_in(manager, org.manager.email)
    # A change after the safety representative signed takes the signature away.
    answers["note-risks"] = "Riskbedömning planerad i januari."
    assert manager.post(url, data=answers).status_code == 302
    session.commit()
    session.expire_all()
    assert session.get_one(FollowUp, follow_up_id).rep_signed_at is None
    assert manager.post(f"{url}/sign", data={"side": "manager"}).status_code == 302
    assert client.post(f"{url}/sign", data={"side": "rep"}).status_code == 302
    session.commit()
    session.expire_all()
    item = session.get_one(FollowUp, follow_up_id)
    assert item.locked_at is not None and "requests" in json.loads(item.facts)
    # Locked: no more changes from either side.
    assert manager.post(url, data=answers).status_code == 409
    assert client.post(f"{url}/sign", data={"side": "rep"}).status_code == 409
    signatures = [json.loads(d) for d in session.scalars(select(AuditEntry.details)
                                                         .where(AuditEntry.action == "follow_up.sign")
                                                         .order_by(AuditEntry.seq))]
    assert [(s["side"], s["locked"]) for s in signatures] == [("rep", False), ("manager", False), ("rep", True)]
    # Someone from another branch cannot open it.
    stranger = make_person(session, "chef.annan@example.org", unit=org.other, manages=[org.other])
    session.commit()
    outsider = app.test_client()
    sign_in(outsider, stranger.email)
    assert outsider.get(url).status_code == 404


def test_escalation_names_the_next_manager_up(client: FlaskClient, org: Org, session: Session) -> None:
    boss = make_person(session, "forvaltningschef@example.org", unit=org.root, manages=[org.dept], name="Bo Chef")
    team = make_unit(session, "team-c", "Team C", org.team_a)
    session.commit()
    from pulse.services import safety

    first, second = safety.employer_side(session, team.id)
    assert (first.id, second.id) == (org.manager.id, boss.id)  # type: ignore[union-attr]
    first, second = safety.employer_side(session, org.team_b.id)
    assert (first.id if first else None, second) == (boss.id, None)


def test_the_start_page_shows_what_needs_them(app: Flask, client: FlaskClient, org: Org, session: Session) -> None:
    """Comments waiting per round with its close date, the request due, and the next annual follow-up — for the
    safety representative; the manager sees the request they must answer."""
    from pulse.common.context import box_keys
    from pulse.models import BoxItem
    from pulse.services import box
    from tests.web.test_authz_matrix import make_desk, make_rounds

    make_rounds(app, session, org)
    make_desk(session, org)
    with app.app_context():  # a complaint about the department, its acknowledgement a week late
        item, _key = box.write(session, box_keys(), unit_id=org.dept.id, category="premises", text="Kallt.", k=6,
                               today=dt.date.today() - dt.timedelta(days=14))
    session.commit()
    sign_in(client, org.safety.email)
    text = client.get("/staff/").get_data(as_text=True)
    assert f'href="/staff/box/{item.id}">Lokaler och utrustning</a>' in text and "försenad" in text.lower()
    assert session.get_one(BoxItem, item.id).status == "received"
    assert "Skyddsombudets sidor: det här väntar på dig" in text
    waiting = re.search(r"(\d+) kommentar(?:er)?</a>\s*– ([^<]*)", text)
    assert waiting, text
    assert "omgång 1" in waiting.group(2) and "stängd" in waiting.group(2)
    assert "Skrivbord" in text  # the request, due within a week… or waiting for the employer
    assert f"Förvaltningen, {dt.date.today().year}" in text and "inte påbörjad" in text
    manager = app.test_client()
    sign_in(manager, org.manager.email)
    text = manager.get("/staff/").get_data(as_text=True)
    desk = text.split("Skyddsombudets sidor: det här väntar på dig")[1].split("</section>")[0]
    assert "Skrivbord" in desk and "kommentar" not in desk
    employee = app.test_client()
    sign_in(employee, org.employee.email)
    assert "Skyddsombudets sidor: det här väntar på dig" not in employee.get("/staff/").get_data(as_text=True)


def test_the_demo_shows_every_part_of_the_desk(runner, client: FlaskClient, session: Session) -> None:  # type: ignore[no-untyped-def]
    from pulse.demo import DEMO_PASSWORD

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    signed_in = client.post("/staff/login", data={"email": "samira.skyddsombud@exempelstad.se",
                                                  "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[-3000:]
    desk_page = client.get("/staff/safety/").get_data(as_text=True)
    for text in ("Höj- och sänkbara skrivbord", "Undersökning av hot och våld", "Ventilationen i mötesrum Ekan",
                 "besvarad i tid", "försenad", "underskriven av båda och låst"):
        assert text in desk_page, text
    threats = session.scalars(select(SafetyRequest).where(SafetyRequest.title.like("Undersökning%"))).one()
    assert [e.kind for e in threats.events][:3] == ["registered", "ask", "remind"]
    assert "escalate" in [e.kind for e in threats.events]
    home = client.get("/staff/").get_data(as_text=True)
    assert "Skyddsombudets sidor: det här väntar på dig" in home and "Undersökning av hot och våld" in home
    year_ago = (dt.date.today() - dt.timedelta(days=365)).isoformat()
    report = client.get(f"/staff/safety/report?start={year_ago}&end={dt.date.today().isoformat()}").get_data(
        as_text=True)
    assert "Medborgarkontor Rinkeby" in report and "Veckopuls Järva" in report
    pdf = client.get(f"/staff/safety/report.pdf?start={year_ago}&end={dt.date.today().isoformat()}")
    assert pdf.status_code == 200
    # The area indices of each top unit drawn as a vector chart, with its alternative text for screen readers.
    alt_texts = structure_alt_texts(PdfReader(io.BytesIO(pdf.data)).trailer["/Root"]["/StructTreeRoot"])
    assert any(text.startswith("Medborgarkontor Rinkeby: index per område, omgång för omgång") for text in alt_texts)


def test_each_comment_to_moderate_shows_its_round_and_close_date(app: Flask, client: FlaskClient, org: Org,
                                                                 session: Session) -> None:
    from tests.web.test_authz_matrix import make_rounds

    make_rounds(app, session, org)
    sign_in(client, org.safety.email)
    queue = client.get("/staff/results/moderation").get_data(as_text=True)
    contexts = re.findall(r'<p class="hint">([^<]*omgång 1, stängde [^<]*)</p>', queue)
    assert contexts and len(contexts) == queue.count("<blockquote>")


def test_the_answer_points_to_actions_of_the_units_action_plan(app: Flask, client: FlaskClient, org: Org,
                                                               session: Session) -> None:
    from pulse.services import sam
    from pulse.services.org import Scope

    everything = Scope(True, frozenset())
    today = dt.date.today()
    mine = sam.create_action(session, org.team_a.id, sam.ActionInput(
        "Köp skrivbord", "", "Enhetschef", None, today, today + dt.timedelta(days=20)), scope=everything,
        by=org.manager)
    elsewhere = sam.create_action(session, org.other.id, sam.ActionInput(
        "Annan förvaltnings åtgärd", "", "Chef", None, today, today + dt.timedelta(days=20)), scope=everything,
        by=org.manager)
    session.commit()
    sign_in(client, org.safety.email)
    assert register(client, org).status_code == 302
    item = only_request(session)
    manager = app.test_client()
    sign_in(manager, org.manager.email)
    page = manager.get(f"/staff/safety/requests/{item.id}").get_data(as_text=True)
    assert "Köp skrivbord" in page and "Annan förvaltnings åtgärd" not in page
    # An action of another branch cannot be linked (not a choice: refused, nothing saved).
    response = manager.post(f"/staff/safety/requests/{item.id}/answer",
                            data={"answer-answer": "Vi köper.", "answer-actions": [str(elsewhere.id)]})
    assert response.status_code == 400
    assert only_request(session).answered_at is None
    response = manager.post(f"/staff/safety/requests/{item.id}/answer",
                            data={"answer-answer": "Vi köper.", "answer-actions": [str(mine.id)]})
    assert response.status_code == 302
    assert json.loads(only_request(session).linked_actions) == [mine.id]
    page = client.get(f"/staff/safety/requests/{item.id}").get_data(as_text=True)
    assert f'href="/staff/sam/actions/{mine.id}"' in page
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.get(f"/staff/safety/requests/{item.id}/request.pdf").data)).pages)
    assert "Köp skrivbord" in text and "Åtgärder i handlingsplanen" in text


def test_the_follow_up_shows_the_action_plan_and_risks(client: FlaskClient, org: Org, session: Session) -> None:
    from pulse.services import sam
    from pulse.services.org import Scope

    today = dt.date.today()
    sam.create_risk(session, org.team_a.id, sam.RiskInput("Tunga lyft", "physical", True, "Maja Chef", "", True,
                                                          today), scope=Scope(True, frozenset()), by=org.manager)
    sam.create_action(session, org.team_a.id, sam.ActionInput(
        "Lyfthjälpmedel", "", "Enhetschef", None, today - dt.timedelta(days=30), today - dt.timedelta(days=1)),
        scope=Scope(True, frozenset()), by=org.manager)
    session.commit()
    sign_in(client, org.safety.email)
    response = client.post("/staff/safety/follow-ups", data={"fu-unit": str(org.team_a.id),
                                                             "fu-year": str(today.year)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 risker bedömda i år, varav 1 allvarliga; 1 är ännu inte hanterade." in page
    assert "1 åtgärder med slutdatum i år: 0 genomförda, 1 försenade." in page
