"""The records of the systematic work-environment cycle (systematiskt arbetsmiljöarbete, SAM, AFS 2023:1):
risk assessments (riskbedömning), action plans (handlingsplan), workplace-meeting records (arbetsplatsträff, APT),
the feedback a unit's employees see ("you said, we did", återkoppling) and where to get help.

Nothing here ever points at an answer, a credential, an invitation or a comment: a risk or an action may name the
release and the question (by code) that prompted it, which are published aggregates, and nothing finer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pulse.common.db import Base, UTCDateTime, utcnow
from pulse.models.org import Person, Unit


class Risk(Base):
    """A risk assessment (riskbedömning) for one unit: what could harm people, how serious, who assessed it."""

    __tablename__ = "sam_risk"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    #: One of pulse.domain.sam.RISK_AREAS (the OSA areas, AFS 2015:4 as carried into AFS 2023:1).
    area: Mapped[str] = mapped_column(String(32))
    serious: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who made the assessment (a name or role), and with whom (e.g. "the team at APT 12 March").
    assessed_by: Mapped[str] = mapped_column(String(200))
    assessed_with: Mapped[str] = mapped_column(String(300), default="")
    #: Whether the safety representative (skyddsombud) took part, as AML 6:4 expects.
    safety_rep_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    #: ``open``, ``acting`` (actions under way), ``managed`` or ``closed`` (pulse.domain.sam.RISK_STATUSES).
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: ``flag`` (a flag on a results page), ``low_score`` or ``free``.
    source: Mapped[str] = mapped_column(String(16), default="free")
    #: The release and question (by code) that prompted it — published aggregates, never answers.
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
    question_code: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()


class AptMeeting(Base):
    """A workplace meeting (arbetsplatsträff, APT) of a unit: planned (no minutes yet) or held, with its minutes.

    Decisions become actions (:class:`Action` with ``meeting_id``). What is written here is the meeting's own
    record and is never linked to answers.
    """

    __tablename__ = "sam_apt_meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: The release the meeting went through (its APT pack), if any.
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()


class Action(Base):
    """One activity of a unit's action plan (handlingsplan): who does what by when, and what came of it."""

    __tablename__ = "sam_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    activity: Mapped[str] = mapped_column(Text)
    risk_id: Mapped[int | None] = mapped_column(ForeignKey("sam_risk.id", ondelete="SET NULL"), index=True)
    #: The question (by code) whose published figures show the effect.
    question_code: Mapped[str | None] = mapped_column(String(32))
    #: The APT meeting that decided it.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("sam_apt_meeting.id", ondelete="SET NULL"),
                                                   index=True)
    goal: Mapped[str] = mapped_column(Text, default="")
    #: The owner: a role ("enhetschef") and a person, who gets the reminders.
    owner_role: Mapped[str] = mapped_column(String(100), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    start_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    #: ``planned``, ``in_progress``, ``done`` or ``cancelled``.
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Estimated cost in whole kronor (optional).
    cost_sek: Mapped[int | None] = mapped_column(Integer)
    #: What came of it, in words (the measured effect is computed from releases, not stored).
    result: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    risk: Mapped[Risk | None] = relationship()
    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id])
    meeting: Mapped[AptMeeting | None] = relationship()


class ActionReminder(Base):
    """One reminder about one action, claimed before it is sent: the unique key makes a reminder go out once, even
    when several processes run the scheduler (pulse.services.sam.claim_reminders)."""

    __tablename__ = "sam_action_reminder"
    __table_args__ = (UniqueConstraint("action_id", "kind", "for_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("sam_action.id", ondelete="CASCADE"), index=True)
    #: ``due_soon``, ``overdue``, ``follow_up_soon`` or ``follow_up_overdue``.
    kind: Mapped[str] = mapped_column(String(24))
    #: The date reminded about: moving the date makes a new reminder due.
    for_date: Mapped[dt.date] = mapped_column(Date)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)


class Feedback(Base):
    """"You said, we did" (återkoppling): what a unit's manager heard in a release and what is being done.

    Employees of the unit see the newest published one without signing in (pulse.services.sam.feedback_for).
    """

    __tablename__ = "sam_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: What was heard comes from this release only (released results, nothing live).
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"))
    heard: Mapped[str] = mapped_column(Text)
    doing: Mapped[str] = mapped_column(Text, default="")
    #: None while a draft; set when published.
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    shown_actions: Mapped[list[FeedbackAction]] = relationship(cascade="all, delete-orphan",
                                                               order_by="FeedbackAction.action_id")


class FeedbackAction(Base):
    """An action the manager chose to show in a feedback."""

    __tablename__ = "sam_feedback_action"

    feedback_id: Mapped[int] = mapped_column(ForeignKey("sam_feedback.id", ondelete="CASCADE"), primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("sam_action.id", ondelete="CASCADE"), primary_key=True)

    action: Mapped[Action] = relationship()


class HelpText(Base):
    """Where to get help after victimisation or threats: the local routine, the safety representative,
    occupational health, HR. One for the organisation (``unit_id`` None) and optionally one per unit (the nearest
    one above a counting unit wins). Shown to everyone whose round asked such a question, whatever they answered."""

    __tablename__ = "sam_help_text"
    __table_args__ = (UniqueConstraint("unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"))
    #: Plain text in the organisation's words (one language: people write it the way they speak at work).
    body: Mapped[str] = mapped_column(Text)
    #: One link per line: ``Label | https://…``.
    links: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AptPrompt(Base):
    """A manager's own discussion questions for one concern of a unit's APT pack, in place of the question bank's:
    per release, unit and question code, so everyone who opens the pack (page, print, PDF) sees what the manager
    prepared. The manager's words about a published result — never linked to answers; who saved them and when is
    in the audit log (pulse.services.sam.save_apt_prompts)."""

    __tablename__ = "sam_apt_prompt"
    __table_args__ = (UniqueConstraint("release_id", "unit_id", "question_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    #: The concern's question (by code): a published aggregate, nothing finer.
    question_code: Mapped[str] = mapped_column(String(32))
    #: One question per line; empty when the manager removed them all (no row: the bank's questions).
    prompts: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    editor: Mapped[Person | None] = relationship()
