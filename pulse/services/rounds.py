"""Rounds: opening (snapshot of who is invited and where they count), closing, and their integrity figures.

Closing is where unlinkability is completed: the sealed pending answers are opened, shuffled with the operating
system's cryptographic RNG, written with random keys and no timestamps in one transaction, and the pool, the
credentials and the per-person ledger are purged (only counts per unit remain). Credentials and mail are in
pulse.services.invitations.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pulse.common.db import Database, lock_for_append
from pulse.domain import crypto
from pulse.domain.orgtree import OrgTree, group_at_least
from pulse.domain.participation import Participation, closed_participation, open_participation
from pulse.domain.schedule import add_working_days
from pulse.domain.sealing import open_payload
from pulse.models import (
    Comment,
    CountingMerge,
    Credential,
    CredentialHash,
    Invitation,
    Management,
    PendingResponse,
    Person,
    PersonStatus,
    Response,
    RetiredCredential,
    Round,
    RoundKey,
    RoundParticipation,
    RoundQuestion,
    Survey,
    Unit,
)
from pulse.services import questions as question_service
from pulse.services.org import Scope
from pulse.services.surveys import questions_for_round, schedule_next

log = logging.getLogger(__name__)

#: The free-text question whose wording prompts the optional comment.
COMMENT_QUESTION = "OSA-APT"


class RoundError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RoundKeys:
    """The keys rounds need, derived from the application secret by the caller."""

    wrap: bytes
    token: bytes
    comments: bytes


def round_context(round_id: int) -> bytes:
    """Authenticated context for everything sealed to a round (a blob cannot be moved to another round)."""
    return f"pulse-round:{round_id}".encode()


def comment_key(keys: RoundKeys, round_id: int) -> bytes:
    """The key that keeps one round's comments encrypted until the safety representative releases them."""
    return crypto.subkey(keys.comments, round_context(round_id))


# --- who is invited ------------------------------------------------------------------------------------------


def audience_units(session: Session, survey: Survey) -> set[int]:
    """The survey's units and everything below them, active units only."""
    units = {row.id: row for row in session.execute(select(Unit.id, Unit.parent_id, Unit.active))}
    tree = OrgTree({uid: row.parent_id for uid, row in units.items()})
    return {uid for uid in tree.subtree(u.unit_id for u in survey.units) if units[uid].active}


def counting_units(session: Session, people: Iterable[Person] | Iterable[Row[int, int | None]]
                   ) -> dict[int, int | None]:
    """Where each person's answer counts before small groups are merged: their own unit, except that a manager
    counts in the unit above the highest unit they lead — never in a unit whose results they see
    (docs/ANONYMITY.md, "Counting units"). Someone who leads a top unit has no such place (None)."""
    tree = OrgTree({row.id: row.parent_id for row in session.execute(select(Unit.id, Unit.parent_id))})
    led: dict[int, list[int]] = {}
    for person_id, unit_id in session.execute(select(Management.person_id, Management.unit_id)):
        led.setdefault(person_id, []).append(unit_id)
    result: dict[int, int | None] = {}
    for person in people:
        units = led.get(person.id)
        if not units:
            result[person.id] = person.unit_id
            continue
        top = min(units, key=lambda u: (tree.depth(u), u))
        result[person.id] = tree.parents.get(top)
    return result


def eligible_people(session: Session, unit_ids: set[int]) -> list[Person]:
    """Active people in the units (people on leave or who have left are not invited)."""
    return list(session.scalars(select(Person).where(Person.unit_id.in_(unit_ids),
                                                     Person.status == PersonStatus.ACTIVE).order_by(Person.id)))


# --- opening -------------------------------------------------------------------------------------------------


def open_round(session: Session, survey: Survey, keys: RoundKeys, *, now: dt.datetime, tz: ZoneInfo) -> Round:
    """Open the next round: snapshot the invitees and the units their answers count in, fix thresholds and
    questions. No credentials exist yet: they are all made at once by the mail-out
    (:func:`pulse.services.invitations.mail_out`), which the scheduler runs next.

    :raises RoundError: ``already_open`` (one open round per survey), ``no_questions`` or ``no_one_invited``
        (nobody, or nobody who could be counted in a group of at least k).
    """
    lock_for_append(session, f"pulse.survey.{survey.id}")
    if session.scalar(select(func.count()).select_from(Round).where(Round.survey_id == survey.id,
                                                                    Round.status == "open")):
        raise RoundError("already_open")
    number = (session.scalar(select(func.max(Round.number)).where(Round.survey_id == survey.id)) or 0) + 1
    codes = questions_for_round([q.question_code for q in survey.questions], survey.question_mode,
                                survey.rotation_count, number)
    current = question_service.current_by_code(session, codes)
    questions = [current[c] for c in codes if c in current]
    if not questions:
        raise RoundError("no_questions")
    units = audience_units(session, survey)
    people = eligible_people(session, units)
    tree = OrgTree({row.id: row.parent_id for row in session.execute(select(Unit.id, Unit.parent_id))})
    grouping = group_at_least(tree, counting_units(session, people), survey.min_group_size)
    invited = [p for p in people if p.id in grouping.where]
    if not invited:
        raise RoundError("no_one_invited")
    headcount = session.scalar(select(func.count()).select_from(Person).where(
        Person.unit_id.in_(units), Person.status != PersonStatus.LEFT)) or 0
    remind_at = None
    if survey.reminder_policy != "none" and survey.reminder_after_days < survey.open_days:
        remind_at = add_working_days(now, survey.reminder_after_days, tz)
    rnd = Round(survey_id=survey.id, number=number, status="open", opened_at=now,
                closes_at=add_working_days(now, survey.open_days, tz), remind_at=remind_at,
                reminder_policy=survey.reminder_policy, language=survey.language,
                min_group_size=survey.min_group_size, min_dist_size=survey.min_dist_size,
                min_comment_size=survey.min_comment_size, comment_enabled=survey.comment_enabled,
                public_key=b"", headcount=headcount, invited=len(invited),
                excluded=len(people) - len(invited), mailout="pending", mailout_attempts=0, undelivered=0)
    session.add(rnd)
    session.flush()
    rnd.public_key, wrapped = crypto.new_round_keypair(keys.wrap, round_context(rnd.id))
    session.add(RoundKey(round_id=rnd.id, wrapped_private_key=wrapped))
    if survey.comment_enabled:
        prompt = question_service.current_by_code(session, [COMMENT_QUESTION]).get(COMMENT_QUESTION)
        rnd.comment_question_id = prompt.id if prompt is not None else None
    rnd.questions = [RoundQuestion(position=i, question_id=q.id) for i, q in enumerate(questions)]
    session.execute(insert(Invitation), [
        {"round_id": rnd.id, "person_id": p.id, "unit_id": grouping.where[p.id],
         "language": p.language if p.language in ("sv", "en") else survey.language,
         "mailed": False, "reminded": False}
        for p in invited
    ])
    if grouping.moved:
        session.execute(insert(CountingMerge), [
            {"round_id": rnd.id, "unit_id": unit, "counted_in_id": target}
            for unit, target in sorted(grouping.moved.items())
        ])
    schedule_next(session, survey, now=now, tz=tz)
    session.flush()
    return rnd


# --- closing -------------------------------------------------------------------------------------------------


@dataclass
class CloseResult:
    answers: int
    comments: int
    unreadable: int
    participation: dict[int, tuple[int, int]] = field(default_factory=dict)


def close_round(session: Session, rnd: Round, keys: RoundKeys, *, now: dt.datetime,
                shuffle: Callable[[list[object]], None] | None = None) -> CloseResult:
    """Close a round: open the sealed pool, shuffle, store, purge the pool, the credentials and the per-person
    ledger (only counts per unit remain).

    Everything happens in the caller's single transaction, so an interrupted close changes nothing. After the
    caller commits, :meth:`pulse.common.db.Database.scrub` removes what the deleted rows leave on disk.
    :raises RoundError: ``not_open``.
    """
    round_key = session.get(RoundKey, rnd.id)
    if rnd.status != "open" or round_key is None:
        raise RoundError("not_open")
    if session.get_bind().dialect.name == "postgresql":
        # An answer on its way spends its credential first. Locking the round's credentials before reading the pool
        # makes such an answer either committed now (and read below) or wait for this close and find its credential
        # gone — never stored after the pool was read and then deleted uncounted. (SQLite: the close holds the write
        # lock already.)
        session.execute(select(Credential.id).where(Credential.round_id == rnd.id).with_for_update())
    context = round_context(rnd.id)
    private_key = crypto.unwrap_round_key(keys.wrap, round_key.wrapped_private_key, context)
    answers: list[dict[str, object]] = []
    comments: list[tuple[int, str]] = []
    unreadable = 0
    for (sealed,) in session.execute(select(PendingResponse.sealed).where(PendingResponse.round_id == rnd.id)):
        try:
            unit_id, values, text = open_payload(crypto.unseal(private_key, sealed, context))
        except (crypto.SealError, ValueError):
            unreadable += 1  # changed in the database; it cannot be trusted, so it is not counted
            continue
        answers.append({"unit_id": unit_id, "values": json.dumps(values, separators=(",", ":"))})
        if text:
            comments.append((unit_id, text))
    rng = secrets.SystemRandom()
    mix = shuffle or rng.shuffle
    mix(answers)  # type: ignore[arg-type]
    mix(comments)  # type: ignore[arg-type]
    if answers:
        session.execute(insert(Response), [{"id": str(uuid.uuid4()), "round_id": rnd.id, **a} for a in answers])
    ckey = comment_key(keys, rnd.id)
    if comments:
        session.execute(insert(Comment), [
            {"id": str(uuid.uuid4()), "round_id": rnd.id, "unit_id": unit_id, "status": "pending",
             "sealed": crypto.encrypt(ckey, text.encode(), context)}
            for unit_id, text in comments
        ])
    session.execute(delete(PendingResponse).where(PendingResponse.round_id == rnd.id))

    invited = Counter[int]()
    invitations = session.execute(select(Invitation.person_id, Invitation.unit_id)
                                  .where(Invitation.round_id == rnd.id)).all()
    for _, unit_id in invitations:
        invited[unit_id] += 1
    # Who answered is known only per unit, from the spent credentials: the ledger never knew.
    answered = Counter[int](dict(session.execute(
        select(Credential.unit_id, func.count()).where(Credential.round_id == rnd.id, Credential.spent.is_(True))
        .group_by(Credential.unit_id)).all()))
    if invited:
        session.execute(insert(RoundParticipation), [
            {"round_id": rnd.id, "unit_id": u, "invited": invited[u], "answered": answered[u]}
            for u in sorted(invited)
        ])
    added, removed, moved = roster_changes(session, rnd, {p: u for p, u in invitations})
    # Keep only the keyed hashes of the credentials, tied to the round and nothing else, so that a late answer is
    # told kindly that the round has closed.
    pool = select(Credential.id).where(Credential.round_id == rnd.id)
    session.execute(insert(RetiredCredential).from_select(
        ["hash", "round_id"], select(CredentialHash.hash, Credential.round_id).join(
            Credential, Credential.id == CredentialHash.credential_id).where(Credential.round_id == rnd.id)))
    session.execute(delete(CredentialHash).where(CredentialHash.credential_id.in_(pool)))
    session.execute(delete(Credential).where(Credential.round_id == rnd.id))
    session.execute(delete(Invitation).where(Invitation.round_id == rnd.id))
    session.execute(delete(RoundKey).where(RoundKey.round_id == rnd.id))  # the pool can never be opened again
    rnd.status = "closed"
    rnd.closed_at = now
    rnd.scrubbed = False  # until Database.scrub() has run after this commit
    if session.get_bind().dialect.name == "postgresql":
        rnd.close_xid = session.scalar(select(func.txid_current() % 4294967296))
    rnd.answers, rnd.comments = len(answers), len(comments)
    rnd.roster_added, rnd.roster_removed, rnd.roster_moved = added, removed, moved
    session.flush()
    return CloseResult(len(answers), len(comments), unreadable,
                       {u: (invited[u], answered[u]) for u in invited})


def roster_changes(session: Session, rnd: Round, invited: dict[int, int]) -> tuple[int, int, int]:
    """People who joined the audience, left it, or would now count in another unit, since the round opened."""
    survey = session.get_one(Survey, rnd.survey_id)
    # Ids and units only: loading every person of a large organisation as an object was a sixth of a close.
    people = session.execute(select(Person.id, Person.unit_id).where(
        Person.unit_id.in_(audience_units(session, survey)), Person.status == PersonStatus.ACTIVE)).all()
    tree = OrgTree({row.id: row.parent_id for row in session.execute(select(Unit.id, Unit.parent_id))})
    now_where = group_at_least(tree, counting_units(session, people), rnd.min_group_size).where
    added = sum(1 for person_id in now_where if person_id not in invited)
    removed = sum(1 for person_id in invited if person_id not in now_where)
    moved = sum(1 for person_id, unit in invited.items() if person_id in now_where and now_where[person_id] != unit)
    return added, removed, moved


# --- status --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundStatus:
    round: Round
    invited: int
    #: Answers so far (a band while open), or the exact count after close where the k rule allows it.
    participation: Participation
    mailed: int | None
    #: Units whose people count in a unit above for this round (names), and where.
    merges: list[tuple[str, str | None]]
    comments: int | None


def round_status(session: Session, rnd: Round) -> RoundStatus:
    """Figures for the integrity summary, every count safe by the k rule (docs/ANONYMITY.md, "Counts outside
    the release"): while open, participation only as a band at least k people wide; after close, exact counts
    only where the release would show them."""
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    merges = [(names.get(unit, "?"), names.get(target) if target is not None else None)
              for unit, target in session.execute(select(CountingMerge.unit_id, CountingMerge.counted_in_id)
                                                  .where(CountingMerge.round_id == rnd.id))]
    merges.sort(key=lambda pair: pair[0].casefold())
    if rnd.status == "open":
        answered = session.scalar(select(func.count()).select_from(Credential).where(
            Credential.round_id == rnd.id, Credential.spent.is_(True))) or 0
        mailed = session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == rnd.id, Invitation.mailed.is_(True))) or 0
        return RoundStatus(rnd, rnd.invited, open_participation(rnd.invited, answered, rnd.min_group_size), mailed,
                           merges, None)
    shown = closed_participation(rnd.invited, rnd.answers or 0, rnd.min_group_size)
    comments = closed_participation(rnd.answers or 0, rnd.comments or 0, rnd.min_group_size).answered
    return RoundStatus(rnd, rnd.invited, shown, None, merges, comments if shown.answered is not None else None)


def visible_rounds(session: Session, scope: Scope) -> list[Round]:
    """Rounds whose audience overlaps what the viewer may see (admins: all), newest first."""
    surveys = list(session.scalars(select(Survey)))
    allowed = {s.id for s in surveys if scope.everything or audience_units(session, s) & scope.unit_ids}
    if not allowed:
        return []
    return list(session.scalars(select(Round).where(Round.survey_id.in_(allowed))
                                .order_by(Round.opened_at.desc(), Round.id.desc())))


def scrub_closed(database: Database) -> bool:
    """Scrub what closed rounds left on disk, if any round still needs it; True when nothing is owed any more.

    Call it after a close commits, and on every scheduler run: a scrub that could not finish (a reader holding an
    old snapshot, a busy table) is retried until it does (docs/ANONYMITY.md, "After close").
    """
    with database.session() as session:
        rows = session.execute(select(Round.id, Round.close_xid).where(Round.status == "closed",
                                                                       Round.scrubbed.is_(False))).all()
    owed = [round_id for round_id, _ in rows]
    if not owed:
        return True
    xids = [xid for _, xid in rows if xid is not None]
    if not database.scrub(since_xid=min(xids) if xids else None):
        log.warning("scrub after close not finished (round %s): an older reader or a busy table; retrying later",
                    ", ".join(map(str, owed)))
        return False
    with database.session(write=True) as session:
        session.execute(update(Round).where(Round.id.in_(owed)).values(scrubbed=True))
        session.commit()
    database.checkpoint()  # SQLite: that last write leaves the write-ahead log empty again too
    return True
