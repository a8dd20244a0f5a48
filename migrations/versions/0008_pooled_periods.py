"""pooled periods: releases of a survey's rounds pooled over fixed, non-overlapping periods

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00

A survey may pool its rounds by calendar month, quarter or N consecutive rounds (``survey.pooling``,
``survey.pool_rounds``); a complete period gets a pooled release, frozen like a round's release (append-only
tables, the same triggers). docs/ANONYMITY.md, "Pooled periods".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLES = ("pooled_release", "pooled_release_cell")


def upgrade() -> None:
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pooling", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pool_rounds", sa.Integer(), nullable=True))
    op.create_table(
        "pooled_release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rounds", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("min_group_size", sa.Integer(), nullable=False),
        sa.Column("min_dist_size", sa.Integer(), nullable=False),
        sa.Column("audit", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_pooled_release_survey_id_survey")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pooled_release")),
        sa.UniqueConstraint("survey_id", "period", "version", name=op.f("uq_pooled_release_survey_id_period_version")),
    )
    with op.batch_alter_table("pooled_release", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pooled_release_survey_id"), ["survey_id"], unique=False)
    op.create_table(
        "pooled_release_cell",
        sa.Column("pooled_release_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=True),
        sa.Column("invited", sa.Integer(), nullable=True),
        sa.Column("stats", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["pooled_release_id"], ["pooled_release.id"],
                                name=op.f("fk_pooled_release_cell_pooled_release_id_pooled_release")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_pooled_release_cell_unit_id_unit")),
        sa.PrimaryKeyConstraint("pooled_release_id", "unit_id", "kind", name=op.f("pk_pooled_release_cell")),
    )
    # Frozen like a round's release: no update, no delete, not even with SQL.
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"CREATE TRIGGER {table}_frozen BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION release_frozen()")
    else:
        for table in _TABLES:
            for verb in ("update", "delete"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is frozen'); END")


def downgrade() -> None:
    op.drop_table("pooled_release_cell")
    with op.batch_alter_table("pooled_release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pooled_release_survey_id"))
    op.drop_table("pooled_release")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_column("pool_rounds")
        batch_op.drop_column("pooling")
