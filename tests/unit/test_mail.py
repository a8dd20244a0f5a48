"""The mail module without a server or an app: messages, the file and console backends, backend choice."""

from __future__ import annotations

import email
import email.policy
import io
import re
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from pulse.common.config import MailConfig
from pulse.common.mail import ConsoleMailer, FileMailer, MailError, Message, SmtpMailer, make_mailer, sender_address

SENDER = "Pulse Företaget <pulse@example.se>"
TO = "åsa.öberg@example.se"


def swedish_message(to: str = "anna@example.se", subject: str = "Hej från Pulse – åäö ÅÄÖ") -> Message:
    return Message(to=to, subject=subject, text="Räksmörgås: å ä ö.\n", html="<p>Räksmörgås: å ä ö.</p>")


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_the_message_is_multipart_alternative_with_text_first() -> None:
    message = parse(bytes(swedish_message().to_email(SENDER)))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == "Räksmörgås: å ä ö.\n"
    assert parts[1].get_content() == "<p>Räksmörgås: å ä ö.</p>\n"
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert message["Subject"] == "Hej från Pulse – åäö ÅÄÖ"
    assert message["From"].addresses[0].display_name == "Pulse Företaget"
    assert message["From"].addresses[0].addr_spec == "pulse@example.se"
    assert message["To"] == "anna@example.se"
    assert message["Date"].datetime is not None
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_message_is_7bit_so_servers_without_8bitmime_keep_the_swedish_letters() -> None:
    raw = bytes(swedish_message().to_email(SENDER))
    raw.decode("ascii")  # raises if any byte is 8-bit
    assert parse(raw)["Subject"] == "Hej från Pulse – åäö ÅÄÖ"


def test_message_ids_are_random_and_in_the_senders_domain() -> None:
    first = swedish_message().to_email(SENDER)["Message-ID"]
    second = swedish_message().to_email(SENDER)["Message-ID"]
    assert first != second
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.se>", first)


@pytest.mark.parametrize(("sender", "domain"), [
    ("pulse@example.se (Pulse)", "example.se"),  # the old rpartition("@") gave "example.se (Pulse)"
    ("Pulse <pulse@företag.se>", "xn--fretag-wxa.se"),
    ("pulse@localhost", "localhost"),
])
def test_the_message_id_domain_is_a_clean_ascii_domain(sender: str, domain: str) -> None:
    assert sender_address(sender).domain == domain
    assert swedish_message().to_email(sender)["Message-ID"].endswith(f"@{domain}>")


@pytest.mark.parametrize("to", [
    "anna@example.se, boss@example.se",
    "anna@example.se\r\nBcc: boss@example.se",
    "anna@example.se\nBcc: boss@example.se",
    "Anna <anna@example.se>",
    "anna@example.se>, <boss@example.se",
    "not an address",
    "",
])
def test_a_message_goes_to_exactly_one_valid_address(to: str) -> None:
    with pytest.raises(MailError) as caught:
        swedish_message(to=to)
    # The refusal does not repeat what it refused: it could be an address.
    assert "@" not in str(caught.value)
    assert "anna" not in str(caught.value)


def test_recipient_domains_are_sent_in_ascii() -> None:
    assert swedish_message(to="anna@företag.se").to == "anna@xn--fretag-wxa.se"
    assert swedish_message(to=TO).to == TO  # a non-ASCII local part stays (it needs SMTPUTF8)


@pytest.mark.parametrize("subject", ["Hej\r\nBcc: boss@example.se", "Hej\nBcc: boss@example.se", "Hej\rBcc: x",
                                     "Hej\u2028Bcc: x", "  Hej \n\n  där  "])
def test_a_subject_cannot_add_headers(subject: str) -> None:
    message = swedish_message(subject=subject)
    assert "\n" not in message.subject
    assert "\r" not in message.subject
    parsed = parse(bytes(message.to_email(SENDER)))
    assert parsed["Bcc"] is None
    assert parsed.get_all("Subject") == [" ".join(subject.split())]


def test_file_mailer_writes_one_private_eml_per_message_under_a_random_name(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = FileMailer(outbox, SENDER)  # no app context needed
    mailer.send(swedish_message())
    mailer.send(swedish_message())
    files = sorted(outbox.iterdir())
    assert len(files) == 2
    assert all(re.fullmatch(r"[0-9a-f]{24}\.eml", f.name) for f in files)
    # The files hold sign-in links: only the owner may read them.
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    for path in files:
        message = parse(path.read_bytes())
        assert message["Subject"] == "Hej från Pulse – åäö ÅÄÖ"
        assert message["To"] == "anna@example.se"
        assert message.get_body(("plain",)).get_content() == "Räksmörgås: å ä ö.\n"  # type: ignore[union-attr]


def test_file_mailer_reports_an_unwritable_folder_as_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(MailError) as caught:
        FileMailer(blocker, SENDER).send(swedish_message())
    assert "anna" not in str(caught.value)


def test_console_mailer_prints_headers_and_the_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleMailer(SENDER).send(swedish_message())
    out = capsys.readouterr().out
    assert "To: anna@example.se\n" in out
    assert "Subject: Hej från Pulse – åäö ÅÄÖ\n" in out
    assert "Räksmörgås: å ä ö." in out
    assert "<p>" not in out


def test_console_mailer_can_write_to_a_stream() -> None:
    stream = io.StringIO()
    ConsoleMailer(SENDER, stream).send(swedish_message())
    assert "Räksmörgås" in stream.getvalue()


@pytest.mark.parametrize(("backend", "kind"), [("smtp", SmtpMailer), ("file", FileMailer),
                                               ("console", ConsoleMailer)])
def test_make_mailer_picks_the_configured_backend(backend: str, kind: type, tmp_path: Path) -> None:
    config = MailConfig(backend=backend, smtp_host="mail.example.se")  # type: ignore[arg-type]
    mailer = make_mailer(config, tmp_path / "outbox")
    assert type(mailer) is kind
    if isinstance(mailer, FileMailer):
        assert mailer.folder == tmp_path / "outbox"
