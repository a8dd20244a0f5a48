"""the APT pack's discussion questions as the manager saved them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:30:00

One new table, nothing changed: ``sam_apt_prompt`` (a manager's own discussion questions per release, unit and
question code, in place of the question bank's). Downgrading drops it and the saved questions with it: the packs
then show the bank's questions again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("sam_apt_prompt",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("release_id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("question_code", sa.String(length=32), nullable=False),
    sa.Column("prompts", sa.Text(), nullable=False),
    sa.Column("updated_by", sa.Integer(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_sam_apt_prompt_release_id_release")),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_apt_prompt_unit_id_unit")),
    sa.ForeignKeyConstraint(["updated_by"], ["person.id"], name=op.f("fk_sam_apt_prompt_updated_by_person"),
                            ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_apt_prompt")),
    sa.UniqueConstraint("release_id", "unit_id", "question_code",
                        name=op.f("uq_sam_apt_prompt_release_id_unit_id_question_code"))
    )
    with op.batch_alter_table("sam_apt_prompt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_apt_prompt_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sam_apt_prompt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_apt_prompt_unit_id"))

    op.drop_table("sam_apt_prompt")
