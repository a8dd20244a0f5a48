"""The complaint and suggestion box: writing, the reply key, the conversation, deadlines, who is told, and counts.

What protects an anonymous writer (docs/ANONYMITY.md, "The complaint box"):
- the unit is one with at least k people (counted over its subtree), so choosing it narrows nobody down;
- nothing about the request is stored — no address, browser, session or person — and dates are to the day;
- the text is encrypted under a key derived from the application secret, bound to its item and place;
- the reply key is random (144 bits) and stored only as a keyed hash: only its holder can read and reply.

Managers read the items of the units they lead (with their subtrees), safety representatives those of their
safety area; administrators as such read none (they see counts). As with comments, an anonymous writer's text is
reviewed by the safety representative before the employer reads it: released as written, redacted, or withheld
(:func:`moderate`); until then the manager sees that the item exists, never its text. A text whose review is late
goes to the main safety representative (:func:`claim_reviews`). Named items are not anonymous and go straight to
the manager.

Some months after an item is closed, its texts, reply key hash and writer are deleted (:func:`purge_closed`), and
what that leaves on disk is scrubbed (:func:`scrub_purged`); the dates, unit, category and status stay for the
counts (:func:`box_summary`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from pulse.common.config import DEFAULT_MIN_GROUP_SIZE
from pulse.common.db import Database
from pulse.domain import crypto
from pulse.domain.orgtree import OrgTree
from pulse.domain.workdays import add_workdays, months_before
from pulse.models import BoxItem, BoxMessage, BoxSettings, Management, Person, PersonStatus, SafetyAreaUnit, Unit
from pulse.services.org import Scope, load_tree, main_safety_rep_id, safety_scope, uncovered_unit_ids

CATEGORIES = ("workload", "treatment", "safety", "premises", "organisation", "other")
STATUSES = ("received", "acknowledged", "answered", "closed")
OPEN_STATUSES = ("received", "acknowledged", "answered")
MAX_TEXT = 4000
#: The reply key's characters: no 0/O or 1/I/L to confuse when copied by hand, and case does not matter.
KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: Characters in a reply key: 30 of 31 symbols, 148 bits (the invitation links have 144).
KEY_LENGTH = 30
DEFAULT_ACKNOWLEDGE_DAYS = 2
DEFAULT_ANSWER_DAYS = 10
MAX_DAYS = 60
#: Months after closing that an item keeps its texts (the administrator chooses within the bounds).
DEFAULT_RETENTION_MONTHS = 24
MIN_RETENTION_MONTHS = 6
MAX_RETENTION_MONTHS = 120
#: The safety representative's decisions on a writer's text (``pending`` is where an anonymous one starts).
DECISIONS = ("released", "redacted", "withheld")
#: Review states in which the employer reads a text (None: not under review, read as written).
EMPLOYER_READS = (None, "released", "redacted")
#: Tables whose deleted rows held texts, reply key hashes and writers: scrubbed after the retention rule deletes.
SCRUBBED_TABLES = ("box_message", "box_item")


class BoxError(ValueError):
    """Something the writer or the staff member must correct; ``code`` names it for the page."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Keys:
    """The two keys of the box, derived from the application secret (pulse.domain.crypto.KeyPurpose)."""

    reply: bytes
    text: bytes


# --- settings ------------------------------------------------------------------------------------------------------

def settings(session: Session) -> BoxSettings:
    """The organisation's settings (the defaults until an administrator saves some)."""
    found = session.get(BoxSettings, 1)
    if found is None:
        return BoxSettings(id=1, acknowledge_days=DEFAULT_ACKNOWLEDGE_DAYS, answer_days=DEFAULT_ANSWER_DAYS,
                           main_safety_rep_id=None, retention_months=DEFAULT_RETENTION_MONTHS)
    return found


def save_settings(session: Session, *, acknowledge_days: int, answer_days: int, main_safety_rep_id: int | None,
                  retention_months: int | None = None) -> BoxSettings:
    """Save the settings; ``retention_months`` None keeps what is set.

    :raises BoxError: ``days`` (not 1–60, or answering before acknowledging), ``retention`` (not 6–120 months),
        ``person`` (unknown or left).
    """
    if not (1 <= acknowledge_days <= MAX_DAYS and 1 <= answer_days <= MAX_DAYS) or answer_days < acknowledge_days:
        raise BoxError("days")
    if retention_months is not None and not MIN_RETENTION_MONTHS <= retention_months <= MAX_RETENTION_MONTHS:
        raise BoxError("retention")
    if main_safety_rep_id is not None:
        person = session.get(Person, main_safety_rep_id)
        if person is None or person.status == PersonStatus.LEFT:
            raise BoxError("person")
    row = session.get(BoxSettings, 1)
    if row is None:
        row = BoxSettings(id=1)
        session.add(row)
    row.acknowledge_days, row.answer_days, row.main_safety_rep_id = acknowledge_days, answer_days, main_safety_rep_id
    if retention_months is not None:
        row.retention_months = retention_months
    elif row.retention_months is None:
        row.retention_months = DEFAULT_RETENTION_MONTHS
    session.flush()
    return row


# --- the tree: who may be chosen, who is responsible ---------------------------------------------------------------

def _headcounts(session: Session, tree: OrgTree[int]) -> dict[int, int]:
    """People (not left) in each unit's subtree."""
    direct = dict(session.execute(select(Person.unit_id, func.count()).where(
        Person.status != PersonStatus.LEFT, Person.unit_id.is_not(None)).group_by(Person.unit_id)).all())
    totals: dict[int, int] = {}
    for unit, _ in reversed(tree.walk()):  # children before their parents
        totals[unit] = direct.get(unit, 0) + sum(totals.get(c, 0) for c in tree.children.get(unit, ()))
    return totals


@dataclass(frozen=True)
class Choice:
    unit_id: int
    name: str
    depth: int


def choosable_units(session: Session, k: int) -> list[Choice]:
    """Active units whose subtree holds at least ``k`` people, in tree order: a writer may choose only these."""
    tree = load_tree(session)
    counts = _headcounts(session, tree)
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.active.is_(True)))}
    return [Choice(uid, units[uid].name, depth)
            for uid, depth in tree.walk(sort_key=lambda key: units[key].name.casefold() if key in units else "")
            if uid in units and counts.get(uid, 0) >= k]


def _nearest(tree: OrgTree[int], unit_id: int, holders: dict[int, set[int]]) -> tuple[int | None, set[int]]:
    """The nearest unit at or above ``unit_id`` that has holders (managers, safety representatives), and them."""
    current: int | None = unit_id
    while current is not None:
        if holders.get(current):
            return current, holders[current]
        current = tree.parents.get(current)
    return None, set()


def _by_unit(session: Session, model: type[Management] | type[SafetyAreaUnit]) -> dict[int, set[int]]:
    rows = session.execute(select(model.unit_id, model.person_id).join(Person, Person.id == model.person_id)
                           .where(Person.status != PersonStatus.LEFT)).all()
    found: dict[int, set[int]] = defaultdict(set)
    for unit_id, person_id in rows:
        found[unit_id].add(person_id)
    return found


@dataclass(frozen=True)
class Responsible:
    """Who is told of an item: the responsible managers, the next managers up, the safety representatives."""

    managers: frozenset[int]
    next_up: frozenset[int]
    safety_reps: frozenset[int]


def responsible(session: Session, unit_id: int) -> Responsible:
    """The managers of the nearest led unit at or above the item's unit, the managers of the next led unit above
    that, and the safety representatives of the nearest safety area at or above it (else the main safety
    representative)."""
    tree = load_tree(session)
    managers = _by_unit(session, Management)
    at, first = _nearest(tree, unit_id, managers)
    above = tree.parents.get(at) if at is not None else None
    _, second = _nearest(tree, above, managers) if above is not None else (None, set())
    _, reps = _nearest(tree, unit_id, _by_unit(session, SafetyAreaUnit))
    if not reps and (main := settings(session).main_safety_rep_id) is not None:
        reps = {main}
    return Responsible(frozenset(first), frozenset(second - first), frozenset(reps))


def uncovered_units(session: Session) -> list[Unit]:
    """Active units that no safety area covers (no safety representative at or above them), by name."""
    ids = uncovered_unit_ids(session)
    return [u for u in session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)) if u.id in ids]


def manager_scope(session: Session, person: Person) -> Scope:
    """Where ``person`` answers for the employer: the subtrees of the units they lead."""
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    return Scope(False, frozenset(load_tree(session).subtree(roots)))


def reader_scope(session: Session, person: Person) -> Scope:
    """Whose items ``person`` reads: the subtrees of units they lead and of their safety area, and, for the main
    safety representative, the units nobody else covers. Being an administrator adds nothing."""
    tree = load_tree(session)
    roots = set(session.scalars(select(Management.unit_id).where(Management.person_id == person.id)))
    return Scope(False, frozenset(tree.subtree(roots)) | safety_scope(session, person).unit_ids)


def moderator_scope(session: Session, person: Person) -> Scope:
    """Where ``person`` reviews as safety representative (their safety area, and the uncovered units for the main
    safety representative)."""
    return safety_scope(session, person)


def may_moderate(session: Session, person: Person, item: BoxItem, *, scope: Scope | None = None,
                 main: int | None = None) -> bool:
    """Whether ``person`` reviews ``item``'s texts: a safety representative whose area covers its unit, or the main
    safety representative once a review of the item has been escalated to them (late reviews must not wait for
    the one who is late). ``scope`` and ``main`` save the look-ups when asking about many items."""
    if (scope or moderator_scope(session, person)).allows(item.unit_id):
        return True
    main = main if main is not None else main_safety_rep_id(session)
    return main == person.id and any(m.review_escalated for m in item.messages)


def in_review(item: BoxItem) -> bool:
    """Whether one of the item's texts waits for the safety representative's review."""
    return any(m.moderation == "pending" for m in item.messages)


def to_review(session: Session, person: Person) -> list[BoxItem]:
    """Items with a text waiting for ``person``'s review, the earliest review date first (for start pages and the
    box's index, where they come first)."""
    pending = list(session.scalars(select(BoxItem).where(BoxItem.id.in_(
        select(BoxMessage.item_id).where(BoxMessage.moderation == "pending")))))
    if not pending:
        return []
    scope, main = moderator_scope(session, person), main_safety_rep_id(session)
    mine = [item for item in pending if may_moderate(session, person, item, scope=scope, main=main)]
    return sorted(mine, key=lambda item: (min(m.review_by or item.acknowledge_by for m in item.messages
                                              if m.moderation == "pending"), item.id))


# --- writing and the reply key -------------------------------------------------------------------------------------

def new_key() -> str:
    """A fresh reply key (uniformly random over :data:`KEY_ALPHABET`)."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def format_key(raw: str) -> str:
    """A reply key in groups of five characters, easier to copy by hand."""
    return "-".join(raw[i:i + 5] for i in range(0, len(raw), 5))


def normalise_key(typed: str) -> str:
    """What was typed, without spaces and dashes, in capitals: the form whose keyed hash is stored."""
    return "".join(typed.split()).replace("-", "").upper()


def key_hash(keys: Keys, typed: str) -> str:
    return crypto.keyed_hash(keys.reply, normalise_key(typed))


def _context(item_id: str, position: int) -> bytes:
    return f"pulse-box:{item_id}:{position}".encode()


def _seal(keys: Keys, item_id: str, position: int, text: str) -> bytes:
    return crypto.encrypt(keys.text, text.encode(), _context(item_id, position))


def _open(keys: Keys, item_id: str, position: int, sealed: bytes) -> str:
    return crypto.decrypt(keys.text, sealed, _context(item_id, position)).decode()


def _clean_text(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise BoxError("empty")
    if len(cleaned) > MAX_TEXT:
        raise BoxError("too_long")
    return cleaned


def write(session: Session, keys: Keys, *, unit_id: int | None, category: str, text: str | None, k: int,
          today: dt.date, author: Person | None = None) -> tuple[BoxItem, str]:
    """A new item, and its reply key (shown once; only its hash is stored).

    :raises BoxError: ``unit`` (not one of :func:`choosable_units`), ``category``, ``empty``, ``too_long``.
    """
    if category not in CATEGORIES:
        raise BoxError("category")
    if unit_id is None or unit_id not in {c.unit_id for c in choosable_units(session, k)}:
        raise BoxError("unit")
    cleaned = _clean_text(text)
    rules = settings(session)
    raw_key = new_key()
    item = BoxItem(id=str(uuid.uuid4()), unit_id=unit_id, category=category, status="received",
                   author_id=author.id if author else None, key_hash=key_hash(keys, raw_key), received_on=today,
                   acknowledge_by=add_workdays(today, rules.acknowledge_days),
                   answer_by=add_workdays(today, rules.answer_days),
                   # A named item's news goes to its managers and safety representatives at once; an anonymous
                   # one's goes text by text: to the safety representative now, to the managers on release.
                   notified=author is None, acknowledge_escalated=False, answer_escalated=False, purged_on=None,
                   scrubbed=True)
    session.add(item)
    message = BoxMessage(id=str(uuid.uuid4()), item_id=item.id, position=0, from_writer=True, author_id=None,
                         written_on=today, sealed=_seal(keys, item.id, 0, cleaned))
    _start_review(message, item, review_by=item.acknowledge_by)
    session.add(message)
    session.flush()
    return item, format_key(raw_key)


def _start_review(message: BoxMessage, item: BoxItem, *, review_by: dt.date) -> None:
    """An anonymous writer's text waits for review, and the safety representative is to be told; anything else
    (a staff reply, a named writer's text) is read as written and has nobody to tell."""
    if message.from_writer and item.author_id is None:
        message.moderation, message.review_by = "pending", review_by
        message.review_notified = message.release_notified = False
    else:
        message.moderation, message.review_by = None, None
        message.review_notified = message.release_notified = True
    message.review_escalated = False


def find_by_key(session: Session, keys: Keys, typed: str) -> BoxItem | None:
    """The item a reply key opens, or None. A key of the wrong shape is looked up all the same (no oracle)."""
    cleaned = normalise_key(typed)
    if not cleaned or len(cleaned) > 64:
        return None
    return session.scalar(select(BoxItem).where(BoxItem.key_hash == key_hash(keys, cleaned)))


@dataclass(frozen=True)
class MessageView:
    id: str
    position: int
    from_writer: bool
    author: str | None
    written_on: dt.date
    #: What this reader is shown; None where they may not read it (a manager, before release or when withheld).
    text: str | None
    #: ``None`` (not under review), ``pending``, ``released``, ``redacted`` or ``withheld``.
    moderation: str | None
    #: The words as written, for the safety representative (beside a redaction, and to review).
    original: str | None = None
    #: The redacted version the employer reads, for the writer and the safety representative.
    redacted: str | None = None
    review_by: dt.date | None = None


def conversation(session: Session, keys: Keys, item: BoxItem, *, reader: str) -> list[MessageView]:
    """The item's texts for ``reader``: ``writer`` (their own words as written, and what the employer reads of
    them), ``moderator`` (the original and any redaction), ``manager`` (only what the safety representative has
    released: a redacted text in place of the original; nothing of a text waiting for review or withheld — not
    even decrypted)."""
    views = []
    for message in item.messages:
        employer_reads = message.moderation in EMPLOYER_READS
        if reader == "manager" and not employer_reads:
            views.append(MessageView(message.id, message.position, message.from_writer, None, message.written_on,
                                     None, message.moderation, review_by=message.review_by))
            continue
        original = _open(keys, item.id, message.position, message.sealed)
        redacted = (_open(keys, item.id, message.position, message.redacted_sealed)
                    if message.moderation == "redacted" and message.redacted_sealed else None)
        shown = original if reader == "writer" or redacted is None else redacted
        views.append(MessageView(message.id, message.position, message.from_writer,
                                 message.author.name if message.author else None, message.written_on, shown,
                                 message.moderation, original if reader == "moderator" else None,
                                 redacted if reader in ("writer", "moderator") else None, message.review_by))
    return views


def _append(session: Session, keys: Keys, item: BoxItem, text: str, today: dt.date, *,
            author: Person | None) -> BoxMessage:
    position = (max((m.position for m in item.messages), default=-1)) + 1
    message = BoxMessage(id=str(uuid.uuid4()), item_id=item.id, position=position, from_writer=author is None,
                         author_id=author.id if author else None, written_on=today,
                         sealed=_seal(keys, item.id, position, text))
    # A later text waits for review as the first did, with as many working days as an acknowledgement.
    _start_review(message, item, review_by=add_workdays(today, settings(session).acknowledge_days))
    session.add(message)
    item.messages.append(message)
    session.flush()
    return message


def writer_reply(session: Session, keys: Keys, item: BoxItem, text: str | None, *, today: dt.date) -> BoxMessage:
    """The writer adds to the conversation. :raises BoxError: ``closed``, ``empty``, ``too_long``."""
    if item.status == "closed" or item.purged_on is not None:
        raise BoxError("closed")
    return _append(session, keys, item, _clean_text(text), today, author=None)


# --- the staff side ------------------------------------------------------------------------------------------------

def visible_items(session: Session, scope: Scope, *, status: str | None = None) -> list[BoxItem]:
    """Items in the reader's scope, the oldest deadline first."""
    if scope.empty:
        return []
    query = select(BoxItem)
    if not scope.everything:
        query = query.where(BoxItem.unit_id.in_(scope.unit_ids))
    if status:
        query = query.where(BoxItem.status == status)
    return list(session.scalars(query.order_by(BoxItem.status == "closed", BoxItem.answer_by, BoxItem.id)))


def acknowledge(item: BoxItem, *, today: dt.date) -> None:
    """:raises BoxError: ``state`` when it is past being acknowledged."""
    if item.status != "received":
        raise BoxError("state")
    item.status, item.acknowledged_on = "acknowledged", today


def staff_reply(session: Session, keys: Keys, item: BoxItem, person: Person, text: str | None, *,
                today: dt.date, answers: bool = True) -> BoxMessage:
    """A signed reply. From the employer's side (``answers``: a manager of the unit), the first one answers the
    item (and acknowledges it, if that had not been done); a safety representative's reply joins the conversation
    and leaves the employer's deadlines as they are.

    :raises BoxError: ``closed``, ``empty``, ``too_long``.
    """
    if item.status == "closed" or item.purged_on is not None:
        raise BoxError("closed")
    message = _append(session, keys, item, _clean_text(text), today, author=person)
    if not answers:
        return message
    if item.acknowledged_on is None:
        item.acknowledged_on = today
    if item.answered_on is None:
        item.answered_on = today
    item.status = "answered"
    session.flush()
    return message


def close(item: BoxItem, *, today: dt.date) -> None:
    """Closing needs an answer first. :raises BoxError: ``state``."""
    if item.status != "answered":
        raise BoxError("state")
    item.status, item.closed_on = "closed", today


def moderate(session: Session, keys: Keys, item: BoxItem, message_id: str, decision: str,
             redacted_text: str | None = None) -> BoxMessage:
    """Release as written, release redacted (with new text), or withhold one of the writer's texts, as comment
    moderation does. A decision can be changed later; the managers are told (by the scheduler) the first time a
    text is released to them.

    :raises BoxError: ``unknown`` (not a writer's text of this item), ``bad_decision``, ``empty``, ``too_long``.
    """
    message = next((m for m in item.messages if m.id == message_id and m.from_writer), None)
    if message is None:
        raise BoxError("unknown")
    if decision not in DECISIONS:
        raise BoxError("bad_decision")
    if decision == "redacted":
        message.redacted_sealed = _seal(keys, item.id, message.position, _clean_text(redacted_text))
    elif decision == "released":
        message.redacted_sealed = None
    message.moderation = decision
    # Reviewed: there is no longer anything to ask the safety representative, or to escalate.
    message.review_notified = True
    session.flush()
    return message


def overdue(item: BoxItem, today: dt.date) -> str | None:
    """``acknowledge`` or ``answer`` when that deadline has passed undone, else None."""
    if item.acknowledged_on is None and item.status == "received" and today > item.acknowledge_by:
        return "acknowledge"
    if item.answered_on is None and item.status in ("received", "acknowledged") and today > item.answer_by:
        return "answer"
    return None


def waiting(session: Session, scope: Scope) -> list[BoxItem]:
    """Items in the scope that wait for an acknowledgement or an answer, the earliest deadline first (for start
    pages)."""
    return [i for i in visible_items(session, scope) if i.status in ("received", "acknowledged")]


# --- deadlines: what the scheduler tells whom ----------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """One message to send, for one item: ``new`` (a named item), ``acknowledge`` or ``answer`` (overdue), or for
    one of its texts (``message_id``): ``review`` (a text to review), ``review_late`` (its review is late) or
    ``released`` (released to the managers). ``first`` says whether that text is the item's first."""

    kind: str
    item_id: str
    recipients: frozenset[int]
    message_id: str | None = None
    first: bool = True


def claim_new(session: Session) -> list[Notice]:
    """Named items nobody has been told about yet: claimed (marked told) in this transaction, so that two
    schedulers never send the same notice; the caller releases a claim whose mail failed (:func:`unclaim`)."""
    notices = []
    for item_id, unit_id in session.execute(select(BoxItem.id, BoxItem.unit_id).where(BoxItem.notified.is_(False))):
        if _claim(session, item_id, _FLAGS["new"]):
            who = responsible(session, unit_id)
            notices.append(Notice("new", item_id, who.managers | who.safety_reps))
    return notices


def claim_overdue(session: Session, today: dt.date) -> list[Notice]:
    """Overdue acknowledgements and answers not yet escalated: to the next manager up (the responsible managers
    when there is nobody above) and the safety representatives. Each is escalated once."""
    notices = []
    late_ack = select(BoxItem.id, BoxItem.unit_id).where(
        BoxItem.status == "received", BoxItem.acknowledge_by < today, BoxItem.acknowledge_escalated.is_(False))
    late_answer = select(BoxItem.id, BoxItem.unit_id).where(
        BoxItem.status.in_(("received", "acknowledged")), BoxItem.answer_by < today,
        BoxItem.answer_escalated.is_(False))
    for kind, query in (("acknowledge", late_ack), ("answer", late_answer)):
        for item_id, unit_id in session.execute(query).all():
            if _claim(session, item_id, _FLAGS[kind]):
                who = responsible(session, unit_id)
                notices.append(Notice(kind, item_id, (who.next_up or who.managers) | who.safety_reps))
    return notices


def claim_reviews(session: Session, today: dt.date) -> list[Notice]:
    """The notices about single texts, each claimed once like :func:`claim_new`'s:

    - ``review``: an anonymous writer's new text, to the safety representatives of the item's unit (the main
      safety representative where no safety area covers it) — not to the managers, who may not read it yet;
    - ``review_late``: a text still waiting for review after its review date (for the first text, the
      acknowledgement's date), once, to the main safety representative (to the unit's safety representatives
      when there is none), who may then review it;
    - ``released``: a text the safety representative has released (as written or redacted), to the managers.
    """
    notices = []
    base = select(BoxMessage.id, BoxMessage.item_id, BoxMessage.position, BoxItem.unit_id).join(
        BoxItem, BoxItem.id == BoxMessage.item_id)
    queries = (
        ("review", base.where(BoxMessage.review_notified.is_(False), BoxMessage.moderation == "pending")),
        ("review_late", base.where(BoxMessage.moderation == "pending", BoxMessage.review_by < today,
                                   BoxMessage.review_escalated.is_(False))),
        ("released", base.where(BoxMessage.release_notified.is_(False),
                                BoxMessage.moderation.in_(("released", "redacted")))),
    )
    for kind, query in queries:
        for message_id, item_id, position, unit_id in session.execute(query.order_by(BoxMessage.id)).all():
            if not _claim_message(session, message_id, _MESSAGE_FLAGS[kind]):
                continue
            who = responsible(session, unit_id)
            if kind == "review":
                recipients = who.safety_reps
            elif kind == "released":
                recipients = who.managers
            else:
                main = settings(session).main_safety_rep_id
                recipients = frozenset({main}) if main is not None else who.safety_reps
            notices.append(Notice(kind, item_id, recipients, message_id, position == 0))
    return notices


_FLAGS = {"new": "notified", "acknowledge": "acknowledge_escalated", "answer": "answer_escalated"}
_MESSAGE_FLAGS = {"review": "review_notified", "review_late": "review_escalated", "released": "release_notified"}


def _claim_message(session: Session, message_id: str, name: str) -> bool:
    """Set one of a text's "told" flags, if no one else has: True for the one run that did."""
    done = session.execute(update(BoxMessage).where(BoxMessage.id == message_id,
                                                    getattr(BoxMessage, name).is_(False))
                           .values({name: True}).execution_options(synchronize_session=False))
    return getattr(done, "rowcount", 0) == 1


def _claim(session: Session, item_id: str, name: str) -> bool:
    """Set one of the item's "told" flags, if no one else has: True for the one run that did."""
    done = session.execute(update(BoxItem).where(BoxItem.id == item_id, getattr(BoxItem, name).is_(False))
                           .values({name: True}).execution_options(synchronize_session=False))
    return getattr(done, "rowcount", 0) == 1


def unclaim(session: Session, notice: Notice) -> None:
    """Undo a claim whose mail could not be sent, so the next run tries again."""
    if notice.message_id is not None:
        session.execute(update(BoxMessage).where(BoxMessage.id == notice.message_id)
                        .values({_MESSAGE_FLAGS[notice.kind]: False}).execution_options(synchronize_session=False))
        return
    session.execute(update(BoxItem).where(BoxItem.id == notice.item_id).values({_FLAGS[notice.kind]: False})
                    .execution_options(synchronize_session=False))


def report_units(session: Session, scope: Scope) -> list[int]:
    """The active units a report for ``scope`` covers (all of them for an administrator)."""
    query = select(Unit.id).where(Unit.active.is_(True))
    if not scope.everything:
        query = query.where(Unit.id.in_(scope.unit_ids))
    return list(session.scalars(query))


# --- retention ------------------------------------------------------------------------------------------------------

def purge_closed(session: Session, today: dt.date) -> int:
    """Delete the texts, the reply key's hash and the writer of items closed longer ago than the retention months
    (closed on the day exactly that many months ago: kept until tomorrow). The item row stays with its unit,
    category, dates and status — what :func:`box_summary` counts — so the reports agree before and after.
    Returns how many items were purged; the caller scrubs (:func:`scrub_purged`) after committing."""
    cutoff = months_before(today, settings(session).retention_months or DEFAULT_RETENTION_MONTHS)
    due = list(session.scalars(select(BoxItem.id).where(BoxItem.status == "closed", BoxItem.closed_on < cutoff,
                                                        BoxItem.purged_on.is_(None))))
    if not due:
        return 0
    session.execute(delete(BoxMessage).where(BoxMessage.item_id.in_(due)).execution_options(
        synchronize_session=False))
    session.execute(update(BoxItem).where(BoxItem.id.in_(due)).values(
        key_hash=None, author_id=None, purged_on=today, scrubbed=False).execution_options(synchronize_session=False))
    session.flush()
    return len(due)


def purge_xid(session: Session) -> int | None:
    """PostgreSQL: the id of the purging transaction, so the scrub after it waits only for readers older than the
    purge (as a round's close does); None elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.scalar(select(func.txid_current() % 4294967296))


def scrub_purged(database: Database, *, since_xid: int | None = None) -> bool:
    """Scrub what purged texts left on disk, if any purge still needs it; True when nothing is owed.

    ``since_xid`` (:func:`purge_xid`) lets only readers older than that purge hold the scrub back; without it (a
    retry by a later run) any reader older than the check does.

    As after a round's close (pulse.services.rounds.scrub_closed): SQLite already zeroes deleted rows
    (``secure_delete``) and the write-ahead log is checkpointed and truncated; PostgreSQL rewrites the box tables
    (``VACUUM FULL``) so no dead row version keeps a text. Retried by every scheduler run until it finishes.
    """
    with database.session() as session:
        owed = list(session.scalars(select(BoxItem.id).where(BoxItem.scrubbed.is_(False))))
    if not owed:
        return True
    if not database.scrub(SCRUBBED_TABLES, since_xid=since_xid):
        return False
    with database.session(write=True) as session:
        session.execute(update(BoxItem).where(BoxItem.id.in_(owed)).values(scrubbed=True))
        session.commit()
    database.checkpoint()  # SQLite: that last write leaves the write-ahead log empty again too
    return True


# --- counts for reports --------------------------------------------------------------------------------------------

@dataclass
class UnitSummary:
    """Counts for one unit and a period: no text, no dates finer than the period, no writer."""

    unit_id: int
    name: str
    by_category: dict[str, int] = field(default_factory=dict)
    total: int = 0
    acknowledged_in_time: int = 0
    acknowledged_late: int = 0
    answered_in_time: int = 0
    answered_late: int = 0
    #: Still waiting for an acknowledgement or answer past its deadline at the end of the period.
    overdue_open: int = 0

    @property
    def answered_share(self) -> float | None:
        """Share of answered items answered in time (None when none was answered)."""
        answered = self.answered_in_time + self.answered_late
        return self.answered_in_time / answered if answered else None


def box_summary(session: Session, unit_ids: Iterable[int], period: tuple[dt.date, dt.date], *,
                k: int = DEFAULT_MIN_GROUP_SIZE, today: dt.date | None = None) -> list[UnitSummary]:
    """Counts per unit and category, and deadline compliance, for items received in ``period`` (both ends
    included) at the given units — only units with at least ``k`` people in their subtree (smaller ones are left
    out entirely, as if they had none). Never any text or anything about a writer.

    ``today`` (default: the period's end) decides what counts as overdue while still open.
    """
    start, end = period
    as_of = min(today or end, end)
    wanted = set(unit_ids)
    tree = load_tree(session)
    counts = _headcounts(session, tree)
    allowed = {u for u in wanted if counts.get(u, 0) >= k}
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(allowed))).all()) if allowed else {}
    if not allowed:
        return []
    summaries = {u: UnitSummary(u, names[u], dict.fromkeys(CATEGORIES, 0))
                 for u in sorted(allowed, key=lambda u: names[u])}
    items = session.scalars(select(BoxItem).where(BoxItem.unit_id.in_(allowed), BoxItem.received_on >= start,
                                                  BoxItem.received_on <= end))
    for item in items:
        row = summaries[item.unit_id]
        row.total += 1
        row.by_category[item.category] = row.by_category.get(item.category, 0) + 1
        if item.acknowledged_on is not None:
            if item.acknowledged_on <= item.acknowledge_by:
                row.acknowledged_in_time += 1
            else:
                row.acknowledged_late += 1
        if item.answered_on is not None:
            if item.answered_on <= item.answer_by:
                row.answered_in_time += 1
            else:
                row.answered_late += 1
        elif item.status != "closed" and (as_of > item.answer_by
                                          or (item.acknowledged_on is None and as_of > item.acknowledge_by)):
            row.overdue_open += 1
    return list(summaries.values())
