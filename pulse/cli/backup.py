"""Backups and restores of Pulse's database: SQLite through its online backup API, PostgreSQL through
``pg_dump``/``pg_restore`` (custom format).

A backup is the whole database, so while a round is open it holds that round's sealed pool and wrapped key
(docs/ANONYMITY.md, "After close"); the application secret is never part of it. See docs/OPERATIONS.md.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, for the operator."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    #: The schema revision the copy is at (``None`` if it has no Alembic table).
    revision: str | None
    #: Rounds open when the copy was taken: the copy holds their sealed pools.
    open_rounds: int = 0


def backup(database_url: str, destination: Path) -> Outcome:
    """Write a consistent copy of the database to ``destination`` (which must not exist), readable by its owner
    only. Safe while the app and the scheduler run."""
    with _database_errors():
        return _backup(database_url, destination)


def restore(database_url: str, source: Path, *, force: bool = False) -> Outcome:
    """Restore a copy made by :func:`backup` into the configured database.

    :param force: replace what the database holds; without it a database with any table is refused.
    """
    with _database_errors():
        return _restore(database_url, source, force=force)


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, SQLAlchemyError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise BackupError(f"The database could not be read or written: {first[0] if first else type(exc).__name__}"
                          ) from exc


def _backup(database_url: str, destination: Path) -> Outcome:
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new file name.")
    if not destination.parent.is_dir():
        raise BackupError(f"The folder {destination.parent} does not exist.")
    url = make_url(database_url)
    with _private_temporary(destination) as partial:
        if url.get_backend_name() == "sqlite":
            revision, open_rounds = _backup_sqlite(_sqlite_path(url), partial)
        elif url.get_backend_name() == "postgresql":
            revision, open_rounds = _read_state(database_url)
            _run("pg_dump", ["--format=custom", f"--file={partial}", *_schema_options(url),
                             f"--dbname={_conninfo(url)}"], url)
        else:
            raise BackupError(f"Cannot back up a {url.get_backend_name()} database.")
        os.replace(partial, destination)
    return Outcome(destination, revision, open_rounds)


def _restore(database_url: str, source: Path, *, force: bool) -> Outcome:
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target = _sqlite_path(url)
        if not force and target.exists() and _sqlite_tables(target):
            raise _not_empty()
        _restore_sqlite(source, target)
    elif url.get_backend_name() == "postgresql":
        if not force and _postgresql_tables(database_url):
            raise _not_empty()
        _run("pg_restore", ["--exit-on-error", "--single-transaction", *(["--clean", "--if-exists"] if force else []),
                            f"--dbname={_conninfo(url)}", str(source)], url)
    else:
        raise BackupError(f"Cannot restore into a {url.get_backend_name()} database.")
    revision, _ = _read_state(database_url)
    if revision is None:
        raise BackupError("The restore ran, but the configured database shows no Pulse schema. A PostgreSQL backup "
                          "keeps the schema it was taken from: the search_path in PULSE_DATABASE_URL must name it.")
    return Outcome(source, revision)


def _not_empty() -> BackupError:
    return BackupError("The database is not empty. Restore into a new, empty database, or add --force to replace "
                       "everything it holds (stop the app and the scheduler first).")


# SQLite ---------------------------------------------------------------------------------------------------------

def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("The database is in memory; there is nothing to back up or restore.")
    return Path(url.database)


def _backup_sqlite(path: Path, destination: Path) -> tuple[str | None, int]:
    if not path.is_file():
        raise BackupError(f"There is no database at {path}.")
    with closing(sqlite3.connect(path, timeout=30)) as source, closing(sqlite3.connect(destination)) as copy:
        # One step (pages=-1): the copy is one read transaction of the source, so it is consistent, and under WAL
        # it neither waits for nor blocks the app's writers.
        source.backup(copy)
        # A self-contained file: no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(f"The copy failed SQLite's integrity check: {check}")
        return _sqlite_state(copy)


def _restore_sqlite(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_file:
        try:
            tables = {name for (name,) in backup_file.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not an SQLite backup: {exc}") from None
        if "alembic_version" not in tables:
            raise BackupError(f"{source} is not a Pulse backup (it has no schema revision).")
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=30)) as database:
            # Through SQLite's own locking, page by page into the target (and its write-ahead log).
            backup_file.backup(database)
            database.execute("PRAGMA journal_mode=WAL")


def _sqlite_tables(path: Path) -> list[str]:
    with closing(sqlite3.connect(path, timeout=30)) as database:
        return [name for (name,) in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def _sqlite_state(connection: sqlite3.Connection) -> tuple[str | None, int]:
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    revision = connection.execute("SELECT version_num FROM alembic_version").fetchone() \
        if "alembic_version" in tables else None
    open_rounds = connection.execute("SELECT count(*) FROM round WHERE status = 'open'").fetchone()[0] \
        if "round" in tables else 0
    return (revision[0] if revision else None), int(open_rounds)


# PostgreSQL -----------------------------------------------------------------------------------------------------

def _conninfo(url: URL) -> str:
    """A libpq connection string without the password (that goes in PGPASSWORD, never on a command line)."""
    params: dict[str, object] = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for name, value in url.query.items():
        params[name] = value if isinstance(value, str) else ",".join(value)
    return " ".join(f"{name}={_quote(str(value))}" for name, value in params.items() if value not in (None, ""))


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _schema_options(url: URL) -> list[str]:
    """Pulse kept in a schema of its own (``options=-csearch_path=…`` in the address): dump only that schema."""
    options = url.query.get("options", "")
    match = re.search(r"-c\s*search_path\s*=\s*([^\s,]+)", options if isinstance(options, str) else " ".join(options))
    return [f"--schema={match.group(1)}"] if match else []


def _run(program: str, arguments: list[str], url: URL) -> None:
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} was not found on PATH. Install the PostgreSQL client programs of the server's "
                          f"major version (Debian: postgresql-client) or put them on PATH.")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    result = subprocess.run([executable, *arguments], env=environment, capture_output=True, text=True,  # noqa: S603
                            check=False)
    if result.returncode != 0:
        raise BackupError(f"{program} failed (exit {result.returncode}): {result.stderr.strip()}")


def _postgresql_tables(database_url: str) -> int:
    with _connection(database_url) as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()")).scalar_one())


def _read_state(database_url: str) -> tuple[str | None, int]:
    """The schema revision and the number of open rounds, read through a connection of its own."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if not path.is_file():
            return None, 0
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            return _sqlite_state(connection)
    with _connection(database_url) as connection:
        try:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None, 0
        try:
            open_rounds = connection.execute(text("SELECT count(*) FROM round WHERE status = 'open'")).scalar_one()
        except SQLAlchemyError:
            open_rounds = 0
        return revision, int(open_rounds)


@contextmanager
def _connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def _private_temporary(destination: Path) -> Iterator[Path]:
    """A new file beside ``destination``, readable by its owner only; removed unless it was moved into place."""
    partial = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield partial
    finally:
        partial.unlink(missing_ok=True)
