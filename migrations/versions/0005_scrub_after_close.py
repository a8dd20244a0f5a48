"""scrub after close: rounds remember whether what their close deleted has been scrubbed from disk

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:10:00

A scrub that could not finish (an old reader, a busy table) is retried by every scheduler run until it does
(docs/ANONYMITY.md, "After close"). Rounds closed before this revision count as scrubbed: the next close scrubs
the tables they shared anyway.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scrubbed", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("close_xid", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.alter_column("scrubbed", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("close_xid")
        batch_op.drop_column("scrubbed")
