"""unlinkable credentials: a person-free credential pool, round keys apart, answer keys, counting merges

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:33:37.927203

The credential (invitation_key) was tied to the person's invitation, and spending it updated that person's row
in the same transaction that stored the sealed answer. From here, credentials live in a pool that knows only the
round and the unit (docs/ANONYMITY.md, "Storage while a round is open"). Rounds that are open during the upgrade
keep working: each invitation's keys move to one pool credential (in shuffled order), spent if it was answered.
Their earlier history (what the old tables held before this upgrade) cannot be undone by a migration.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counting_merge",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("counted_in_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["counted_in_id"], ["unit.id"], name=op.f("fk_counting_merge_counted_in_id_unit")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_counting_merge_round_id_round"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_counting_merge_unit_id_unit")),
        sa.PrimaryKeyConstraint("round_id", "unit_id", name=op.f("pk_counting_merge")),
    )
    op.create_table(
        "credential",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("spent", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_credential_round_id_round"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_credential_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_round_id"), ["round_id"], unique=False)
    op.create_table(
        "round_key",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_private_key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_round_key_round_id_round"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_key")),
    )
    op.create_table(
        "credential_hash",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credential.id"],
                                name=op.f("fk_credential_hash_credential_id_credential"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_credential_hash")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("credential_hash", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_hash_credential_id"), ["credential_id"], unique=False)

    _move_open_rounds()

    with op.batch_alter_table("invitation_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_key_invitation_id"))
    op.drop_table("invitation_key")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_credential", sa.LargeBinary(), nullable=True))
        batch_op.drop_column("answered")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_key_public", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("answer_key_wrapped", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("answer_key_salt", sa.LargeBinary(length=16), nullable=True))
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailout", sa.String(length=16), nullable=False, server_default="done"))
        batch_op.add_column(sa.Column("mailout_attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("excluded", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("undelivered", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("wrapped_private_key")
    with op.batch_alter_table("round", schema=None) as batch_op:
        for column in ("mailout", "mailout_attempts", "excluded", "undelivered"):
            batch_op.alter_column(column, server_default=None)

    # Pending answers: a table without SQLite's insertion-ordered rowid (rows kept in the order of their random key).
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("pending_response", recreate="always",
                                  table_kwargs={"sqlite_with_rowid": False}):
            pass

    # "Remind only those who have not answered" no longer exists: nothing says who they are.
    op.execute("UPDATE survey SET reminder_policy = 'everyone' WHERE reminder_policy = 'non_respondents'")
    op.execute("UPDATE round SET reminder_policy = 'everyone' WHERE reminder_policy = 'non_respondents'")


def _move_open_rounds() -> None:
    """Give each invitation of an open round one pool credential carrying its keys, written in shuffled order."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT i.id, i.round_id, i.unit_id, i.answered FROM invitation i JOIN round r ON r.id = i.round_id "
        "WHERE r.status = 'open'")).all()
    ids = {invitation_id: secrets.token_hex(16) for invitation_id, *_ in rows}
    credentials = [{"id": ids[i], "round_id": r, "unit_id": u, "spent": bool(a)} for i, r, u, a in rows]
    keys = [{"hash": h, "credential_id": ids[i]} for h, i in bind.execute(sa.text(
        "SELECT k.hash, k.invitation_id FROM invitation_key k JOIN invitation i ON i.id = k.invitation_id "
        "JOIN round r ON r.id = i.round_id WHERE r.status = 'open'")).all()]
    rng = secrets.SystemRandom()
    rng.shuffle(credentials)
    rng.shuffle(keys)
    if credentials:
        bind.execute(sa.text("INSERT INTO credential (id, round_id, unit_id, spent) "
                             "VALUES (:id, :round_id, :unit_id, :spent)"), credentials)
    if keys:
        bind.execute(sa.text("INSERT INTO credential_hash (hash, credential_id) VALUES (:hash, :credential_id)"),
                     keys)
    for round_id, wrapped in bind.execute(sa.text(
            "SELECT id, wrapped_private_key FROM round WHERE wrapped_private_key IS NOT NULL")).all():
        bind.execute(sa.text("INSERT INTO round_key (round_id, wrapped_private_key) VALUES (:r, :w)"),
                     {"r": round_id, "w": wrapped})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM round WHERE status = 'open'")).scalar():
        raise RuntimeError("Close the open rounds before downgrading below 0004: their credentials cannot be tied "
                           "back to invitations (that is the point of 0004).")
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("pending_response", recreate="always", table_kwargs={"sqlite_with_rowid": True}):
            pass
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrapped_private_key", sa.LargeBinary(), nullable=True))
        batch_op.drop_column("undelivered")
        batch_op.drop_column("excluded")
        batch_op.drop_column("mailout_attempts")
        batch_op.drop_column("mailout")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("answer_key_salt")
        batch_op.drop_column("answer_key_wrapped")
        batch_op.drop_column("answer_key_public")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_column("sealed_credential")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.alter_column("answered", server_default=None)
    op.create_table(
        "invitation_key",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"],
                                name=op.f("fk_invitation_key_invitation_id_invitation"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_invitation_key")),
    )
    with op.batch_alter_table("invitation_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_key_invitation_id"), ["invitation_id"], unique=False)
    with op.batch_alter_table("credential_hash", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_hash_credential_id"))
    op.drop_table("credential_hash")
    op.drop_table("round_key")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_round_id"))
    op.drop_table("credential")
    op.drop_table("counting_merge")
