"""Migrations are tested code: head equals the models, every revision goes up and down."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, text

from pulse import create_app
from pulse.cli import main
from pulse.cli.db import GUARDED_TABLES, alembic_config, downgrade, upgrade
from pulse.common.context import record_audit
from pulse.common.db import Base, get_database, make_engine
from pulse.domain.questionbank import BANK, BankQuestion
from pulse.models import ApiToken, Person
from pulse.services import questions as question_service
from tests.conftest import make_config

REVISIONS = [rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url, pool=False)
    yield engine
    engine.dispose()


@pytest.fixture
def bare_app(database_url: str, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app on the empty test database: its schema is what the migrations make (no create_all)."""
    app = create_app(make_config(database_url, tmp_path))
    yield app
    get_database(app).dispose()


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


def test_0004_moves_an_open_round_to_the_unlinked_pool(engine) -> None:  # type: ignore[no-untyped-def]
    """A round open during the upgrade keeps working: each invitation's keys become one pool credential (spent if
    it had been answered), nothing in the new pool names a person, and the round key moves to its own table."""
    from pulse.domain.crypto import keyed_hash

    with engine.connect() as conn:
        upgrade(conn, "0003")
    now = "2026-11-30 07:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO unit (id, key, name, parent_id, active, created_at, updated_at) "
                          "VALUES (1, 'u', 'Unit', NULL, true, :t, :t)"), {"t": now})
        for pid in (1, 2, 3):
            conn.execute(text("INSERT INTO person (id, email, name, unit_id, language, status, is_admin, "
                              "session_version, created_at, updated_at) VALUES (:i, :e, 'P', 1, 'sv', 'active', "
                              "false, 1, :t, :t)"), {"i": pid, "e": f"p{pid}@example.org", "t": now})
        conn.execute(text(
            "INSERT INTO survey (id, name, cadence, open_weekday, open_time, open_days, language, min_group_size, "
            "min_dist_size, min_comment_size, question_mode, comment_enabled, reminder_policy, reminder_after_days, "
            "active, created_at, updated_at) VALUES (1, 'S', 'manual', 0, '08:00', 5, 'sv', 3, 3, 3, 'fixed', "
            "true, 'non_respondents', 2, true, :t, :t)"), {"t": now})
        conn.execute(text(
            "INSERT INTO round (id, survey_id, number, status, opened_at, closes_at, reminded, reminder_policy, "
            "language, min_group_size, min_dist_size, min_comment_size, comment_enabled, public_key, "
            "wrapped_private_key, headcount, invited) VALUES (1, 1, 1, 'open', :t, :t, false, 'non_respondents', "
            "'sv', 3, 3, 3, true, :pk, :wk, 3, 3)"), {"t": now, "pk": b"p" * 32, "wk": b"wrapped-key"})
        for pid in (1, 2, 3):
            conn.execute(text("INSERT INTO invitation (id, round_id, person_id, unit_id, language, answered, mailed, "
                              "reminded) VALUES (:i, 1, :i, 1, 'sv', :a, true, false)"), {"i": pid, "a": pid == 2})
            for kind in ("link", "code"):
                conn.execute(text("INSERT INTO invitation_key (hash, invitation_id, kind) VALUES (:h, :i, :k)"),
                             {"h": keyed_hash(b"k" * 32, f"{kind}{pid}"), "i": pid, "k": kind})
    with engine.connect() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        credentials = conn.execute(text("SELECT id, round_id, unit_id, spent FROM credential")).all()
        assert len(credentials) == 3 and sum(bool(c.spent) for c in credentials) == 1
        assert all(len(c.id) == 32 and c.unit_id == 1 for c in credentials)
        hashes = dict(conn.execute(text("SELECT hash, credential_id FROM credential_hash")).all())
        # Both keys of one invitation lead to one credential; the one that was answered is spent.
        by_person = {pid: {hashes[keyed_hash(b"k" * 32, f"{kind}{pid}")] for kind in ("link", "code")}
                     for pid in (1, 2, 3)}
        assert all(len(ids) == 1 for ids in by_person.values())
        spent = {c.id for c in credentials if c.spent}
        assert by_person[2] == spent
        assert conn.execute(text("SELECT wrapped_private_key FROM round_key WHERE round_id = 1")).scalar() \
            == b"wrapped-key"
        assert conn.execute(text("SELECT mailout FROM round")).scalar() == "done"
        assert {r for (r,) in conn.execute(text("SELECT reminder_policy FROM survey UNION "
                                                "SELECT reminder_policy FROM round"))} == {"everyone"}
        columns = {c["name"] for c in inspect(conn).get_columns("invitation")}
        assert "answered" not in columns and "invitation_key" not in inspect(conn).get_table_names()
    # An open round cannot be taken back below 0004: its credentials no longer point at anyone.
    with pytest.raises(RuntimeError, match="Close the open rounds"), engine.connect() as conn:
        downgrade(conn, "0003")


# The question bank (0006) ----------------------------------------------------------------------------------------

def _bank(conn) -> dict[str, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    bank: dict[str, list[tuple[object, ...]]] = {}
    for row in conn.execute(text("SELECT * FROM question ORDER BY code, version")):
        bank.setdefault(row.code, []).append((
            row.version, row.area, row.scale, row.text_sv, row.text_en, bool(row.allow_skip), bool(row.sensitive),
            bool(row.reverse), row.pack, row.attribution, bool(row.current), bool(row.retired)))
    return bank


def _shipped(item: BankQuestion, *, current: bool = True, retired: bool = False) -> tuple[object, ...]:
    return (item.version, item.area, item.scale, item.sv, item.en, item.allow_skip, item.sensitive, item.reverse,
            item.pack, item.attribution, current, retired)


def test_head_ships_the_question_bank(engine, bare_app: Flask) -> None:  # type: ignore[no-untyped-def]
    """A migrated database has the bank as pulse/questionbank.py ships it now — so a change there needs a migration —
    and install_bank (the demo's and the tests' way in) finds nothing to add."""
    with engine.connect() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert _bank(conn) == {item.code: [_shipped(item)] for item in BANK}
    with get_database(bare_app).session() as session:
        assert question_service.install_bank(session) == 0


def test_0006_adds_only_missing_codes_and_its_downgrade_only_untouched_unused_ones(engine) -> None:  # type: ignore[no-untyped-def]
    """The organisation's own wording and questions stay; downgrading keeps whatever a round asked or a survey names."""
    edited, asked, named = BANK[0], BANK[1], BANK[2]
    with engine.connect() as conn:
        upgrade(conn, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO question (code, version, area, scale, text_sv, text_en, allow_skip, sensitive, "
                          "reverse, pack, current, retired, created_at) VALUES (:c, 1, :a, :s, 'Egen', 'Own', true, "
                          "false, false, 'osa', true, false, '2026-01-01 00:00:00')"),
                     {"c": edited.code, "a": edited.area, "s": edited.scale})
    with engine.connect() as conn:
        upgrade(conn, "0006")
    with engine.connect() as conn:
        bank = _bank(conn)
    assert [row[3:5] for row in bank[edited.code]] == [("Egen", "Own")]
    assert len(bank) == len(BANK) and bank[asked.code] == [_shipped(asked)]
    # A round asked one shipped question, a survey names another.
    with engine.begin() as conn:
        _minimal_round(conn)
        question_id = conn.execute(text("SELECT id FROM question WHERE code = :c"), {"c": asked.code}).scalar()
        conn.execute(text("INSERT INTO round_question (round_id, position, question_id) VALUES (1, 0, :q)"),
                     {"q": question_id})
        conn.execute(text("INSERT INTO survey_question (survey_id, position, question_code) VALUES (1, 0, :c)"),
                     {"c": named.code})
    with engine.connect() as conn:
        downgrade(conn, "0004")
    with engine.connect() as conn:
        assert set(_bank(conn)) == {edited.code, asked.code, named.code}
    with engine.connect() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert len(_bank(conn)) == len(BANK)


def test_a_later_shipped_version_replaces_only_untouched_wording(engine) -> None:  # type: ignore[no-untyped-def]
    """What a later migration does with install_shipped(..., replaces=...): an untouched, even retired, question gets the
    new version; one the organisation edited keeps its own; the downgrade brings the old version back."""
    first, second = BANK[0], BANK[1]
    with engine.connect() as conn:
        upgrade(conn)
    with engine.begin() as conn:
        conn.execute(text("UPDATE question SET retired = true WHERE code = :c"), {"c": first.code})
        conn.execute(text("UPDATE question SET current = false WHERE code = :c"), {"c": second.code})
        conn.execute(text("INSERT INTO question (code, version, area, scale, text_sv, text_en, allow_skip, sensitive, "
                          "reverse, pack, current, retired, created_at) VALUES (:c, 2, :a, :s, 'Egen', 'Own', true, "
                          "false, false, 'osa', true, false, '2026-01-01 00:00:00')"),
                     {"c": second.code, "a": second.area, "s": second.scale})
    new = tuple(replace(item, sv=item.sv + " (ny)", en=item.en + " (new)", version=2) for item in (first, second))
    old = {item.code: item for item in (first, second)}
    with engine.begin() as conn:
        assert question_service.install_shipped(conn, new, replaces=old) == 1
        assert question_service.install_shipped(conn, new, replaces=old) == 0
    with engine.connect() as conn:
        bank = _bank(conn)
    assert bank[first.code] == [_shipped(first, current=False, retired=True), _shipped(new[0], retired=True)]
    assert [row[3] for row in bank[second.code]] == [second.sv, "Egen"]
    with engine.begin() as conn:
        assert question_service.uninstall_shipped(conn, new, replaces=old) == 1
    with engine.connect() as conn:
        assert _bank(conn)[first.code] == [_shipped(first, retired=True)]


def _minimal_round(conn) -> None:  # type: ignore[no-untyped-def]
    now = "2026-11-30 07:00:00"
    conn.execute(text(
        "INSERT INTO survey (id, name, cadence, open_weekday, open_time, open_days, language, min_group_size, "
        "min_dist_size, min_comment_size, question_mode, comment_enabled, reminder_policy, reminder_after_days, "
        "active, created_at, updated_at) VALUES (1, 'S', 'manual', 0, '08:00', 5, 'sv', 3, 3, 3, 'fixed', "
        "true, 'everyone', 2, true, :t, :t)"), {"t": now})
    conn.execute(text(
        "INSERT INTO round (id, survey_id, number, status, opened_at, closes_at, reminded, reminder_policy, "
        "language, min_group_size, min_dist_size, min_comment_size, comment_enabled, public_key, headcount, invited, "
        "mailout, mailout_attempts, excluded, undelivered, scrubbed) VALUES (1, 1, 1, 'closed', :t, :t, false, 'everyone', "
        "'sv', 3, 3, 3, true, :pk, 3, 3, 'done', 1, 0, 0, true)"), {"t": now, "pk": b"p" * 32})


# Downgrades that would lose data ---------------------------------------------------------------------------------

def _pulse(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(main, list(args))


def test_guarded_tables_are_created_by_the_revisions_named(engine) -> None:  # type: ignore[no-untyped-def]
    for table, revision in GUARDED_TABLES.items():
        index = REVISIONS.index(revision)
        with engine.connect() as conn:
            upgrade(conn, revision)
        assert table in inspect(engine).get_table_names()
        with engine.connect() as conn:
            downgrade(conn, REVISIONS[index - 1] if index else "base")
        assert table not in inspect(engine).get_table_names()


def test_downgrade_refuses_to_drop_releases_audit_entries_and_tokens(engine, bare_app: Flask) -> None:  # type: ignore[no-untyped-def]
    app = bare_app
    assert _pulse(app, "db", "upgrade").exit_code == 0
    with app.app_context(), get_database(app).session() as session:
        person = Person(email="admin@example.org", name="Admin", language="sv", status="active", is_admin=True,
                        session_version=1)
        session.add(person)
        session.flush()
        session.add(ApiToken(person_id=person.id, name="report", token_hash="h" * 64, prefix="pulse_ab"))
        record_audit(session, "test.entry", "test")
        session.commit()

    refused = _pulse(app, "db", "downgrade", "0002")
    assert refused.exit_code == 1
    assert "api_token: 1 row\n" in refused.output and "Nothing was changed" in refused.output
    assert "audit_entry" not in refused.output  # 0001 stays: the audit log is not dropped by this downgrade
    assert _pulse(app, "db", "current").output.strip() == REVISIONS[-1]
    refused = _pulse(app, "db", "downgrade", "base")
    assert refused.exit_code == 1 and "audit_entry: 1 row\n" in refused.output and "api_token: 1 row" in refused.output

    # Relative revisions and downgrades that drop none of those tables need no flag.
    step = _pulse(app, "db", "downgrade", "-1")
    assert step.exit_code == 0, step.output
    assert _pulse(app, "db", "current").output.strip() == REVISIONS[-2]

    done = _pulse(app, "db", "downgrade", "0002", "--yes-lose-data")
    assert done.exit_code == 0, done.output
    assert "api_token: 1 row" in done.output and "Database is at 0002." in done.output
    assert "api_token" not in inspect(engine).get_table_names()


def test_downgrade_of_an_empty_database_needs_no_flag(engine, bare_app: Flask) -> None:  # type: ignore[no-untyped-def]
    app = bare_app
    assert _pulse(app, "db", "upgrade").exit_code == 0
    result = _pulse(app, "db", "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert "Database is at base (empty)." in result.output


def test_downgrade_refuses_to_drop_sam_records(engine, bare_app: Flask) -> None:  # type: ignore[no-untyped-def]
    """Risk assessments and action plans are documentation the law requires: a downgrade below them asks first."""
    import datetime as dt

    from pulse.models import Risk, Unit

    app = bare_app
    assert _pulse(app, "db", "upgrade").exit_code == 0
    with app.app_context(), get_database(app).session() as session:
        unit = Unit(key="u", name="Enhet")
        session.add(unit)
        session.flush()
        session.add(Risk(unit_id=unit.id, description="Stress", area="workload", assessed_by="Chef",
                         assessed_on=dt.date(2026, 12, 1)))
        session.commit()
    below = REVISIONS[REVISIONS.index(GUARDED_TABLES["sam_risk"]) - 1]
    refused = _pulse(app, "db", "downgrade", below)
    assert refused.exit_code == 1
    assert "sam_risk: 1 row\n" in refused.output and "Nothing was changed" in refused.output
    assert _pulse(app, "db", "current").output.strip() == REVISIONS[-1]


def test_0012_keeps_old_box_texts_readable_and_the_box_tables_without_rowid(engine) -> None:  # type: ignore[no-untyped-def]
    """Texts written before the review existed stay as the manager read them (nothing to review or tell), the
    settings get the 24-month retention, and SQLite's rebuilt tables keep WITHOUT ROWID both ways; going back, a
    text still waiting for review is withheld rather than shown, and a purged item gets a key hash nothing opens."""
    with engine.connect() as conn:
        upgrade(conn, "0011")
    now = "2026-12-01 07:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO unit (id, key, name, parent_id, active, created_at, updated_at) "
                          "VALUES (1, 'u', 'Unit', NULL, true, :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO box_settings (id, acknowledge_days, answer_days) VALUES (1, 2, 10)"))
        for item in ("a", "b"):
            conn.execute(text(
                "INSERT INTO box_item (id, unit_id, category, status, key_hash, received_on, acknowledge_by, "
                "answer_by, notified, acknowledge_escalated, answer_escalated) VALUES (:id, 1, 'other', 'received', "
                ":hash, '2026-11-30', '2026-12-02', '2026-12-14', true, false, false)"),
                {"id": item, "hash": item * 64})
            conn.execute(text(
                "INSERT INTO box_message (id, item_id, position, from_writer, written_on, sealed) "
                "VALUES (:id, :item, 0, true, '2026-11-30', :sealed)"), {"id": f"m{item}", "item": item,
                                                                         "sealed": b"x" * 40})

    def without_rowid() -> bool:
        if engine.dialect.name != "sqlite":
            return True
        with engine.connect() as conn:
            sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE name IN "
                                         "('box_item', 'box_message')")).all())
        return all("WITHOUT ROWID" in sql[name].upper() for name in ("box_item", "box_message"))

    assert without_rowid()
    with engine.connect() as conn:
        upgrade(conn, "0012")
    assert without_rowid()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT moderation, review_by, review_notified, review_escalated, release_notified "
                                 "FROM box_message ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(None, None, True, False, True)] * 2
        assert conn.execute(text("SELECT key_hash, purged_on, scrubbed FROM box_item WHERE id = 'a'")).one() == (
            "a" * 64, None, True)
        assert conn.execute(text("SELECT retention_months FROM box_settings")).scalar() == 24
    with engine.begin() as conn:
        conn.execute(text("UPDATE box_message SET moderation = 'pending' WHERE id = 'ma'"))
        conn.execute(text("DELETE FROM box_message WHERE id = 'mb'"))
        conn.execute(text("UPDATE box_item SET key_hash = NULL, purged_on = '2026-12-01' WHERE id = 'b'"))
    with engine.connect() as conn:
        downgrade(conn, "0011")
    assert without_rowid()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT moderation FROM box_message")).scalars().all() == ["withheld"]
        assert conn.execute(text("SELECT key_hash FROM box_item WHERE id = 'b'")).scalar() == "purged:b"
