"""Who was invited (the participation ledger), how one may answer (the credential pool), and what was answered —
kept strictly apart.

Privacy by construction (docs/ANONYMITY.md, "Storage while a round is open"):
- the ledger (Invitation) knows people but not credentials or answers: it has no timestamps and nothing in it
  changes when someone answers; it is reduced to per-unit counts (RoundParticipation) when the round closes;
- the pool (Credential, CredentialHash) knows units but not people: every credential of a round is created in one
  transaction, in shuffled order, and spending one writes nothing a person can be found by;
- answers wait in PendingResponse sealed to the round's key, all of one size, then are shuffled into Response and
  Comment with random keys, no timestamps and no reference to the ledger or the pool.

Tables whose rows are written one answer at a time have random keys and no insertion-ordered rowid on SQLite
(``sqlite_with_rowid=False``), so their physical order says nothing about who came when.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pulse.common.db import Base, UTCDateTime

#: SQLite tables without the hidden, insertion-ordered rowid: rows are stored in the order of their random key.
NO_ROWID = {"sqlite_with_rowid": False}


class Invitation(Base):
    """One person invited to one round. No timestamps, no credential, no "has answered": nothing here changes
    when the person answers, so nothing here can be tied to an answer."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    #: The unit the answer counts in: the person's own unit (a manager: the unit above the highest one they lead),
    #: moved up the tree until at least k people of the round count there.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    language: Mapped[str] = mapped_column(String(8), default="sv")
    #: Whether the invitation e-mail was handed to the mail system (set for everyone at once, when the whole
    #: mail-out has finished, so the order of sending is not recorded).
    mailed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether the round's one reminder has gone out to this person.
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The person's credential sealed to their own answer key (Person.answer_key_public), for "Answer now" after
    #: sign-in. Only the person's password opens it; empty for people who have no password.
    sealed_credential: Mapped[bytes | None] = mapped_column(LargeBinary)


class Credential(Base):
    """One way to answer a round: created for every invitee at once, in shuffled order, and not linked to anyone.

    It knows only the round and the unit the answer will count in (at least k people of the round count there).
    Nothing that would tell one credential of a unit from another is stored: no kind, no language, no time.
    """

    __tablename__ = "credential"
    __table_args__ = NO_ROWID

    #: Random (128 bits, hex): the key says nothing about when or for whom it was made.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: Set in the same transaction that stores the sealed answer; that transaction touches nothing person-linked.
    spent: Mapped[bool] = mapped_column(Boolean, default=False)


class CredentialHash(Base):
    """The keyed hash of a credential's link token or typed code (so a copy of the database cannot answer)."""

    __tablename__ = "credential_hash"
    __table_args__ = NO_ROWID

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credential.id", ondelete="CASCADE"), index=True)


class RoundKey(Base):
    """The private half of a round's sealing key, wrapped under a key derived from the application secret.

    Its own table, deleted (and on PostgreSQL vacuumed away) when the round closes, so the pending pool can never
    be opened again.
    """

    __tablename__ = "round_key"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)


class CountingMerge(Base):
    """People of ``unit_id`` count in ``counted_in_id`` for this round, because fewer than k people of the round
    would have counted in ``unit_id`` itself (so no stored answer ever narrows down to fewer than k people)."""

    __tablename__ = "counting_merge"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    counted_in_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))


class RetiredCredential(Base):
    """The keyed hash of a credential whose round has closed — so a late answer gets a kind "this round has
    closed" instead of "unknown code". Linked to the round only, never to a person or unit."""

    __tablename__ = "retired_credential"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)


class PendingResponse(Base):
    """An answer waiting for its round to close, sealed to the round's public key, every row the same size.

    Only the round id is in clear; the unit, answers and comment are inside the ciphertext.
    """

    __tablename__ = "pending_response"
    __table_args__ = NO_ROWID

    #: Random (UUIDv4), so the key says nothing about submission order.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Response(Base):
    """One stored answer set: round, unit and values. No timestamp, no person, no link to the ledger."""

    __tablename__ = "response"

    #: Random (UUIDv4); rows are written in shuffled order in one transaction when the round closes.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: JSON list, one value per round question position (null = "prefer not to say" or not answered).
    values: Mapped[str] = mapped_column(Text)


class Comment(Base):
    """A free-text comment, stored apart from scores (no link to any response), encrypted until released."""

    __tablename__ = "comment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    #: AES-GCM under a per-round comment key derived from the application secret.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``pending`` (awaiting the safety representative), ``released``, ``redacted`` or ``withheld``.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: The unit whose page shows it: the lowest unit above the writer's whose not-yet-placed comments come from at
    #: least k_comments respondents (set by the first release; None = too few anywhere, never shown).
    home_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    #: The safety representative's redacted text (encrypted like the original), shown instead of it.
    redacted: Mapped[bytes | None] = mapped_column(LargeBinary)


class RoundParticipation(Base):
    """What remains of the ledger and the pool after close: how many were invited and answered per unit."""

    __tablename__ = "round_participation"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    invited: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)


class SchedulerLease(Base):
    """A lease that lets one `pulse tick` at a time do the scheduled work, across processes and machines."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
