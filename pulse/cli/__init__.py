"""The ``pulse`` command: database, organisation, users, audit log, mail, demo data, and Flask's own commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from pulse import create_app
from pulse.cli import apitokens, audit, db, demo, mail, org, releases, serve, surveys, user
from pulse.common.config import ConfigError


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Pulse: anonymous work-environment pulse surveys.

    Configuration comes from PULSE_* environment variables (see README.md).
    """


def init_app(app: Flask) -> None:
    """Register Pulse's command groups on the app, so ``pulse`` (and Flask's test runner) find them."""
    for module in (apitokens, audit, db, demo, mail, org, releases, serve, user):
        app.cli.add_command(module.group)
    for command in surveys.groups:
        app.cli.add_command(command)
