"""``pulse mail``: check that outgoing mail works."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from pulse.common import mail
from pulse.common.config import Config
from pulse.common.i18n import DEFAULT, SUPPORTED


@click.group("mail", cls=AppGroup)
def group() -> None:
    """Outgoing mail commands."""


@group.command("test")
@click.argument("email")
@click.option("--language", type=click.Choice(SUPPORTED), default=DEFAULT, show_default=True,
              help="Language of the test message.")
def test_command(email: str, language: str) -> None:
    """Send a short test message to EMAIL through the configured mail backend.

    Exit status: 0 the backend took the message, 1 it did not (the reason is printed).
    """
    config: Config = current_app.config["PULSE"]
    try:
        mail.send("test_message", to=email, language=language, base_url=config.base_url)
    except mail.MailError as exc:
        raise click.ClickException(f"The test message was not sent. {exc}") from None
    # The address is not repeated: this output may end up in a scheduler's log.
    click.echo(f"Sent: {_backend(config)} took the test message.")


def _backend(config: Config) -> str:
    if config.mail.backend == "smtp":
        return f"the SMTP server {config.mail.smtp_host}:{config.mail.smtp_port}"
    if config.mail.backend == "file":
        return f"the file backend ({config.outbox_dir})"
    return "the console backend"
