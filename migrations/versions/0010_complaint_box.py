"""complaint box: items, their conversations, and the organisation's box and safety settings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:40:00

Items and messages have random keys and (on SQLite) no rowid, and dates to the day only; an anonymous item stores
no person, address, browser or session (docs/ANONYMITY.md, "The complaint box"). box_settings holds the deadlines
(working days) and the main safety representative who moderates units no safety area covers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "box_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acknowledge_days", sa.Integer(), nullable=False),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.Column("main_safety_rep_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["main_safety_rep_id"], ["person.id"],
                                name=op.f("fk_box_settings_main_safety_rep_id_person"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_box_settings")),
    )
    op.create_table(
        "box_item",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("acknowledge_by", sa.Date(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("acknowledge_escalated", sa.Boolean(), nullable=False),
        sa.Column("answer_escalated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["person.id"], name=op.f("fk_box_item_author_id_person"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_box_item_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_box_item")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_box_item_key_hash")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("box_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_box_item_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_box_item_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_box_item_unit_id"), ["unit_id"], unique=False)
    op.create_table(
        "box_message",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("from_writer", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("moderation", sa.String(length=16), nullable=True),
        sa.Column("redacted_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["person.id"], name=op.f("fk_box_message_author_id_person"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["item_id"], ["box_item.id"], name=op.f("fk_box_message_item_id_box_item"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_box_message")),
        sa.UniqueConstraint("item_id", "position", name=op.f("uq_box_message_item_id_position")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("box_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_box_message_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("box_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_box_message_item_id"))
    op.drop_table("box_message")
    with op.batch_alter_table("box_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_box_item_unit_id"))
        batch_op.drop_index(batch_op.f("ix_box_item_status"))
        batch_op.drop_index(batch_op.f("ix_box_item_author_id"))
    op.drop_table("box_item")
    op.drop_table("box_settings")
