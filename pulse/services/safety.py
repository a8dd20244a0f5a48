"""The safety representative's desk: 6:6a requests, their attachments and history, the scheduler's steps, and the
annual SAM follow-up.

Who may do what (docs/SAFETY.md, "Who may do what"):

- a safety representative registers requests for units in their own safety area (skyddsområde), adds files and
  notes, and closes them;
- the employer side — whoever leads the request's unit or a unit above it — confirms receipt and answers;
- both see the request; anyone else is told it does not exist (404), administrators included, since a request is
  a matter between the safety representative and the employer.

Services flush and never commit; the view (or the scheduler) commits once, together with the audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pulse.domain import desk
from pulse.domain.orgtree import OrgTree
from pulse.models import (
    Comment,
    FollowUp,
    Management,
    Person,
    PersonStatus,
    Release,
    Round,
    SafetyAreaUnit,
    SafetyAttachment,
    SafetyRequest,
    SafetyRequestEvent,
    Survey,
    Unit,
)
from pulse.services.org import Scope, load_tree, safety_scope

KINDS = ("measure", "investigation")
MAX_TITLE = 200
MAX_TEXT = 10_000
#: One attachment at most this large (the whole request body is limited by ``max_upload_bytes`` too).
ATTACHMENT_MAX_BYTES = 4 * 1024 * 1024
MAX_ATTACHMENTS = 10
#: The scheduler's name in a request's history.
SYSTEM = "Pulse"


class DeskError(ValueError):
    """A request or follow-up that cannot be saved; ``code`` names the reason (translated by the view)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- Who leads what ----------------------------------------------------------------------------------------


def _active(person: Person) -> bool:
    return person.status != PersonStatus.LEFT


def employer_chain(session: Session, unit_id: int) -> list[tuple[int, Person]]:
    """The managers of the unit and of every unit above it, nearest first, as ``(unit id, person)``."""
    tree = load_tree(session)
    chain: list[tuple[int, Person]] = []
    seen: set[int] = set()
    for unit in [unit_id, *tree.ancestors(unit_id)]:
        managers = session.scalars(select(Person).join(Management, Management.person_id == Person.id)
                                   .where(Management.unit_id == unit).order_by(Person.id))
        for person in managers:
            if person.id not in seen and _active(person):
                seen.add(person.id)
                chain.append((unit, person))
    return chain


def employer_side(session: Session, unit_id: int) -> tuple[Person | None, Person | None]:
    """The unit's manager (the nearest one up the tree) and the next manager up (the nearest one above the unit
    the first one leads)."""
    chain = employer_chain(session, unit_id)
    if not chain:
        return None, None
    first_unit, first = chain[0]
    higher = [person for unit, person in chain if unit != first_unit]
    return first, higher[0] if higher else None


def leads(session: Session, person: Person, unit_id: int) -> bool:
    """Whether ``person`` leads the unit or a unit above it (the employer side of a request for it)."""
    return any(p.id == person.id for _, p in employer_chain(session, unit_id))


def represents(session: Session, person: Person, unit_id: int) -> bool:
    """Whether the unit is in ``person``'s safety area (with everything below its units)."""
    return safety_scope(session, person).allows(unit_id)


def safety_reps_for(session: Session, unit_id: int) -> list[Person]:
    """The safety representatives whose area covers the unit, nearest first."""
    tree = load_tree(session)
    found: list[Person] = []
    for unit in [unit_id, *tree.ancestors(unit_id)]:
        for person in session.scalars(select(Person).join(SafetyAreaUnit, SafetyAreaUnit.person_id == Person.id)
                                      .where(SafetyAreaUnit.unit_id == unit).order_by(Person.id)):
            if _active(person) and person not in found:
                found.append(person)
    return found


# --- 6:6a requests -----------------------------------------------------------------------------------------


def dates(request: SafetyRequest) -> desk.RequestDates:
    return desk.RequestDates(created_at=request.created_at, reply_by=request.reply_by, asked_at=request.asked_at,
                             reminded_at=request.reminded_at, escalated_at=request.escalated_at,
                             confirmed_at=request.confirmed_at, answered_at=request.answered_at,
                             closed_at=request.closed_at)


def state(request: SafetyRequest, now: dt.datetime, tz: ZoneInfo) -> desk.State:
    return desk.state(dates(request), now.astimezone(tz).date(), tz)


def event(request: SafetyRequest, kind: str, actor: str, note: str = "", *, at: dt.datetime) -> SafetyRequestEvent:
    item = SafetyRequestEvent(kind=kind, actor_name=actor, note=note, at=at)
    request.events.append(item)
    return item


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def check_upload(upload: Upload) -> tuple[str, str]:
    """The content type and safe name of an acceptable file.

    :raises DeskError: ``file_empty``, ``file_too_large``, ``file_type``.
    """
    if not upload.data:
        raise DeskError("file_empty")
    if len(upload.data) > ATTACHMENT_MAX_BYTES:
        raise DeskError("file_too_large")
    found = desk.sniff(upload.data)
    if found is None:
        raise DeskError("file_type")
    content_type, extension = found
    return content_type, desk.safe_filename(upload.filename, extension)


def attach(request: SafetyRequest, upload: Upload, actor: Person, *, now: dt.datetime) -> SafetyAttachment:
    """Add a file to a request (checked by :func:`check_upload`), and a step to its history."""
    if len(request.attachments) >= MAX_ATTACHMENTS:
        raise DeskError("too_many_files")
    content_type, name = check_upload(upload)
    item = SafetyAttachment(filename=name, content_type=content_type, size=len(upload.data),
                            sha256=hashlib.sha256(upload.data).hexdigest(), data=upload.data, uploaded_at=now,
                            uploaded_by_name=actor.name)
    request.attachments.append(item)
    event(request, "attachment", actor.name, name, at=now)
    return item


def _text(value: str, limit: int, code: str) -> str:
    value = value.strip()
    if not value:
        raise DeskError(f"{code}_missing")
    if len(value) > limit:
        raise DeskError(f"{code}_too_long")
    return value


def register(session: Session, rep: Person, *, unit_id: int, kind: str, title: str, reasons: str,
             reply_by: dt.date, uploads: Sequence[Upload] = (), now: dt.datetime, tz: ZoneInfo) -> SafetyRequest:
    """Register a request made by a safety representative for a unit of their area.

    Every file is checked before anything is stored, so a refused file loses nothing else of the form.

    :raises DeskError: ``unit`` (not in the area), ``kind``, ``title_missing``/``title_too_long``,
        ``reasons_missing``/``reasons_too_long``, ``reply_by_past``, or a file's code.
    """
    if not represents(session, rep, unit_id) or session.get(Unit, unit_id) is None:
        raise DeskError("unit")
    if kind not in KINDS:
        raise DeskError("kind")
    title = _text(title, MAX_TITLE, "title")
    reasons = _text(reasons, MAX_TEXT, "reasons")
    if reply_by < now.astimezone(tz).date():
        raise DeskError("reply_by_past")
    if len(uploads) > MAX_ATTACHMENTS:
        raise DeskError("too_many_files")
    for upload in uploads:
        check_upload(upload)
    manager, _ = employer_side(session, unit_id)
    request = SafetyRequest(unit_id=unit_id, kind=kind, title=title, reasons=reasons, reply_by=reply_by,
                            created_at=now, created_by_id=rep.id, created_by_name=rep.name,
                            manager_id=manager.id if manager else None, reminders=0)
    session.add(request)
    event(request, "registered", rep.name, at=now)
    for upload in uploads:
        attach(request, upload, rep, now=now)
    session.flush()
    return request


def may_see(session: Session, person: Person, request: SafetyRequest) -> bool:
    return represents(session, person, request.unit_id) or leads(session, person, request.unit_id)


def get_request(session: Session, person: Person, request_id: int) -> SafetyRequest:
    """A request the person may see.

    :raises DeskError: ``unknown`` — also for a request outside what they may see (never told apart).
    """
    request = session.get(SafetyRequest, request_id)
    if request is None or not may_see(session, person, request):
        raise DeskError("unknown")
    return request


def confirm(session: Session, person: Person, request: SafetyRequest, *, now: dt.datetime) -> None:
    """The employer side confirms receipt.

    :raises DeskError: ``not_employer``, ``already_confirmed``, ``closed``.
    """
    if not leads(session, person, request.unit_id):
        raise DeskError("not_employer")
    if request.closed_at is not None:
        raise DeskError("closed")
    if request.confirmed_at is not None:
        raise DeskError("already_confirmed")
    request.confirmed_at = now
    request.confirmed_by_name = person.name
    event(request, "confirmed", person.name, at=now)
    session.flush()


def answer(session: Session, person: Person, request: SafetyRequest, *, text: str, measures: str,
           now: dt.datetime, action_ids: Sequence[int] = ()) -> None:
    """The employer side answers, with the measures planned or taken. Answering also confirms receipt, if that
    had not been done.

    :raises DeskError: ``not_employer``, ``closed``, ``already_answered``, ``answer_missing``/``…_too_long``,
        ``measures_too_long``.
    """
    if not leads(session, person, request.unit_id):
        raise DeskError("not_employer")
    if request.closed_at is not None:
        raise DeskError("closed")
    if request.answered_at is not None:
        raise DeskError("already_answered")
    text = _text(text, MAX_TEXT, "answer")
    measures = measures.strip()
    if len(measures) > MAX_TEXT:
        raise DeskError("measures_too_long")
    if request.confirmed_at is None:
        confirm(session, person, request, now=now)
    request.answered_at = now
    request.answered_by_name = person.name
    request.answer = text
    request.measures = measures
    request.linked_actions = json.dumps(sorted(set(action_ids)))
    event(request, "answered", person.name, at=now)
    session.flush()


def linked_action_ids(request: SafetyRequest) -> list[int]:
    try:
        return [int(i) for i in json.loads(request.linked_actions or "[]")]
    except (ValueError, TypeError):
        return []


def add_note(session: Session, person: Person, request: SafetyRequest, note: str, *, now: dt.datetime) -> None:
    """Either side adds a dated note to the history (a meeting, a call, a reply outside Pulse)."""
    if not may_see(session, person, request):
        raise DeskError("unknown")
    event(request, "note", person.name, _text(note, MAX_TEXT, "note"), at=now)
    session.flush()


def close(session: Session, person: Person, request: SafetyRequest, note: str, *, now: dt.datetime) -> None:
    """The safety representative closes the matter (satisfied, or taking it to Arbetsmiljöverket).

    :raises DeskError: ``not_rep``, ``closed``, ``note_too_long``.
    """
    if not represents(session, person, request.unit_id):
        raise DeskError("not_rep")
    if request.closed_at is not None:
        raise DeskError("closed")
    if len(note.strip()) > MAX_TEXT:
        raise DeskError("note_too_long")
    request.closed_at = now
    event(request, "closed", person.name, note.strip(), at=now)
    session.flush()


def requests_for(session: Session, person: Person, *, include_closed: bool = True) -> list[SafetyRequest]:
    """Every request the person may see — for their safety area, or units they lead — newest first."""
    scope = visible_units(session, person)
    if scope.empty:
        return []
    query = select(SafetyRequest).order_by(SafetyRequest.created_at.desc(), SafetyRequest.id.desc())
    if not include_closed:
        query = query.where(SafetyRequest.closed_at.is_(None))
    return [r for r in session.scalars(query) if scope.allows(r.unit_id)]


def visible_units(session: Session, person: Person) -> Scope:
    """The units whose requests and follow-ups a person sees: their safety area and every unit they lead (with
    what is below). Being an administrator adds nothing."""
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    roots |= set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    return Scope(False, frozenset(load_tree(session).subtree(roots))) if roots else Scope(False, frozenset())


# --- The scheduler's steps ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One e-mail the scheduler sends about a request."""

    request_id: int
    step: desk.Step
    to: str
    language: str
    name: str
    title: str
    unit: str
    reply_by: dt.date


def due_requests(session: Session, now: dt.datetime, tz: ZoneInfo) -> list[tuple[int, desk.Step]]:
    """Requests with a step due at ``now``."""
    rows = session.scalars(select(SafetyRequest).where(SafetyRequest.closed_at.is_(None),
                                                       SafetyRequest.answered_at.is_(None)))
    return [(r.id, step) for r in rows if (step := desk.next_step(dates(r), now, tz)) is not None]


def take_step(session: Session, request_id: int, step: desk.Step, *, now: dt.datetime,
              tz: ZoneInfo) -> list[Notice] | None:
    """Record one due step and say whom to tell (``[]`` when there is nobody to tell: no manager above the unit);
    None when the step is no longer due (another run took it, or the request was answered meanwhile).

    The step is claimed with a conditional UPDATE on the column it sets, so two runs that get here at once take
    it once: on PostgreSQL the second waits for the first's row lock and then finds the condition false. The caller
    sends the notices before it commits, so a mail failure rolls the step back and the next run tries again.
    """
    request = session.get(SafetyRequest, request_id)
    if request is None or desk.next_step(dates(request), now, tz) != step:
        return None
    column = {desk.Step.ASK: SafetyRequest.asked_at, desk.Step.REMIND: SafetyRequest.reminded_at,
              desk.Step.ESCALATE: SafetyRequest.escalated_at}[step]
    current = getattr(request, column.key)
    condition = column.is_(None) if current is None else column == current
    values: dict[str, object] = {column.key: now}
    manager, next_up = employer_side(session, request.unit_id)
    if step == desk.Step.REMIND:
        values["reminders"] = SafetyRequest.reminders + 1
    if step == desk.Step.ESCALATE:
        values["escalated_to_id"] = next_up.id if next_up else None
    claimed = session.execute(update(SafetyRequest).where(SafetyRequest.id == request_id, condition)
                              .values(**values).execution_options(synchronize_session=False))
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    session.refresh(request)
    unit = session.get_one(Unit, request.unit_id)
    recipients: list[Person] = []
    if step == desk.Step.ESCALATE:
        recipients = [p for p in (next_up, manager) if p is not None]
        recipients += [p for p in safety_reps_for(session, request.unit_id) if p.id == request.created_by_id]
        note = next_up.name if next_up else ""
    else:
        recipients = [p for p in (manager,) if p is not None]
        note = manager.name if manager else ""
    event(request, step.value, SYSTEM, note, at=now)
    session.flush()
    seen: set[int] = set()
    notices = []
    for person in recipients:
        if person.id in seen or not _active(person):
            continue
        seen.add(person.id)
        notices.append(Notice(request.id, step, person.email, person.language, person.name, request.title,
                              unit.name, request.reply_by))
    return notices


# --- Start page --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingComments:
    round_id: int
    survey: str
    number: int
    closed_at: dt.datetime | None
    count: int


def waiting_comments(session: Session, scope: Scope) -> list[WaitingComments]:
    """Comments waiting for the safety representative, per released round, with its close date."""
    released = select(Release.round_id).distinct().scalar_subquery()
    rows = session.execute(
        select(Comment.round_id, Comment.home_unit_id, func.count())
        .where(Comment.status == "pending", Comment.home_unit_id.is_not(None), Comment.round_id.in_(released))
        .group_by(Comment.round_id, Comment.home_unit_id)).all()
    counts: dict[int, int] = {}
    for round_id, unit_id, count in rows:
        if unit_id is not None and scope.allows(unit_id):
            counts[round_id] = counts.get(round_id, 0) + count
    result = []
    for round_id, count in counts.items():
        rnd = session.get_one(Round, round_id)
        survey = session.get_one(Survey, rnd.survey_id)
        result.append(WaitingComments(round_id, survey.name, rnd.number, rnd.closed_at, count))
    return sorted(result, key=lambda w: (w.closed_at or dt.datetime.min.replace(tzinfo=dt.UTC), w.round_id))


# --- The annual follow-up ----------------------------------------------------------------------------------


def follow_up(session: Session, unit_id: int, year: int) -> FollowUp | None:
    return session.scalar(select(FollowUp).where(FollowUp.unit_id == unit_id, FollowUp.year == year))


def start_follow_up(session: Session, person: Person, unit_id: int, year: int, *, now: dt.datetime) -> FollowUp:
    """The follow-up of a unit and year, created when it does not exist yet.

    :raises DeskError: ``unknown`` (neither the unit's manager nor its safety representative), ``year``.
    """
    if session.get(Unit, unit_id) is None or not (leads(session, person, unit_id)
                                                  or represents(session, person, unit_id)):
        raise DeskError("unknown")
    if not 2000 <= year <= now.year + 1:
        raise DeskError("year")
    existing = follow_up(session, unit_id, year)
    if existing is not None:
        return existing
    item = FollowUp(unit_id=unit_id, year=year, created_at=now, updated_at=now, answers="{}", facts="")
    session.add(item)
    session.flush()
    return item


def get_follow_up(session: Session, person: Person, follow_up_id: int) -> FollowUp:
    item = session.get(FollowUp, follow_up_id)
    if item is None or not (leads(session, person, item.unit_id) or represents(session, person, item.unit_id)):
        raise DeskError("unknown")
    return item


def answers_of(item: FollowUp) -> dict[str, dict[str, str]]:
    raw = json.loads(item.answers or "{}")
    return {key: {"status": str(raw.get(key, {}).get("status", "")), "note": str(raw.get(key, {}).get("note", ""))}
            for key in desk.CHECKLIST}


def save_follow_up(session: Session, person: Person, item: FollowUp, answers: dict[str, tuple[str, str]], *,
                   now: dt.datetime) -> bool:
    """Save the checklist. A change after one side signed takes that signature away (they signed other text).

    :returns: whether a signature was taken away.
    :raises DeskError: ``locked``, ``status``, ``note_too_long``.
    """
    if item.locked_at is not None:
        raise DeskError("locked")
    cleaned: dict[str, dict[str, str]] = {}
    for key in desk.CHECKLIST:
        status, note = answers.get(key, ("", ""))
        if status not in (*desk.STATUSES, ""):
            raise DeskError("status")
        if len(note) > 2000:
            raise DeskError("note_too_long")
        cleaned[key] = {"status": status, "note": note.strip()}
    new = json.dumps(cleaned, sort_keys=True, ensure_ascii=False)
    if new == json.dumps(answers_of(item), sort_keys=True, ensure_ascii=False):
        return False
    item.answers = new
    item.updated_at = now
    unsigned = item.manager_signed_at is not None or item.rep_signed_at is not None
    item.manager_signed_at = item.manager_signed_by = None
    item.rep_signed_at = item.rep_signed_by = None
    session.flush()
    return unsigned


def sign_follow_up(session: Session, person: Person, item: FollowUp, side: str, facts: Mapping[str, object], *,
                   now: dt.datetime) -> bool:
    """Sign as the manager (``side="manager"``) or the safety representative (``"rep"``). The second signature
    locks the follow-up and freezes what Pulse knew (``facts``) with it.

    :returns: whether the follow-up is now locked.
    :raises DeskError: ``locked``, ``side`` (not that side of this unit), ``incomplete`` (an item not judged),
        ``already_signed``.
    """
    if item.locked_at is not None:
        raise DeskError("locked")
    if side == "manager" and not leads(session, person, item.unit_id):
        raise DeskError("side")
    if side == "rep" and not represents(session, person, item.unit_id):
        raise DeskError("side")
    if side not in ("manager", "rep"):
        raise DeskError("side")
    if any(not value["status"] for value in answers_of(item).values()):
        raise DeskError("incomplete")
    if side == "manager":
        if item.manager_signed_at is not None:
            raise DeskError("already_signed")
        item.manager_signed_at, item.manager_signed_by = now, person.name
    else:
        if item.rep_signed_at is not None:
            raise DeskError("already_signed")
        item.rep_signed_at, item.rep_signed_by = now, person.name
    if item.manager_signed_at is not None and item.rep_signed_at is not None:
        item.locked_at = now
        item.facts = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    session.flush()
    return item.locked_at is not None


def follow_ups_for(session: Session, person: Person) -> list[FollowUp]:
    scope = visible_units(session, person)
    if scope.empty:
        return []
    return [f for f in session.scalars(select(FollowUp).order_by(FollowUp.year.desc(), FollowUp.id))
            if scope.allows(f.unit_id)]


def area_roots(session: Session, person: Person) -> list[Unit]:
    """The top units of a person's safety area (a unit below another of their units is not a root)."""
    ids = set(session.scalars(select(SafetyAreaUnit.unit_id).where(SafetyAreaUnit.person_id == person.id)))
    tree = load_tree(session)
    roots = [u for u in ids if not any(a in ids for a in tree.ancestors(u))]
    units = [session.get_one(Unit, u) for u in roots]
    return sorted(units, key=lambda u: u.name.casefold())


def subtree(session: Session, unit_ids: Sequence[int]) -> set[int]:
    tree: OrgTree[int] = load_tree(session)
    return set(tree.subtree(set(unit_ids)))
