"""Outgoing mail: one interface, three backends (``smtp``, ``file``, ``console``).

Every message is multipart (plain text and HTML) and written in the recipient's language.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from pulse.config import MailConfig
from pulse.i18n import DEFAULT, SUPPORTED

log = logging.getLogger(__name__)


class MailError(Exception):
    """A message could not be handed over to the mail system."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str

    def to_email(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "pulse.local")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    def send(self, message: Message) -> None: ...


class SmtpMailer:
    """Sends through an SMTP server, with STARTTLS, implicit TLS or (on trusted networks) neither."""

    def __init__(self, config: MailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: Message) -> None:
        cfg = self.config
        try:
            smtp: smtplib.SMTP
            if cfg.smtp_security == "tls":
                smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout,
                                        context=self.ssl_context)
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
            with smtp:
                if cfg.smtp_security == "starttls":
                    smtp.starttls(context=self.ssl_context)
                if cfg.smtp_username:
                    smtp.login(cfg.smtp_username, cfg.smtp_password)
                smtp.send_message(message.to_email(cfg.sender))
        except (smtplib.SMTPException, OSError) as exc:
            # The recipient is not logged: invitation mail must not leave a trail of who got what.
            raise MailError(f"SMTP delivery via {cfg.smtp_host}:{cfg.smtp_port} failed: {exc}") from exc


class FileMailer:
    """Writes each message as an ``.eml`` file into a folder (the default for ``make run``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A random name: file names must not reveal the order in which people were invited.
        path = self.folder / f"{secrets.token_hex(12)}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message.to_email(current_sender())))
        os.replace(tmp, path)


class ConsoleMailer:
    """Prints each message to standard output (for trying things out)."""

    def send(self, message: Message) -> None:
        sys.stdout.write(message.to_email(current_sender()).as_string() + "\n")
        sys.stdout.flush()


def current_sender() -> str:
    return str(current_app.config["PULSE"].mail.sender)


def make_mailer(config: MailConfig, outbox: Path) -> Mailer:
    if config.backend == "smtp":
        return SmtpMailer(config)
    if config.backend == "console":
        return ConsoleMailer()
    return FileMailer(outbox)


def init_app(app: Flask) -> None:
    config = app.config["PULSE"]
    app.extensions["pulse.mailer"] = make_mailer(config.mail, config.outbox_dir)


def get_mailer() -> Mailer:
    return current_app.extensions["pulse.mailer"]


def render_message(template: str, *, to: str, language: str, **context: object) -> Message:
    """Render ``templates/mail/<template>.{subject,txt,html}`` in ``language``."""
    language = language if language in SUPPORTED else DEFAULT
    with force_locale(language):
        subject = render_template(f"mail/{template}.subject.txt", **context).strip()
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", language=language, subject=subject, **context)
    return Message(to=to, subject=subject, text=text, html=html)


def send(template: str, *, to: str, language: str, **context: object) -> None:
    """Render and send one message with the app's mailer.

    :raises MailError: when the mail system refuses it.
    """
    get_mailer().send(render_message(template, to=to, language=language, **context))
