"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, and the request session.

Services take a :class:`~sqlalchemy.orm.Session` and flush; the request (or CLI command) commits once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Constraint names are deterministic so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime, stored the same way on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use utcnow()")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: Seconds to wait for a new PostgreSQL connection before the request answers "unavailable" (503): an unreachable
#: server must not hold every worker for the operating system's minutes-long TCP timeout.
CONNECT_TIMEOUT = 10


def make_engine(url: str, *, pool: bool = True, pre_ping: bool = True) -> Engine:
    """An engine with the same behaviour on SQLite and PostgreSQL.

    SQLite gets WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for transactions that will write
    (see :func:`_begin_sqlite`), so concurrent writers queue instead of failing.

    PostgreSQL connections are tested when taken from the pool (``pre_ping``): after a server restart, or a
    connection ended by the server or a firewall, every pooled connection is stale, and without the test the first
    request on each would fail. The test is one round trip per request (docs/OPERATIONS.md, "Database
    connections", has the measurement); ``pre_ping=False`` is for measuring it.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               poolclass=None if pool else NullPool)
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    # The pool also recycles connections every half hour, so none outlives a server-side idle limit for long.
    kwargs: dict[str, Any] = {"pool_pre_ping": pre_ping, "pool_recycle": 1800}
    if "connect_timeout" not in url:
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    if pool:
        kwargs.update(pool_size=5, max_overflow=10)
    else:
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's own guesswork.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, not just marked free: what a closed round's ledger and pools held
    # must not stay readable in the file (docs/ANONYMITY.md, "After close").
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
    # SQLite's own lower() only knows ASCII; Swedish names need Å, Ä and Ö too, as PostgreSQL's lower() does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _begin_sqlite(conn: Any) -> None:
    # A deferred transaction that reads and then writes fails with SQLITE_BUSY when another writer committed
    # in between. Transactions that may write therefore take the write lock up front: requests other than
    # GET/HEAD (and GET views marked @writes_db), and sessions opened with Database.session(write=True).
    # Everything else stays deferred, so readers run in parallel with a writer under WAL.
    if has_request_context():
        immediate = bool(g.get("db_writes", True))
    else:
        immediate = bool(conn.get_execution_options().get("pulse_write", False))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: Tables whose deleted rows held a person, a credential, a sealed answer or a round key while a round was open.
SCRUBBED_TABLES = ("pending_response", "credential_hash", "credential", "invitation", "round_key")


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str, *, pool: bool = True, pre_ping: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, pool=pool, pre_ping=pre_ping)
        #: The same engine, taking SQLite's write lock when a transaction begins outside a request.
        self.write_engine = self.engine.execution_options(pulse_write=True)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessionmaker = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session for CLI commands and background work; the caller commits.

        :param write: take SQLite's write lock when the transaction begins. Use it for work that reads and
            then writes while other processes may write too (imports, the scheduler).
        """
        session = (self.write_sessionmaker if write else self.sessionmaker)()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def scrub(self, tables: tuple[str, ...] = SCRUBBED_TABLES, *, since_xid: int | None = None) -> bool:
        """Remove what deleted rows leave on disk, after a round closes (docs/ANONYMITY.md, "After close").

        SQLite: deleted content is already zeroed (``secure_delete``); the write-ahead log, which still holds
        the old page images, is checkpointed into the file and truncated. PostgreSQL: the tables whose dead row
        versions held the ledger, the pools and the round key are rewritten (``VACUUM FULL``), so the old
        versions are no longer in the database's files. Returns False when it could not finish (SQLite readers
        kept the log busy for the whole wait, or PostgreSQL readers older than the close — ``since_xid``, the
        closing transaction's id — could still see the deleted rows); the scheduler tries again.
        """
        if self.dialect == "sqlite":
            return self._checkpoint_sqlite()
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # A snapshot older than the close may still see the deleted rows, and VACUUM would keep them for
                # it (as for a replication slot holding an old snapshot): then try again later. Without the close's
                # transaction id, any transaction that began before this check counts as older.
                if since_xid is None:
                    older = conn.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL AND xact_start < now()").scalar()
                else:
                    older = conn.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL "
                        "AND age(backend_xmin) >= age(CAST(CAST(:xid AS text) AS xid))"), {"xid": since_xid}).scalar()
                slots = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL"
                ).scalar()
                if older or slots:
                    return False
                # VACUUM FULL needs the table to itself for a moment: never wait long for it.
                conn.exec_driver_sql("SET lock_timeout = '3s'")
                try:
                    for table in tables:
                        conn.exec_driver_sql(f"VACUUM FULL {table}")
                except OperationalError:
                    log.warning("scrub: a table was busy; the next close scrubs again")
                    return False
            return True
        return False

    def checkpoint(self) -> bool:
        """SQLite: move the write-ahead log into the file and empty it (nothing to do on PostgreSQL)."""
        return self._checkpoint_sqlite() if self.dialect == "sqlite" else True

    def _checkpoint_sqlite(self, attempts: int = 10) -> bool:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            # Readers that began before the checkpoint keep old pages in use: wait for them briefly, never long
            # (this runs right after a close, sometimes inside a request).
            cursor.execute("PRAGMA busy_timeout=100")
            try:
                for _ in range(attempts):
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    busy, *_ = cursor.fetchone() or (1,)
                    if not busy:
                        return True
                    time.sleep(0.05)
                return False
            finally:
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        finally:
            raw.close()

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" for the health check
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask, database: Database) -> None:
    app.extensions["pulse.db"] = database

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            try:
                session.rollback()
            except DBAPIError:  # the connection is gone (the database went away): nothing to roll back
                session.invalidate()
            finally:
                session.close()


def get_database(app: Flask) -> Database:
    return app.extensions["pulse.db"]


def get_session() -> Session:
    """The session of the current request (created on first use, rolled back and closed at teardown)."""
    session: Session | None = g.get("db_session")
    if session is None:
        session = get_database(current_app).sessionmaker()
        g.db_session = session
    return session


def lock_for_append(session: Session, name: str) -> None:
    """Serialise writers of an append-only chain until the transaction ends.

    PostgreSQL takes a transaction-scoped advisory lock; SQLite already holds its single write lock
    (``BEGIN IMMEDIATE``) for any transaction that writes.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
