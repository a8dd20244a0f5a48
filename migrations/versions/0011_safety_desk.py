"""the safety representative's desk: 6:6a requests (history, attachments) and the annual SAM follow-up

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:30:00

Four new tables, nothing changed: ``safety_request`` (a request under AML 6:6a with the employer's confirmation and
answer), ``safety_request_event`` (every step of it, dated), ``safety_attachment`` (its files, in the database so
they are backed up with it) and ``follow_up`` (the annual follow-up per unit and year, signed by both sides).
Downgrading drops them and everything in them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("follow_up",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("answers", sa.Text(), nullable=False),
    sa.Column("facts", sa.Text(), nullable=False),
    sa.Column("manager_signed_at", UTCDateTime(), nullable=True),
    sa.Column("manager_signed_by", sa.String(length=200), nullable=True),
    sa.Column("rep_signed_at", UTCDateTime(), nullable=True),
    sa.Column("rep_signed_by", sa.String(length=200), nullable=True),
    sa.Column("locked_at", UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                            name=op.f("fk_follow_up_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    sa.UniqueConstraint("unit_id", "year", name=op.f("uq_follow_up_unit_id_year"))
    )
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_up_unit_id"), ["unit_id"], unique=False)

    op.create_table("safety_request",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("title", sa.String(length=200), nullable=False),
    sa.Column("reasons", sa.Text(), nullable=False),
    sa.Column("reply_by", sa.Date(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by_id", sa.Integer(), nullable=True),
    sa.Column("created_by_name", sa.String(length=200), nullable=False),
    sa.Column("manager_id", sa.Integer(), nullable=True),
    sa.Column("asked_at", UTCDateTime(), nullable=True),
    sa.Column("reminded_at", UTCDateTime(), nullable=True),
    sa.Column("reminders", sa.Integer(), nullable=False),
    sa.Column("escalated_at", UTCDateTime(), nullable=True),
    sa.Column("escalated_to_id", sa.Integer(), nullable=True),
    sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("confirmed_by_name", sa.String(length=200), nullable=True),
    sa.Column("answered_at", UTCDateTime(), nullable=True),
    sa.Column("answered_by_name", sa.String(length=200), nullable=True),
    sa.Column("answer", sa.Text(), nullable=True),
    sa.Column("measures", sa.Text(), nullable=True),
    sa.Column("linked_actions", sa.Text(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["created_by_id"], ["person.id"],
                            name=op.f("fk_safety_request_created_by_id_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["escalated_to_id"], ["person.id"],
                            name=op.f("fk_safety_request_escalated_to_id_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["manager_id"], ["person.id"],
                            name=op.f("fk_safety_request_manager_id_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                            name=op.f("fk_safety_request_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_request"))
    )
    with op.batch_alter_table("safety_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_request_created_by_id"), ["created_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_safety_request_unit_id"), ["unit_id"], unique=False)

    op.create_table("safety_attachment",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), nullable=False),
    sa.Column("filename", sa.String(length=200), nullable=False),
    sa.Column("content_type", sa.String(length=64), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("uploaded_at", UTCDateTime(), nullable=False),
    sa.Column("uploaded_by_name", sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(["request_id"], ["safety_request.id"],
                            name=op.f("fk_safety_attachment_request_id_safety_request"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_attachment"))
    )
    with op.batch_alter_table("safety_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_attachment_request_id"), ["request_id"], unique=False)

    op.create_table("safety_request_event",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(length=32), nullable=False),
    sa.Column("actor_name", sa.String(length=200), nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(["request_id"], ["safety_request.id"],
                            name=op.f("fk_safety_request_event_request_id_safety_request"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_request_event"))
    )
    with op.batch_alter_table("safety_request_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safety_request_event_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("safety_request_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_request_event_request_id"))

    op.drop_table("safety_request_event")
    with op.batch_alter_table("safety_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_attachment_request_id"))

    op.drop_table("safety_attachment")
    with op.batch_alter_table("safety_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safety_request_unit_id"))
        batch_op.drop_index(batch_op.f("ix_safety_request_created_by_id"))

    op.drop_table("safety_request")
    with op.batch_alter_table("follow_up", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_unit_id"))

    op.drop_table("follow_up")
