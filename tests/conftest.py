"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
``PULSE_TEST_DATABASE_URL`` is set (each test then gets its own schema)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import Phase, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pulse import create_app
from pulse.common.config import Config, MailConfig, Thresholds, normalise_database_url
from pulse.common.db import Base, Database, get_database

PG_URL = os.environ.get("PULSE_TEST_DATABASE_URL", "").strip()

# `make mutation` (docs/TESTING.md): property tests stop at the first failing example instead of shrinking it — a
# mutant only needs to fail, and shrinking each one would take most of the run.
# They also try at most MUTATION_EXAMPLES examples each (their own settings ask for up to 400): most mutants fail
# within a few, and a survivor costs every example of every test that calls the mutated function.
settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate], deadline=None)
MUTATION = os.environ.get("PULSE_HYPOTHESIS_PROFILE") == "mutation"
MUTATION_EXAMPLES = int(os.environ.get("PULSE_MUTATION_EXAMPLES", "50"))
if MUTATION:
    settings.load_profile("mutation")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under the mutation profile, cap every property test's examples at MUTATION_EXAMPLES."""
    if not MUTATION:
        return
    for item in items:
        test = getattr(item, "obj", None)
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is not None and current.max_examples > MUTATION_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(current, max_examples=MUTATION_EXAMPLES)  # type: ignore[union-attr]
TEST_SECRET = "test-secret-key-that-is-long-enough-for-pulse"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        if os.environ.get("PULSE_REQUIRE_POSTGRES"):
            pytest.fail("PULSE_REQUIRE_POSTGRES is set but PULSE_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL tests need PULSE_TEST_DATABASE_URL")
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = normalise_database_url(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def make_config(database_url: str, tmp_path: Path, **overrides: object) -> Config:
    config = Config(
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        instance_path=tmp_path / "instance",
        base_url="http://pulse.test",
        thresholds=Thresholds(),
        mail=MailConfig(backend="file", file_dir=tmp_path / "outbox"),
        # Cheap hashing keeps the suite fast; production costs are the defaults in Config.
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    return config.with_overrides(**overrides) if overrides else config


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    return make_config(database_url, tmp_path)


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    database = Database(config.database_url)
    Base.metadata.create_all(database.engine)
    app = create_app(config, database=database)
    # Forms are tested without CSRF tokens; the CSRF tests in tests/web/test_security.py switch it back on.
    app.config["WTF_CSRF_ENABLED"] = False
    yield app
    database.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session on the test database.

    No app context is pushed here on purpose: test-client requests would reuse it, and with it ``g``
    (signed-in person, locale, database session) from one request to the next. Tests that call services
    needing the app use ``with app.app_context():`` around just that call.
    """
    with get_database(app).session() as db:
        yield db


@pytest.fixture
def org(session: Session):  # type: ignore[no-untyped-def]
    from tests.factories import Org

    return Org(session)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Say plainly which databases and the browser the run covered (CI checks that none was skipped)."""
    counts = {"postgresql": [0, 0], "sqlite": [0, 0], "browser": [0, 0]}
    for outcome, index in (("passed", 0), ("skipped", 1)):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = report.nodeid
            for name in ("postgresql", "sqlite"):
                if f"[{name}" in nodeid or f"-{name}" in nodeid:
                    counts[name][index] += 1
            if nodeid.startswith("tests/browser/"):
                counts["browser"][index] += 1
    terminalreporter.write_line(
        "Pulse test coverage: " + ", ".join(f"{name} {p} passed / {s} skipped" for name, (p, s) in counts.items()))
