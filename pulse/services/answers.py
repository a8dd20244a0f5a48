"""Answering: find an open invitation from a link token or typed code, check answers, seal and store them.

Spending the invitation and storing the sealed answer happen in one transaction: of two concurrent submissions
of the same credential exactly one succeeds. Nothing here logs, and no exception text carries a credential.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from pulse import crypto
from pulse.models import Invitation, InvitationKey, PendingResponse, Question, RetiredCredential, Round, RoundQuestion
from pulse.scales import check_value
from pulse.services.rounds import credential_hash, normalise_code, round_context

#: Longest comment accepted (characters). Longer ones are refused with a message, never cut silently.
MAX_COMMENT = 2000
#: Longest credential worth hashing; anything longer is garbage.
MAX_CREDENTIAL = 100
#: Every sealed answer is padded to this size (or a multiple), so the size of a pending row — which a database
#: administrator could tie to the person whose invitation was spent in the same transaction — does not reveal
#: whether, or how much, they wrote in the comment.
PAD_TO = 8192


class CredentialError(Exception):
    """The link or code cannot be used: ``unknown``, ``used`` or ``closed``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AnswerError(ValueError):
    """An answer set is not acceptable. ``problems`` maps question codes (or ``comment``) to reasons."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
        self.problems = problems


@dataclass(frozen=True)
class QuestionView:
    """What the answer page and validation need of one question version (immutable, so cacheable)."""

    code: str
    version: int
    scale: str
    allow_skip: bool
    text_sv: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_sv


@dataclass(frozen=True)
class RoundView:
    """The parts of an open round that never change while it is open: cached per process."""

    id: int
    number: int
    survey_name: str
    closes_at: dt.datetime
    min_group_size: int
    min_comment_size: int
    comment_enabled: bool
    public_key: bytes
    questions: tuple[QuestionView, ...]
    comment_prompt: QuestionView | None
    #: Invited people per counting unit (the snapshot taken at opening).
    unit_sizes: Mapping[int, int]


#: Open-round views per database (engine), so two apps in one process never share entries.
_rounds: WeakKeyDictionary[Engine, OrderedDict[int, RoundView]] = WeakKeyDictionary()
_rounds_lock = threading.Lock()
_ROUNDS_CACHED = 64


def _question_view(question: Question) -> QuestionView:
    return QuestionView(question.code, question.version, question.scale, question.allow_skip, question.text_sv,
                        question.text_en)


def round_view(session: Session, round_id: int) -> RoundView:
    """The cached view of an open round (questions, thresholds, key and group sizes are fixed at opening)."""
    engine = session.get_bind().engine
    with _rounds_lock:
        cache = _rounds.setdefault(engine, OrderedDict())
        cached = cache.get(round_id)
        if cached is not None:
            cache.move_to_end(round_id)
            return cached
    rnd = session.get_one(Round, round_id)
    questions = session.scalars(select(Question).join(RoundQuestion, RoundQuestion.question_id == Question.id)
                                .where(RoundQuestion.round_id == round_id).order_by(RoundQuestion.position)).all()
    prompt = session.get(Question, rnd.comment_question_id) if rnd.comment_question_id else None
    sizes = dict(session.execute(select(Invitation.unit_id, func.count()).where(Invitation.round_id == round_id)
                                 .group_by(Invitation.unit_id)).all())
    view = RoundView(rnd.id, rnd.number, rnd.survey.name, rnd.closes_at, rnd.min_group_size, rnd.min_comment_size,
                     rnd.comment_enabled, rnd.public_key, tuple(_question_view(q) for q in questions),
                     _question_view(prompt) if prompt else None, sizes)
    with _rounds_lock:
        cache[round_id] = view
        while len(cache) > _ROUNDS_CACHED:
            cache.popitem(last=False)
    return view


@dataclass(frozen=True)
class OpenInvitation:
    """What the answer page needs: the round, where the answer counts, the language."""

    invitation_id: int
    round: RoundView
    unit_id: int
    language: str

    @property
    def questions(self) -> tuple[QuestionView, ...]:
        return self.round.questions

    @property
    def unit_size(self) -> int:
        """Invited people in the same counting unit (for the small-group notice)."""
        return self.round.unit_sizes.get(self.unit_id, 0)


def _lookups(credential: str) -> list[str]:
    raw = credential.strip()
    code = normalise_code(raw)
    return [c for c in dict.fromkeys((raw, code)) if c]


def find_invitation(session: Session, token_key: bytes, credential: str, *, now: dt.datetime) -> OpenInvitation:
    """The open invitation behind a link token or typed code. Reading never uses it up.

    :raises CredentialError: ``unknown`` (no such credential), ``used`` (already answered) or ``closed``.
    """
    if not credential or len(credential) > MAX_CREDENTIAL:
        raise CredentialError("unknown")
    hashes = [credential_hash(token_key, value) for value in _lookups(credential)]
    row = session.execute(
        select(Invitation.id, Invitation.round_id, Invitation.unit_id, Invitation.language, Invitation.answered,
               Round.status, Round.closes_at)
        .join(InvitationKey, InvitationKey.invitation_id == Invitation.id).join(Round, Round.id == Invitation.round_id)
        .where(InvitationKey.hash.in_(hashes)).limit(1)).first()
    if row is None:
        if session.scalar(select(RetiredCredential.round_id).where(RetiredCredential.hash.in_(hashes)).limit(1)):
            raise CredentialError("closed")
        raise CredentialError("unknown")
    invitation_id, round_id, unit_id, language, answered, status, closes_at = row
    if status != "open" or closes_at <= now:
        raise CredentialError("closed")
    if answered:
        raise CredentialError("used")
    return OpenInvitation(invitation_id, round_view(session, round_id), unit_id, language)


def check_answers(questions: tuple[QuestionView, ...] | list[QuestionView], answers: Mapping[str, object],
                  comment: str | None, *, comment_enabled: bool) -> tuple[list[int | None], str | None]:
    """Validate an answer set against the round's questions; returns values in question order.

    A question left out counts as "prefer not to say" where that is offered, and is a problem where it is not.
    :raises AnswerError: ``unknown_question``, ``out_of_scale``, ``required``, ``comment_too_long``,
        ``comments_closed``.
    """
    problems: dict[str, str] = {}
    by_code = {q.code: q for q in questions}
    for code in answers:
        if code not in by_code:
            problems[str(code)[:40]] = "unknown_question"
    values: list[int | None] = []
    for question in questions:
        raw = answers.get(question.code)
        try:
            values.append(check_value(question.scale, raw, allow_skip=question.allow_skip))
        except ValueError as exc:
            problems[question.code] = "required" if str(exc) == "skip_not_allowed" else "out_of_scale"
            values.append(None)
    text = (comment or "").strip() or None
    if text is not None:
        if not comment_enabled:
            problems["comment"] = "comments_closed"
        elif len(text) > MAX_COMMENT:
            problems["comment"] = "comment_too_long"
    if problems:
        raise AnswerError(problems)
    return values, text


def _pad(payload: bytes) -> bytes:
    # JSON ignores trailing white space, so the padding needs no framing.
    size = max(PAD_TO, -(-len(payload) // 4096) * 4096)
    return payload + b" " * (size - len(payload))


def submit(session: Session, token_key: bytes, credential: str, answers: Mapping[str, object],
           comment: str | None, *, now: dt.datetime, found: OpenInvitation | None = None) -> None:
    """Check and store one answer set, spending the invitation (the caller commits).

    :raises CredentialError: the credential is unknown, used (also by a concurrent submission) or its round closed.
    :raises AnswerError: the answers do not fit the round's questions.
    """
    found = found or find_invitation(session, token_key, credential, now=now)
    values, text = check_answers(found.questions, answers, comment, comment_enabled=found.round.comment_enabled)
    # Spend first: a concurrent submission of the same invitation waits here and then finds nothing to spend.
    spent = session.execute(update(Invitation).where(Invitation.id == found.invitation_id,
                                                     Invitation.answered.is_(False)).values(answered=True),
                            execution_options={"synchronize_session": False})
    if getattr(spent, "rowcount", 0) != 1:
        raise CredentialError("used")
    payload = _pad(json.dumps({"u": found.unit_id, "v": values, "c": text}, separators=(",", ":")).encode())
    session.execute(insert(PendingResponse).values(
        id=str(uuid.uuid4()), round_id=found.round.id,
        sealed=crypto.seal(found.round.public_key, payload, round_context(found.round.id))))


@dataclass(frozen=True)
class PendingInvitation:
    round_id: int
    survey: str
    closes_at: dt.datetime


def open_invitations(session: Session, person_id: int, *, now: dt.datetime) -> list[PendingInvitation]:
    """Open rounds this person is invited to and has not answered (for their own start page only)."""
    rows = session.execute(
        select(Round.id, Round.closes_at, Round.survey_id).join(Invitation, Invitation.round_id == Round.id)
        .where(Invitation.person_id == person_id, Invitation.answered.is_(False), Round.status == "open",
               Round.closes_at > now).order_by(Round.closes_at)).all()
    from pulse.models import Survey

    return [PendingInvitation(rid, session.get_one(Survey, sid).name, closes) for rid, closes, sid in rows]


def issue_web_credential(session: Session, token_key: bytes, *, person_id: int, round_id: int,
                         now: dt.datetime) -> str:
    """A one-off credential so a signed-in person can answer through the same cookie-less path.

    :raises CredentialError: ``unknown`` when the person has no open, unanswered invitation to the round.
    """
    from pulse.services.rounds import issue_credentials

    invitation = session.scalar(select(Invitation).join(Round, Round.id == Invitation.round_id).where(
        Invitation.person_id == person_id, Invitation.round_id == round_id, Invitation.answered.is_(False),
        Round.status == "open", Round.closes_at > now))
    if invitation is None:
        raise CredentialError("unknown")
    return issue_credentials(session, invitation.id, token_key, kinds=("web",))["web"]
