"""The tools of an honest-but-curious database administrator who also holds the application secret.

What the attacker may use: the database files (SQLite main file and ``-wal``, read as raw bytes) or a superuser
connection (PostgreSQL: every table, system columns ``xmin``/``xmax``/``ctid``, ``pageinspect`` for row versions
that are no longer visible), and keys derived from the application secret. Nothing here asks the application
which answer is whose: the tests that use these tools know the truth only to score the attack.

The central reconstruction is a list of :class:`Write` — every committed transaction the files still show, in
commit order (PostgreSQL: by transaction id; SQLite: commits in the write-ahead log), with the tables it changed,
the people named by the rows it changed, and the sealed answers it stored. :func:`link_answers` is the attacker's
best guess of who wrote each sealed answer from those writes and the ledger.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from pulse.common.db import Base
from pulse.domain import crypto
from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.services.ratelimit import bucket_key
from tests import walparse
from tests.conftest import TEST_SECRET

#: Columns that hold a person's id.
PERSON_ID_COLUMNS = ("person_id", "actor_id", "created_by")
#: Rate-limit buckets the application keys by a person's e-mail address (the key is computable with the secret).
EMAIL_BUCKETS = ("signin-email", "reset-email")


def person_linked_tables() -> set[str]:
    """Tables a row of which can name a person: the person table, tables with a person's id, the audit log (actor,
    target) and the rate-limit buckets (keyed by an e-mail address, recomputable with the application secret)."""
    result = {"person", "audit_entry", "rate_limit_bucket"}
    for name, table in Base.metadata.tables.items():
        if any(column in table.columns for column in PERSON_ID_COLUMNS):
            result.add(name)
    return result


@dataclass
class People:
    """What the administrator knows about people: ids, addresses, and what the secret lets them recompute."""

    emails: dict[int, str]
    secret: str = TEST_SECRET

    def __post_init__(self) -> None:
        rate_key = derive_key(self.secret, KeyPurpose.RATE_LIMIT)
        self.by_email = {email.lower(): pid for pid, email in self.emails.items()}
        self.by_bucket = {bucket_key(rate_key, bucket, email): pid for pid, email in self.emails.items()
                          for bucket in EMAIL_BUCKETS}

    def named_by(self, table: str, values: dict[str, object]) -> set[int]:
        """The people a row names (by id, e-mail address, ``person:N`` target or a recomputed bucket key)."""
        found: set[int] = set()
        if table == "person" and isinstance(values.get("id"), int):
            found.add(int(values["id"]))  # type: ignore[arg-type]
        for column in PERSON_ID_COLUMNS:
            value = values.get(column)
            if isinstance(value, int) and value in self.emails:
                found.add(value)
        for value in values.values():
            if isinstance(value, str):
                lowered = value.lower()
                if lowered in self.by_email:
                    found.add(self.by_email[lowered])
                if lowered in self.by_bucket:
                    found.add(self.by_bucket[lowered])
                found.update(int(m) for m in re.findall(r"person:(\d+)", value) if int(m) in self.emails)
        return found


@dataclass
class Write:
    """One committed transaction as the files show it."""

    #: Transaction id (PostgreSQL) or commit number in the write-ahead log (SQLite).
    position: int
    tables: set[str] = field(default_factory=set)
    #: People named by rows this transaction inserted, changed, deleted or locked.
    people: set[int] = field(default_factory=set)
    #: Sealed answers this transaction stored (pending_response.sealed).
    sealed: list[bytes] = field(default_factory=list)
    #: ``(table, first column)`` of every row it wrote or locked (the first column is the key in every table).
    rows: set[tuple[str, str]] = field(default_factory=set)


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def superuser_engine(database_url: str) -> Engine:
    """A connection of the administrator's own, with pageinspect available (installed in ``public``)."""
    engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
    return engine


def _pg_connect(engine: Engine):  # type: ignore[no-untyped-def]
    conn = engine.connect()
    # pageinspect's functions call each other unqualified: they must be on the search path.
    conn.execute(text("SELECT set_config('search_path', current_setting('search_path') || ', public', false)"))
    return conn


HEAP_ITEMS = """
SELECT blk, lp, t_xmin::text::bigint AS xmin, t_xmax::text::bigint AS xmax, t_infomask, t_attrs
FROM generate_series(0, (pg_relation_size(CAST(:rel AS regclass)) / current_setting('block_size')::int)::int - 1)
     AS blk,
     LATERAL public.heap_page_item_attrs(public.get_raw_page(CAST(:rel AS text), blk::bigint),
                                         CAST(:rel AS regclass), false)
WHERE lp_flags = 1
ORDER BY blk, lp
"""

_XMAX_INVALID = 0x0800
_XMAX_IS_MULTI = 0x1000


@dataclass(frozen=True)
class Version:
    """One row version in a heap page, visible or not."""

    table: str
    ctid: tuple[int, int]
    xmin: int
    #: Transactions that deleted, updated or locked it.
    xmax: tuple[int, ...]
    values: dict[str, object]


def _datum(raw: bytes | None, type_name: str) -> object:
    if raw is None:
        return None
    if type_name in ("INTEGER", "BIGINT", "SMALLINT"):
        return int.from_bytes(raw, "little", signed=True)
    if type_name == "BOOLEAN":
        return bool(raw[0])
    short = bool(raw[:1]) and bool(raw[0] & 0x01)  # a short varlena has one header byte (0x01: a TOAST pointer)
    body = (raw[1:] if raw[0] != 0x01 else b"") if short else raw[4:]
    if type_name.startswith(("VARCHAR", "TEXT", "CHAR")):
        return body.decode("utf-8", "replace")
    return body


def heap_versions(engine: Engine, table: str) -> list[Version]:
    """Every row version still in the table's heap pages, live or dead, with its system columns."""
    columns = [(c.name, str(c.type.compile(dialect=engine.dialect)).upper())
               for c in Base.metadata.tables[table].columns]
    result = []
    with _pg_connect(engine) as conn:
        for row in conn.execute(text(HEAP_ITEMS), {"rel": table}):
            xmax: tuple[int, ...] = ()
            if row.xmax and not row.t_infomask & _XMAX_INVALID:
                if row.t_infomask & _XMAX_IS_MULTI:
                    xmax = tuple(int(m) for (m,) in conn.execute(
                        text("SELECT xid::text::bigint FROM pg_get_multixact_members(CAST(CAST(:m AS text) AS xid))"),
                        {"m": str(row.xmax)}))
                else:
                    xmax = (int(row.xmax),)
            attrs = list(row.t_attrs or [])
            values = {name: _datum(bytes(attrs[i]) if i < len(attrs) and attrs[i] is not None else None, type_name)
                      for i, (name, type_name) in enumerate(columns)}
            result.append(Version(table, (row.blk, row.lp), int(row.xmin), xmax, values))
    return result


def pg_writes(engine: Engine, people: People) -> list[Write]:
    """Every transaction whose id is still written on a row version of any table, in transaction order."""
    writes: dict[int, Write] = {}
    linked = person_linked_tables()
    pending_ids: dict[int, list[str]] = {}
    for table in Base.metadata.tables:
        for version in heap_versions(engine, table):
            named = people.named_by(table, version.values) if table in linked else set()
            for xid in (version.xmin, *version.xmax):
                write = writes.setdefault(xid, Write(xid))
                write.tables.add(table)
                write.people |= named
                write.rows.add((table, str(next(iter(version.values.values())))))
            if table == "pending_response":
                pending_ids.setdefault(version.xmin, []).append(str(version.values["id"]))
    if pending_ids:
        with engine.connect() as conn:
            sealed = dict(conn.execute(text("SELECT id, sealed FROM pending_response")).all())
        for xid, ids in pending_ids.items():
            writes[xid].sealed.extend(bytes(sealed[i]) for i in ids if i in sealed)
    return [writes[x] for x in sorted(writes)]


def relations(engine: Engine) -> list[str]:
    """Every relation of the test schema with storage: tables, their indexes, TOAST tables and TOAST indexes."""
    with engine.connect() as conn:
        return list(conn.scalars(text("""
            SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relkind IN ('r', 'i', 't') AND (
                c.relnamespace = CAST(current_schema() AS regnamespace)
                OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = CAST(current_schema() AS regnamespace))
                OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (
                    SELECT reltoastrelid FROM pg_class WHERE relnamespace = CAST(current_schema() AS regnamespace))))
            ORDER BY 1""")))


def raw_pages(engine: Engine, relation: str) -> bytes:
    """The relation's pages exactly as stored (``get_raw_page``): deleted data that was not overwritten is there."""
    with _pg_connect(engine) as conn:
        blocks = conn.scalar(text("SELECT pg_relation_size(CAST(:r AS regclass)) / current_setting('block_size')::int"),
                             {"r": relation})
        return b"".join(bytes(conn.scalar(text("SELECT public.get_raw_page(CAST(:r AS text), CAST(:b AS bigint))"),
                                          {"r": relation, "b": block}))
                        for block in range(int(blocks or 0)))


def pending_by_position(engine: Engine) -> list[tuple[int, tuple[int, int], str, bytes]]:
    """``(xmin, ctid, id, sealed)`` of every pending row, as ``SELECT xmin, ctid`` shows them."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT xmin::text::bigint, ctid::text, id, sealed FROM pending_response")).all()
    return [(int(x), ctid(c), str(i), bytes(s)) for x, c, i, s in rows]


def ctid(value: str) -> tuple[int, int]:
    block, item = value.strip("()").split(",")
    return int(block), int(item)


# --- SQLite ----------------------------------------------------------------------------------------------------


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def _without_rowid(table: str) -> bool:
    return Base.metadata.tables[table].dialect_options["sqlite"].get("with_rowid") is False


def sqlite_rows(image: walparse.Image, trees: dict[str, walparse.Tree], table: str) -> dict[object, dict[str, object]]:
    """The rows of a table decoded from the b-tree pages of a database image, by rowid (or primary key)."""
    columns = [c.name for c in Base.metadata.tables[table].columns]
    tree = trees.get(table)
    rows: dict[object, dict[str, object]] = {}
    if tree is None:
        return rows
    for cell in tree.cells:
        values = cell.values()
        row = dict(zip(columns, values + [None] * (len(columns) - len(values)), strict=False))
        if _without_rowid(table):
            rows[values[0]] = row
        else:
            for column in Base.metadata.tables[table].primary_key.columns:
                if row.get(column.name) is None:
                    row[column.name] = cell.rowid  # an INTEGER PRIMARY KEY is the rowid, stored as NULL
            rows[cell.rowid] = row
    return rows


@dataclass
class Commit:
    """One commit in the write-ahead log, with the owners of the pages it wrote and the rows it changed."""

    number: int
    pages: set[int]
    owners: set[str]
    changed: dict[str, list[tuple[dict[str, object] | None, dict[str, object] | None]]]


def wal_commits(database_url: str) -> list[Commit]:
    """Every commit the -wal file holds, row by row: what each one inserted, changed and deleted."""
    main, wal_bytes = walparse.read_files(sqlite_path(database_url))
    wal = walparse.read_wal(wal_bytes)
    if wal is None:
        return []
    size = wal.page_size
    pages = {n: main[(n - 1) * size:n * size] for n in range(1, len(main) // size + 1)}
    count = len(pages)
    tables = list(Base.metadata.tables)

    def state() -> tuple[walparse.Image, dict[str, walparse.Tree], dict[int, str]]:
        image = walparse.Image(b"".join(pages.get(n, bytes(size)) for n in range(1, count + 1)))
        trees = image.trees()
        return image, trees, image.owners()

    before = state()
    result = []
    for number, frames in enumerate(wal.commits()):
        for frame in frames:
            pages[frame.page] = frame.data
        count = frames[-1].commit_size
        after = state()
        written = {frame.page for frame in frames}
        owners = {o for p in written for o in (before[2].get(p), after[2].get(p)) if o is not None}
        touched = {walparse.table_of(o) for o in owners}
        changed: dict[str, list[tuple[dict[str, object] | None, dict[str, object] | None]]] = {}
        for table in tables:
            if table not in touched:
                continue
            old, new = sqlite_rows(before[0], before[1], table), sqlite_rows(after[0], after[1], table)
            diff = [(old.get(key), new.get(key)) for key in old.keys() | new.keys() if old.get(key) != new.get(key)]
            if diff:
                changed[table] = diff
        result.append(Commit(number, written, owners, changed))
        before = after
    return result


def sqlite_writes(commits: list[Commit], people: People) -> list[Write]:
    linked = person_linked_tables()
    writes = []
    for commit in commits:
        write = Write(commit.number, set(commit.changed))
        for table, diff in commit.changed.items():
            for old, new in diff:
                for row in (old, new):
                    if row is not None:
                        write.rows.add((table, str(next(iter(row.values())))))
                        if table in linked:
                            write.people |= people.named_by(table, row)
                if table == "pending_response" and old is None and new is not None:
                    write.sealed.append(bytes(new["sealed"]))  # type: ignore[arg-type]
        writes.append(write)
    return writes


def sqlite_image(database_url: str) -> walparse.Image:
    """The database as a reader sees it now: the main file with every commit in the log applied."""
    main, wal_bytes = walparse.read_files(sqlite_path(database_url))
    wal = walparse.read_wal(wal_bytes)
    if wal is None:
        return walparse.Image(main)
    return walparse.Image(walparse.apply_commits(main, wal.page_size, wal.commits()))


# --- the attack ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    """The attacker's conclusion about one sealed answer."""

    unit: int
    values: tuple[object, ...]
    comment: str | None
    #: The people the attacker cannot tell apart as its author.
    candidates: frozenset[int]


def unwrap_round_key(wrapped: bytes, round_id: int, secret: str = TEST_SECRET) -> crypto.PrivateKey:
    """Unwrap a round's private key with the application secret (whoever holds the wrapped key and the secret can)."""
    wrap = derive_key(secret, KeyPurpose.ROUND_KEY_WRAP)
    return crypto.unwrap_round_key(wrap, wrapped, f"pulse-round:{round_id}".encode())


def open_sealed(private_key: crypto.PrivateKey, round_id: int, sealed: bytes) -> tuple[int, list[object], str | None]:
    from pulse.domain.sealing import open_payload

    unit, values, comment = open_payload(crypto.unseal(private_key, sealed, f"pulse-round:{round_id}".encode()))
    return unit, list(values), comment


def link_answers(writes: list[Write], ledger: dict[int, int], private_key: crypto.PrivateKey, round_id: int,
                 *, window: int = 2) -> list[Guess]:
    """Who wrote each sealed answer, as far as the database says.

    Start from everyone whose ledger unit is the answer's unit (the unit is inside the sealed answer, which the
    secret opens). Then narrow down with every trace of the transaction that stored it: people named by rows the
    same transaction wrote or locked, then people named by the nearest transactions before and after it that
    named anyone (``window`` of them each side). A trace that names nobody of the unit is no evidence.
    """
    guesses = []
    naming = [i for i, w in enumerate(writes) if w.people]
    for index, write in enumerate(writes):
        for sealed in write.sealed:
            unit, values, comment = open_sealed(private_key, round_id, sealed)
            candidates = {person for person, where in ledger.items() if where == unit}
            if write.people & candidates:
                candidates &= write.people
            before = [i for i in naming if i < index][-window:]
            after = [i for i in naming if i > index][:window]
            near = set().union(*(writes[i].people for i in before + after)) if before or after else set()
            if near & candidates:
                candidates &= near
            guesses.append(Guess(unit, tuple(values), comment, frozenset(candidates)))
    return guesses


def spearman(xs: list[int], ys: list[int]) -> float:
    """Rank correlation of two orderings of the same items."""
    n = len(xs)
    if n < 3:
        return 0.0
    rank_x = {v: i for i, v in enumerate(sorted(xs))}
    rank_y = {v: i for i, v in enumerate(sorted(ys))}
    d2 = sum((rank_x[x] - rank_y[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def varint_record(values: list[object]) -> bytes:
    """Encode a record like SQLite does (to search the raw files for a row that was deleted)."""
    header = b""
    body = b""
    for value in values:
        if value is None:
            header += b"\x00"
        elif isinstance(value, bool | int):
            number = int(value)
            if number in (0, 1):
                header += bytes([8 + number])
            else:
                for serial, size in ((1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (6, 8)):
                    if -(1 << (8 * size - 1)) <= number < (1 << (8 * size - 1)):
                        header += bytes([serial])
                        body += number.to_bytes(size, "big", signed=True)
                        break
        elif isinstance(value, str):
            data = value.encode()
            header += _varint(len(data) * 2 + 13)
            body += data
        else:
            data = bytes(value)  # type: ignore[call-overload]
            header += _varint(len(data) * 2 + 12)
            body += data
    size = len(header) + 1
    return _varint(size) + header + body


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes([value])
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def int4(value: int) -> bytes:
    return struct.pack("<i", value)
