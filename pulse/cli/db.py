"""``pulse db``: bring the database schema to the newest version (Alembic)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app
from sqlalchemy import Connection

from pulse.db import get_database

ROOT = Path(__file__).resolve().parent.parent.parent


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration for this repository, optionally bound to an open connection."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


@click.group("db", cls=AppGroup)
def group() -> None:
    """Database schema commands."""


@group.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    with get_database(current_app).engine.connect() as connection:
        upgrade(connection, revision)
    click.echo(f"Database is at {revision}.")


@group.command("downgrade")
@click.argument("revision")
def downgrade_command(revision: str) -> None:
    """Downgrade the database to REVISION (e.g. -1 or 0001)."""
    with get_database(current_app).engine.connect() as connection:
        downgrade(connection, revision)
    click.echo(f"Database is at {revision}.")


@group.command("current")
def current_command() -> None:
    """Show the database's schema revision."""
    from alembic.runtime.migration import MigrationContext

    with get_database(current_app).engine.connect() as connection:
        click.echo(MigrationContext.configure(connection).get_current_revision() or "(empty)")
