"""revoked sessions: signing out ends every copy of a staff session's cookie

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00

Each staff session carries a random id in its signed cookie; signing out stores a keyed hash of that id here, and
every staff request looks its id up, so a copied cookie stops working too. A row names nobody and goes once the
session would have expired anyway (the scheduler deletes it). Sessions from before this revision have no id: they
end at the next request and their holders sign in again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("forget_after", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_revoked_session")),
    )
    with op.batch_alter_table("revoked_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revoked_session_forget_after"), ["forget_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revoked_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_session_forget_after"))
    op.drop_table("revoked_session")
