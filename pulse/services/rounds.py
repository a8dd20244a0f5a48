"""Rounds: opening (snapshot of who is invited and where they count), invitations and reminders, closing.

Closing is where unlinkability is made: the sealed pending answers are opened, shuffled with the operating
system's cryptographic RNG, written with random keys and no timestamps in one transaction, and the pool and the
per-person ledger are purged (only counts per unit remain).
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

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from pulse import crypto
from pulse.db import lock_for_append
from pulse.models import (
    Comment,
    Invitation,
    InvitationKey,
    Management,
    PendingResponse,
    Person,
    PersonStatus,
    Response,
    RetiredCredential,
    Round,
    RoundParticipation,
    RoundQuestion,
    Survey,
    Unit,
)
from pulse.orgtree import OrgTree
from pulse.schedule import add_working_days
from pulse.services import questions as question_service
from pulse.services.org import Scope
from pulse.services.surveys import questions_for_round, schedule_next

log = logging.getLogger(__name__)

#: Characters of the typed code: no 0/O, 1/I/L, so it reads aloud and types without mistakes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # ≈ 59 bits; guessing is also rate limited
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


def counting_units(session: Session, people: Iterable[Person]) -> dict[int, int]:
    """Where each person's answer counts: their own unit, except that a manager counts in the unit above the
    highest unit they lead — never in a unit whose results they see (ANONYMITY.md)."""
    tree = OrgTree({row.id: row.parent_id for row in session.execute(select(Unit.id, Unit.parent_id))})
    led: dict[int, list[int]] = {}
    for person_id, unit_id in session.execute(select(Management.person_id, Management.unit_id)):
        led.setdefault(person_id, []).append(unit_id)
    result = {}
    for person in people:
        units = led.get(person.id)
        if not units:
            assert person.unit_id is not None
            result[person.id] = person.unit_id
            continue
        top = min(units, key=lambda u: (tree.depth(u), u))
        result[person.id] = tree.parents.get(top) or top
    return result


def eligible_people(session: Session, unit_ids: set[int]) -> list[Person]:
    """Active people in the units (people on leave or who have left are not invited)."""
    return list(session.scalars(select(Person).where(Person.unit_id.in_(unit_ids),
                                                     Person.status == PersonStatus.ACTIVE).order_by(Person.id)))


# --- opening -------------------------------------------------------------------------------------------------


def open_round(session: Session, survey: Survey, keys: RoundKeys, *, now: dt.datetime, tz: ZoneInfo) -> Round:
    """Open the next round: snapshot the invitees and their counting units, fix thresholds and questions.

    Invitation e-mails go out with :func:`mail_invitations` (after this transaction commits).
    :raises RoundError: ``already_open`` (one open round per survey), ``no_questions`` or ``no_one_invited``.
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
    if not people:
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
                public_key=b"", headcount=headcount, invited=len(people))
    session.add(rnd)
    session.flush()
    rnd.public_key, rnd.wrapped_private_key = crypto.new_round_keypair(keys.wrap, round_context(rnd.id))
    if survey.comment_enabled:
        prompt = question_service.current_by_code(session, [COMMENT_QUESTION]).get(COMMENT_QUESTION)
        rnd.comment_question_id = prompt.id if prompt is not None else None
    rnd.questions = [RoundQuestion(position=i, question_id=q.id) for i, q in enumerate(questions)]
    where = counting_units(session, people)
    session.execute(insert(Invitation), [
        {"round_id": rnd.id, "person_id": p.id, "unit_id": where[p.id],
         "language": p.language if p.language in ("sv", "en") else survey.language,
         "answered": False, "mailed": False, "reminded": False}
        for p in people
    ])
    schedule_next(session, survey, now=now, tz=tz)
    session.flush()
    return rnd


# --- credentials and mail ------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What a person typed → the stored form (case, spaces and dashes do not matter)."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def credential_hash(token_key: bytes, credential: str) -> str:
    return crypto.keyed_hash(token_key, credential)


def issue_credentials(session: Session, invitation_id: int, token_key: bytes, *, kinds: tuple[str, ...]
                      = ("link", "code")) -> dict[str, str]:
    """Create fresh credentials for an invitation and store only their keyed hashes.

    Returns ``{kind: secret}``; the secrets exist only in memory and in the e-mail sent with them.
    """
    issued: dict[str, str] = {}
    for kind in kinds:
        secret = crypto.new_token(18) if kind != "code" else new_code()
        lookup = normalise_code(secret) if kind == "code" else secret
        session.add(InvitationKey(hash=credential_hash(token_key, lookup), invitation_id=invitation_id, kind=kind))
        issued[kind] = secret
    session.flush()
    return issued


@dataclass(frozen=True)
class MailItem:
    """One invitation or reminder to send, with its fresh credentials."""

    invitation_id: int
    to: str
    language: str
    link_token: str
    code: str


def prepare_mail(session: Session, rnd: Round, token_key: bytes, *, reminder: bool, limit: int) -> list[MailItem]:
    """Claim up to ``limit`` invitations that still need this mail and issue their credentials.

    The caller commits, sends, then calls :func:`mark_mailed`. A crash in between leaves them unmarked, so the
    next run sends them again with new credentials (the old ones keep working).
    """
    flag = Invitation.reminded if reminder else Invitation.mailed
    query = (select(Invitation.id, Invitation.language, Person.email)
             .join(Person, Person.id == Invitation.person_id)
             .where(Invitation.round_id == rnd.id, flag.is_(False)).order_by(Invitation.id).limit(limit))
    if reminder and rnd.reminder_policy == "non_respondents":
        query = query.where(Invitation.answered.is_(False))
    items = []
    for invitation_id, language, email in session.execute(query).all():
        creds = issue_credentials(session, invitation_id, token_key)
        items.append(MailItem(invitation_id, email, language, creds["link"], creds["code"]))
    return items


def mark_mailed(session: Session, ids: list[int], *, reminder: bool) -> None:
    column = "reminded" if reminder else "mailed"
    for start in range(0, len(ids), 500):
        session.execute(update(Invitation).where(Invitation.id.in_(ids[start:start + 500])).values({column: True}))
    session.flush()


def reminder_done(session: Session, rnd: Round) -> bool:
    query = select(func.count()).select_from(Invitation).where(Invitation.round_id == rnd.id,
                                                                Invitation.reminded.is_(False))
    if rnd.reminder_policy == "non_respondents":
        query = query.where(Invitation.answered.is_(False))
    return not session.scalar(query)


# --- closing -------------------------------------------------------------------------------------------------


@dataclass
class CloseResult:
    answers: int
    comments: int
    unreadable: int
    participation: dict[int, tuple[int, int]] = field(default_factory=dict)


def close_round(session: Session, rnd: Round, keys: RoundKeys, *, now: dt.datetime,
                shuffle: Callable[[list[object]], None] | None = None) -> CloseResult:
    """Close a round: open the sealed pool, shuffle, store, purge the pool and the per-person ledger.

    Everything happens in the caller's single transaction, so an interrupted close changes nothing.
    :raises RoundError: ``not_open``.
    """
    if rnd.status != "open" or rnd.wrapped_private_key is None:
        raise RoundError("not_open")
    context = round_context(rnd.id)
    private_key = crypto.unwrap_round_key(keys.wrap, rnd.wrapped_private_key, context)
    answers: list[dict[str, object]] = []
    comments: list[tuple[int, str]] = []
    unreadable = 0
    for (sealed,) in session.execute(select(PendingResponse.sealed).where(PendingResponse.round_id == rnd.id)):
        try:
            payload = json.loads(crypto.unseal(private_key, sealed, context))
        except (crypto.SealError, ValueError):
            unreadable += 1  # changed in the database; it cannot be trusted, so it is not counted
            continue
        answers.append({"unit_id": payload["u"], "values": json.dumps(payload["v"], separators=(",", ":"))})
        if payload.get("c"):
            comments.append((payload["u"], payload["c"]))
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
    answered = Counter[int]()
    invitations = session.execute(select(Invitation.person_id, Invitation.unit_id, Invitation.answered)
                                  .where(Invitation.round_id == rnd.id)).all()
    for _, unit_id, did_answer in invitations:
        invited[unit_id] += 1
        answered[unit_id] += int(did_answer)
    if invited:
        session.execute(insert(RoundParticipation), [
            {"round_id": rnd.id, "unit_id": u, "invited": invited[u], "answered": answered[u]}
            for u in sorted(invited)
        ])
    added, removed, moved = roster_changes(session, rnd, {p: u for p, u, _ in invitations})
    # Keep only the keyed hashes of the credentials, tied to the round and nobody, so that a late answer is told
    # kindly that the round has closed.
    session.execute(insert(RetiredCredential).from_select(
        ["hash", "round_id"], select(InvitationKey.hash, Invitation.round_id).join(
            Invitation, Invitation.id == InvitationKey.invitation_id).where(Invitation.round_id == rnd.id)))
    session.execute(delete(InvitationKey).where(InvitationKey.invitation_id.in_(
        select(Invitation.id).where(Invitation.round_id == rnd.id))))
    session.execute(delete(Invitation).where(Invitation.round_id == rnd.id))
    rnd.status = "closed"
    rnd.closed_at = now
    rnd.wrapped_private_key = None  # the pool can never be opened again
    rnd.answers, rnd.comments = len(answers), len(comments)
    rnd.roster_added, rnd.roster_removed, rnd.roster_moved = added, removed, moved
    session.flush()
    return CloseResult(len(answers), len(comments), unreadable,
                       {u: (invited[u], answered[u]) for u in invited})


def roster_changes(session: Session, rnd: Round, invited: dict[int, int]) -> tuple[int, int, int]:
    """People who joined the audience, left it, or moved to another counting unit since the round opened."""
    survey = session.get_one(Survey, rnd.survey_id)
    people = eligible_people(session, audience_units(session, survey))
    now_where = counting_units(session, people)
    added = sum(1 for p in people if p.id not in invited)
    removed = sum(1 for person_id in invited if person_id not in now_where)
    moved = sum(1 for person_id, unit in invited.items() if person_id in now_where and now_where[person_id] != unit)
    return added, removed, moved


# --- status --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundStatus:
    round: Round
    invited: int
    answered: int | None
    #: Participation rounded down to a 10 % band while open (None when fewer than 10 were invited).
    band: int | None
    mailed: int | None


def round_status(session: Session, rnd: Round) -> RoundStatus:
    """Figures for the integrity summary. While a round is open, participation is only shown as a 10 % band,
    and only when at least 10 were invited (ANONYMITY.md: nothing is live)."""
    if rnd.status == "open":
        invited = session.scalar(select(func.count()).select_from(Invitation).where(Invitation.round_id == rnd.id)) or 0
        answered = session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == rnd.id, Invitation.answered.is_(True))) or 0
        mailed = session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.round_id == rnd.id, Invitation.mailed.is_(True))) or 0
        band = (answered * 10 // invited) * 10 if invited >= 10 else None
        return RoundStatus(rnd, invited, None, band, mailed)
    return RoundStatus(rnd, rnd.invited, rnd.answers, None, None)


def visible_rounds(session: Session, scope: Scope) -> list[Round]:
    """Rounds whose audience overlaps what the viewer may see (admins: all), newest first."""
    surveys = list(session.scalars(select(Survey)))
    allowed = {s.id for s in surveys if scope.everything or audience_units(session, s) & scope.unit_ids}
    if not allowed:
        return []
    return list(session.scalars(select(Round).where(Round.survey_id.in_(allowed))
                                .order_by(Round.opened_at.desc(), Round.id.desc())))
