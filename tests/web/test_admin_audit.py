"""The audit log page: a sentence per event in the reader's language, the stored JSON on demand, filters by event,
person and date that survive paging."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pulse.common.context import record_audit
from pulse.services import audit as audit_service
from pulse.staff.admin.auditlog import EVENTS
from tests.factories import Org, sign_in


def record(app: Flask, session: Session, action: str, target: str, details: dict[str, object],
           actor: object = None) -> None:
    with app.test_request_context():
        record_audit(session, action, target, details, actor=actor)  # type: ignore[arg-type]
    session.commit()


def rows(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r'<p class="audit-sentence">(.*?)</p>', page,
                                                                     re.S)]


@pytest.fixture
def english_admin(client: FlaskClient, org: Org, session: Session) -> FlaskClient:
    org.admin.language = "en"
    session.commit()
    sign_in(client, org.emails["admin"])
    return client


def test_each_event_reads_as_a_sentence_with_the_json_on_demand(app: Flask, english_admin: FlaskClient, org: Org,
                                                                session: Session) -> None:
    record(app, session, "release.view_comments", "release:3", {"unit": org.team_a.id, "shown": 0}, org.manager)
    record(app, session, "person.update", f"person:{org.employee.id}",
           {"unit_id": {"from": 1, "to": 2}, "is_admin": {"from": False, "to": True}}, org.admin)
    record(app, session, "round.open", "round:7", {"survey": 1, "number": 7, "invited": 1})
    page = english_admin.get("/staff/admin/audit").get_data(as_text=True)
    assert rows(page) == [
        "Opened round 7 of survey 1: 1 person invited.",
        "Changed Erik Anställd: Administrator, Unit.",
        "Viewed the comments of release 3: 0 shown.",
    ]
    # The raw code and JSON are still there, folded away in a <details> per entry.
    assert re.search(r"<details>\s*<summary>Stored details", page)
    assert "<code>release.view_comments</code>" in page
    assert "&#34;shown&#34;: 0" in page
    assert "the system" in page  # the scheduler's entry


def test_every_event_the_application_writes_has_a_sentence(app: Flask, english_admin: FlaskClient,
                                                           session: Session) -> None:
    for action in EVENTS:
        record(app, session, action, "thing:1", {})
    texts = rows(english_admin.get("/staff/admin/audit").get_data(as_text=True))
    assert len(texts) == len(EVENTS)
    assert not [text for text in texts if text in EVENTS], "an event shown as its raw code"


def test_every_event_written_anywhere_in_the_code_is_known_to_the_page() -> None:
    """A new `record_audit(…, "some.event", …)` without a sentence here would show as a raw code again."""
    written: set[str] = set()
    for path in (Path(__file__).resolve().parents[2] / "pulse").rglob("*.py"):
        text = path.read_text()
        written |= set(re.findall(r'record_audit\(\s*\w+,\s*"([a-z_]+\.[a-z_]+)"', text))
        written |= set(re.findall(r'_log_(?:view|pooled)\(\s*"([a-z_]+\.[a-z_]+)"', text))
        written |= set(re.findall(r'\(\s*"([a-z_]+\.[a-z_]+)",\s*f"', text))  # (event, target, details) tuples
        written |= set(re.findall(r'record_audit\(\s*\w+,\s*"[a-z_.]+" if .*? else "([a-z_]+\.[a-z_]+)"', text))
        written |= {f"comment.{d}" for d in re.findall(r'decision not in \(([^)]*)\)', text)
                    for d in re.findall(r'"(\w+)"', d)} if "comment." in text or "decision not in" in text else set()
    assert len(written) > 25
    assert sorted(written - set(EVENTS)) == []


def test_the_sentences_are_swedish_for_a_swedish_reader(app: Flask, client: FlaskClient, org: Org,
                                                        session: Session) -> None:
    record(app, session, "release.view_comments", "release:3", {"shown": 2}, org.manager)
    sign_in(client, org.emails["admin"])
    page = client.get("/staff/admin/audit").get_data(as_text=True)
    assert rows(page) == ["Läste kommentarerna i publicering 3: 2 visades."]
    assert "Lagrade uppgifter" in page


def test_filters_by_event_person_and_date_survive_paging(app: Flask, english_admin: FlaskClient, org: Org,
                                                         session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    week_ago = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=7)
    with monkeypatch.context() as patch:
        patch.setattr(audit_service, "utcnow", lambda: week_ago)
        record(app, session, "org.export", "people", {}, org.admin)
    for number in range(60):
        record(app, session, "release.view", f"release:{number}", {"unit": 1}, org.manager)
        record(app, session, "release.view", f"release:{number}", {"unit": 1}, org.safety)
    record(app, session, "person.update", f"person:{org.manager.id}", {"name": {"from": "A", "to": "B"}}, org.admin)
    page = english_admin.get("/staff/admin/audit?event=release.view&person=maja").get_data(as_text=True)
    assert "60 entries" in page
    next_link = re.search(r'href="([^"]+)" rel="next"', page)
    assert next_link
    href = next_link.group(1).replace("&amp;", "&")
    assert "event=release.view" in href and "person=maja" in href
    assert len(rows(english_admin.get(href).get_data(as_text=True))) == 10
    # A person filter also finds what was done to them, not only by them.
    assert "121 entries" not in english_admin.get("/staff/admin/audit?person=maja").get_data(as_text=True)
    assert "61 entries" in english_admin.get("/staff/admin/audit?person=Maja+Chef").get_data(as_text=True)
    # Dates: only the entry written a week ago is on that day; everything else is from today.
    day = week_ago.astimezone(ZoneInfo(app.config["PULSE"].timezone)).date().isoformat()  # the day as staff see it
    page = english_admin.get(f"/staff/admin/audit?since={day}&until={day}").get_data(as_text=True)
    assert "1 entry" in page and rows(page) == ["Downloaded people.csv."]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert "121 entries" in english_admin.get(f"/staff/admin/audit?since={today}").get_data(as_text=True)


@pytest.mark.parametrize("query", ["event=nonsense", "since=yesterday", "since=2026-12-02&until=2026-12-01",
                                   "person=" + "x" * 101])
def test_a_bad_filter_is_a_clear_400(english_admin: FlaskClient, query: str) -> None:
    response = english_admin.get(f"/staff/admin/audit?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)
