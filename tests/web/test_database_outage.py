"""A database that cannot be reached answers 503 with Retry-After everywhere — a translated page on both apps, a JSON
error on both APIs, "unavailable" from /healthz — and a stale pooled PostgreSQL connection (a server restart) never
fails a request."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pulse import create_app
from pulse.common.config import normalise_database_url
from pulse.common.db import Base, Database
from pulse.common.errors import RETRY_AFTER_DATABASE
from tests.conftest import PG_URL, make_config
from tests.factories import Org, sign_in


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Outage:
    app: Flask
    #: A client signed in as the administrator before the database went away (None: it never was there).
    signed_in: FlaskClient | None


def _app(url: str, tmp_path: Path) -> Flask:
    app = create_app(make_config(url, tmp_path), database=Database(url))
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture(params=["postgresql-closed-port", "sqlite-unreadable"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    """Pulse with a database it cannot reach: a PostgreSQL address where nothing listens, or a SQLite file that went
    away under a running app (its folder replaced by a file, which even root cannot open a database in)."""
    if request.param == "postgresql-closed-port":
        app = _app(f"postgresql+psycopg://pulse@127.0.0.1:{closed_port()}/pulse", tmp_path)
        yield Outage(app, None)
        return
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'pulse.db'}"
    app = _app(url, tmp_path)
    database: Database = app.extensions["pulse.db"]
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        Org(session)
        session.commit()
    client = app.test_client()
    sign_in(client, "admin@example.org")
    assert client.get("/staff/").status_code == 200
    database.engine.dispose()
    os.rename(folder, tmp_path / "moved")
    folder.write_text("not a folder")
    yield Outage(app, client)
    database.dispose()


def assert_unavailable_page(response, *texts: str) -> None:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:2000]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_DATABASE)
    assert response.mimetype == "text/html"
    for expected in texts:
        assert expected in page, page[:3000]
    assert "Traceback" not in page and "SELECT" not in page and "sqlite" not in page.lower()


def assert_unavailable_json(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.get_data(as_text=True)[:2000]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_DATABASE)
    error = response.get_json()["error"]
    assert error["status"] == 503 and error["code"] == "service_unavailable"
    assert "databas" in error["message"] and "SELECT" not in error["message"]


SWEDISH = ("Tjänsten är inte tillgänglig just nu", "Pulse når inte sin databas just nu")
ENGLISH = ("The service is unavailable right now", "Pulse cannot reach its database just now")


def test_a_respondent_page_answers_503_in_the_respondents_language(outage: Outage) -> None:
    client = outage.app.test_client()
    assert_unavailable_page(client.post("/r/start", data={"credential": "ABCD-EFGH-JKLM"}), *SWEDISH)
    assert_unavailable_page(client.post("/r/start?lang=en", data={"credential": "ABCD-EFGH-JKLM"}), *ENGLISH)
    assert_unavailable_page(client.post("/r/submit", data={"credential": "ABCD-EFGH-JKLM"},
                                        headers={"Accept-Language": "en"}), *ENGLISH)
    assert "Set-Cookie" not in client.post("/r/start", data={"credential": "x"}).headers
    # Pages that need no database still work.
    assert client.get("/r").status_code == 200 and client.get("/privacy").status_code == 200


def test_a_staff_page_answers_503(outage: Outage) -> None:
    client = outage.app.test_client()
    assert_unavailable_page(client.post("/staff/login", data={"email": "admin@example.org", "password": "x"},
                                        headers={"Accept-Language": "en"}), *ENGLISH)
    if outage.signed_in is not None:
        # Signed in before the outage: the session check itself needs the database.
        for path in ("/staff/", "/staff/results/", "/staff/admin/"):
            assert_unavailable_page(outage.signed_in.get(path), *SWEDISH)


def test_both_apis_answer_503_with_a_json_error(outage: Outage) -> None:
    client = outage.app.test_client()
    assert_unavailable_json(client.get("/api/v1/releases", headers={"Authorization": "Bearer pulse_abc"}))
    assert_unavailable_json(client.post("/api/v1/answers", json={"token": "ABCD-EFGH-JKLM", "answers": {}}))


def test_healthz_says_unavailable(outage: Outage) -> None:
    response = outage.app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"
    assert response.headers["Retry-After"] == str(RETRY_AFTER_DATABASE)


# --- a restarted PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture
def pg_app(db_backend: str, database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The app on PostgreSQL with its own application_name, so that the test can end exactly its connections."""
    if db_backend != "postgresql":
        pytest.skip("stale pooled connections are a PostgreSQL matter")
    name = f"pulse-stale-{uuid.uuid4().hex[:12]}"
    url = make_url(database_url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    app = _app(url, tmp_path)
    database: Database = app.extensions["pulse.db"]
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        Org(session)
        session.commit()
    yield app, name
    database.dispose()


def terminate_backends(application_name: str) -> int:
    """What a server restart does to the app's pooled connections: end them from the server's side."""
    admin = create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name = :name AND pid <> pg_backend_pid()"),
                                 {"name": application_name}).scalar_one()
            # Wait until they are gone, so the next request surely meets a dead connection.
            for _ in range(100):
                left = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                    {"name": application_name}).scalar_one()
                if not left:
                    break
        return int(ended)
    finally:
        admin.dispose()


def test_the_first_request_after_a_postgresql_restart_succeeds(pg_app: tuple[Flask, str], session: Session) -> None:
    app, name = pg_app
    staff, respondent = app.test_client(), app.test_client()
    sign_in(staff, "admin@example.org")
    # Several requests in a row, so the pool holds connections (one per request here, reused).
    for _ in range(3):
        assert staff.get("/staff/").status_code == 200
        assert respondent.get("/healthz").status_code == 200
    assert terminate_backends(name) >= 1
    # Every pooled connection is now dead; the next requests find out before using them, and reconnect.
    assert staff.get("/staff/").status_code == 200
    assert respondent.post("/r/start", data={"credential": "ABCD-EFGH-JKLM"}).status_code == 404
    assert staff.get("/api/v1/releases", headers={"Authorization": "Bearer pulse_abc"}).status_code == 401
    assert terminate_backends(name) >= 1
    assert respondent.get("/healthz").status_code == 200
