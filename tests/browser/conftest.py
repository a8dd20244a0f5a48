"""Browser fixtures: the real app served over HTTP in a background thread, driven by headless Chromium.

CSRF protection stays on here: every form is filled in and submitted the way a person would.

One Chromium is started per test session. Tests that change data get a fresh server and database each
(``live_server``); the page-by-page scans share one server per module and language (``site``), because they
only read.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pulse import create_app
from pulse.common.db import Base, Database
from pulse.models import Person, Release
from tests.conftest import make_config
from tests.factories import PASSWORD, Org

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path(os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: The Accept-Language each page language is asked for with (the staff locale comes from the person).
LOCALES = {"sv": "sv-SE", "en": "en-GB"}
#: A generous limit, so the page-by-page scans never trip the per-client sign-in limit.
SIGN_IN_LIMIT = 1000


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class LiveServer:
    """The app running at ``url``, with the seeded organisation's e-mail addresses by role."""

    url: str
    app: Flask
    database: Database
    emails: dict[str, str]
    #: Database ids of the seeded units (by unit key) and people (by role).
    unit_ids: dict[str, int]
    person_ids: dict[str, int]
    language: str = "sv"
    #: Things a module's tests make once and share, such as a reset link (three per address and hour).
    memo: dict[str, Any] = field(default_factory=dict)

    def __call__(self, path: str) -> str:
        return self.url + path

    def person(self, email: str) -> Person:
        with self.database.session() as db:
            person = db.scalar(select(Person).where(Person.email == email))
            assert person is not None
            db.expunge(person)
            return person

    def reset_path(self, email: str) -> str:
        """A fresh, valid password-reset path for ``email``, made the way the forgot-password form makes it."""
        from pulse.common.context import config, key
        from pulse.domain.crypto import KeyPurpose
        from pulse.services import auth as auth_service

        with self.app.app_context(), self.database.session() as db:
            created = auth_service.request_password_reset(
                db, key(KeyPurpose.TOKEN_HASH), key(KeyPurpose.RATE_LIMIT), email=email,
                valid_minutes=config().password_reset_minutes)
            assert created is not None
            db.commit()
            return f"/staff/password/reset/{created[1]}"


def seed_rounds(app: Any, database: Database, unit_ids: dict[str, int], language: str) -> dict[str, Any]:
    """A survey of the department with one closed, released round (with comments) and one open round, made
    through the real services; returns the ids and unused credentials of the open round."""
    import datetime as dt

    from pulse import scheduler
    from pulse.models import Unit
    from pulse.services import answers as answer_service
    from tests.factories import make_person
    from tests.rounds import keys, make_survey, open_with_credentials

    with database.session() as db:
        for team in ("team-a", "team-b"):
            unit = db.get_one(Unit, unit_ids[team])
            for i in range(5):
                make_person(db, f"{team}-{i}@example.org", unit=unit, password=None, language=language)
        db.commit()
        survey = make_survey(db, [db.get_one(Unit, unit_ids["dept"])])
        first = open_with_credentials(db, app, survey)
        now = first.round.opened_at + dt.timedelta(hours=1)
        for n, (link, _) in enumerate(first.credentials.values()):
            answer_service.submit(db, keys(app).token, link, {"OSA-WL1": 1 + n % 5, "OSA-NPS": n % 11},
                                  "Mer tid för dokumentation, tack." if n % 3 == 0 else None, now=now)
        db.commit()
        with app.app_context():
            scheduler.close_round(db, db.get_one(type(first.round), first.round.id), keys(app),
                                  now=first.round.closes_at)
        db.commit()
        release_id = db.scalar(select(Release.id).limit(1))
        assert release_id is not None
        records = seed_sam(db, unit_ids["team-a"], release_id)
        second = open_with_credentials(db, app, survey, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        team_a_code = second.credentials.pop("team-a-0@example.org")[1]
        return {"survey": survey.id, "closed_round": first.round.id, "open_round": second.round.id,
                "release": release_id, "codes": [code for _, code in second.credentials.values()],
                "links": [link for link, _ in second.credentials.values()], "team_a_code": team_a_code, **records}


def seed_sam(db: Any, team_a: int, release_id: int) -> dict[str, int]:
    """Team A's SAM records: a risk, an APT with a decision as an action, published feedback; the help text."""
    import datetime as dt

    from pulse.services import sam
    from pulse.services.org import Scope

    everything, today = Scope(True, frozenset()), dt.datetime.now(dt.UTC).date()
    risk = sam.create_risk(db, team_a, sam.RiskInput(
        "Hög arbetsbelastning inför helgerna", "workload", False, "Maja Chef", "Skyddsombudet", True, today),
        scope=everything, by=None)
    meeting = sam.create_meeting(db, team_a, sam.MeetingInput(today, "Vi gick igenom resultaten.", release_id),
                                 scope=everything, by=None)
    action = sam.create_action(db, team_a, sam.ActionInput(
        "Planeringsdag varje månad", "Mindre stress", "Enhetschef", None, today - dt.timedelta(days=40),
        today - dt.timedelta(days=2), risk_id=risk.id, question_code="OSA-WL1", meeting_id=meeting.id),
        scope=everything, by=None)
    feedback = sam.create_feedback(db, team_a, sam.FeedbackInput(
        release_id, "Ni sa att tiden inte räcker.", "Vi inför en planeringsdag.", (action.id,)),
        scope=everything, by=None)
    sam.publish_feedback(db, feedback.id, scope=everything, now=dt.datetime.now(dt.UTC))
    sam.set_help(db, None, "Prata med ditt skyddsombud eller HR.", "HR | https://intranet.example.se/hr",
                 scope=everything)
    db.commit()
    return {"sam_risk": risk.id, "sam_action": action.id, "sam_meeting": meeting.id, "sam_feedback": feedback.id}


def seed_desk(database: Database, unit_ids: dict[str, int], person_ids: dict[str, int]) -> dict[str, Any]:
    """A 6:6a request for Team A (with a file and a note) and Team A's annual follow-up, through the services."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from pulse.services import safety

    now = dt.datetime.now(dt.UTC)
    with database.session() as db:
        rep, manager = db.get_one(Person, person_ids["safety_rep"]), db.get_one(Person, person_ids["manager"])
        request = safety.register(db, rep, unit_id=unit_ids["team-a"], kind="measure",
                                  title="Höj- och sänkbara skrivbord", reasons="Ont i nacken.\nSe bilden.",
                                  reply_by=now.date() + dt.timedelta(days=10),
                                  uploads=[safety.Upload("bild.png", b"\x89PNG\r\n\x1a\n" + bytes(32))], now=now,
                                  tz=ZoneInfo("Europe/Stockholm"))
        safety.add_note(db, rep, request, "Ringde chefen.", now=now)
        follow_up = safety.start_follow_up(db, manager, unit_ids["team-a"], now.year, now=now)
        db.commit()
        return {"safety_request": request.id, "follow_up": follow_up.id}


def seed_box(app: Any, database: Database, unit_ids: dict[str, int]) -> dict[str, Any]:
    """One anonymous complaint-box item in Team A with a manager's answer; its id and reply key."""
    import datetime as dt

    from pulse.common.context import box_keys
    from pulse.services import box as box_service

    with app.app_context(), database.session() as db:
        item, reply_key = box_service.write(db, box_keys(), unit_id=unit_ids["team-a"], category="premises",
                                            text="Ventilationen i förrådet fungerar inte.", k=6,
                                            today=dt.date.today())
        manager = db.scalar(select(Person).where(Person.email == "manager@example.org"))
        assert manager is not None
        box_service.staff_reply(db, box_keys(), item, manager, "Tack, fastighetsskötaren kommer på måndag.",
                                today=dt.date.today())
        db.commit()
        return {"box_item": item.id, "box_key": reply_key}


@contextmanager
def serve(tmp: Path, *, language: str = "sv") -> Iterator[LiveServer]:
    """Serve a fresh app with the test organisation (everyone speaking ``language``) until the block ends."""
    config = make_config(f"sqlite:///{tmp / 'browser.db'}", tmp, login_max_failures=SIGN_IN_LIMIT)
    database = Database(config.database_url)
    Base.metadata.create_all(database.engine)
    with database.session() as db:
        org = Org(db)
        emails = org.emails
        people = {"admin": org.admin, "manager": org.manager, "safety_rep": org.safety, "employee": org.employee}
        for person in people.values():
            person.language = language
        db.commit()
        unit_ids = {unit.key: unit.id for unit in (org.root, org.dept, org.team_a, org.team_b, org.other)}
        person_ids = {role: person.id for role, person in people.items()}
    app = create_app(config, database=database)
    assert app.config["WTF_CSRF_ENABLED"], "the browser tests submit real forms with CSRF tokens"
    rounds = seed_rounds(app, database, unit_ids, language)
    rounds.update(seed_desk(database, unit_ids, person_ids))
    rounds.update(seed_box(app, database, unit_ids))
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, database=database, emails=emails,
                         unit_ids=unit_ids, person_ids=person_ids, language=language, memo=rounds)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("PULSE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PULSE_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with its own fresh database, for a test that changes data."""
    with serve(tmp_path) as server:
        yield server


@pytest.fixture(scope="module", params=["sv", "en"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server shared by a module's read-only tests, once with everyone speaking Swedish, once English."""
    with serve(tmp_path_factory.mktemp(f"site-{request.param}"), language=request.param) as server:
        yield server


def new_context(browser: Browser, language: str = "sv", **options: Any) -> BrowserContext:
    context = browser.new_context(locale=LOCALES[language], **options)
    context.set_default_timeout(5000)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) asking for Swedish pages."""
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form and wait for the staff start page."""
    page.goto(server("/staff/login"))
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/$"))


@pytest.fixture(scope="module")
def tabs(browser: Browser, site: LiveServer) -> Iterator[Callable[[str | None], Page]]:
    """One browser tab on ``site`` per role (None: not signed in), signed in once and reused by the module.

    Reusing a tab instead of opening one per test more than halves the time of the page-by-page scans.
    """
    made: dict[str | None, Page] = {}

    def get(role: str | None) -> Page:
        if role not in made:
            made[role] = new_context(browser, site.language).new_page()
            if role is not None:
                sign_in(made[role], site, site.emails[role])
        return made[role]

    yield get
    for tab in made.values():
        tab.context.close()
