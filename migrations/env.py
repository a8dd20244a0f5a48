"""Alembic environment: Pulse's metadata, its configured database, batch mode for SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import pulse.models  # noqa: F401  (registers every table on the metadata)
from pulse.common.db import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode copies and drops tables; with foreign keys on, SQLite would cascade those drops into
        # child rows. The pragma only takes effect outside a transaction, so it goes to the driver directly.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from pulse.common.config import Config
    from pulse.common.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or Config.from_env().database_url
    engine = make_engine(url, pool=False)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; use `pulse db upgrade`.")
run_migrations_online()
