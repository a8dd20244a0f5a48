"""The question bank, surveys (recurring pulse programmes) and their rounds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pulse.common.db import Base, UTCDateTime, utcnow


class Question(Base):
    """One version of a question. Editing the wording adds a version; rounds point at the version they used."""

    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable across versions, e.g. ``OSA-WL1``; API clients answer by code.
    code: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    area: Mapped[str] = mapped_column(String(32))
    #: ``agree5``, ``freq5``, ``yesno``, ``enps`` or ``text`` (see pulse.domain.scales).
    scale: Mapped[str] = mapped_column(String(16))
    text_sv: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    #: Whether "prefer not to say / don't know" is offered.
    allow_skip: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Victimisation, threats: shown only as protected aggregates, never crossed with anything.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A high value is bad (e.g. "expected to be reachable outside working hours").
    reverse: Mapped[bool] = mapped_column(Boolean, default=False)
    pack: Mapped[str] = mapped_column(String(16), default="custom")
    attribution: Mapped[str | None] = mapped_column(String(300))
    #: Only the newest version of a code is current; older ones stay for the rounds that used them.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_sv


class Survey(Base):
    """A recurring pulse programme: who is asked what, how often, and with which protections."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ``weekly``, ``biweekly``, ``monthly`` or ``manual``.
    cadence: Mapped[str] = mapped_column(String(16), default="weekly")
    #: 0 = Monday … 6 = Sunday.
    open_weekday: Mapped[int] = mapped_column(Integer, default=0)
    #: Local time of day ("HH:MM") in the configured time zone.
    open_time: Mapped[str] = mapped_column(String(5), default="08:00")
    #: Working days a round stays open.
    open_days: Mapped[int] = mapped_column(Integer, default=5)
    language: Mapped[str] = mapped_column(String(8), default="sv")
    min_group_size: Mapped[int] = mapped_column(Integer)
    min_dist_size: Mapped[int] = mapped_column(Integer)
    min_comment_size: Mapped[int] = mapped_column(Integer)
    #: ``fixed`` (every question every round) or ``rotation`` (``rotation_count`` per round, cycling).
    question_mode: Mapped[str] = mapped_column(String(16), default="fixed")
    rotation_count: Mapped[int | None] = mapped_column(Integer)
    comment_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ``everyone`` (identical text to all invited) or ``none``. Pulse cannot remind only those who have not
    #: answered: nothing it stores says who they are (docs/ANONYMITY.md, "Reminders").
    reminder_policy: Mapped[str] = mapped_column(String(16), default="everyone")
    #: Working days after opening when the one reminder goes out.
    reminder_after_days: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Pooled periods (docs/ANONYMITY.md, "Pooled periods"): None, "month", "quarter" or "rounds" (``pool_rounds``
    #: consecutive rounds). Fixed once a pooled release exists, so that periods never overlap.
    pooling: Mapped[str | None] = mapped_column(String(16))
    pool_rounds: Mapped[int | None] = mapped_column(Integer)
    next_open_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    units: Mapped[list[SurveyUnit]] = relationship(cascade="all, delete-orphan")
    questions: Mapped[list[SurveyQuestion]] = relationship(cascade="all, delete-orphan",
                                                           order_by="SurveyQuestion.position")


class SurveyUnit(Base):
    """A unit of the audience; its whole subtree is invited."""

    __tablename__ = "survey_unit"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)


class SurveyQuestion(Base):
    """A question (by code, so new wording is picked up) in a survey's set."""

    __tablename__ = "survey_question"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_code: Mapped[str] = mapped_column(String(32))


class Round(Base):
    """One round of a survey. Thresholds and questions are fixed when it opens."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    #: ``open`` or ``closed``.
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_policy: Mapped[str] = mapped_column(String(16), default="everyone")
    language: Mapped[str] = mapped_column(String(8), default="sv")
    min_group_size: Mapped[int] = mapped_column(Integer)
    min_dist_size: Mapped[int] = mapped_column(Integer)
    min_comment_size: Mapped[int] = mapped_column(Integer)
    comment_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The free-text question shown as the comment prompt (its version is fixed like the other questions).
    comment_question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    #: X25519 public key that answers are sealed to while the round is open (the private half is a RoundKey).
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The invitation mail-out: ``pending`` (no credentials yet), ``sending`` (credentials made, mail going out;
    #: they do not work yet, so an interrupted mail-out can be thrown away and redone whole) or ``done``.
    mailout: Mapped[str] = mapped_column(String(16), default="pending")
    #: How many mail-outs were started (more than one means an interrupted one was redone).
    mailout_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Integrity figures, fixed at open and at close.
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    #: Active people of the audience who were not invited because no group of at least k people of the round
    #: could hold their answer (for example the head of the whole organisation).
    excluded: Mapped[int] = mapped_column(Integer, default=0)
    #: Invitations that could not be handed to the mail system.
    undelivered: Mapped[int] = mapped_column(Integer, default=0)
    #: False from the close until what the deleted ledger, pools and round key left on disk has been scrubbed
    #: (docs/ANONYMITY.md, "After close"); every scheduler run retries until it is.
    scrubbed: Mapped[bool] = mapped_column(Boolean, default=True)
    #: PostgreSQL: the id of the transaction that closed the round (32 bits). Only snapshots older than it can still
    #: see what the close deleted, so only they make a scrub wait.
    close_xid: Mapped[int | None] = mapped_column(BigInteger)
    answers: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    roster_added: Mapped[int | None] = mapped_column(Integer)
    roster_removed: Mapped[int | None] = mapped_column(Integer)
    roster_moved: Mapped[int | None] = mapped_column(Integer)

    survey: Mapped[Survey] = relationship()
    questions: Mapped[list[RoundQuestion]] = relationship(cascade="all, delete-orphan",
                                                          order_by="RoundQuestion.position")

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class RoundQuestion(Base):
    """A question version asked in a round, in order."""

    __tablename__ = "round_question"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))

    question: Mapped[Question] = relationship()
