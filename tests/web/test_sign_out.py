"""Signing out ends the session for every copy of its cookie, and what that stores names nobody."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from pulse import scheduler
from pulse.common.db import get_database
from pulse.domain import crypto
from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.models import Person, RevokedSession
from pulse.services import sessions
from tests.conftest import TEST_SECRET
from tests.factories import sign_in, snapshot

COOKIE = "pulse_staff"


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s staff cookie (copied from a shared computer, a proxy, …)."""
    cookie = client.get_cookie(COOKIE, path="/staff")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(COOKIE, cookie.value, domain=cookie.domain, path="/staff")
    return other


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/staff/")
    return response.status_code == 200 and "Ada Admin" in response.get_data(as_text=True)


def test_signing_out_ends_every_copy_of_the_session(app: Flask, client: FlaskClient, session: Session,
                                                      org) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    copy = copy_of(app, client)
    assert signed_in(client) and signed_in(copy)  # the copy works as well as the original
    with client.session_transaction("/staff/") as cookie:
        sid, since = cookie["sid"], cookie["since"]
    before = snapshot(session)
    assert client.post("/staff/logout").status_code == 302
    assert not signed_in(client)
    # The copy no longer works either (it did until its idle timeout before sessions could be revoked) …
    response = copy.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert copy.get("/staff/admin/").status_code == 302
    # … and signing in again gives a new session that works.
    sign_in(client, "admin@example.org")
    assert signed_in(client) and not signed_in(copy)
    # Signing out wrote one row, to the revocations, and nothing else.
    after = snapshot(session)
    changed = {table for table in after if after[table] != before[table]}
    assert changed == {"revoked_session"}
    assert len(after["revoked_session"]) == 1
    # The row names nobody: a keyed hash of the session's random id (which only the cookie holds) and when the
    # session would have ended anyway, to the hour — no person, no address, no sign-in or sign-out moment.
    assert {c["name"] for c in inspect(get_database(app).engine).get_columns("revoked_session")} == {
        "id_hash", "forget_after"}
    assert not inspect(get_database(app).engine).get_foreign_keys("revoked_session")
    row = session.scalars(select(RevokedSession)).one()
    key = crypto.subkey(derive_key(TEST_SECRET, KeyPurpose.SESSION), b"pulse/revoked-session")
    assert row.id_hash == crypto.keyed_hash(key, sid) and re.fullmatch(r"[0-9a-f]{64}", row.id_hash)
    max_age = app.config["PULSE"].session_max_hours * 3600
    expires = dt.datetime.fromtimestamp(since + max_age, dt.UTC)
    assert expires <= row.forget_after < expires + dt.timedelta(hours=1)
    assert (row.forget_after.minute, row.forget_after.second, row.forget_after.microsecond) == (0, 0, 0)
    people = list(session.scalars(select(Person)))
    stored = repr(after)
    assert sid not in stored  # the session id itself is nowhere in the database
    for person in people:
        assert person.email not in repr(after["revoked_session"]) and person.name not in repr(after["revoked_session"])


def test_signing_out_twice_from_two_copies_stores_one_row(app: Flask, client: FlaskClient, session: Session,
                                                          org) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    copy = copy_of(app, client)
    assert copy.post("/staff/logout").status_code == 302
    assert client.post("/staff/logout").status_code == 302  # already ended: nothing more to revoke
    assert not signed_in(client) and len(list(session.scalars(select(RevokedSession)))) == 1


def test_a_session_without_an_id_ends(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    """Sessions from before sessions had ids cannot be revoked: they end, and their holders sign in again."""
    sign_in(client, "admin@example.org")
    with client.session_transaction("/staff/") as cookie:
        del cookie["sid"]
    assert client.get("/staff/").status_code == 302


def test_a_password_change_still_ends_the_other_sessions(app: Flask, client: FlaskClient, session: Session,
                                                         org) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    copy = copy_of(app, client)
    person = session.scalars(select(Person).where(Person.email == "admin@example.org")).one()
    person.session_version += 1  # what a password change or reset does
    session.commit()
    assert not signed_in(client) and not signed_in(copy)
    assert list(session.scalars(select(RevokedSession))) == []


def test_the_scheduler_forgets_revocations_of_expired_sessions(app: Flask, session: Session) -> None:
    now = dt.datetime(2026, 12, 8, 10, 30, tzinfo=dt.UTC)
    key = b"k" * 32
    sessions.revoke(session, key, "old", forget_after=now - dt.timedelta(hours=2))
    sessions.revoke(session, key, "current", forget_after=now + dt.timedelta(minutes=10))
    session.commit()
    with app.app_context():
        report = scheduler.tick(app, now=now)
    assert report.ran and not report.errors
    session.expire_all()
    assert not sessions.is_revoked(session, key, "old") and sessions.is_revoked(session, key, "current")
    # Rounded up to the hour: the current one stays until 11:00.
    assert session.scalars(select(RevokedSession.forget_after)).one() == dt.datetime(2026, 12, 8, 11, tzinfo=dt.UTC)
