"""``pulse mail test`` through the Flask CLI runner, against a real SMTP server and with the file backend."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from pulse import create_app
from pulse.cli import main
from pulse.common.config import Config, MailConfig
from tests.conftest import make_config
from tests.smtpserver import HOST, PASSWORD, USERNAME, Certificate, free_port, make_certificate, smtp_server

TO = "it-support@example.se"


def make_app(tmp_path: Path, **mail: object) -> Flask:
    settings: dict[str, object] = {"sender": "Pulse <pulse@example.se>", **mail}
    config: Config = make_config(f"sqlite:///{tmp_path / 'test.db'}", tmp_path,
                                 mail=MailConfig(**settings))  # type: ignore[arg-type]
    return create_app(config)


def run(app: Flask, *args: str) -> Result:
    # The commands hang off the ``pulse`` group (pulse.cli.main), not app.cli.
    return app.test_cli_runner().invoke(main, ["mail", "test", *args])


def test_mail_test_sends_through_smtp_in_swedish_by_default(tmp_path: Path) -> None:
    with smtp_server() as server:
        app = make_app(tmp_path, backend="smtp", smtp_host=HOST, smtp_port=server.port, smtp_security="none")
        result = run(app, TO)
    assert result.exit_code == 0, result.output
    assert f"SMTP server {HOST}:{server.port}" in result.output
    assert TO not in result.output
    [envelope] = server.recorder.envelopes
    assert envelope.rcpt_tos == [TO]
    [message] = server.recorder.messages()
    assert message["To"] == TO
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="sv">' in html
    assert "Det här meddelandet skickades av Pulse." in html  # from the Swedish catalogue
    assert "http://pulse.test" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_mail_test_in_english(tmp_path: Path) -> None:
    with smtp_server() as server:
        app = make_app(tmp_path, backend="smtp", smtp_host=HOST, smtp_port=server.port, smtp_security="none")
        result = run(app, TO, "--language", "en")
    assert result.exit_code == 0, result.output
    [message] = server.recorder.messages()
    assert message["Subject"] == "Pulse test message"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "This is a test message from Pulse at http://pulse.test." in text
    assert '<html lang="en">' in message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_mail_test_over_starttls_with_auth_and_an_operator_trusted_ca(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    certificate: Certificate = make_certificate(tmp_path / "cert")
    # What an operator with a private CA does: OpenSSL's default verify paths honour SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_file))
    with smtp_server(certificate=certificate, auth=True) as server:
        app = make_app(tmp_path, backend="smtp", smtp_host=HOST, smtp_port=server.port, smtp_security="starttls",
                       smtp_username=USERNAME, smtp_password=PASSWORD)
        result = run(app, TO)
    assert result.exit_code == 0, result.output
    [session] = server.recorder.sessions
    assert session.ssl is not None
    assert session.authenticated


def test_mail_test_reports_a_refused_connection_and_exits_non_zero(tmp_path: Path) -> None:
    port = free_port()
    app = make_app(tmp_path, backend="smtp", smtp_host=HOST, smtp_port=port, smtp_security="none", smtp_timeout=5)
    result = run(app, TO)
    assert result.exit_code == 1
    assert "The test message was not sent." in result.output
    assert f"SMTP server {HOST}:{port}" in result.output
    assert "refused" in result.output.lower()
    assert TO not in result.output


def test_mail_test_reports_a_refused_recipient(tmp_path: Path) -> None:
    with smtp_server() as server:
        app = make_app(tmp_path, backend="smtp", smtp_host=HOST, smtp_port=server.port, smtp_security="none")
        result = run(app, "unknown.person@example.se")
    assert result.exit_code == 1
    assert "recipient was refused (550 5.1.1)" in result.output
    assert "unknown.person" not in result.output


def test_mail_test_refuses_a_malformed_address(tmp_path: Path) -> None:
    app = make_app(tmp_path, backend="file", file_dir=tmp_path / "outbox")
    result = run(app, f"{TO}, boss@example.se")
    assert result.exit_code == 1
    assert "not one valid e-mail address" in result.output
    assert not (tmp_path / "outbox").exists()


def test_mail_test_with_the_file_backend(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    app = make_app(tmp_path, backend="file", file_dir=outbox)
    result = run(app, TO, "--language", "en")
    assert result.exit_code == 0, result.output
    assert str(outbox) in result.output
    [path] = outbox.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == TO
    assert message["Subject"] == "Pulse test message"
    assert message.get_content_type() == "multipart/alternative"


def test_mail_test_rejects_an_unsupported_language(tmp_path: Path) -> None:
    app = make_app(tmp_path, backend="file", file_dir=tmp_path / "outbox")
    result = run(app, TO, "--language", "de")
    assert result.exit_code == 2
    assert not (tmp_path / "outbox").exists()
