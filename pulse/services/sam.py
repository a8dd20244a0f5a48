"""The SAM records of a unit: risk assessments, action plans, APT meetings, "you said, we did" and the help text.

Every function that reads or writes a record takes the viewer's :class:`~pulse.services.org.Scope`: a record of a unit
outside it is reported exactly like one that does not exist (:class:`NotFoundError`). Managers write in the units they
lead (:func:`edit_scope`); safety representatives read their safety area. Services flush, never commit.

Nothing here reads answers, credentials, invitations or comments. A risk or action names at most a release and a
question code; its measured effect is read through the gate (pulse.disclosure), like every published figure.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.cache import MB, PerDatabase, deep_size
from pulse.common.db import utcnow
from pulse.domain import sam as rules
from pulse.domain.orgtree import OrgTree
from pulse.domain.stats import Change
from pulse.models import (
    Action,
    ActionReminder,
    AptMeeting,
    AptPrompt,
    Feedback,
    FeedbackAction,
    HelpText,
    Management,
    Person,
    PersonStatus,
    Question,
    Risk,
    SafetyAreaUnit,
    Unit,
)
from pulse.services.org import Role, Scope, load_tree, roles_of


class NotFoundError(LookupError):
    """No such record, or not in the viewer's scope (never told apart)."""


class SamError(ValueError):
    """A record that cannot be saved as given. ``field`` names the form field, ``code`` the problem."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code


#: A record that belongs to a unit (risk, action, APT meeting, feedback).
Scoped = TypeVar("Scoped", Risk, Action, AptMeeting, Feedback)

def local_today(now: dt.datetime, timezone: str) -> dt.date:
    """Today where the organisation is (the scheduler's reminders and the pages agree on what "overdue" means)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def edit_scope(session: Session, person: Person) -> Scope:
    """The units ``person`` may write SAM records for: the subtrees of the units they lead (all for an admin).

    Safety representatives take part (and read their safety area) but the records are the employer's: the manager
    keeps them (AFS 2023:1, 3 §).
    """
    if Role.ADMIN in roles_of(session, person):
        return Scope(True, frozenset())
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    return Scope(False, frozenset(load_tree(session).subtree(roots))) if roots else Scope(False, frozenset())


def _unit(session: Session, unit_id: int, scope: Scope) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not scope.allows(unit_id):
        raise NotFoundError(unit_id)
    return unit


def _text(value: str | None, field: str, *, required: bool = False, limit: int = rules.MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise SamError(field, "required")
    if len(text) > limit:
        raise SamError(field, "too_long")
    return text


def _choice(value: str, field: str, allowed: dict[str, str]) -> str:
    if value not in allowed:
        raise SamError(field, "invalid")
    return value


def _cited_release(session: Session, release_id: int | None, unit_id: int, question_code: str | None) -> None:
    """A cited release must hold the unit, and a cited question must be one the release asked."""
    if release_id is None:
        return
    try:
        info = disclosure.release_info(session, release_id)
    except disclosure.NotVisibleError:
        raise SamError("release_id", "invalid") from None
    if not disclosure.holds_unit(session, release_id, unit_id):
        raise SamError("release_id", "invalid")
    if question_code and question_code not in {q.code for q in info.questions}:
        raise SamError("question_code", "invalid")


# --- risk assessments -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskInput:
    description: str
    area: str
    serious: bool
    assessed_by: str
    assessed_with: str
    safety_rep_involved: bool
    assessed_on: dt.date
    status: str = "open"
    source: str = "free"
    release_id: int | None = None
    question_code: str | None = None


def _apply_risk(session: Session, risk: Risk, data: RiskInput) -> None:
    risk.description = _text(data.description, "description", required=True)
    risk.area = _choice(data.area, "area", rules.RISK_AREAS)
    risk.serious = bool(data.serious)
    risk.assessed_by = _text(data.assessed_by, "assessed_by", required=True, limit=200)
    risk.assessed_with = _text(data.assessed_with, "assessed_with", limit=300)
    risk.safety_rep_involved = bool(data.safety_rep_involved)
    risk.assessed_on = data.assessed_on
    risk.status = _choice(data.status, "status", rules.RISK_STATUSES)
    code = (data.question_code or "").strip() or None
    if code is not None and data.release_id is None:
        raise SamError("question_code", "invalid")
    _cited_release(session, data.release_id, risk.unit_id, code)
    risk.source = _choice(data.source if data.release_id is not None else "free", "source", rules.RISK_SOURCES)
    risk.release_id, risk.question_code = data.release_id, code


def create_risk(session: Session, unit_id: int, data: RiskInput, *, scope: Scope, by: Person | None) -> Risk:
    _unit(session, unit_id, scope)
    risk = Risk(unit_id=unit_id, created_by=by.id if by else None)
    _apply_risk(session, risk, data)
    session.add(risk)
    session.flush()
    return risk


def update_risk(session: Session, risk_id: int, data: RiskInput, *, scope: Scope) -> Risk:
    risk = get_risk(session, risk_id, scope)
    _apply_risk(session, risk, data)
    session.flush()
    return risk


def _scoped(session: Session, model: type[Scoped], record_id: int, scope: Scope) -> Scoped:
    """A unit's SAM record, reported as missing (never as forbidden) when its unit is outside ``scope``."""
    record = session.get(model, record_id)
    if record is None or not scope.allows(record.unit_id):
        raise NotFoundError(record_id)
    return record


def get_risk(session: Session, risk_id: int, scope: Scope) -> Risk:
    return _scoped(session, Risk, risk_id, scope)


def risks(session: Session, unit_ids: list[int]) -> list[Risk]:
    """The risks of the given units, open ones first, newest first."""
    if not unit_ids:
        return []
    rows = session.scalars(select(Risk).where(Risk.unit_id.in_(unit_ids))
                           .order_by(Risk.assessed_on.desc(), Risk.id.desc()))
    return sorted(rows, key=lambda r: r.status in ("managed", "closed"))


# --- action plans -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    activity: str
    goal: str
    owner_role: str
    owner_id: int | None
    start_on: dt.date
    due_on: dt.date
    status: str = "planned"
    follow_up_on: dt.date | None = None
    cost_sek: int | None = None
    result: str = ""
    risk_id: int | None = None
    question_code: str | None = None
    meeting_id: int | None = None


def owner_choices(session: Session, unit_id: int) -> list[Person]:
    """Who may own an action of a unit: the people of the unit and the units below it, and those who lead the unit
    or a unit above it (a named person gets the reminders)."""
    tree = load_tree(session)
    below = tree.subtree({unit_id})
    above = {unit_id, *tree.ancestors(unit_id)}
    managers = select(Management.person_id).where(Management.unit_id.in_(above))
    rows = session.scalars(select(Person).where(
        Person.status != PersonStatus.LEFT, or_(Person.unit_id.in_(below), Person.id.in_(managers)))
        .order_by(Person.name, Person.id))
    return list(rows)


def _apply_action(session: Session, action: Action, data: ActionInput) -> None:
    action.activity = _text(data.activity, "activity", required=True)
    action.goal = _text(data.goal, "goal")
    action.owner_role = _text(data.owner_role, "owner_role", limit=100)
    if data.owner_id is not None and data.owner_id not in {p.id for p in owner_choices(session, action.unit_id)}:
        raise SamError("owner_id", "invalid")
    if not action.owner_role and data.owner_id is None:
        raise SamError("owner_role", "required")
    action.owner_id = data.owner_id
    if data.due_on < data.start_on:
        raise SamError("due_on", "before_start")
    if data.follow_up_on is not None and data.follow_up_on < data.start_on:
        raise SamError("follow_up_on", "before_start")
    action.start_on, action.due_on, action.follow_up_on = data.start_on, data.due_on, data.follow_up_on
    action.status = _choice(data.status, "status", rules.ACTION_STATUSES)
    if data.cost_sek is not None and not 0 <= data.cost_sek <= 1_000_000_000:
        raise SamError("cost_sek", "invalid")
    action.cost_sek = data.cost_sek
    action.result = _text(data.result, "result")
    if data.risk_id is not None:
        risk = session.get(Risk, data.risk_id)
        # A risk of the unit itself or of a unit above it (a department's risk acted on by a team).
        if risk is None or risk.unit_id not in {action.unit_id, *load_tree(session).ancestors(action.unit_id)}:
            raise SamError("risk_id", "invalid")
    action.risk_id = data.risk_id
    if data.meeting_id is not None:
        meeting = session.get(AptMeeting, data.meeting_id)
        if meeting is None or meeting.unit_id != action.unit_id:
            raise SamError("meeting_id", "invalid")
    action.meeting_id = data.meeting_id
    code = (data.question_code or "").strip() or None
    if code is not None and not _known_question(session, code):
        raise SamError("question_code", "invalid")
    action.question_code = code


def _known_question(session: Session, code: str) -> bool:
    return session.scalar(select(Question.id).where(Question.code == code).limit(1)) is not None


def create_action(session: Session, unit_id: int, data: ActionInput, *, scope: Scope, by: Person | None) -> Action:
    _unit(session, unit_id, scope)
    action = Action(unit_id=unit_id, created_by=by.id if by else None)
    _apply_action(session, action, data)
    session.add(action)
    session.flush()
    return action


def update_action(session: Session, action_id: int, data: ActionInput, *, scope: Scope) -> Action:
    action = get_action(session, action_id, scope)
    _apply_action(session, action, data)
    session.flush()
    return action


def get_action(session: Session, action_id: int, scope: Scope) -> Action:
    return _scoped(session, Action, action_id, scope)


def actions(session: Session, unit_ids: list[int]) -> list[Action]:
    """The actions of the given units: open ones first by done-by date, then the rest, newest first."""
    if not unit_ids:
        return []
    rows = list(session.scalars(select(Action).where(Action.unit_id.in_(unit_ids)).order_by(Action.due_on, Action.id)))
    open_ = [a for a in rows if a.status in rules.OPEN_ACTION_STATUSES]
    rest = sorted((a for a in rows if a.status not in rules.OPEN_ACTION_STATUSES), key=lambda a: a.due_on,
                  reverse=True)
    return open_ + rest


def dates_of(action: Action) -> rules.ActionDates:
    return rules.ActionDates(action.status, action.due_on, action.follow_up_on, bool(action.result.strip()))


@dataclass(frozen=True)
class NeedsAttention:
    """Actions a manager should look at now: overdue, due within a week, or follow-up due."""

    overdue: list[Action]
    due_soon: list[Action]
    follow_up: list[Action]

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.follow_up)


def needs_attention(session: Session, unit_ids: list[int], today: dt.date) -> NeedsAttention:
    overdue, due_soon, follow_up = [], [], []
    for action in actions(session, unit_ids):
        kinds = {kind for kind, _ in rules.due_reminders(dates_of(action), today)}
        if "overdue" in kinds:
            overdue.append(action)
        elif "due_soon" in kinds:
            due_soon.append(action)
        if kinds & {"follow_up_soon", "follow_up_overdue"}:
            follow_up.append(action)
    return NeedsAttention(overdue, due_soon, follow_up)


@dataclass(frozen=True)
class Effect:
    """An action's question in the releases before and after it started, with the change between them."""

    code: str
    points: list[disclosure.QuestionPoint]
    #: The newest release closed before the action started, and the newest one after (None when there is none).
    before: disclosure.QuestionPoint | None
    after: disclosure.QuestionPoint | None
    change: Change | None


def effect(session: Session, action: Action, scope: Scope) -> Effect | None:
    """The measured effect of an action linked to a question, from published figures only (the gate)."""
    if not action.question_code:
        return None
    try:
        points = disclosure.question_series(session, action.unit_id, action.question_code, scope)
    except disclosure.NotVisibleError:
        return None
    before = [p for p in points if p.release.closed_at.date() < action.start_on]
    after = [p for p in points if p.release.closed_at.date() >= action.start_on]
    first, last = (before[-1] if before else None), (after[-1] if after else None)
    result = disclosure.compare(first.figures, last.figures) if first and last else None
    return Effect(action.question_code, points, first, last, result)


# --- reminders --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """A claimed reminder, ready to send."""

    id: int
    action_id: int
    kind: str
    for_date: dt.date
    unit_name: str
    activity: str
    #: (e-mail, language) of the owner and the unit's safety representatives, without duplicates.
    recipients: tuple[tuple[str, str], ...]


def due_reminders(session: Session, today: dt.date) -> list[tuple[int, str, dt.date]]:
    """Every (action, kind, date) reminder due today and not yet claimed."""
    claimed = {(r.action_id, r.kind, r.for_date) for r in session.scalars(select(ActionReminder))}
    due = []
    for action in session.scalars(select(Action).where(Action.status != "cancelled").order_by(Action.id)):
        for kind, date in rules.due_reminders(dates_of(action), today):
            if (action.id, kind, date) not in claimed:
                due.append((action.id, kind, date))
    return due


def safety_reps_of(session: Session, unit_id: int) -> list[Person]:
    """The unit's safety representatives: those whose safety area holds the unit, the nearest level only."""
    tree = load_tree(session)
    for level in [unit_id, *tree.ancestors(unit_id)]:
        reps = list(session.scalars(select(Person).join(SafetyAreaUnit, SafetyAreaUnit.person_id == Person.id)
                                    .where(SafetyAreaUnit.unit_id == level, Person.status != PersonStatus.LEFT)
                                    .order_by(Person.id)))
        if reps:
            return reps
    return []


def reminder(session: Session, claim: ActionReminder) -> Reminder:
    action = session.get_one(Action, claim.action_id)
    people = ([action.owner] if action.owner is not None and action.owner.status != PersonStatus.LEFT else [])
    people += safety_reps_of(session, action.unit_id)
    recipients: dict[str, str] = {}
    for person in people:
        recipients.setdefault(person.email, person.language)
    return Reminder(claim.id, action.id, claim.kind, claim.for_date, action.unit.name, action.activity,
                    tuple(recipients.items()))


def claim_reminder(session: Session, action_id: int, kind: str, for_date: dt.date, *, now: dt.datetime
                   ) -> ActionReminder:
    """Claim one reminder (flushes). The unique key (action, kind, date) means that of two processes claiming the
    same reminder, one flush fails with IntegrityError: the caller commits the claim before sending, so a reminder
    is sent at most once."""
    claim = ActionReminder(action_id=action_id, kind=kind, for_date=for_date, claimed_at=now, sent=False)
    session.add(claim)
    session.flush()
    return claim


#: A claim that was never marked sent (its process died mid-send) may be claimed again after this long.
STALE_CLAIM = dt.timedelta(hours=1)


def stale_claims(session: Session, now: dt.datetime) -> list[ActionReminder]:
    return list(session.scalars(select(ActionReminder).where(ActionReminder.sent.is_(False),
                                                             ActionReminder.claimed_at < now - STALE_CLAIM)))


# --- APT meetings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingInput:
    held_on: dt.date
    minutes: str = ""
    release_id: int | None = None


def _apply_meeting(session: Session, meeting: AptMeeting, data: MeetingInput) -> None:
    meeting.held_on = data.held_on
    meeting.minutes = _text(data.minutes, "minutes", limit=rules.MAX_TEXT * 4)
    _cited_release(session, data.release_id, meeting.unit_id, None)
    meeting.release_id = data.release_id


def create_meeting(session: Session, unit_id: int, data: MeetingInput, *, scope: Scope, by: Person | None
                   ) -> AptMeeting:
    _unit(session, unit_id, scope)
    meeting = AptMeeting(unit_id=unit_id, created_by=by.id if by else None)
    _apply_meeting(session, meeting, data)
    session.add(meeting)
    session.flush()
    return meeting


def update_meeting(session: Session, meeting_id: int, data: MeetingInput, *, scope: Scope) -> AptMeeting:
    meeting = get_meeting(session, meeting_id, scope)
    _apply_meeting(session, meeting, data)
    session.flush()
    return meeting


def get_meeting(session: Session, meeting_id: int, scope: Scope) -> AptMeeting:
    return _scoped(session, AptMeeting, meeting_id, scope)


def meetings(session: Session, unit_ids: list[int]) -> list[AptMeeting]:
    if not unit_ids:
        return []
    return list(session.scalars(select(AptMeeting).where(AptMeeting.unit_id.in_(unit_ids))
                                .order_by(AptMeeting.held_on.desc(), AptMeeting.id.desc())))


def meeting_actions(session: Session, meeting_id: int) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.meeting_id == meeting_id).order_by(Action.id)))


def next_meeting(session: Session, unit_id: int, today: dt.date) -> AptMeeting | None:
    """The unit's next planned APT (today or later)."""
    return session.scalar(select(AptMeeting).where(AptMeeting.unit_id == unit_id, AptMeeting.held_on >= today)
                          .order_by(AptMeeting.held_on, AptMeeting.id).limit(1))


# --- the APT pack's discussion questions ------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedPrompts:
    """A manager's own discussion questions for one concern of a pack, and who saved them when."""

    prompts: tuple[str, ...]
    #: The name of who saved them last ("" once that person is gone).
    by: str
    at: dt.datetime


def apt_prompts(session: Session, release_id: int, unit_id: int) -> dict[str, SavedPrompts]:
    """The discussion questions saved for a unit's pack of a release, by question code (one query). Read by
    everyone who may open the pack; the caller has checked that (the pack is read through the gate)."""
    rows = session.execute(select(AptPrompt, Person.name).outerjoin(Person, Person.id == AptPrompt.updated_by)
                           .where(AptPrompt.release_id == release_id, AptPrompt.unit_id == unit_id))
    return {prompt.question_code: SavedPrompts(tuple(prompt.prompts.splitlines()), name or "", prompt.updated_at)
            for prompt, name in rows}


def save_apt_prompts(session: Session, release_id: int, unit_id: int,
                     changes: Mapping[str, Sequence[str] | None], *, scope: Scope, by: Person | None) -> list[str]:
    """Save a manager's discussion questions per question code, or (``None``) go back to the question bank's.
    ``scope`` is who may write SAM records (:func:`edit_scope`): the questions are the unit's meeting preparation.

    Returns the codes whose saved questions changed, for the audit log (which records who and when, never the text).

    :raises NotFoundError: the unit is outside ``scope``, or the release does not hold it.
    :raises SamError: a question the release did not ask (``question_code``), or questions that do not fit the pack
        (``prompts``, with :class:`pulse.domain.sam.PromptError`'s code).
    """
    _unit(session, unit_id, scope)
    if not disclosure.holds_unit(session, release_id, unit_id):
        raise NotFoundError(release_id)
    asked = {q.code for q in disclosure.release_info(session, release_id).questions}
    existing = {p.question_code: p for p in session.scalars(select(AptPrompt).where(
        AptPrompt.release_id == release_id, AptPrompt.unit_id == unit_id))}
    changed = []
    for code, lines in sorted(changes.items()):
        if code not in asked:
            raise SamError("question_code", "invalid")
        row = existing.get(code)
        if lines is None:
            if row is not None:
                session.delete(row)
                changed.append(code)
            continue
        try:
            rules.check_prompts(tuple(lines))
        except rules.PromptError as exc:
            raise SamError("prompts", exc.code) from None
        text = "\n".join(lines)
        if row is None:
            session.add(AptPrompt(release_id=release_id, unit_id=unit_id, question_code=code, prompts=text,
                                  updated_by=by.id if by else None, updated_at=utcnow()))
        elif row.prompts != text:
            row.prompts, row.updated_by, row.updated_at = text, by.id if by else None, utcnow()
        else:
            continue
        changed.append(code)
    session.flush()
    return changed


# --- "you said, we did" -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackInput:
    release_id: int
    heard: str
    doing: str = ""
    action_ids: tuple[int, ...] = ()


def _apply_feedback(session: Session, feedback: Feedback, data: FeedbackInput) -> None:
    feedback.heard = _text(data.heard, "heard", required=True, limit=2000)
    feedback.doing = _text(data.doing, "doing", limit=2000)
    # What was heard comes from released results only: a release that holds the unit.
    _cited_release(session, data.release_id, feedback.unit_id, None)
    feedback.release_id = data.release_id
    allowed = {a.id for a in actions(session, [feedback.unit_id]) if a.status != "cancelled"}
    if not set(data.action_ids) <= allowed:
        raise SamError("action_ids", "invalid")
    feedback.shown_actions = [FeedbackAction(action_id=a) for a in sorted(set(data.action_ids))]


def create_feedback(session: Session, unit_id: int, data: FeedbackInput, *, scope: Scope, by: Person | None
                    ) -> Feedback:
    _unit(session, unit_id, scope)
    feedback = Feedback(unit_id=unit_id, created_by=by.id if by else None)
    _apply_feedback(session, feedback, data)
    session.add(feedback)
    session.flush()
    return feedback


def update_feedback(session: Session, feedback_id: int, data: FeedbackInput, *, scope: Scope) -> Feedback:
    feedback = get_feedback(session, feedback_id, scope)
    _apply_feedback(session, feedback, data)
    session.flush()
    forget_notes(session)
    return feedback


def get_feedback(session: Session, feedback_id: int, scope: Scope) -> Feedback:
    return _scoped(session, Feedback, feedback_id, scope)


def publish_feedback(session: Session, feedback_id: int, *, scope: Scope, now: dt.datetime,
                     published: bool = True) -> Feedback:
    """Publish (or take back) a feedback: the unit's employees see the newest published one."""
    feedback = get_feedback(session, feedback_id, scope)
    feedback.published_at = now if published else None
    session.flush()
    forget_notes(session)
    return feedback


def feedbacks(session: Session, unit_ids: list[int]) -> list[Feedback]:
    if not unit_ids:
        return []
    return list(session.scalars(select(Feedback).where(Feedback.unit_id.in_(unit_ids))
                                .order_by(Feedback.created_at.desc(), Feedback.id.desc())))


@dataclass(frozen=True)
class ShownAction:
    activity: str
    status: str
    due_on: dt.date

    @property
    def status_label(self) -> str:
        """The status's msgid (translate it where it is shown)."""
        return rules.ACTION_STATUSES.get(self.status, self.status)


@dataclass(frozen=True)
class PublicFeedback:
    """What an employee sees of a published feedback: the unit's name, what was heard, what is being done."""

    unit_name: str
    published_on: dt.date
    heard: str
    doing: str
    actions: tuple[ShownAction, ...]


def feedback_for(session: Session, unit_id: int, tree: OrgTree[int] | None = None) -> PublicFeedback | None:
    """The newest published feedback for people who count in ``unit_id``: the unit's own, or else the nearest unit
    above it (whose feedback is for everyone below it).

    For the respondent's pages and the invitation e-mail: ``unit_id`` is the counting unit the person's one-time
    credential already names, so reading it identifies nobody (docs/SAM.md, "What employees see"). ``tree``: the
    unit tree when the caller has it (loading it is most of the cost on a large organisation).
    """
    levels = [unit_id, *(tree or load_tree(session)).ancestors(unit_id)]
    # The newest published per level, in one query; the nearest level that has one wins.
    newest: dict[int, Feedback] = {}
    for found in session.scalars(select(Feedback).where(Feedback.unit_id.in_(levels),
                                                        Feedback.published_at.is_not(None))
                                 .order_by(Feedback.published_at.desc(), Feedback.id.desc())):
        newest.setdefault(found.unit_id, found)
    for level in levels:
        feedback = newest.get(level)
        if feedback is not None:
            assert feedback.published_at is not None
            shown = tuple(ShownAction(fa.action.activity, fa.action.status, fa.action.due_on)
                          for fa in feedback.shown_actions if fa.action.status != "cancelled")
            return PublicFeedback(feedback.unit.name, feedback.published_at.date(), feedback.heard, feedback.doing,
                                  shown)
    return None


# --- help after victimisation or threats ------------------------------------------------------------------------

#: Question areas after which the help text is shown.
HELP_AREAS = frozenset({"victimisation", "threats"})


@dataclass(frozen=True)
class HelpView:
    body: str
    links: tuple[tuple[str, str], ...]


def help_for(session: Session, unit_id: int, tree: OrgTree[int] | None = None) -> HelpView | None:
    """The help text for people who count in ``unit_id``: the nearest unit's own, else the organisation's."""
    levels: list[int | None] = [unit_id, *(tree or load_tree(session)).ancestors(unit_id), None]
    texts = {h.unit_id: h for h in session.scalars(select(HelpText))}
    for level in levels:
        found = texts.get(level)
        if found is not None:
            return HelpView(found.body, tuple(rules.parse_links(found.links)))
    return None


def get_help(session: Session, unit_id: int | None) -> HelpText | None:
    if unit_id is None:
        return session.scalar(select(HelpText).where(HelpText.unit_id.is_(None)).limit(1))
    return session.scalar(select(HelpText).where(HelpText.unit_id == unit_id))


def set_help(session: Session, unit_id: int | None, body: str, links: str, *, scope: Scope) -> HelpText | None:
    """Set (or, with an empty body, remove) the organisation's help text (``unit_id`` None: admins only, which is
    ``scope.everything``) or a unit's."""
    if unit_id is None:
        if not scope.everything:
            raise NotFoundError("organisation")
    else:
        _unit(session, unit_id, scope)
    text = _text(body, "body", limit=2000)
    wrong = rules.bad_links(links)
    if wrong:
        raise SamError("links", "invalid")
    existing = get_help(session, unit_id)
    forget_notes(session)
    if not text:
        if existing is not None:
            session.delete(existing)
            session.flush()
        return None
    if existing is None:
        existing = HelpText(unit_id=unit_id)
        session.add(existing)
    existing.body, existing.links = text, _text(links, "links", limit=2000)
    existing.updated_at = utcnow()
    session.flush()
    return existing


# --- what a respondent is shown ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notes:
    """What the answering pages show a unit's respondents besides the questions: the newest "you said, we did" and
    where to get help. The same for everyone who counts in the unit."""

    feedback: PublicFeedback | None
    help: HelpView | None


#: Seconds a unit's notes are kept per process: the answering pages are the busiest in Pulse. A publish in this
#: process is seen at once (the cache is cleared); other processes see it within this time.
NOTES_SECONDS = 30.0
_notes: PerDatabase[tuple[float, Notes]] = PerDatabase("respondent notes", 4 * MB, deep_size)
#: The unit tree the notes are looked up in, kept as long as the notes are (a new unit or move is seen as soon as
#: a changed note would be): loading it was most of an answering page's time on a large organisation.
_trees: PerDatabase[tuple[float, OrgTree[int]]] = PerDatabase("unit tree for notes", 2 * MB, deep_size)


def notes_for(session: Session, unit_id: int) -> Notes:
    """The notes for people who count in ``unit_id`` — the unit their one-time credential already names."""
    cache = _notes(session.get_bind().engine)
    now = time.monotonic()
    hit = cache.get(unit_id)
    if hit is not None and now - hit[0] < NOTES_SECONDS:
        return hit[1]
    trees = _trees(session.get_bind().engine)
    kept = trees.get(None)
    if kept is None or now - kept[0] >= NOTES_SECONDS:
        kept = trees.put(None, (now, load_tree(session)))
    notes = Notes(feedback_for(session, unit_id, kept[1]), help_for(session, unit_id, kept[1]))
    cache.put(unit_id, (now, notes))
    return notes


def forget_notes(session: Session) -> None:
    """After a feedback or help text changes: this process shows the new one at once."""
    _notes(session.get_bind().engine).clear()
    _trees(session.get_bind().engine).clear()


# --- the manager's start page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitStatus:
    """One led unit on the manager's start page: its newest results and what to prepare next."""

    unit: Unit
    #: The newest release that holds the unit, its flags (one per question) and index; None before any release.
    result: disclosure.UnitResult | None
    next_meeting: AptMeeting | None
    #: The newest release has no APT meeting recorded for it yet: the next APT pack to prepare.
    prepare_release: int | None
    open_actions: int


def unit_statuses(session: Session, units: list[Unit], scope: Scope, today: dt.date) -> list[UnitStatus]:
    """The start page's view of the units a manager leads, each from its newest release (through the gate)."""
    statuses = []
    for unit in units:
        newest = next(iter(disclosure.releases_holding(session, unit.id)), None)
        result = None
        if newest is not None:
            try:
                result = disclosure.unit_result(session, newest, unit.id, scope)
            except disclosure.NotVisibleError:
                result = None
        met = {m.release_id for m in meetings(session, [unit.id])}
        prepare = newest if newest is not None and newest not in met else None
        open_count = sum(1 for a in actions(session, [unit.id]) if a.status in rules.OPEN_ACTION_STATUSES)
        statuses.append(UnitStatus(unit, result, next_meeting(session, unit.id, today), prepare, open_count))
    return statuses
