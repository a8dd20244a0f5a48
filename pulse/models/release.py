"""Frozen releases: the only source of every number anyone sees. Append-only in the database too."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from pulse.common.db import Base, UTCDateTime, utcnow


class Release(Base):
    """One protected, audited computation of a closed round. A correction is a new version, never an edit."""

    __tablename__ = "release"
    __table_args__ = (UniqueConstraint("round_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who asked for it (e-mail, or "system" for the close).
    created_by: Mapped[str] = mapped_column(String(254))
    min_group_size: Mapped[int] = mapped_column(Integer)
    min_dist_size: Mapped[int] = mapped_column(Integer)
    min_comment_size: Mapped[int] = mapped_column(Integer)
    #: JSON: the audit's outcome per layer (published / suppressed counts, findings, passed).
    audit: Mapped[str] = mapped_column(Text)


class ReleaseCell(Base):
    """One cell of a release: a unit's total or remainder. Only published figures are stored; a suppressed
    cell stores nothing but the fact that it is suppressed, so no hidden number exists anywhere."""

    __tablename__ = "release_cell"

    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    #: ``total`` or ``remainder``.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean)
    respondents: Mapped[int | None] = mapped_column(Integer)
    #: Invited, only where a participation figure may be shown.
    invited: Mapped[int | None] = mapped_column(Integer)
    #: JSON: per question code, the published figures (mean or a censored bound, n, and at k_dist the
    #: distribution, standard deviation, eNPS, shares; a flag for sensitive items).
    stats: Mapped[str] = mapped_column(Text, default="{}")


def _sqlite_guard(table: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is frozen'); END" for verb in ("update", "delete")]


def _postgresql_guard(table: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION release_frozen()"]


#: Releases cannot be changed or deleted, not even with SQL (also created by the migration).
IMMUTABLE_DDL: dict[str, dict[str, list[str]]] = {
    "sqlite": {"release": _sqlite_guard("release"), "release_cell": _sqlite_guard("release_cell")},
    "postgresql": {
        "release": ["CREATE OR REPLACE FUNCTION release_frozen() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'releases are frozen'; END; $$ LANGUAGE plpgsql",
                    *_postgresql_guard("release")],
        "release_cell": _postgresql_guard("release_cell"),
    },
}

for _dialect, _tables in IMMUTABLE_DDL.items():
    for _table, _statements in _tables.items():
        for _statement in _statements:
            event.listen(Base.metadata.tables[_table], "after_create", DDL(_statement).execute_if(dialect=_dialect))
