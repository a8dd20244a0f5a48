"""Staff sign-in, sign-out, session timeout, password reset and cookie scoping."""

from __future__ import annotations

import email
import email.policy
import re
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pulse.models import AuditEntry, PasswordReset
from tests.factories import PASSWORD, sign_in


def test_sign_in_and_out(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/login", data={"email": "ADMIN@example.org ", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "Ada Admin" in home.get_data(as_text=True)
    response = client.post("/staff/logout")
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_wrong_password_is_refused_with_401_and_a_message(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": "wrong"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_unknown_address_gets_the_same_answer(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/login", data={"email": "nobody@example.org", "password": "whatever"},
                           headers={"Accept-Language": "sv"})
    assert response.status_code == 401
    assert "E-postadressen eller lösenordet är fel." in response.get_data(as_text=True)


def test_sign_in_is_rate_limited_per_address_and_client(client: FlaskClient, org, app: Flask) -> None:  # type: ignore[no-untyped-def]
    limit = app.config["PULSE"].login_max_failures
    attacker = {"REMOTE_ADDR": "198.51.100.66"}
    for _ in range(limit):
        assert client.post("/staff/login", data={"email": "admin@example.org", "password": "nope"},
                           environ_base=attacker).status_code == 401
    # Even the right password is refused from that client while the address is locked there.
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD},
                           headers={"Accept-Language": "en"}, environ_base=attacker)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Someone who knows a colleague's address cannot lock them out: the colleague signs in from their own device.
    colleague = app.test_client()
    response = colleague.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD},
                              environ_base={"REMOTE_ADDR": "198.51.100.10"})
    assert response.status_code == 302
    # Other accounts are not affected.
    sign_in(client, "manager@example.org")


def test_guessing_one_address_from_many_clients_is_stopped(client: FlaskClient, org, app: Flask) -> None:  # type: ignore[no-untyped-def]
    limit = app.config["PULSE"].login_max_failures * 4
    for n in range(limit):
        assert client.post("/staff/login", data={"email": "admin@example.org", "password": "nope"},
                           environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code == 401
    assert client.post("/staff/login", data={"email": "admin@example.org", "password": "nope"},
                       environ_base={"REMOTE_ADDR": "203.0.113.200"}).status_code == 429


def test_failed_sign_ins_are_not_stored(client: FlaskClient, org, session: Session) -> None:  # type: ignore[no-untyped-def]
    """Nothing about who failed, or from where, reaches the database (docs/ANONYMITY.md, "Answer now")."""
    from tests.factories import snapshot

    before = snapshot(session)
    for _ in range(3):
        assert client.post("/staff/login", data={"email": "admin@example.org", "password": "nope"}).status_code == 401
    sign_in(client, "admin@example.org")
    assert snapshot(session) == before


def test_trusted_proxies_give_each_client_its_own_limit(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Behind a reverse proxy every request comes from the proxy: with PULSE_TRUSTED_PROXIES=1 the client's own
    address (X-Forwarded-For) is what is counted, so one client's mistakes do not pause the others."""
    from pulse import create_app
    from pulse.common.db import Base, Database
    from tests.conftest import make_config
    from tests.factories import Org

    config = make_config(database_url, tmp_path, trusted_proxies=1)
    database = Database(config.database_url)
    Base.metadata.create_all(database.engine)
    app = create_app(config, database=database)
    app.config["WTF_CSRF_ENABLED"] = False
    with database.session() as session:
        Org(session)
    limit = config.login_max_failures
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    web = app.test_client()
    for _ in range(limit):
        web.post("/staff/login", data={"email": "admin@example.org", "password": "nope"}, environ_base=proxy,
                 headers={"X-Forwarded-For": "198.51.100.1"})
    blocked = web.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD}, environ_base=proxy,
                       headers={"X-Forwarded-For": "198.51.100.1"})
    allowed = app.test_client().post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD},
                                     environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.2"})
    assert (blocked.status_code, allowed.status_code) == (429, 302)
    database.dispose()


def test_session_cookie_is_scoped_to_the_staff_area(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("pulse_staff=")
    assert "Path=/staff" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    # The public start page neither sets nor needs a cookie.
    assert "Set-Cookie" not in client.get("/").headers


def test_secure_flag_when_served_over_https(app: Flask) -> None:
    from pulse import create_app

    config = app.config["PULSE"].with_overrides(base_url="https://pulse.example.org")
    assert create_app(config).config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_idle_session_times_out(client: FlaskClient, org, app: Flask) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "admin@example.org")
    with client.session_transaction("/staff/") as sess:
        sess["seen"] = int(time.time()) - app.config["PULSE"].session_idle_minutes * 60 - 5
    response = client.get("/staff/", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your session ended because you were inactive" in page


def test_next_only_follows_staff_paths(client: FlaskClient, org) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD,
                                                  "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/staff/"
    client.post("/staff/logout")
    response = client.post("/staff/login", data={"email": "admin@example.org", "password": PASSWORD,
                                                  "next": "/staff/admin/units"})
    assert response.headers["Location"] == "/staff/admin/units"


def _reset_link(outbox: Path) -> str:
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain").get_content()
    match = re.search(r"http://pulse\.test(/staff/password/reset/\S+)", text)
    assert match, text
    return match.group(1)


def test_password_reset_flow(client: FlaskClient, org, app: Flask, session) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/staff/password/forgot", data={"email": "employee@example.org"})
    assert response.status_code == 302
    link = _reset_link(app.config["PULSE"].outbox_dir)
    # Opening the link (as a mail scanner would) does not use it up.
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200
    new_password = "a brand new long password"
    response = client.post(link, data={"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    sign_in(client, "employee@example.org", new_password)
    client.post("/staff/logout")
    # The link works once only.
    response = client.post(link, data={"password": "another long password", "confirm": "another long password"})
    assert response.status_code == 400
    assert client.get(link).status_code == 400
    actions = [e.action for e in session.query(AuditEntry).order_by(AuditEntry.seq)]
    assert "auth.password_reset" in actions


def test_expired_reset_link_is_refused(client: FlaskClient, org, app: Flask, session) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from sqlalchemy import update

    client.post("/staff/password/forgot", data={"email": "employee@example.org"})
    link = _reset_link(app.config["PULSE"].outbox_dir)
    session.execute(update(PasswordReset).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    session.commit()
    response = client.get(link, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "has expired or has already been used" in response.get_data(as_text=True)
    response = client.post(link, data={"password": "a brand new long password", "confirm": "a brand new long password"})
    assert response.status_code == 400


def test_forgot_password_does_not_reveal_unknown_addresses(client: FlaskClient, org, app: Flask) -> None:  # type: ignore[no-untyped-def]
    known = client.post("/staff/password/forgot", data={"email": "employee@example.org"}, follow_redirects=True)
    unknown = client.post("/staff/password/forgot", data={"email": "stranger@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert len(list(app.config["PULSE"].outbox_dir.glob("*.eml"))) == 1


def test_reset_mail_is_in_the_recipients_language(client: FlaskClient, org, app: Flask, session) -> None:  # type: ignore[no-untyped-def]
    org.employee.language = "en"
    session.commit()
    client.post("/staff/password/forgot", data={"email": "employee@example.org"})
    raw = next(app.config["PULSE"].outbox_dir.glob("*.eml")).read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Set your Pulse password"
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}


def test_password_change_ends_other_sessions(app: Flask, org) -> None:  # type: ignore[no-untyped-def]
    first, second = app.test_client(), app.test_client()
    sign_in(first, "admin@example.org")
    sign_in(second, "admin@example.org")
    new = "yet another long password"
    response = first.post("/staff/settings", data={"password-current": PASSWORD, "password-password": new,
                                                   "password-confirm": new})
    assert response.status_code == 302
    assert first.get("/staff/").status_code == 200
    assert second.get("/staff/").status_code == 302


def test_forgot_password_answers_the_same_when_mail_fails(client: FlaskClient, org, app: Flask,  # type: ignore[no-untyped-def]
                                                          monkeypatch) -> None:
    from pulse.common import mail

    class Broken:
        def send(self, message: object) -> None:
            raise mail.MailError("server down")

    monkeypatch.setitem(app.extensions, "pulse.mailer", Broken())
    known = client.post("/staff/password/forgot", data={"email": "employee@example.org"}, follow_redirects=True)
    unknown = client.post("/staff/password/forgot", data={"email": "stranger@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
