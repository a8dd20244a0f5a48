"""SAM records: risk assessments, action plans, APT meetings, "you said, we did" and where to get help

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:20:00

The systematic work-environment cycle (AFS 2023:1) as records of a unit: risks (with the release and question code
that prompted them, never answers), actions with owners and dates (and the reminders claimed for them, one row per
reminder so several schedulers send each once), workplace-meeting (APT) records, the feedback employees see when
they answer, and the help text shown after the victimisation and threats questions. New tables only; downgrading
drops them and what they hold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pulse.common.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("sam_help_text",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("links", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_help_text_unit_id_unit"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_help_text")),
    sa.UniqueConstraint("unit_id", name=op.f("uq_sam_help_text_unit_id"))
    )
    op.create_table("sam_apt_meeting",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("release_id", sa.Integer(), nullable=True),
    sa.Column("held_on", sa.Date(), nullable=False),
    sa.Column("minutes", sa.Text(), nullable=False),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["person.id"],
                            name=op.f("fk_sam_apt_meeting_created_by_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_sam_apt_meeting_release_id_release")),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_apt_meeting_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_apt_meeting"))
    )
    with op.batch_alter_table("sam_apt_meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_apt_meeting_unit_id"), ["unit_id"], unique=False)

    op.create_table("sam_feedback",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("release_id", sa.Integer(), nullable=False),
    sa.Column("heard", sa.Text(), nullable=False),
    sa.Column("doing", sa.Text(), nullable=False),
    sa.Column("published_at", UTCDateTime(), nullable=True),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["person.id"],
                            name=op.f("fk_sam_feedback_created_by_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_sam_feedback_release_id_release")),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_feedback_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_feedback"))
    )
    with op.batch_alter_table("sam_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_feedback_unit_id"), ["unit_id"], unique=False)

    op.create_table("sam_risk",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("area", sa.String(length=32), nullable=False),
    sa.Column("serious", sa.Boolean(), nullable=False),
    sa.Column("assessed_by", sa.String(length=200), nullable=False),
    sa.Column("assessed_with", sa.String(length=300), nullable=False),
    sa.Column("safety_rep_involved", sa.Boolean(), nullable=False),
    sa.Column("assessed_on", sa.Date(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("release_id", sa.Integer(), nullable=True),
    sa.Column("question_code", sa.String(length=32), nullable=True),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["person.id"],
                            name=op.f("fk_sam_risk_created_by_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["release_id"], ["release.id"], name=op.f("fk_sam_risk_release_id_release")),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_risk_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_risk"))
    )
    with op.batch_alter_table("sam_risk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_risk_unit_id"), ["unit_id"], unique=False)

    op.create_table("sam_action",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("activity", sa.Text(), nullable=False),
    sa.Column("risk_id", sa.Integer(), nullable=True),
    sa.Column("question_code", sa.String(length=32), nullable=True),
    sa.Column("meeting_id", sa.Integer(), nullable=True),
    sa.Column("goal", sa.Text(), nullable=False),
    sa.Column("owner_role", sa.String(length=100), nullable=False),
    sa.Column("owner_id", sa.Integer(), nullable=True),
    sa.Column("start_on", sa.Date(), nullable=False),
    sa.Column("due_on", sa.Date(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("follow_up_on", sa.Date(), nullable=True),
    sa.Column("cost_sek", sa.Integer(), nullable=True),
    sa.Column("result", sa.Text(), nullable=False),
    sa.Column("created_by", sa.Integer(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["created_by"], ["person.id"],
                            name=op.f("fk_sam_action_created_by_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["meeting_id"], ["sam_apt_meeting.id"],
                            name=op.f("fk_sam_action_meeting_id_sam_apt_meeting"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["owner_id"], ["person.id"],
                            name=op.f("fk_sam_action_owner_id_person"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["risk_id"], ["sam_risk.id"],
                            name=op.f("fk_sam_action_risk_id_sam_risk"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sam_action_unit_id_unit")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_action"))
    )
    with op.batch_alter_table("sam_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_action_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_sam_action_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sam_action_risk_id"), ["risk_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sam_action_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_sam_action_unit_id"), ["unit_id"], unique=False)

    op.create_table("sam_action_reminder",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("action_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=24), nullable=False),
    sa.Column("for_date", sa.Date(), nullable=False),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
    sa.Column("sent", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["action_id"], ["sam_action.id"],
                            name=op.f("fk_sam_action_reminder_action_id_sam_action"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_sam_action_reminder")),
    sa.UniqueConstraint("action_id", "kind", "for_date", name=op.f("uq_sam_action_reminder_action_id_kind_for_date"))
    )
    with op.batch_alter_table("sam_action_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sam_action_reminder_action_id"), ["action_id"], unique=False)

    op.create_table("sam_feedback_action",
    sa.Column("feedback_id", sa.Integer(), nullable=False),
    sa.Column("action_id", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["action_id"], ["sam_action.id"],
                            name=op.f("fk_sam_feedback_action_action_id_sam_action"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["feedback_id"], ["sam_feedback.id"],
                            name=op.f("fk_sam_feedback_action_feedback_id_sam_feedback"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("feedback_id", "action_id", name=op.f("pk_sam_feedback_action"))
    )


def downgrade() -> None:
    op.drop_table("sam_feedback_action")
    with op.batch_alter_table("sam_action_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_action_reminder_action_id"))

    op.drop_table("sam_action_reminder")
    with op.batch_alter_table("sam_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_action_unit_id"))
        batch_op.drop_index(batch_op.f("ix_sam_action_status"))
        batch_op.drop_index(batch_op.f("ix_sam_action_risk_id"))
        batch_op.drop_index(batch_op.f("ix_sam_action_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_sam_action_due_on"))

    op.drop_table("sam_action")
    with op.batch_alter_table("sam_risk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_risk_unit_id"))

    op.drop_table("sam_risk")
    with op.batch_alter_table("sam_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_feedback_unit_id"))

    op.drop_table("sam_feedback")
    with op.batch_alter_table("sam_apt_meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sam_apt_meeting_unit_id"))

    op.drop_table("sam_apt_meeting")
    op.drop_table("sam_help_text")
