"""``pulse db backup`` and ``pulse db restore``: a copy taken from a database with releases and an audit chain,
restored into a new, empty database, holds the same rows and its chain verifies."""

from __future__ import annotations

import re
import sqlite3
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import Result
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from pulse import create_app
from pulse.cli import main
from pulse.cli.db import alembic_config
from pulse.common.db import get_database
from pulse.models import Release, ReleaseCell, Unit
from tests.conftest import make_config
from tests.factories import snapshot
from tests.integration.test_releases import build
from tests.rounds import make_survey, open_with_credentials

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def pulse(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(main, list(args))


@pytest.fixture
def source(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database made by the migrations, as in production."""
    app = create_app(make_config(database_url, tmp_path))
    result = pulse(app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    yield app
    get_database(app).dispose()


@pytest.fixture
def target_url(db_backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database to restore into: a new SQLite file, or a new PostgreSQL database (the copy keeps the
    schema it was taken from, which the address's search_path names)."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = make_url(database_url)
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _data(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    with get_database(app).session() as session:
        return snapshot(session)


def _with_release(app: Flask) -> None:
    with get_database(app).session() as session:
        build(session, app, {"alfa": 6, "beta": 5, "gamma": 4})
        assert session.scalar(select(func.count()).select_from(ReleaseCell))


def test_a_backup_restored_into_an_empty_database_holds_everything(source: Flask, target_url: str,
                                                                   tmp_path: Path) -> None:
    _with_release(source)
    before = _data(source)
    assert before["release"] and before["audit_entry"] and before["response"]
    copy = tmp_path / "pulse.backup"

    result = pulse(source, "db", "backup", str(copy))
    assert result.exit_code == 0, result.output
    assert f"Backed up to {copy}" in result.output and f"schema revision {HEAD}" in result.output
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600  # it holds everything the database does
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left

    target = create_app(make_config(target_url, tmp_path / "target"))
    try:
        result = pulse(target, "db", "restore", str(copy))
        assert result.exit_code == 0, result.output
        assert f"schema revision {HEAD}" in result.output
        assert _data(target) == before
        verified = pulse(target, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert f"OK: {len(before['audit_entry'])} entries" in verified.output
        assert pulse(target, "db", "current").output.strip() == HEAD
        # Releases stay frozen in the copy: the triggers came with it.
        with pytest.raises(Exception, match="frozen"), get_database(target).engine.begin() as conn:
            conn.execute(text("DELETE FROM release_cell"))
    finally:
        get_database(target).dispose()

    # The chain is keyed by the application secret: a copy restored under another secret cannot be verified.
    other = create_app(make_config(target_url, tmp_path / "other").with_overrides(secret_key="another-" * 8))
    try:
        assert pulse(other, "audit", "verify").exit_code == 1
    finally:
        get_database(other).dispose()


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(source: Flask, tmp_path: Path) -> None:
    _with_release(source)
    copy = tmp_path / "pulse.backup"
    assert pulse(source, "db", "backup", str(copy)).exit_code == 0
    before = _data(source)
    with get_database(source).session() as session:
        session.add(Unit(key="later", name="Added after the backup"))
        session.commit()
    changed = _data(source)

    refused = pulse(source, "db", "restore", str(copy))
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output
    assert _data(source) == changed

    forced = pulse(source, "db", "restore", "--force", str(copy))
    assert forced.exit_code == 0, forced.output
    assert _data(source) == before
    assert pulse(source, "audit", "verify").exit_code == 0


def test_backup_never_overwrites_a_file(source: Flask, tmp_path: Path) -> None:
    existing = tmp_path / "existing.backup"
    existing.write_bytes(b"keep me")
    result = pulse(source, "db", "backup", str(existing))
    assert result.exit_code == 1 and "already exists" in result.output
    assert existing.read_bytes() == b"keep me"


def test_a_backup_while_a_round_is_open_says_what_it_holds(source: Flask, tmp_path: Path) -> None:
    """The copy holds the round's sealed pool and wrapped key, which closing the round scrubs from the database but
    not from copies (docs/ANONYMITY.md, "After close"): the operator is told."""
    with get_database(source).session() as session:
        from tests.factories import make_person, make_unit

        team = make_unit(session, "team", "Team")
        for i in range(3):
            make_person(session, f"p{i}@example.org", unit=team, password=None)
        session.commit()
        open_with_credentials(session, source, make_survey(session, [team]))
    result = pulse(source, "db", "backup", str(tmp_path / "open.backup"))
    assert result.exit_code == 0, result.output
    assert "1 round(s) were open" in result.output and "sealed answers" in result.output


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_sqlite_backup_is_consistent_and_does_not_wait_for_a_writer(source: Flask, target_url: str,
                                                                    tmp_path: Path) -> None:
    """The online backup copies one committed state, while another process holds the write lock mid-transaction."""
    _with_release(source)
    before = _data(source)
    path = make_url(get_database(source).url).database
    assert path
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO unit (key, name, active, created_at, updated_at) VALUES "
                       "('uncommitted', 'x', 1, '2026-01-01', '2026-01-01')")
        started = time.monotonic()
        result = pulse(source, "db", "backup", str(tmp_path / "live.backup"))
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started < 10  # not the 30 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    # A single file (no write-ahead log beside it) that SQLite finds intact.
    assert not (tmp_path / "live.backup-wal").exists()
    target = create_app(make_config(target_url, tmp_path / "target"))
    try:
        assert pulse(target, "db", "restore", str(tmp_path / "live.backup")).exit_code == 0
        assert _data(target) == before
    finally:
        get_database(target).dispose()


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_restore_refuses_a_file_that_is_not_a_pulse_backup(source: Flask, tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    target = create_app(make_config(f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "target"))
    try:
        result = pulse(target, "db", "restore", str(other))
        assert result.exit_code == 1 and "not a Pulse backup" in result.output
        (tmp_path / "junk").write_bytes(b"not a database at all" * 100)
        result = pulse(target, "db", "restore", str(tmp_path / "junk"))
        assert result.exit_code == 1 and "not an SQLite backup" in result.output
    finally:
        get_database(target).dispose()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_postgresql_backup_says_when_pg_dump_is_missing(source: Flask, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = pulse(source, "db", "backup", str(tmp_path / "pulse.backup"))
    assert result.exit_code == 1
    assert "pg_dump was not found on PATH" in result.output
    assert not (tmp_path / "pulse.backup").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_postgresql_backup_keeps_only_pulses_schema(source: Flask, tmp_path: Path) -> None:
    """With Pulse in a schema of its own (search_path in the address), the dump holds that schema and nothing else
    of the database."""
    copy = tmp_path / "pulse.backup"
    assert pulse(source, "db", "backup", str(copy)).exit_code == 0
    schema = make_url(get_database(source).url).query["options"]
    assert isinstance(schema, str)
    listing = subprocess.run(["pg_restore", "--list", str(copy)], capture_output=True, text=True, check=True).stdout
    schemas = set(re.findall(r"^\d+; \d+ \d+ TABLE (?:DATA )?(\S+) ", listing, re.MULTILINE))
    assert schemas == {schema.split("=")[-1]}
    assert Release.__tablename__ in listing


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_restore_into_a_database_that_does_not_exist_says_so(source: Flask, database_url: str,
                                                             tmp_path: Path) -> None:
    copy = tmp_path / "pulse.backup"
    assert pulse(source, "db", "backup", str(copy)).exit_code == 0
    missing = make_url(database_url).set(database=f"missing_{uuid.uuid4().hex[:8]}")
    target = create_app(make_config(missing.render_as_string(hide_password=False), tmp_path / "target"))
    try:
        result = pulse(target, "db", "restore", str(copy))
    finally:
        get_database(target).dispose()
    assert result.exit_code == 1
    assert "could not be read or written" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output
