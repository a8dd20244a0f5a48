"""The APT pack's discussion questions, saved: a manager who may write the unit's SAM records saves them per release,
unit and question; everyone who may open the pack sees them on the page, in print and in the PDF; "restore" gives
the question bank's back; who and when go to the audit log, never the text; a reader who may not write is told
nothing is here (404) and nothing is stored; refused questions come back with the text kept."""

from __future__ import annotations

import html as htmllib
import json
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.models import AptPrompt, AuditEntry, Person
from pulse.services.org import Scope
from tests.web.test_apt import items, pdf_text, section
from tests.web.test_results import demo, sign_in  # noqa: F401 - the demo fixture

EVERYTHING = Scope(True, frozenset())
MINE = ("Hur fördelar vi passen i december?", "Vem pratar med HR om vikarier?")


def _base(ids: dict[str, int]) -> str:
    return f"/staff/results/{ids['release']}/units/{ids['mbk-rinkeby']}"


def _shown(client: FlaskClient, base: str) -> tuple[str, str, str]:
    """The pack's page, print view and PDF text as the signed-in person gets them."""
    page = client.get(base + "/apt")
    assert page.status_code == 200
    return (page.get_data(as_text=True), client.get(base + "/apt/print").get_data(as_text=True),
            pdf_text(client.get(base + "/apt.pdf").data))


def test_saved_questions_reach_everyone_who_opens_the_pack_and_restore_brings_the_banks_back(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, demo, session: Session) -> None:  # noqa: F811
    base = _base(demo)
    gate = disclosure.unit_result(session, demo["release"], demo["mbk-rinkeby"], EVERYTHING)
    first, *others = [r.question.code for r in gate.concerns]
    sign_in(client, "office", session, "sv")
    bank = items(section(client.get(base + "/apt/print").get_data(as_text=True), "concerns-title"), "li")
    assert bank
    data = {f"prompts-{first}": "\n".join(MINE) + "\n\n"}
    if others:
        data[f"prompts-{others[0]}"] = ""  # emptied: no questions for that concern
    saved = client.post(base + "/apt/prompts", data=data)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(base + "/apt#concerns-title")
    session.rollback()
    rows = {p.question_code: p.prompts for p in session.scalars(select(AptPrompt))}
    assert rows[first] == "\n".join(MINE) and (not others or rows[others[0]] == "")
    # The manager, the safety representative who reads the unit, and an administrator: page, print and PDF.
    for who in ("office", "safety", "admin"):
        viewer = app.test_client()
        sign_in(viewer, who, session, "sv")
        html, printed, pdf = _shown(viewer, base)
        for text in MINE:
            assert text in html and text in printed and text in pdf, who
        assert bank[0] not in printed and bank[0] not in pdf, who  # the first concern's bank questions are replaced
        assert ("Återställ frågebankens frågor" in html) == (who != "safety"), who
        assert "Sparade av" in html, who  # who saved them and when, on the page
    # The audit log: who, when and which questions — never the text.
    session.rollback()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "sam.apt_prompts")).all()
    assert len(entries) == 1
    office = session.scalar(select(Person).where(Person.email == "kontorschef.rinkeby@exempelstad.se"))
    assert office is not None and entries[0].actor_id == office.id
    details = json.loads(entries[0].details)
    assert details["unit"] == demo["mbk-rinkeby"] and first in details["saved"]
    assert all(text not in entries[0].details for text in MINE)
    # Saving the same again changes nothing and logs nothing.
    assert client.post(base + "/apt/prompts", data={f"prompts-{first}": "\n".join(MINE)}).status_code == 302
    session.rollback()
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "sam.apt_prompts")).all()) == 1
    # Restore: the bank's questions again, for everyone.
    restored = client.post(base + "/apt/prompts", data={f"prompts-{first}": "\n".join(MINE), "restore": first})
    assert restored.status_code == 302
    session.rollback()
    assert first not in {p.question_code for p in session.scalars(select(AptPrompt))}
    printed = client.get(base + "/apt/print").get_data(as_text=True)
    assert bank[0] in printed and MINE[0] not in printed
    session.rollback()
    last = session.scalars(select(AuditEntry).where(AuditEntry.action == "sam.apt_prompts")
                           .order_by(AuditEntry.seq.desc())).first()
    assert last is not None and json.loads(last.details)["restored"] == [first]
    # The bank's questions sent back unchanged are not saved as a copy (they stay in each reader's language).
    page = client.get(base + "/apt").get_data(as_text=True)
    found = re.search(rf'<textarea id="prompts-{first}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None and bank[0] in htmllib.unescape(found.group(1))
    unchanged = client.post(base + "/apt/prompts", data={f"prompts-{first}": htmllib.unescape(found.group(1))})
    assert unchanged.status_code == 302
    session.rollback()
    assert first not in {p.question_code for p in session.scalars(select(AptPrompt))}
    english = app.test_client()
    sign_in(english, "office", session, "en")
    assert bank[0] not in english.get(base + "/apt/print").get_data(as_text=True)  # the bank's, in English


def test_refused_questions_keep_the_text_and_store_nothing(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base = _base(demo)
    gate = disclosure.unit_result(session, demo["release"], demo["mbk-rinkeby"], EVERYTHING)
    first = gate.concerns[0].question.code
    sign_in(client, "office", session, "sv")
    many = "\n".join(f"Fråga {i}?" for i in range(7))
    refused = client.post(base + "/apt/prompts", data={f"prompts-{first}": many})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Skriv högst 5 frågor" in text and "Fråga 6?" in text
    control = client.post(base + "/apt/prompts", data={f"prompts-{first}": "Hej\x07där?"})
    assert control.status_code == 400 and "tecken som inte är text" in control.get_data(as_text=True)
    long = client.post(base + "/apt/prompts", data={f"prompts-{first}": "x" * 301})
    assert long.status_code == 400 and "x" * 301 in long.get_data(as_text=True)
    odd = client.post(base + "/apt/prompts", data={f"prompts-{first}": "Fråga?", "restore": "NOT-A-CONCERN"})
    assert odd.status_code == 400 and "Fråga?" in odd.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(AptPrompt)).all() == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "sam.apt_prompts")).all() == []


def test_only_who_may_write_the_units_records_may_save(client: FlaskClient, demo, session: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The safety representative reads the pack (and may print her own edits) but cannot save: 404, as for SAM
    records she only reads. A manager posting to a unit outside what they lead gets 404 too."""
    base = _base(demo)
    gate = disclosure.unit_result(session, demo["release"], demo["mbk-rinkeby"], EVERYTHING)
    first = gate.concerns[0].question.code
    sign_in(client, "safety", session, "sv")
    html = client.get(base + "/apt").get_data(as_text=True)
    assert "Spara frågorna" not in html and "apt/prompts" not in html
    assert client.post(base + "/apt/prompts", data={f"prompts-{first}": "Min fråga?"}).status_code == 404
    printed = client.post(base + "/apt/print", data={f"prompts-{first}": "Min fråga?"}).get_data(as_text=True)
    assert "Min fråga?" in printed  # her own print, not saved
    other = f"/staff/results/{demo['release']}/units/{demo['jarva-fritid']}/apt/prompts"
    manager = client.application.test_client()
    sign_in(manager, "office", session, "sv")
    assert manager.post(other, data={f"prompts-{first}": "Min fråga?"}).status_code == 404
    session.rollback()
    assert session.scalars(select(AptPrompt)).all() == []


def test_the_table_holds_the_managers_words_and_nothing_about_answers(app: Flask) -> None:
    """What a dump of the table can show: the release, unit and question a text is about, the text, who saved it
    and when. No column names a response, comment, credential, invitation or participation row."""
    with app.app_context():
        from pulse.common.db import get_database

        columns = {c["name"] for c in inspect(get_database(app).write_engine).get_columns("sam_apt_prompt")}
    assert columns == {"id", "release_id", "unit_id", "question_code", "prompts", "updated_by", "updated_at"}
