"""SmtpMailer against a real SMTP server on loopback (aiosmtpd); rendering and sending through the app."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from pulse.common import mail
from pulse.common.config import Config, MailConfig
from pulse.common.mail import MailError, Message, SmtpMailer, render_message
from tests.conftest import make_config
from tests.smtpserver import (
    ASCII_PASSWORD,
    HOST,
    PASSWORD,
    REFUSED,
    USERNAME,
    Certificate,
    Server,
    free_port,
    make_certificate,
    smtp_server,
)

SENDER = "Pulse Företaget <pulse@example.se>"
TO = "anna.lindqvist@example.se"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """These tests need an app but no database rows: SQLite only, whatever PULSE_TEST_DATABASE_URL says."""
    return make_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def plain_server() -> Iterator[Server]:
    with smtp_server() as server:
        yield server


def mail_config(port: int, security: str = "none", **changes: object) -> MailConfig:
    settings: dict[str, object] = {"backend": "smtp", "sender": SENDER, "smtp_host": HOST, "smtp_port": port,
                                   "smtp_security": security, "smtp_timeout": 5, **changes}
    return MailConfig(**settings)  # type: ignore[arg-type]


def swedish_message(to: str = TO) -> Message:
    return Message(to=to, subject="Enkäten är öppen – svara senast på fredag",
                   text="Hej Åsa!\n\nVälkommen att svara på enkäten om arbetsmiljön.\n",
                   html="<p>Hej Åsa!</p><p>Välkommen att svara på enkäten om arbetsmiljön.</p>")


def test_plain_smtp_delivers_a_multipart_message_with_swedish_text(plain_server: Server) -> None:
    SmtpMailer(mail_config(plain_server.port)).send(swedish_message())

    [envelope] = plain_server.recorder.envelopes
    assert envelope.mail_from == "pulse@example.se"
    assert envelope.rcpt_tos == [TO]
    [message] = plain_server.recorder.messages()
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"].addresses[0].display_name == "Pulse Företaget"
    assert message["From"].addresses[0].addr_spec == "pulse@example.se"
    assert message["To"] == TO
    assert message["Subject"] == "Enkäten är öppen – svara senast på fredag"
    assert message["Date"].datetime is not None
    assert message["Message-ID"].endswith("@example.se>")
    assert "Välkommen att svara på enkäten om arbetsmiljön." in message.get_body(("plain",)).get_content()
    assert "<p>Hej Åsa!</p>" in message.get_body(("html",)).get_content()
    assert plain_server.recorder.sessions[0].ssl is None


def test_starttls_with_a_trusted_certificate(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate) as server:
        SmtpMailer(mail_config(server.port, "starttls"), ssl_context=certificate.client_context()).send(
            swedish_message())
    [session] = server.recorder.sessions
    assert session.ssl is not None  # the message travelled after STARTTLS
    assert server.recorder.messages()[0]["Subject"] == "Enkäten är öppen – svara senast på fredag"


def test_starttls_refuses_a_certificate_it_does_not_trust(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate) as server, pytest.raises(MailError, match="TLS failed") as caught:
        SmtpMailer(mail_config(server.port, "starttls")).send(swedish_message())  # system CAs only
    assert server.recorder.envelopes == []
    assert TO not in str(caught.value)


def test_starttls_is_not_silently_skipped_when_the_server_does_not_offer_it(plain_server: Server) -> None:
    with pytest.raises(MailError, match="STARTTLS"):
        SmtpMailer(mail_config(plain_server.port, "starttls")).send(swedish_message())
    assert plain_server.recorder.envelopes == []


def test_implicit_tls(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, implicit_tls=True) as server:
        SmtpMailer(mail_config(server.port, "tls"), ssl_context=certificate.client_context()).send(
            swedish_message())
    assert server.recorder.envelopes[0].rcpt_tos == [TO]


def test_implicit_tls_refuses_an_untrusted_certificate(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, implicit_tls=True) as server, pytest.raises(MailError,
                                                                                         match="TLS failed"):
        SmtpMailer(mail_config(server.port, "tls")).send(swedish_message())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "tls"])
@pytest.mark.parametrize("password", [ASCII_PASSWORD, PASSWORD], ids=["ascii", "swedish"])
def test_auth_with_username_and_password_over_tls(certificate: Certificate, implicit_tls: bool,
                                                  password: str) -> None:
    # The Swedish password used to escape as a UnicodeEncodeError from smtplib's ASCII-only login().
    with smtp_server(certificate=certificate, implicit_tls=implicit_tls, auth=True) as server:
        config = mail_config(server.port, "tls" if implicit_tls else "starttls",
                             smtp_username=USERNAME, smtp_password=password)
        SmtpMailer(config, ssl_context=certificate.client_context()).send(swedish_message())
    [session] = server.recorder.sessions
    assert session.authenticated
    assert session.login_data == USERNAME.encode()


@pytest.mark.parametrize("password", ["wrong-password", "wrong-påssword"])
def test_a_wrong_password_is_a_mail_error_that_names_neither_password_nor_recipient(
        certificate: Certificate, password: str) -> None:
    with smtp_server(certificate=certificate, auth=True) as server:
        config = mail_config(server.port, "starttls", smtp_username=USERNAME, smtp_password=password)
        with pytest.raises(MailError, match="user name or password was refused") as caught:
            SmtpMailer(config, ssl_context=certificate.client_context()).send(swedish_message())
    text = str(caught.value)
    assert "535" in text
    assert password not in text
    assert TO not in text
    assert server.recorder.envelopes == []


def test_a_server_that_requires_auth_refuses_a_sender_without_it(certificate: Certificate) -> None:
    with smtp_server(certificate=certificate, auth=True) as server, pytest.raises(MailError) as caught:
        SmtpMailer(mail_config(server.port, "starttls"), ssl_context=certificate.client_context()).send(
            swedish_message())
    assert "530" in str(caught.value)
    assert TO not in str(caught.value)


def test_connection_refused_is_a_mail_error_without_the_recipient() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(MailError) as caught:
        SmtpMailer(mail_config(port)).send(swedish_message())
    text = str(caught.value)
    assert f"{HOST}:{port}" in text
    assert "refused" in text.lower()
    assert TO not in text
    assert "anna" not in text
    # Nothing chained either: a logged traceback would print the cause's text.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_refused_recipient_is_reported_by_status_code_only(plain_server: Server) -> None:
    to = f"{REFUSED}.person@example.se"
    with pytest.raises(MailError) as caught:
        SmtpMailer(mail_config(plain_server.port)).send(swedish_message(to=to))
    text = str(caught.value)
    assert "recipient was refused (550 5.1.1)" in text
    # The server quoted the address back ("550 5.1.1 <refused.person@…>: …"); none of that comes through.
    assert REFUSED not in text
    assert "@" not in text.replace(f"{HOST}", "")
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert plain_server.recorder.envelopes == []


def test_only_the_one_recipient_is_in_the_envelope(plain_server: Server) -> None:
    # Before the fix a "To" of "a@…, b@…" went to both; now the message cannot even be made.
    with pytest.raises(MailError):
        SmtpMailer(mail_config(plain_server.port)).send(swedish_message(to=f"{TO}, boss@example.se"))
    assert plain_server.recorder.envelopes == []


def test_a_failed_goodbye_after_the_message_was_accepted_is_not_an_error(plain_server: Server) -> None:
    plain_server.recorder.quit_reply = "421 4.3.2 Shutting down"
    # Reporting this as a failure would make callers roll back although the person has the mail.
    SmtpMailer(mail_config(plain_server.port)).send(swedish_message())
    assert len(plain_server.recorder.envelopes) == 1


@pytest.mark.parametrize("failure", ["refused_recipient", "wrong_security", "accepted"])
def test_the_connection_is_always_closed(plain_server: Server, failure: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []
    original_close = smtplib.SMTP.close

    def spy_close(self: smtplib.SMTP) -> None:
        closed.append(self.sock is None)
        original_close(self)
        closed.append(self.sock is None)

    monkeypatch.setattr(smtplib.SMTP, "close", spy_close)
    security = "starttls" if failure == "wrong_security" else "none"
    to = f"{REFUSED}@example.se" if failure == "refused_recipient" else TO
    mailer = SmtpMailer(mail_config(plain_server.port, security))
    if failure == "accepted":
        mailer.send(swedish_message(to=to))
    else:
        with pytest.raises(MailError):
            mailer.send(swedish_message(to=to))
    assert closed
    assert closed[-1] is True


def test_the_timeout_reaches_the_socket(plain_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts: list[float | None] = []
    original = smtplib.SMTP.send_message

    def spy(self: smtplib.SMTP, *args: object, **kwargs: object) -> object:
        assert self.sock is not None
        timeouts.append(self.sock.gettimeout())
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smtplib.SMTP, "send_message", spy)
    SmtpMailer(mail_config(plain_server.port, smtp_timeout=7.5)).send(swedish_message())
    assert timeouts == [7.5]


def test_the_ssl_context_default_verifies_certificates() -> None:
    context = SmtpMailer(mail_config(25)).ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(("language", "subject", "greeting"), [
    ("sv", "Välj ditt lösenord till Pulse", "Det här meddelandet skickades av Pulse."),
    ("en", "Set your Pulse password", "This message was sent by Pulse."),
    ("xx", "Välj ditt lösenord till Pulse", "Det här meddelandet skickades av Pulse."),  # unknown: Swedish
    ("", "Välj ditt lösenord till Pulse", "Det här meddelandet skickades av Pulse."),
])
def test_render_message_uses_the_recipients_language(app: Flask, language: str, subject: str,
                                                     greeting: str) -> None:
    with app.app_context():
        message = render_message("password_reset", to=TO, language=language, name="Åsa Öberg",
                                 link="http://pulse.test/staff/password/reset/abc", minutes=60)
    assert message.subject == subject
    assert message.to == TO
    assert "Åsa Öberg" in message.text
    assert "http://pulse.test/staff/password/reset/abc" in message.text
    assert "60" in message.text
    assert greeting in message.html
    expected_lang = language if language in ("sv", "en") else "sv"
    assert f'<html lang="{expected_lang}">' in message.html
    assert f"<title>{subject}</title>" in message.html


def test_render_message_escapes_html_but_not_the_plain_text(app: Flask) -> None:
    with app.app_context():
        message = render_message("password_reset", to=TO, language="en", name="<b>Åsa</b> & co",
                                 link="http://pulse.test/x", minutes=5)
    assert "&lt;b&gt;Åsa&lt;/b&gt; &amp; co" in message.html
    assert "<b>Åsa</b> & co" in message.text


def test_send_logs_a_failure_without_the_recipient(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, mail=mail_config(free_port()))
    from pulse import create_app

    app = create_app(config)
    with app.app_context(), caplog.at_level(logging.ERROR, "pulse.common.mail"), pytest.raises(MailError):
        mail.send("password_reset", to=TO, language="sv", name="Anna", link="http://pulse.test/x", minutes=5)
    [record] = caplog.records
    assert "password_reset" in record.getMessage()
    assert "refused" in record.getMessage().lower()
    assert TO not in caplog.text
    assert "anna" not in caplog.text.lower()
    assert record.exc_info is None
