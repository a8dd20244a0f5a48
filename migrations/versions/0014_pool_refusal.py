"""pool refusals: a pooled period the joint audit refuses is remembered, reported once, and tried again only when
its inputs change

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:30:00

One new table, nothing changed: ``pool_refusal`` (per survey and period: the refusal's code, the audit's findings,
what the attempt was computed from, when). Downgrading drops it: the scheduler then tries every refused period
again, and reports it again, on every run, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("refused_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], name=op.f("fk_pool_refusal_survey_id_survey")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_refusal")),
        sa.UniqueConstraint("survey_id", "period", name=op.f("uq_pool_refusal_survey_id_period")),
    )
    with op.batch_alter_table("pool_refusal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pool_refusal_survey_id"), ["survey_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pool_refusal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_refusal_survey_id"))
    op.drop_table("pool_refusal")
