"""The safety representative's desk: 6:6a requests with their history and attachments, and the annual SAM
follow-up (årlig uppföljning av det systematiska arbetsmiljöarbetet, AFS 2023:1).

None of this touches answers: the requests and follow-ups are staff records, named and dated on purpose, because
they are what the safety representative shows the employer or Arbetsmiljöverket (docs/SAFETY.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pulse.common.db import Base, UTCDateTime, utcnow


class SafetyRequest(Base):
    """A request under AML 6 kap. 6 a § (begäran om åtgärder eller undersökning).

    The employer side — the unit's nearest manager, then the next manager up — must confirm receipt at once and
    answer by ``reply_by``. The columns hold the current state; :class:`SafetyRequestEvent` holds every step.
    """

    __tablename__ = "safety_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: "measure" (åtgärd) or "investigation" (undersökning).
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[str] = mapped_column(Text)
    reply_by: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The safety representative who made the request; the name is kept so the record survives them leaving.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    created_by_name: Mapped[str] = mapped_column(String(200))
    #: The manager asked to confirm and answer (the unit's nearest manager when the request was made).
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    #: When Pulse asked the employer side to confirm (the scheduler sends it the same day), and reminded them.
    asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    #: Passed on to the next manager up (no confirmation in time, or no answer by the date).
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_name: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by_name: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    #: Measures planned or taken, in the employer's words.
    measures: Mapped[str | None] = mapped_column(Text)
    #: Actions of the action plan the answer points to: a JSON list of action ids (no foreign key, so the request
    #: keeps its history when an action is deleted; the page shows only those that still exist).
    linked_actions: Mapped[str] = mapped_column(Text, default="[]")
    #: When the safety representative closed the matter (satisfied, or taken further).
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[SafetyRequestEvent]] = relationship(
        order_by="(SafetyRequestEvent.at, SafetyRequestEvent.id)", cascade="all, delete-orphan",
        back_populates="request")
    attachments: Mapped[list[SafetyAttachment]] = relationship(
        order_by="SafetyAttachment.id", cascade="all, delete-orphan", back_populates="request")


class SafetyRequestEvent(Base):
    """One step in a request's history: registered, asked, reminded, escalated, confirmed, answered, a file added,
    a note, closed."""

    __tablename__ = "safety_request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("safety_request.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    #: Who did it ("Pulse" for the scheduler), by name, so the history reads without joins and survives renames.
    actor_name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[SafetyRequest] = relationship(back_populates="events")


class SafetyAttachment(Base):
    """A file that supports a request (PDF, PNG or JPEG), stored in the database so it is backed up, restored and
    deleted together with its request (docs/SAFETY.md, "Attachments")."""

    __tablename__ = "safety_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("safety_request.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    #: Decided from the file's first bytes, never from its name or the browser's claim.
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_name: Mapped[str] = mapped_column(String(200))

    request: Mapped[SafetyRequest] = relationship(back_populates="attachments")


class FollowUp(Base):
    """The annual follow-up of the systematic work environment management for one unit (and what is below it) and
    one year: a checklist completed by the manager together with the safety representative, signed by both, then
    locked."""

    __tablename__ = "follow_up"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Canonical JSON: checklist item → {"status": yes|partly|no|na, "note": text}.
    answers: Mapped[str] = mapped_column(Text, default="{}")
    #: What Pulse knew, frozen when the second signature locks the follow-up (JSON; empty until then).
    facts: Mapped[str] = mapped_column(Text, default="")
    manager_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    manager_signed_by: Mapped[str | None] = mapped_column(String(200))
    rep_signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rep_signed_by: Mapped[str | None] = mapped_column(String(200))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
