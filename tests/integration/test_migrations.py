"""Migrations are tested code: head equals the models, every revision goes up and down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from pulse.cli.db import alembic_config, downgrade, upgrade
from pulse.db import Base, make_engine

REVISIONS = [rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url, pool=False)
    yield engine
    engine.dispose()


def test_revision_ids_are_zero_padded_numbers() -> None:
    assert REVISIONS, "no migrations found"
    for index, revision in enumerate(REVISIONS, start=1):
        assert revision == f"{index:04d}"


def test_head_matches_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("revision", REVISIONS)
def test_each_revision_upgrades_and_downgrades(engine, revision: str) -> None:  # type: ignore[no-untyped-def]
    index = REVISIONS.index(revision)
    previous = REVISIONS[index - 1] if index else "base"

    def current() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    with engine.connect() as conn:
        upgrade(conn, revision)
    assert current() == revision
    with engine.connect() as conn:
        downgrade(conn, previous)
    assert current() == (None if previous == "base" else previous)
    with engine.connect() as conn:
        upgrade(conn, revision)
    assert current() == revision


def test_full_downgrade_leaves_no_tables(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        downgrade(conn, "base")
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_audit_table_is_append_only_after_migration(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        upgrade(conn)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_entry (seq, at, actor, action, target, details, prev_hash, hash) "
                          "VALUES (1, '2026-01-01 00:00:00', 'system', 'x', 'y', '{}', 'a', 'b')"))
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET action = 'changed'"))
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry"))
