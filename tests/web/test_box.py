"""The complaint box's anonymous pages, as an attacker and as a writer: no trace of who wrote, a reply key that only
its holder can use, units that never narrow the writer down, clear errors in both languages."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.models import BoxItem, BoxMessage
from tests.factories import Org, make_person, make_unit, sign_in, snapshot

SECRET_TEXT = "Ventilationen i förrådet luktar unket och ingen lyssnar."


@pytest.fixture
def box_org(session: Session, org: Org, monkeypatch: pytest.MonkeyPatch) -> Org:
    """Team A has seven people (k = 6), Team B two; "Liten grupp" under Team A one."""
    from pulse.respondent import guard
    from pulse.respondent.box import views

    monkeypatch.setattr(guard.limiter, "_failures", {})
    monkeypatch.setattr(views.writes, "_failures", {})
    for i in range(6):
        make_person(session, f"member{i}@example.org", unit=org.team_a, password=None)
    small = make_unit(session, "small", "Liten grupp", org.team_a)
    make_person(session, "alone@example.org", unit=small, password=None)
    make_person(session, "colleague@example.org", unit=org.team_b, password=None)
    session.commit()
    org.small = small  # type: ignore[attr-defined]
    return org


def write(client: FlaskClient, unit: int, text: str = SECRET_TEXT, category: str = "premises",
          **headers: str) -> tuple[int, str]:
    response = client.post("/box", data={"unit": str(unit), "category": category, "text": text, "lang": "en"},
                           headers=headers)
    return response.status_code, response.get_data(as_text=True)


def reply_key(page: str) -> str:
    match = re.search(r'<code id="reply-key">([^<]+)</code>', page)
    assert match, page[:2000]
    return match.group(1)


def test_the_landing_page_links_to_the_box(client: FlaskClient, box_org: Org) -> None:
    assert '<p class="box-link"><a href="/box?lang=en">' in client.get("/r?lang=en").get_data(as_text=True)


def test_the_form_lists_only_units_with_k_people_and_says_it_is_no_whistleblowing_channel(
        client: FlaskClient, box_org: Org) -> None:
    page = client.get("/box?lang=en")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    html = page.get_data(as_text=True)
    assert "visselblåsarlagen, 2021:890" in html and "not a whistle-blowing channel" in html
    options = dict((int(v), n.strip("\u2003 ")) for v, n in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)<', html))
    assert set(options) == {box_org.root.id, box_org.dept.id, box_org.team_a.id}
    swedish = client.get("/box?lang=sv").get_data(as_text=True)
    assert "Synpunkter och klagomål om arbetsmiljön" in swedish and "ingen visselblåsarkanal" in swedish


@pytest.mark.parametrize("unit", ["small", "team_b", "other"])
def test_a_unit_below_k_cannot_be_chosen_even_by_a_crafted_post(client: FlaskClient, box_org: Org,
                                                                session: Session, unit: str) -> None:
    before = snapshot(session)
    status, page = write(client, getattr(box_org, unit).id)
    assert status == 400
    assert "Choose one of the units in the list." in page
    assert SECRET_TEXT in page  # nothing the writer typed is lost
    assert snapshot(session) == before


@pytest.mark.parametrize(("data", "message"), [
    ({"category": "nonsense"}, "Choose what it is about."),
    ({"text": "   "}, "Write what you want to say."),
    ({"text": "x" * 4001}, "The text is too long"),
    ({"unit": "abc"}, "Choose one of the units in the list."),
])
def test_bad_input_gets_a_clear_error(client: FlaskClient, box_org: Org, data: dict[str, str], message: str) -> None:
    form = {"unit": str(box_org.team_a.id), "category": "workload", "text": "Hej", "lang": "en"} | data
    response = client.post("/box", data=form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_writing_stores_nothing_that_identifies_and_logs_nothing(
        client: FlaskClient, box_org: Org, session: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post("/box", data={"unit": str(box_org.team_a.id), "category": "premises",
                                         "text": SECRET_TEXT, "lang": "en"},
                           headers={"User-Agent": "UniqueBrowser/9.9", "X-Forwarded-For": "203.0.113.77"},
                           environ_base={"REMOTE_ADDR": "198.51.100.23"})
    assert response.status_code == 200
    key = reply_key(response.get_data(as_text=True))
    # The database, every table and column: no address, browser, session, person or time finer than a day.
    dump = repr(snapshot(session))
    for trace in ("203.0.113.77", "198.51.100.23", "UniqueBrowser", SECRET_TEXT, key, key.replace("-", ""),
                  "Ventilationen"):
        assert trace not in dump, trace
    item = session.scalars(select(BoxItem)).one()
    assert item.author_id is None
    assert all(m.author_id is None for m in item.messages)
    assert not re.search(r"\d{2}:\d{2}:\d{2}", repr([(item.received_on, m.written_on) for m in item.messages]))
    assert re.fullmatch(r"[0-9a-f-]{36}", item.id)
    # Nothing in the logs either.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for trace in ("203.0.113.77", "198.51.100.23", "UniqueBrowser", SECRET_TEXT, key, "/box"):
        assert trace not in logged


def test_the_database_files_hold_no_text_address_or_key_in_any_byte(client: FlaskClient, box_org: Org,
                                                                    session: Session, app: Flask) -> None:
    """Read as raw bytes, the SQLite file and its write-ahead log (what a copy of the disk holds, deleted pages
    included) show nothing of what was written or who wrote it."""
    from pathlib import Path

    url = app.config["PULSE"].database_url
    if not url.startswith("sqlite"):
        pytest.skip("raw file bytes are read on SQLite")
    response = client.post("/box", data={"unit": str(box_org.team_a.id), "category": "safety", "text": SECRET_TEXT},
                           headers={"User-Agent": "UniqueBrowser/9.9"}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
    key = reply_key(response.get_data(as_text=True))
    assert client.post("/box/reply", data={"key": key, "text": "Andra meddelandet, också hemligt."}).status_code == 200
    path = Path(url.split("///", 1)[1])
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    for trace in (SECRET_TEXT, "Ventilationen", "Andra meddelandet", "198.51.100.23", "UniqueBrowser", key,
                  key.replace("-", "")):
        assert trace.encode() not in raw, trace


def test_the_reply_key_opens_the_conversation_for_its_holder_only(client: FlaskClient, box_org: Org) -> None:
    _, first = write(client, box_org.team_a.id)
    _, second = write(client, box_org.dept.id, text="Ett helt annat ärende.")
    mine, theirs = reply_key(first), reply_key(second)
    page = client.post("/box/read", data={"key": mine, "lang": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert SECRET_TEXT in html and "Ett helt annat ärende." not in html
    # Spaces, dashes, line breaks and case do not matter; one character more or less does.
    assert re.fullmatch(r"([2-9A-HJKMNP-Z]{5}-){5}[2-9A-HJKMNP-Z]{5}", mine)
    assert client.post("/box/read", data={"key": mine.replace("-", " ").lower()}).status_code == 200
    assert client.post("/box/read", data={"key": mine[:-1]}).status_code == 404
    assert client.post("/box/read", data={"key": mine + "2"}).status_code == 404
    other = client.post("/box/read", data={"key": theirs}).get_data(as_text=True)
    assert SECRET_TEXT not in other and "Ett helt annat ärende." in other
    # A reply with one key goes to that conversation only.
    assert client.post("/box/reply", data={"key": mine, "text": "Tillägg från mig."}).status_code == 200
    assert "Tillägg från mig." not in client.post("/box/read", data={"key": theirs}).get_data(as_text=True)
    assert "Tillägg från mig." in client.post("/box/read", data={"key": mine}).get_data(as_text=True)


def test_a_wrong_key_is_a_clear_404_and_guessing_is_stopped(client: FlaskClient, box_org: Org) -> None:
    write(client, box_org.team_a.id)
    empty = client.post("/box/read", data={"key": " ", "lang": "en"})
    assert empty.status_code == 400 and "Type your reply key." in empty.get_data(as_text=True)
    wrong = client.post("/box/read", data={"key": "AAAAAA-BBBBBB-CCCCCC-DDDDDD", "lang": "sv"})
    assert wrong.status_code == 404 and 'lang="sv"' in wrong.get_data(as_text=True)
    statuses = [client.post("/box/read", data={"key": f"guess{i}"}).status_code for i in range(25)]
    assert statuses[-1] == 429
    # A reply with a wrong key writes nothing.
    assert client.post("/box/reply", data={"key": "nope", "text": "x"}).status_code == 429


def test_the_read_page_never_puts_the_key_in_an_address(client: FlaskClient, box_org: Org) -> None:
    _, page = write(client, box_org.team_a.id)
    key = reply_key(page)
    assert client.get(f"/box/read?key={key}").status_code == 200
    html = client.post("/box/read", data={"key": key}).get_data(as_text=True)
    assert f"?key={key}" not in html and "?key=" not in html


def test_a_closed_conversation_refuses_replies_with_409(client: FlaskClient, box_org: Org,
                                                        session: Session) -> None:
    _, page = write(client, box_org.team_a.id)
    item = session.scalars(select(BoxItem)).one()
    item.status = "closed"
    session.commit()
    response = client.post("/box/reply", data={"key": reply_key(page), "text": "Hallå?", "lang": "en"})
    assert response.status_code == 409 and "This matter is closed" in response.get_data(as_text=True)
    assert session.scalar(select(BoxMessage).where(BoxMessage.position == 1)) is None


def test_flooding_the_box_from_one_client_is_limited(client: FlaskClient, box_org: Org) -> None:
    statuses = [write(client, box_org.team_a.id, text=f"Meddelande {i}")[0] for i in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_the_respondent_pages_never_set_or_read_a_cookie(client: FlaskClient, box_org: Org, app: Flask) -> None:
    staff = app.test_client()
    sign_in(staff, box_org.employee.email)
    # Even with a staff session cookie in the jar, the box ignores it: the item has no author.
    status, page = write(staff, box_org.team_a.id)
    assert status == 200
    for response in (client.get("/box"), client.get("/box/read"), client.post("/box/read", data={"key": "x"})):
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


# --- the staff side -------------------------------------------------------------------------------------------------

def staff_client(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, email)
    return client


def release(app: Flask, org: Org, item: BoxItem, decision: str = "released", redacted: str = "") -> None:
    """The safety representative's decision on the item's first text, through the page."""
    response = staff_client(app, org.safety.email).post(
        f"/staff/box/{item.id}/messages/{item.messages[0].id}", data={"decision": decision, "redacted": redacted})
    assert response.status_code == 302, response.status_code


def first_item(session: Session) -> BoxItem:
    session.commit()  # a fresh transaction sees what the requests wrote
    session.expire_all()
    return session.scalars(select(BoxItem)).one()


def test_manager_answers_and_the_writer_reads_it_with_the_key(app: Flask, client: FlaskClient, box_org: Org,
                                                              session: Session) -> None:
    _, page = write(client, box_org.team_a.id)
    key = reply_key(page)
    item = first_item(session)
    manager = staff_client(app, box_org.manager.email)
    listing = manager.get("/staff/box/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"/staff/box/{item.id}" in listing
    release(app, box_org, item)
    shown = manager.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert SECRET_TEXT in shown and ("Anonymt" in shown or "Anonymous" in shown)
    assert manager.post(f"/staff/box/{item.id}/acknowledge").status_code == 302
    assert manager.post(f"/staff/box/{item.id}/reply", data={"text": "Vi byter filter på måndag."}).status_code == 302
    assert first_item(session).status == "answered"
    read = client.post("/box/read", data={"key": key, "lang": "en"}).get_data(as_text=True)
    assert "Vi byter filter på måndag." in read and "Maja Chef" in read and "Answered" in read
    assert manager.post(f"/staff/box/{item.id}/close").status_code == 302
    assert client.post("/box/reply", data={"key": key, "text": "Tack"}).status_code == 409


def test_the_safety_representative_redacts_and_the_manager_sees_only_that(
        app: Flask, client: FlaskClient, box_org: Org, session: Session) -> None:
    write(client, box_org.team_a.id, text="Erik Anställd och jag bråkar om schemat.")
    item = first_item(session)
    message = item.messages[0].id
    safety = staff_client(app, box_org.safety.email)
    manager = staff_client(app, box_org.manager.email)
    # The manager may not moderate; an empty redaction is refused and changes nothing.
    assert manager.post(f"/staff/box/{item.id}/messages/{message}", data={"decision": "withheld"}).status_code == 403
    refused = safety.post(f"/staff/box/{item.id}/messages/{message}", data={"decision": "redacted", "redacted": " "},
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert safety.post(f"/staff/box/{item.id}/messages/{message}",
                       data={"decision": "redacted", "redacted": "En kollega och jag bråkar om schemat."}
                       ).status_code == 302
    seen = manager.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert "En kollega och jag" in seen and "Erik Anställd och jag" not in seen
    # The safety representative still has the original, with the names from the organisation marked.
    assert "<mark>Erik</mark> <mark>Anställd</mark> och jag" in safety.get(f"/staff/box/{item.id}").get_data(
        as_text=True)
    assert safety.post(f"/staff/box/{item.id}/messages/{message}", data={"decision": "withheld"}).status_code == 302
    assert "bråkar" not in manager.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert safety.post(f"/staff/box/{item.id}/messages/{message}", data={"decision": "released"}).status_code == 302
    assert "Erik Anställd och jag" in manager.get(f"/staff/box/{item.id}").get_data(as_text=True)
    # "restored" was the old word for it: no longer a decision.
    assert safety.post(f"/staff/box/{item.id}/messages/{message}", data={"decision": "restored"}).status_code == 400


def test_items_outside_the_scope_look_like_items_that_do_not_exist(app: Flask, client: FlaskClient, box_org: Org,
                                                                   session: Session) -> None:
    write(client, box_org.team_a.id)
    item = first_item(session)
    for email in (box_org.employee.email, box_org.admin.email):
        other = staff_client(app, email)
        assert other.get(f"/staff/box/{item.id}").status_code == 404
        assert other.get("/staff/box/00000000-0000-4000-8000-000000000000").status_code == 404
        assert SECRET_TEXT not in other.get("/staff/box/").get_data(as_text=True)
        assert other.post(f"/staff/box/{item.id}/reply", data={"text": "x"}).status_code == 404


def test_writing_with_a_name_from_the_staff_side(app: Flask, box_org: Org, session: Session) -> None:
    employee = staff_client(app, box_org.employee.email)
    home = employee.get("/staff/").get_data(as_text=True)
    assert "/staff/box/new" in home and "http://pulse.test/box" in home
    bad = employee.post("/staff/box/new", data={"unit": str(box_org.small.id), "category": "other",  # type: ignore[attr-defined]
                                                "text": "Namngivet.", "lang": "en"}, headers={"Accept-Language": "en"})
    assert bad.status_code == 400 and "Namngivet." in bad.get_data(as_text=True)
    done = employee.post("/staff/box/new", data={"unit": str(box_org.team_a.id), "category": "other",
                                                 "text": "Namngivet."})
    assert done.status_code == 302
    item = first_item(session)
    assert item.author_id == box_org.employee.id
    # The writer follows it signed in; the manager sees the name.
    assert "Namngivet." in employee.get(done.headers["Location"]).get_data(as_text=True)
    assert "Erik Anställd" in staff_client(app, box_org.manager.email).get(f"/staff/box/{item.id}").get_data(
        as_text=True)
    assert employee.post(f"/staff/box/{item.id}/acknowledge").status_code == 404
    # The manager's answer is told to the named writer by e-mail, without its text.
    manager = staff_client(app, box_org.manager.email)
    assert manager.post(f"/staff/box/{item.id}/reply", data={"text": "Hemligt svar."}).status_code == 302
    from tests.integration.test_scheduler import body, outbox

    [sent] = outbox(app)
    assert sent["To"] == "employee@example.org"
    assert f"/staff/box/{item.id}" in body(sent) and "Hemligt" not in body(sent)


def test_the_report_shows_counts_never_texts(app: Flask, client: FlaskClient, box_org: Org) -> None:
    write(client, box_org.team_a.id, category="workload")
    safety = staff_client(app, box_org.safety.email)
    page = safety.get("/staff/box/report?lang=en", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Team A" in page and SECRET_TEXT not in page
    assert "Team B" not in page  # two people: below k, left out
    assert safety.get("/staff/box/report?from=2026-13-01").status_code == 400
    assert safety.get("/staff/box/report?from=2026-12-01&to=2026-11-01").status_code == 400


def test_the_administrator_sets_deadlines_and_sees_units_without_a_safety_representative(
        app: Flask, box_org: Org, session: Session) -> None:
    make_person(session, "huvud@example.org", unit=box_org.other, name="Hugo Huvud")
    session.commit()
    admin = staff_client(app, box_org.admin.email)
    page = admin.get("/staff/box/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Enheter utan skyddsombud" in page  # the administrator's own language
    assert box_org.other.name in page and box_org.root.name in page and ">Team A<" not in page
    bad = admin.post("/staff/box/settings", data={"acknowledge_days": "5", "answer_days": "3", "main": ""},
                     headers={"Accept-Language": "en"})
    assert bad.status_code == 400 and "minst lika många dagar" in bad.get_data(as_text=True)
    unknown = admin.post("/staff/box/settings", data={"acknowledge_days": "2", "answer_days": "10",
                                                      "main": "nobody@example.org"})
    assert unknown.status_code == 400
    ok = admin.post("/staff/box/settings", data={"acknowledge_days": "3", "answer_days": "12",
                                                 "main": "Huvud@example.org"})
    assert ok.status_code == 302
    from pulse.services import box as box_service

    session.commit()
    session.expire_all()
    saved = box_service.settings(session)
    assert (saved.acknowledge_days, saved.answer_days, saved.main_safety_rep.email) == (
        3, 12, "huvud@example.org")
    # The main safety representative now moderates the uncovered units' comments.
    main = staff_client(app, "huvud@example.org")
    assert main.get("/staff/results/moderation").status_code == 200


def test_the_answer_page_says_when_no_comment_can_ever_be_shown(app: Flask, session: Session, org: Org,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from pulse.respondent.answering import views
    from tests.rounds import make_survey, open_with_credentials

    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    small = open_with_credentials(session, app, make_survey(session, [org.dept], min_comment_size=4))
    large = open_with_credentials(session, app, make_survey(session, [org.dept], name="Stor", min_comment_size=3))
    client = app.test_client()
    never = client.post("/r/start", data={"credential": next(iter(small.credentials.values()))[0], "lang": "en"})
    page = never.get_data(as_text=True)
    # Three people invited, four needed for a comment: it is said before anything is written, with the way out.
    assert "no comment from it can ever be shown" in page and 'href="/box?lang=en"' in page
    assert 'aria-describedby="comment-never comment-hint"' in page
    enough = client.post("/r/start", data={"credential": next(iter(large.credentials.values()))[0], "lang": "en"})
    assert "no comment from it can ever be shown" not in enough.get_data(as_text=True)
    # Every answer page, and the thanks page after it, links to the box.
    assert '<p class="box-link">' in page and '<p class="box-link">' in enough.get_data(as_text=True)
    thanks = client.post("/r/submit", data={"credential": next(iter(large.credentials.values()))[0], "lang": "en",
                                            "q-OSA-WL1": "3"})
    assert thanks.status_code == 200 and '<p class="box-link">' in thanks.get_data(as_text=True)


def test_the_safety_representative_replies_but_only_the_employer_answers(
        app: Flask, client: FlaskClient, box_org: Org, session: Session) -> None:
    _, page = write(client, box_org.team_a.id)
    item = first_item(session)
    safety = staff_client(app, box_org.safety.email)
    assert safety.post(f"/staff/box/{item.id}/reply", data={"text": "Jag tar upp det med chefen."}).status_code == 302
    assert first_item(session).status == "received"  # the deadline still runs for the employer
    assert safety.post(f"/staff/box/{item.id}/acknowledge").status_code == 403
    assert first_item(session).acknowledged_on is None
    # The writer reads the safety representative's reply too.
    assert "Jag tar upp det med chefen." in client.post("/box/read", data={"key": reply_key(page)}).get_data(
        as_text=True)


def test_the_development_server_does_not_log_box_requests(app: Flask) -> None:
    """`make run`'s server would log each request line with the client's address; the box's are dropped, the
    staff side's are kept."""
    records = [logging.LogRecord("werkzeug", logging.INFO, __file__, 1, msg, None, None) for msg in (
        '198.51.100.23 - - [01/Dec/2026 10:02:03] "POST /box HTTP/1.1" 200 -',
        '198.51.100.23 - - [01/Dec/2026 10:02:04] "POST /box/read HTTP/1.1" 200 -',
        '198.51.100.23 - - [01/Dec/2026 10:02:05] "GET /staff/box/ HTTP/1.1" 200 -')]
    werkzeug = logging.getLogger("werkzeug")
    assert [bool(werkzeug.filter(r)) for r in records] == [False, False, True]


# --- the safety representative's review, as an attacker ------------------------------------------------------------

SECOND_TEXT = "Och chefen skrattade åt det på mötet i tisdags."


def everything_a_manager_can_open(app: Flask, client: FlaskClient, item: BoxItem) -> str:
    """Every staff page that shows a box item, its list or its counts, as the manager of its unit sees them."""
    pages = ["/staff/", "/staff/box/", "/staff/box/?status=received", "/staff/box/?status=acknowledged",
             f"/staff/box/{item.id}", "/staff/box/report", "/staff/box/report?from=2020-01-01&to=2030-12-31",
             "/staff/safety/"]
    html = []
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        html.append(response.get_data(as_text=True))
    # No API route serves the box at all (the read-only API is about releases).
    assert not [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api") and "box" in rule.rule]
    return "\n".join(html)


def test_a_manager_reads_nothing_of_a_text_until_the_safety_representative_releases_it(
        app: Flask, client: FlaskClient, box_org: Org, session: Session) -> None:
    from pulse import scheduler
    from tests.integration.test_scheduler import body, outbox

    _, page = write(client, box_org.team_a.id)
    key = reply_key(page)
    item = first_item(session)
    manager = staff_client(app, box_org.manager.email)
    seen = everything_a_manager_can_open(app, manager, item)
    # The item is there — unit, category, dates, "waiting for review" — but not one word of the text.
    assert f"/staff/box/{item.id}" in seen and 'id="box-review-note"' in seen
    assert SECRET_TEXT not in seen and "Ventilationen" not in seen
    with app.app_context():
        scheduler.box_deadlines(scheduler.get_database(app), item.received_on)
    assert [m["To"] for m in outbox(app)] == ["safety@example.org"]  # the manager is not told yet
    # Withheld: still nothing, ever.
    release(app, box_org, item, "withheld")
    assert SECRET_TEXT not in everything_a_manager_can_open(app, manager, item)
    with app.app_context():
        assert scheduler.box_deadlines(scheduler.get_database(app), item.received_on) == 0
    # Redacted: exactly the redacted text.
    release(app, box_org, item, "redacted", "Ventilen i ett förråd luktar.")
    seen = everything_a_manager_can_open(app, manager, item)
    assert "Ventilen i ett förråd luktar." in seen and SECRET_TEXT not in seen and "Ventilationen" not in seen
    with app.app_context():
        assert scheduler.box_deadlines(scheduler.get_database(app), item.received_on) == 1
    [told] = [m for m in outbox(app) if m["To"] == "manager@example.org"]
    assert "Ventil" not in body(told) and "Ventil" not in str(told["Subject"])
    # The writer adds something: waiting for review again, for that text only.
    assert client.post("/box/reply", data={"key": key, "text": SECOND_TEXT}).status_code == 200
    seen = everything_a_manager_can_open(app, manager, item)
    assert SECOND_TEXT not in seen and "Ventilen i ett förråd luktar." in seen
    # Released as written: now, and only now, the words themselves.
    item = first_item(session)
    safety = staff_client(app, box_org.safety.email)
    assert safety.post(f"/staff/box/{item.id}/messages/{item.messages[1].id}",
                       data={"decision": "released"}).status_code == 302
    assert SECOND_TEXT in everything_a_manager_can_open(app, manager, item)


def test_the_writer_sees_their_own_words_and_what_became_of_each(app: Flask, client: FlaskClient, box_org: Org,
                                                                  session: Session) -> None:
    _, page = write(client, box_org.team_a.id)
    key = reply_key(page)
    assert "The safety representative reads it first" in page

    def read() -> str:
        response = client.post("/box/read", data={"key": key, "lang": "en"})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert SECRET_TEXT in read() and "Waiting for review" in read()
    item = first_item(session)
    release(app, box_org, item, "redacted", "Ventilen i ett förråd luktar.")
    shown = read()
    assert SECRET_TEXT in shown and "Passed on with details removed" in shown
    assert "Ventilen i ett förråd luktar." in shown
    release(app, box_org, item, "withheld")
    shown = read()
    assert SECRET_TEXT in shown and "Not passed on" in shown and "Ventilen i ett förråd" not in shown
    release(app, box_org, item, "released")
    assert "Passed on</span>" in read()
    swedish = client.post("/box/read", data={"key": key, "lang": "sv"}).get_data(as_text=True)
    assert "Skickad vidare" in swedish


def test_who_may_review_a_text(app: Flask, client: FlaskClient, box_org: Org, session: Session) -> None:
    from pulse import scheduler
    from pulse.services import box as box_service

    write(client, box_org.team_a.id)
    item = first_item(session)
    url = f"/staff/box/{item.id}/messages/{item.messages[0].id}"
    # A manager of the unit may not, whatever they send; an employee or an administrator sees nothing there.
    manager = staff_client(app, box_org.manager.email)
    for decision in ("released", "redacted", "withheld"):
        assert manager.post(url, data={"decision": decision, "redacted": "x"}).status_code == 403
    for email in (box_org.employee.email, box_org.admin.email):
        assert staff_client(app, email).post(url, data={"decision": "released"}).status_code in (403, 404)
    # A safety representative of another area: the item does not exist for them.
    outsider = make_person(session, "annat-ombud@example.org", unit=box_org.other, safety_area=[box_org.other],
                           name="Olle Ombud")
    main = make_person(session, "huvud@example.org", unit=box_org.root, name="Hugo Huvud")
    session.commit()
    other = staff_client(app, outsider.email)
    assert other.get(f"/staff/box/{item.id}").status_code == 404
    assert other.post(url, data={"decision": "released"}).status_code == 404
    assert first_item(session).messages[0].moderation == "pending"
    # The main safety representative may once the review is late (and not before).
    box_service.save_settings(session, acknowledge_days=2, answer_days=10, main_safety_rep_id=main.id)
    session.commit()
    huvud = staff_client(app, main.email)
    assert huvud.post(url, data={"decision": "released"}).status_code == 404
    with app.app_context():
        scheduler.box_deadlines(scheduler.get_database(app), item.acknowledge_by + dt.timedelta(days=1))
    listing = huvud.get("/staff/box/").get_data(as_text=True)
    assert 'id="box-reviews"' in listing and f"/staff/box/{item.id}" in listing
    assert SECRET_TEXT in huvud.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert huvud.post(url, data={"decision": "released"}).status_code == 302
    assert first_item(session).messages[0].moderation == "released"


def test_to_review_comes_first_on_the_start_page_and_the_index(app: Flask, client: FlaskClient, box_org: Org,
                                                                session: Session) -> None:
    write(client, box_org.team_a.id)
    item = first_item(session)
    safety = staff_client(app, box_org.safety.email)
    home = safety.get("/staff/").get_data(as_text=True)
    assert 'id="desk-box-reviews"' in home and f"/staff/box/{item.id}" in home
    desk = home[home.index('id="desk-title"'):home.index('id="desk-box-reviews"')]
    assert desk.count("<h3>") == 1  # the desk's first list
    assert "#box-reviews" in home  # the box card says so too, first
    index = safety.get("/staff/box/").get_data(as_text=True)
    assert index.index('id="box-reviews"') < index.index('id="items-caption"')
    page = safety.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert SECRET_TEXT in page and 'value="released"' in page
    # Names from the organisation are marked for the reviewer (no one is named in this text).
    write(client, box_org.team_a.id, text="Erik Anställd skriker.")
    session.commit()
    second = next(i for i in session.scalars(select(BoxItem)) if i.id != item.id)
    assert "<mark>Erik</mark>" in safety.get(f"/staff/box/{second.id}").get_data(as_text=True)
    # The manager's start page names no text to review.
    assert 'id="desk-box-reviews"' not in staff_client(app, box_org.manager.email).get("/staff/").get_data(
        as_text=True)


# --- retention ------------------------------------------------------------------------------------------------------

def test_the_administrator_sets_the_retention_within_its_bounds(app: Flask, box_org: Org, session: Session) -> None:
    from pulse.services import box as box_service

    admin = staff_client(app, box_org.admin.email)
    assert 'value="24"' in admin.get("/staff/box/settings").get_data(as_text=True)
    form = {"acknowledge_days": "2", "answer_days": "10", "main": ""}
    for bad in ("5", "121", "", "tio"):
        response = admin.post("/staff/box/settings", data=form | {"retention_months": bad})
        assert response.status_code == 400, bad
        assert "Ange ett helt antal månader från 6 till 120." in response.get_data(as_text=True)
    assert admin.post("/staff/box/settings", data=form | {"retention_months": "36"}).status_code == 302
    session.commit()
    session.expire_all()
    assert box_service.settings(session).retention_months == 36
    # The who-can-see-what page says it, in both languages.
    assert "36 månader" in app.test_client().get("/privacy?lang=sv").get_data(as_text=True)
    assert "36 months after a matter is closed" in app.test_client().get("/privacy?lang=en").get_data(as_text=True)


def test_a_purged_item_keeps_its_facts_and_nothing_else(app: Flask, client: FlaskClient, box_org: Org,
                                                        session: Session) -> None:
    from pulse import scheduler

    _, page = write(client, box_org.team_a.id)
    key = reply_key(page)
    item = first_item(session)
    release(app, box_org, item)
    manager = staff_client(app, box_org.manager.email)
    assert manager.post(f"/staff/box/{item.id}/reply", data={"text": "Vi åtgärdar det."}).status_code == 302
    assert manager.post(f"/staff/box/{item.id}/close").status_code == 302
    closed_on = first_item(session).closed_on
    assert closed_on is not None
    with app.app_context():
        assert scheduler.box_retention(scheduler.get_database(app), closed_on + dt.timedelta(days=800)) == 1
    shown = manager.get(f"/staff/box/{item.id}").get_data(as_text=True)
    assert 'id="box-purged"' in shown and SECRET_TEXT not in shown and "Vi åtgärdar det." not in shown
    assert box_org.team_a.name in shown
    assert client.post("/box/read", data={"key": key}).status_code == 404
    assert manager.post(f"/staff/box/{item.id}/reply", data={"text": "x"}).status_code == 409
