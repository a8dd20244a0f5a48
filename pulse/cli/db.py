"""``pulse db``: bring the database schema to the newest version (Alembic)."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Connection

from pulse.common.db import get_database

ROOT = Path(__file__).resolve().parent.parent.parent


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's configuration for this repository, optionally bound to an open connection."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade through ``connection``, which must not be inside a transaction yet (migrations commit)."""
    _check_fresh(connection)
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Downgrade through ``connection``, which must not be inside a transaction yet."""
    _check_fresh(connection)
    command.downgrade(alembic_config(connection), revision)


def _check_fresh(connection: Connection) -> None:
    # SQLite only switches foreign keys off for batch migrations outside a transaction, and Alembic only
    # commits transactions it began itself.
    if connection.in_transaction():
        raise RuntimeError("migrations need a connection that has not begun a transaction")


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
