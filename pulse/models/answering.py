"""Who was invited (the participation ledger) and what was answered — kept strictly apart.

Privacy by construction (ANONYMITY.md, "Unlinkable storage"):
- the ledger (Invitation, InvitationKey) knows people but not answers, has no timestamps, and is reduced to
  per-unit counts (RoundParticipation) when the round closes;
- answers wait in PendingResponse sealed to the round's key, then are shuffled into Response and Comment with
  random keys, no timestamps and no reference to the ledger.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pulse.db import Base, UTCDateTime


class Invitation(Base):
    """One person invited to one round. No timestamps: the ledger must not say when anyone answered."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("round_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    #: The unit the answer counts in (a manager counts one level above the units they lead).
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    language: Mapped[str] = mapped_column(String(8), default="sv")
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether the invitation e-mail has gone out (it carries the only copy of the link and code).
    mailed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Whether the round's one reminder has gone out to this person.
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)


class InvitationKey(Base):
    """A credential for an invitation: the link token, the typed code, or a one-off "answer now" token.

    Only a keyed hash is stored, so a copy of the database cannot be used to answer.
    """

    __tablename__ = "invitation_key"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id", ondelete="CASCADE"), index=True)
    #: ``link``, ``code`` or ``web``.
    kind: Mapped[str] = mapped_column(String(8))


class RetiredCredential(Base):
    """The keyed hash of a credential whose round has closed — so a late answer gets a kind "this round has
    closed" instead of "unknown code". Linked to the round only, never to a person."""

    __tablename__ = "retired_credential"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)


class PendingResponse(Base):
    """An answer waiting for its round to close, sealed to the round's public key.

    Only the round id is in clear; the unit, answers and comment are inside the ciphertext.
    """

    __tablename__ = "pending_response"

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
    """What remains of the ledger after close: how many were invited and answered per unit."""

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
