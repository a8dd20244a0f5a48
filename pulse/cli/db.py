"""``pulse db``: schema migrations (Alembic), backups and restores.

A downgrade that would drop tables holding releases, audit entries or API tokens is refused unless the operator
says ``--yes-lose-data``; the refusal lists what would be lost.
"""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Connection, inspect, text

from pulse.cli import backup as backups
from pulse.common.db import get_database

ROOT = Path(__file__).resolve().parent.parent.parent

#: Tables a downgrade may not drop without being told, each with the revision that creates it: releases are the
#: only record of what was published, the audit log is the evidence of who saw and changed what, and API tokens
#: are people's access (a token table rebuilt empty would silently lock out their integrations); the SAM records
#: (risk assessments, action plans, APT minutes, feedback) are the employer's documentation that AFS 2023:1 requires.
GUARDED_TABLES = {"audit_entry": "0001", "release": "0003", "release_cell": "0003", "api_token": "0003",
                  "pooled_release": "0008", "pooled_release_cell": "0008", "sam_risk": "0009", "sam_action": "0009",
                  "sam_apt_meeting": "0009", "sam_feedback": "0009"}


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


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def rows_lost_by_downgrade(connection: Connection, revision: str) -> dict[str, int]:
    """Rows of :data:`GUARDED_TABLES` that downgrading to ``revision`` would drop, by table (only tables with rows).

    ``revision`` as ``pulse db downgrade`` takes it: a revision id, ``base``, or relative such as ``-1``.
    """
    current = current_revision(connection)
    if current is None:
        return {}
    script = ScriptDirectory.from_config(alembic_config())
    undone = {script_.revision for script_ in script.iterate_revisions(current, revision)}
    present = set(inspect(connection).get_table_names())
    lost = {}
    for table, created_by in GUARDED_TABLES.items():
        if created_by in undone and table in present:
            # The names come from GUARDED_TABLES above, never from input.
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            if count:
                lost[table] = int(count)
    return lost


def _check_fresh(connection: Connection) -> None:
    # SQLite only switches foreign keys off for batch migrations outside a transaction, and Alembic only
    # commits transactions it began itself.
    if connection.in_transaction():
        raise RuntimeError("migrations need a connection that has not begun a transaction")


@click.group("db", cls=AppGroup)
def group() -> None:
    """Database commands: schema migrations, backup and restore."""


@group.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    engine = get_database(current_app).engine
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        # A new installation: the SQLite file's folder (PULSE_INSTANCE_PATH) may not exist yet. Only its owner
        # may read it: it holds the database.
        Path(str(engine.url.database)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with engine.connect() as connection:
        upgrade(connection, revision)
    with engine.connect() as connection:
        click.echo(f"Database is at {current_revision(connection)}.")


@group.command("downgrade", context_settings={"ignore_unknown_options": True})  # so "-1" is a revision
@click.argument("revision")
@click.option("--yes-lose-data", is_flag=True,
              help="Go ahead even when the downgrade drops tables holding releases, audit entries or API tokens.")
def downgrade_command(revision: str, yes_lose_data: bool) -> None:
    """Downgrade the database to REVISION (e.g. -1 or 0003).

    Refused when it would drop releases, audit entries or API tokens, unless --yes-lose-data is given.
    """
    engine = get_database(current_app).engine
    try:
        with engine.connect() as connection:
            lost = rows_lost_by_downgrade(connection, revision)
    except (RevisionError, CommandError) as exc:
        raise click.ClickException(f"Cannot downgrade to {revision}: {exc}") from None
    if lost:
        listing = "\n".join(f"  {table}: {count} row{'s' if count != 1 else ''}" for table, count in lost.items())
        if not yes_lose_data:
            raise click.ClickException(
                f"Downgrading to {revision} would drop these tables and everything in them:\n{listing}\n"
                "Nothing was changed. Take a backup first (pulse db backup PATH); to go ahead and lose these rows, "
                "run the downgrade again with --yes-lose-data.")
        click.echo(f"Dropping, as told (--yes-lose-data):\n{listing}")
    try:
        with engine.connect() as connection:
            downgrade(connection, revision)
    except RuntimeError as exc:  # a migration that refuses (e.g. 0004 while a round is open); nothing was changed
        raise click.ClickException(str(exc)) from None
    with engine.connect() as connection:
        click.echo(f"Database is at {current_revision(connection) or 'base (empty)'}.")


@group.command("current")
def current_command() -> None:
    """Show the database's schema revision."""
    with get_database(current_app).engine.connect() as connection:
        click.echo(current_revision(connection) or "(empty)")


@group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH (a new file), safe while Pulse runs.

    SQLite: SQLite's online backup API. PostgreSQL: pg_dump --format=custom (pg_dump must be on PATH).
    The copy does not contain PULSE_SECRET_KEY; keep the two apart.
    """
    try:
        outcome = backups.backup(get_database(current_app).url, path)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {outcome.path} ({outcome.path.stat().st_size} bytes, schema revision "
               f"{outcome.revision or 'none'}).")
    if outcome.open_rounds:
        click.echo(f"Note: {outcome.open_rounds} round(s) were open. This copy holds their sealed answers and round "
                   "keys, which a close scrubs from the database but not from copies: keep it as safe as the "
                   "database, and keep it apart from the secret (docs/OPERATIONS.md, \"Backups\").")


@group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace what the database holds (stop the app and scheduler first).")
def restore_command(path: Path, force: bool) -> None:
    """Restore the database from PATH, a copy made by `pulse db backup`.

    Refused when the database is not empty, unless --force. Use the PULSE_SECRET_KEY the database had: the audit
    chain, API tokens and open rounds' keys depend on it.
    """
    database = get_database(current_app)
    database.dispose()  # no pooled connection of this process holds the old database open
    try:
        outcome = backups.restore(database.url, path, force=force)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {path} (schema revision {outcome.revision}). Next: `pulse db upgrade` if this release "
               "of Pulse is newer, and `pulse audit verify`.")
