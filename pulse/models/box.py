"""The complaint and suggestion box (synpunkter och klagomål om arbetsmiljön): items, their conversations, and the
organisation's deadlines.

An anonymous item stores nothing that points at its writer (docs/ANONYMITY.md, "The complaint box"): a random key,
the unit the writer chose (one with at least k people), a category, dates to the day only (deadlines are counted in
working days, so a finer time would add nothing but a way to match a message with who was at a computer when), the
text encrypted under a key derived from the application secret, and a keyed hash of the reply key. No address, no
browser, no session, no person. Named items (written signed in) carry their writer.

Both tables have random keys and no insertion-ordered rowid on SQLite, so their physical order says nothing either.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pulse.common.db import Base
from pulse.models.org import Person, Unit

NO_ROWID = {"sqlite_with_rowid": False}


class BoxSettings(Base):
    """The organisation's settings for the box and for safety representation (one row, id 1)."""

    __tablename__ = "box_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Working days to acknowledge an item (status received → acknowledged).
    acknowledge_days: Mapped[int] = mapped_column(Integer, default=2)
    #: Working days, from receipt, to answer it.
    answer_days: Mapped[int] = mapped_column(Integer, default=10)
    #: The main safety representative (huvudskyddsombud): moderates comments and reads box items of units that no
    #: safety area covers, so nothing written there is lost.
    main_safety_rep_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    #: Months after closing that an item keeps its texts; then only what the counts need stays (docs/ANONYMITY.md).
    retention_months: Mapped[int] = mapped_column(Integer, default=24)

    main_safety_rep: Mapped[Person | None] = relationship()


class BoxItem(Base):
    """One complaint or suggestion. Its texts are :class:`BoxMessage` rows (the first is what was written)."""

    __tablename__ = "box_item"
    __table_args__ = NO_ROWID

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    #: received → acknowledged → answered → closed.
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    #: The writer, for named items only; None for anonymous ones.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    #: HMAC of the reply key (pulse.domain.crypto.keyed_hash with the box key): a copy of the database cannot open
    #: the conversation. None once the retention rule has deleted the texts (nothing is left to open).
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    acknowledge_by: Mapped[dt.date] = mapped_column(Date)
    answer_by: Mapped[dt.date] = mapped_column(Date)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    #: The responsible manager and safety representative have been told of a named item (by the scheduler). An
    #: anonymous item's news goes text by text (BoxMessage's review and release flags), so this starts True there.
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: An overdue acknowledgement / answer has been escalated (once each).
    acknowledge_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The day the retention rule deleted the texts, the reply key's hash and the writer (None while they exist).
    purged_on: Mapped[dt.date | None] = mapped_column(Date)
    #: False from that deletion until what it left on disk is scrubbed (WAL checkpoint, VACUUM FULL): retried by
    #: every scheduler run until it succeeds, as after a round's close.
    scrubbed: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship()
    author: Mapped[Person | None] = relationship()
    messages: Mapped[list[BoxMessage]] = relationship(back_populates="item", order_by="BoxMessage.position",
                                                      cascade="all, delete-orphan", passive_deletes=True)


class BoxMessage(Base):
    """One text in an item's conversation: from the writer, or from a manager or safety representative."""

    __tablename__ = "box_message"
    __table_args__ = (UniqueConstraint("item_id", "position"), NO_ROWID)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("box_item.id", ondelete="CASCADE"), index=True)
    #: Order within the conversation (0 is what the writer first wrote).
    position: Mapped[int] = mapped_column(Integer)
    from_writer: Mapped[bool] = mapped_column(Boolean)
    #: The staff member who replied (replies are signed); None for the writer's texts.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    written_on: Mapped[dt.date] = mapped_column(Date)
    #: The text, encrypted (AES-GCM) under the box key, bound to the item and position.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: The safety representative's review of a writer's text: ``pending`` (an anonymous writer's text nobody but
    #: the writer and the safety representative may read yet), ``released`` (as written), ``redacted``
    #: (``redacted_sealed`` replaces it for everyone but the writer and the safety representative) or ``withheld``
    #: (the employer never reads it). None: not under review — staff replies, named writers' texts, and texts
    #: written before reviews existed — read as written.
    moderation: Mapped[str | None] = mapped_column(String(16))
    redacted_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Date by which a pending text should be reviewed (the acknowledgement's working days from its writing); None
    #: for texts that are not reviewed.
    review_by: Mapped[dt.date | None] = mapped_column(Date)
    #: The scheduler's notices, each claimed once by a conditional UPDATE: the safety representatives told of the
    #: text to review, the main safety representative told that its review is late, the managers told that it has
    #: been released to them. True where there is nothing to tell.
    review_notified: Mapped[bool] = mapped_column(Boolean, default=True)
    review_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    release_notified: Mapped[bool] = mapped_column(Boolean, default=True)

    item: Mapped[BoxItem] = relationship(back_populates="messages")
    author: Mapped[Person | None] = relationship()
