"""complaint box: the safety representative reviews an anonymous writer's texts first; a retention rule

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:30:00

``box_message`` gets a review deadline and the scheduler's three claim flags (review asked, review late, released to
the manager); ``moderation`` takes the new states ``pending`` and ``released`` without a schema change. Texts written
before this revision keep ``moderation`` as it was (None reads as released), and their flags say there is nothing to
tell. ``box_item`` gets the day its texts were deleted by the retention rule and whether that deletion is scrubbed
from disk; its reply key's hash may then be empty. ``box_settings`` gets the retention in months (default 24).

On SQLite the two box tables are rebuilt (batch mode) and stay WITHOUT ROWID: a rowid would record the order of
writing (docs/ANONYMITY.md, "The complaint box").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Passed to every rebuild of a box table, so SQLite's copy keeps WITHOUT ROWID.
NO_ROWID = {"sqlite_with_rowid": False}


def upgrade() -> None:
    with op.batch_alter_table("box_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_months", sa.Integer(), nullable=False, server_default="24"))
    with op.batch_alter_table("box_settings", schema=None) as batch_op:
        batch_op.alter_column("retention_months", server_default=None)

    with op.batch_alter_table("box_item", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.add_column(sa.Column("purged_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("scrubbed", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.alter_column("key_hash", existing_type=sa.String(length=64), nullable=True)
    with op.batch_alter_table("box_item", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.alter_column("scrubbed", server_default=None)

    with op.batch_alter_table("box_message", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.add_column(sa.Column("review_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_notified", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("review_escalated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("release_notified", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("box_message", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.alter_column("review_notified", server_default=None)
        batch_op.alter_column("review_escalated", server_default=None)
        batch_op.alter_column("release_notified", server_default=None)


def downgrade() -> None:
    # Before this revision every writer's text is read by the manager as written: a text still waiting for review
    # (or withheld by it) must not become readable by going back, so it goes back as withheld.
    op.execute(sa.text("UPDATE box_message SET moderation = 'withheld' WHERE moderation = 'pending'"))
    op.execute(sa.text("UPDATE box_message SET moderation = NULL WHERE moderation = 'released'"))
    # An item whose texts the retention rule deleted has no reply key left: a value no key hashes to stands in.
    op.execute(sa.text("UPDATE box_item SET key_hash = 'purged:' || id WHERE key_hash IS NULL"))
    with op.batch_alter_table("box_message", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.drop_column("release_notified")
        batch_op.drop_column("review_escalated")
        batch_op.drop_column("review_notified")
        batch_op.drop_column("review_by")
    with op.batch_alter_table("box_item", schema=None, table_kwargs=NO_ROWID) as batch_op:
        batch_op.alter_column("key_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("scrubbed")
        batch_op.drop_column("purged_on")
    with op.batch_alter_table("box_settings", schema=None) as batch_op:
        batch_op.drop_column("retention_months")
