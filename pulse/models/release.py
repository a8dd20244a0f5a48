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


class PooledRelease(Base):
    """One protected, audited computation of a survey's pooled period: the answers of every round of the period
    together, per unit, for units too small round by round (docs/ANONYMITY.md, "Pooled periods"). Audited jointly
    with the rounds' releases; a correction is a new version, never an edit."""

    __tablename__ = "pooled_release"
    __table_args__ = (UniqueConstraint("survey_id", "period", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    #: The period's key (pulse.domain.pooling.Period.key): "2026-11", "2026-Q4" or "rounds-5-8".
    period: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    #: JSON: the rounds pooled, as ``[[round id, round number, release versions audited with], …]``.
    rounds: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who asked for it (e-mail, or "system" for the scheduler).
    created_by: Mapped[str] = mapped_column(String(254))
    min_group_size: Mapped[int] = mapped_column(Integer)
    min_dist_size: Mapped[int] = mapped_column(Integer)
    #: JSON: the audit's outcome per layer, and why cells are hidden because of the rounds' releases.
    audit: Mapped[str] = mapped_column(Text)


class PooledReleaseCell(Base):
    """One cell of a pooled release, stored exactly like :class:`ReleaseCell` (only published figures)."""

    __tablename__ = "pooled_release_cell"

    pooled_release_id: Mapped[int] = mapped_column(ForeignKey("pooled_release.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean)
    #: Respondents over the period's rounds (answers given: one person answering four rounds counts four times).
    respondents: Mapped[int | None] = mapped_column(Integer)
    #: Invitations over the period's rounds, only where a participation figure may be shown.
    invited: Mapped[int | None] = mapped_column(Integer)
    stats: Mapped[str] = mapped_column(Text, default="{}")


class PoolRefusal(Base):
    """The last refusal to pool a period, and why: the scheduler reports it once and tries the period again only when
    what it is computed from changes (docs/ANONYMITY.md, "Pooled periods"). Not a release and not frozen: replaced
    by a later refusal, deleted when the period is pooled or the survey's pooling changes."""

    __tablename__ = "pool_refusal"
    __table_args__ = (UniqueConstraint("survey_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    #: The period's key (pulse.domain.pooling.Period.key).
    period: Mapped[str] = mapped_column(String(32))
    #: pulse.services.pooling.PoolingError's code: ``earlier_unsafe`` or ``purged``.
    code: Mapped[str] = mapped_column(String(32))
    #: JSON: the audit's findings — which published cells together would give something away, as units, rounds and
    #: versions (pulse.services.releases.explain words them); never a figure, hidden or not.
    findings: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON: what the refused attempt was computed from — the survey's pooling and every version of each of the
    #: period's rounds' releases. Another value means the period is tried again.
    inputs: Mapped[str] = mapped_column(Text)
    refused_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def _sqlite_guard(table: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is frozen'); END" for verb in ("update", "delete")]


def _postgresql_guard(table: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION release_frozen()"]


_FROZEN_FUNCTION = ("CREATE OR REPLACE FUNCTION release_frozen() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'releases are frozen'; END; $$ LANGUAGE plpgsql")

#: Releases cannot be changed or deleted, not even with SQL (also created by the migration).
IMMUTABLE_DDL: dict[str, dict[str, list[str]]] = {
    "sqlite": {"release": _sqlite_guard("release"), "release_cell": _sqlite_guard("release_cell"),
               "pooled_release": _sqlite_guard("pooled_release"),
               "pooled_release_cell": _sqlite_guard("pooled_release_cell")},
    "postgresql": {
        "release": [_FROZEN_FUNCTION, *_postgresql_guard("release")],
        "release_cell": _postgresql_guard("release_cell"),
        # Created in whichever order the tables are: each of the two parents makes sure the function exists.
        "pooled_release": [_FROZEN_FUNCTION, *_postgresql_guard("pooled_release")],
        "pooled_release_cell": _postgresql_guard("pooled_release_cell"),
    },
}

for _dialect, _tables in IMMUTABLE_DDL.items():
    for _table, _statements in _tables.items():
        for _statement in _statements:
            event.listen(Base.metadata.tables[_table], "after_create", DDL(_statement).execute_if(dialect=_dialect))
