"""Outgoing mail: one interface, three backends (``smtp``, ``file``, ``console``).

Every message goes to exactly one person, is multipart (plain text and HTML) and is written in the
recipient's language. Recipient addresses never appear in logs or in :class:`MailError` texts: mail is
how people are invited, and a log of who got what would undo part of the anonymity.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import secrets
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol, TextIO

from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app, render_template
from flask_babel import force_locale

from pulse.common.config import MailConfig
from pulse.common.i18n import DEFAULT, SUPPORTED

log = logging.getLogger(__name__)

#: An enhanced status code (RFC 3463) at the start of a server reply, e.g. ``5.1.1``.
_ENHANCED_STATUS = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


class MailError(Exception):
    """A message could not be handed over to the mail system. The text never names the recipient."""


def recipient_address(address: str) -> str:
    """``address`` checked to be one bare e-mail address, its domain in ASCII where possible.

    :raises MailError: for anything else (lists, display names, line breaks), without quoting it.
    """
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        raise MailError("The recipient is not one valid e-mail address.") from None
    # An ASCII domain (IDNA) lets ordinary servers take "anna@företag.se"; only a non-ASCII local part
    # still needs a server that speaks SMTPUTF8.
    return valid.ascii_email or valid.normalized


def sender_address(sender: str) -> Address:
    """The configured sender (``Pulse <pulse@example.se>``) as an :class:`Address`, domain in ASCII."""
    name, addr = parseaddr(sender)
    local, _, domain = addr.rpartition("@")
    if not local or not domain:
        raise MailError("The sender (PULSE_MAIL_FROM) is not an e-mail address.")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise MailError("The sender's domain (PULSE_MAIL_FROM) is not a valid domain name.") from None
    return Address(display_name=name, username=local, domain=domain)


@dataclass(frozen=True)
class Message:
    """One message to one person.

    The recipient is checked and the subject flattened to one line when the message is made, so neither can
    add a header or a second recipient.
    """

    to: str
    subject: str
    text: str
    html: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", recipient_address(self.to))
        object.__setattr__(self, "subject", " ".join(self.subject.split()))

    def to_email(self, sender: str) -> EmailMessage:
        """The message as MIME, ``multipart/alternative`` with plain text first."""
        origin = sender_address(sender)
        message = EmailMessage()
        message["From"] = origin
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(usegmt=True)
        # Random, in the sender's domain: make_msgid() would add the time and this process's id.
        message["Message-ID"] = f"<{secrets.token_hex(16)}@{origin.domain}>"
        message["Auto-Submitted"] = "auto-generated"
        # Quoted-printable keeps the message 7-bit, so servers without 8BITMIME pass "åäö" on intact.
        message.set_content(self.text, cte="quoted-printable")
        message.add_alternative(self.html, subtype="html", cte="quoted-printable")
        return message


class Mailer(Protocol):
    def send(self, message: Message) -> None:
        """Hand ``message`` over; :raises MailError: when that fails."""


class SmtpMailer:
    """Sends through an SMTP server, with STARTTLS, implicit TLS or (on trusted networks) neither."""

    def __init__(self, config: MailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: Message) -> None:
        cfg = self.config
        email_message = message.to_email(cfg.sender)
        server = f"SMTP server {cfg.smtp_host}:{cfg.smtp_port}"
        smtp: smtplib.SMTP
        try:
            # smtplib closes the socket itself when connecting fails.
            if cfg.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout,
                                        context=self.ssl_context)
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{server}: {_describe(exc)}") from None
        try:
            try:
                if cfg.smtp_security == "starttls":
                    smtp.starttls(context=self.ssl_context)
                if cfg.smtp_username:
                    _login(smtp, cfg.smtp_username, cfg.smtp_password)
            except (smtplib.SMTPException, OSError) as exc:
                # The server has not seen the recipient yet, so its reply is safe to quote.
                raise MailError(f"{server}: {_describe(exc)}") from None
            try:
                smtp.send_message(email_message, from_addr=sender_address(cfg.sender).addr_spec,
                                  to_addrs=[message.to])
            except (smtplib.SMTPException, OSError) as exc:
                # Replies from here on may quote the recipient: keep the status codes only.
                raise MailError(f"{server} did not take the message: {_describe_status(exc)}") from None
            # The message was accepted: a failed goodbye does not make it undelivered.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        finally:
            smtp.close()


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    if (username + password).isascii():
        smtp.login(username, password)
        return
    # smtplib encodes credentials as ASCII and fails on "lösenord"; AUTH PLAIN carries UTF-8 (RFC 4616).
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN, which a non-ASCII password needs")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the user name or password was refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({getattr(exc, 'verify_message', None) or exc.reason or exc})"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _describe_status(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [_status(code, reply) for code, reply in exc.recipients.values()]
        return f"the recipient was refused ({', '.join(codes)})"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"the sender was refused ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _status(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPException):
        return type(exc).__name__
    return _describe(exc)


def _reply(code: int, text: bytes | str) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(raw.split())}".strip()


def _status(code: int, text: bytes | str) -> str:
    """The reply code and enhanced status code, without the free text (which may quote addresses)."""
    match = _ENHANCED_STATUS.match(text.encode() if isinstance(text, str) else text)
    return f"{code} {match.group(1).decode()}" if match else str(code)


class FileMailer:
    """Writes each message as an ``.eml`` file into a folder (the default for ``make run``)."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: Message) -> None:
        data = bytes(message.to_email(self.sender))
        # A random name: file names must not reveal the order in which people were invited.
        path = self.folder / f"{secrets.token_hex(12)}.eml"
        tmp = path.with_suffix(".tmp")
        try:
            # Only the owner may read: the files hold sign-in links.
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise MailError(f"Could not write the message into {self.folder}: {exc.strerror or exc}") from None


class ConsoleMailer:
    """Prints each message, headers and plain text, to standard output (for trying things out)."""

    def __init__(self, sender: str, stream: TextIO | None = None) -> None:
        self.sender = sender
        self.stream = stream

    def send(self, message: Message) -> None:
        email_message = message.to_email(self.sender)
        stream = self.stream or sys.stdout
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            stream.write(f"{name}: {email_message[name]}\n")
        stream.write(f"\n{message.text.rstrip()}\n\n")
        stream.flush()


def make_mailer(config: MailConfig, outbox: Path) -> Mailer:
    """The backend ``config`` names; ``outbox`` is the folder for the file backend."""
    if config.backend == "smtp":
        return SmtpMailer(config)
    if config.backend == "console":
        return ConsoleMailer(config.sender)
    return FileMailer(outbox, config.sender)


def init_app(app: Flask) -> None:
    config = app.config["PULSE"]
    app.extensions["pulse.mailer"] = make_mailer(config.mail, config.outbox_dir)


def get_mailer() -> Mailer:
    return current_app.extensions["pulse.mailer"]


def render_message(template: str, *, to: str, language: str, **context: object) -> Message:
    """Render ``templates/mail/<template>.{subject.txt,txt,html}`` in ``language`` (Swedish if unknown).

    :raises MailError: when ``to`` is not one valid e-mail address.
    """
    language = language if language in SUPPORTED else DEFAULT
    with force_locale(language):
        subject = " ".join(render_template(f"mail/{template}.subject.txt", **context).split())
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", language=language, subject=subject, **context)
    return Message(to=to, subject=subject, text=text, html=html)


def send(template: str, *, to: str, language: str, **context: object) -> None:
    """Render and send one message with the app's mailer.

    :raises MailError: when the mail system refuses it (and logs why, without the recipient).
    """
    try:
        get_mailer().send(render_message(template, to=to, language=language, **context))
    except MailError as exc:
        log.error("Could not send the %s message: %s", template, exc)
        raise
