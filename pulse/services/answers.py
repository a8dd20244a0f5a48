"""Answering: find the credential behind a link token or typed code, check answers, seal and store them.

Spending the credential and storing the sealed answer happen in one transaction: of two concurrent submissions
of the same credential exactly one succeeds. That transaction writes only to the credential pool and the pending
pool, neither of which knows any person (docs/ANONYMITY.md, "Storage while a round is open"). Nothing here logs,
and no exception text carries a credential.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from pulse.domain import crypto
from pulse.domain.scales import check_value
from pulse.domain.sealing import MAX_COMMENT, SEALED_SIZE, SealingError, seal_payload
from pulse.models import (
    Credential,
    CredentialHash,
    Invitation,
    PendingResponse,
    Question,
    RetiredCredential,
    Round,
    RoundQuestion,
)
from pulse.services.invitations import CredentialError, credential_hash
from pulse.services.rounds import round_context

#: Longest credential worth hashing; anything longer is garbage.
MAX_CREDENTIAL = 100

__all__ = ["MAX_COMMENT", "SEALED_SIZE", "AnswerError", "CredentialError", "check_answers", "find_credential",
           "submit"]


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
class OpenCredential:
    """What the answer page needs: the round, and the unit the answer counts in. Nothing about a person: the
    credential pool does not know whose a credential is. Whether it is used is only said when an answer is
    stored (see :func:`submit`)."""

    credential_id: str
    round: RoundView
    unit_id: int

    @property
    def questions(self) -> tuple[QuestionView, ...]:
        return self.round.questions

    @property
    def unit_size(self) -> int:
        """Invited people counting in the same unit (at least k; for the notice about small groups)."""
        return self.round.unit_sizes.get(self.unit_id, 0)


def find_credential(session: Session, token_key: bytes, credential: str, *, now: dt.datetime) -> OpenCredential:
    """The open round behind a link token or typed code. Reading never uses it up, and it does not say whether
    the credential was used: anyone holding someone's invitation could otherwise learn whether they answered
    (docs/ANONYMITY.md, "Who learns who answered").

    :raises CredentialError: ``unknown`` (no such credential), ``closed`` or ``not_ready`` (invitations still going
        out).
    """
    if not credential or len(credential) > MAX_CREDENTIAL or not credential.isascii():
        raise CredentialError("unknown")  # link tokens and codes are ASCII; anything else cannot be one
    digest = credential_hash(token_key, credential)
    row = session.execute(
        select(Credential.id, Credential.round_id, Credential.unit_id, Round.status, Round.closes_at, Round.mailout)
        .join(CredentialHash, CredentialHash.credential_id == Credential.id)
        .join(Round, Round.id == Credential.round_id)
        .where(CredentialHash.hash == digest)).first()
    if row is None:
        if session.scalar(select(RetiredCredential.round_id).where(RetiredCredential.hash == digest)):
            raise CredentialError("closed")
        raise CredentialError("unknown")
    credential_id, round_id, unit_id, status, closes_at, mailout = row
    if status != "open" or closes_at <= now:
        raise CredentialError("closed")
    if mailout != "done":
        raise CredentialError("not_ready")
    return OpenCredential(credential_id, round_view(session, round_id), unit_id)


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
        elif not _is_text(text):
            problems["comment"] = "not_text"
    if problems:
        raise AnswerError(problems)
    return values, text


def _is_text(text: str) -> bool:
    """Whether ``text`` can be stored as UTF-8 (a lone surrogate, e.g. JSON's "\\ud800", cannot)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def submit(session: Session, token_key: bytes, credential: str, answers: Mapping[str, object],
           comment: str | None, *, now: dt.datetime, found: OpenCredential | None = None) -> None:
    """Check and store one answer set, spending the credential (the caller commits).

    The answers are checked first, so a credential's state is only revealed to someone who sends a complete,
    valid answer — which, for an unused credential, uses it.

    :raises CredentialError: the credential is unknown, used (also by a concurrent submission) or its round closed.
    :raises AnswerError: the answers do not fit the round's questions.
    """
    found = found or find_credential(session, token_key, credential, now=now)
    values, text = check_answers(found.questions, answers, comment, comment_enabled=found.round.comment_enabled)
    # Spend first: a concurrent submission of the same credential waits here and then finds nothing to spend.
    spent = session.execute(update(Credential).where(Credential.id == found.credential_id,
                                                     Credential.spent.is_(False)).values(spent=True),
                            execution_options={"synchronize_session": False})
    if getattr(spent, "rowcount", 0) != 1:
        raise CredentialError("used")
    session.execute(insert(PendingResponse).values(
        id=str(uuid.uuid4()), round_id=found.round.id,
        sealed=crypto.seal(found.round.public_key, _payload(found.unit_id, values, text),
                           round_context(found.round.id))))


def _payload(unit_id: int, values: list[int | None], text: str | None) -> bytes:
    try:
        return seal_payload(unit_id, values, text)
    except SealingError:
        raise AnswerError({"comment": "comment_too_long"}) from None  # not within MAX_COMMENT and MAX_QUESTIONS
