"""Answering: find the credential behind a link token or typed code, check answers, seal and store them.

Spending the credential and storing the sealed answer happen in one transaction: of two concurrent submissions
of the same credential exactly one succeeds. That transaction writes only to the credential pool and the pending
pool, neither of which knows any person (docs/ANONYMITY.md, "Storage while a round is open"). Nothing here logs,
and no exception text carries a credential.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from pulse.common.cache import MB, PerDatabase, deep_size
from pulse.common.db import Database
from pulse.domain import crypto
from pulse.domain.scales import check_value
from pulse.domain.sealing import MAX_COMMENT, SEALED_SIZE, SealingError, seal_payload
from pulse.models import Invitation, Question, Round, RoundQuestion
from pulse.services.invitations import CredentialError, credential_hash
from pulse.services.rounds import round_context

#: Longest credential worth hashing; anything longer is garbage.
MAX_CREDENTIAL = 100

__all__ = ["MAX_COMMENT", "SEALED_SIZE", "AnswerError", "CredentialError", "EmptyAnswerError", "asks_before_empty",
           "check_answers", "find_credential", "store", "submit"]


class AnswerError(ValueError):
    """An answer set is not acceptable. ``problems`` maps question codes (or ``comment``) to reasons."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
        self.problems = problems


class EmptyAnswerError(ValueError):
    """An answer set with no answer, no "prefer not to say" and no comment, sent without confirming it: it would
    use the invitation up for nothing, so it is refused before anything is written and the credential stays
    unspent (:func:`asks_before_empty`)."""


@dataclass(frozen=True)
class QuestionView:
    """What the answer page and validation need of one question version (immutable, so cacheable)."""

    code: str
    version: int
    scale: str
    allow_skip: bool
    text_sv: str
    text_en: str
    #: The question's area: after victimisation and threats questions the thanks page says where to get help.
    area: str = ""

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


#: Open-round views per database. A view of the reference organisation's round (1,655 group sizes) is about
#: 200 KB; 16 MB holds every round a deployment has open at once.
_rounds: PerDatabase[RoundView] = PerDatabase("open-round views", 16 * MB, deep_size)


def _question_view(question: Question) -> QuestionView:
    return QuestionView(question.code, question.version, question.scale, question.allow_skip, question.text_sv,
                        question.text_en, question.area)


def round_view(session: Session, round_id: int) -> RoundView:
    """The cached view of an open round (questions, thresholds, key and group sizes are fixed at opening)."""
    cache = _rounds(session.get_bind().engine)
    cached = cache.get(round_id)
    if cached is not None:
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
    return cache.put(round_id, view)


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


#: The answering path's statements, written out per database: this is the busiest path in Pulse, and building
#: them with the ORM cost more than running them. Each reads or writes only the credential pool and the pending
#: pool, which know no person.
LOOKUP = ("SELECT c.id, c.round_id, c.unit_id, r.status, r.closes_at, r.mailout FROM credential_hash h "
          "JOIN credential c ON c.id = h.credential_id JOIN round r ON r.id = c.round_id WHERE h.hash = {p}")
RETIRED = "SELECT round_id FROM retired_credential WHERE hash = {p}"
#: Spend the credential and store the sealed answer. PostgreSQL: one statement, so in autocommit one round trip
#: that either does both or nothing. SQLite: two statements in the caller's transaction (it holds the write lock).
SPEND_AND_STORE = {
    "postgresql": ("WITH spent AS (UPDATE credential SET spent = true WHERE id = %s AND NOT spent "
                   "RETURNING round_id) INSERT INTO pending_response (id, round_id, sealed) "
                   "SELECT %s, round_id, %s FROM spent"),
}
SPEND = "UPDATE credential SET spent = {true} WHERE id = {p} AND spent = {false}"
STORE = "INSERT INTO pending_response (id, round_id, sealed) VALUES ({p}, {p}, {p})"


@dataclass(frozen=True)
class _Statements:
    lookup: str
    retired: str
    spend: str
    store: str


@functools.cache
def _statements(dialect: str) -> _Statements:
    """The statements for one database, written out on first use (then kept)."""
    marker, true, false = ("%s", "true", "false") if dialect == "postgresql" else ("?", "1", "0")
    return _Statements(LOOKUP.format(p=marker), RETIRED.format(p=marker),
                       SPEND.format(p=marker, true=true, false=false), STORE.format(p=marker))


def _utc(value: dt.datetime | str) -> dt.datetime:
    """A stored UTC time as the driver returns it (SQLite: text) made aware."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC)


def find_credential(session: Session | Connection, token_key: bytes, credential: str, *, now: dt.datetime
                    ) -> OpenCredential:
    """The open round behind a link token or typed code. Reading never uses it up, and it does not say whether
    the credential was used: anyone holding someone's invitation could otherwise learn whether they answered
    (docs/ANONYMITY.md, "Who learns who answered").

    :raises CredentialError: ``unknown`` (no such credential), ``closed`` or ``not_ready`` (invitations still going
        out).
    """
    if not credential or len(credential) > MAX_CREDENTIAL or not credential.isascii():
        raise CredentialError("unknown")  # link tokens and codes are ASCII; anything else cannot be one
    conn = session.connection() if isinstance(session, Session) else session
    statements = _statements(conn.dialect.name)
    digest = credential_hash(token_key, credential)
    row = conn.exec_driver_sql(statements.lookup, (digest,)).first()
    if row is None:
        if conn.exec_driver_sql(statements.retired, (digest,)).first() is not None:
            raise CredentialError("closed")
        raise CredentialError("unknown")
    credential_id, round_id, unit_id, status, closes_at, mailout = row
    if status != "open" or _utc(closes_at) <= now:
        raise CredentialError("closed")
    if mailout != "done":
        raise CredentialError("not_ready")
    return OpenCredential(credential_id, _round_view(session, conn, round_id), unit_id)


def _round_view(session: Session | Connection, conn: Connection, round_id: int) -> RoundView:
    if isinstance(session, Session):
        return round_view(session, round_id)
    with Session(bind=conn) as reading:  # only when this process has not seen the round yet
        return round_view(reading, round_id)


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


def asks_before_empty(found: OpenCredential, answers: Mapping[str, object], comment: str | None) -> bool:
    """Whether an answer set is empty — no answer, no "prefer not to say" (a question named with no value), no
    comment — and so is asked about before it uses the invitation up: the form asks on the page, the API answers
    ``confirm_empty``. Where a question requires an answer, the validation's own error says so instead (such a set
    cannot be stored anyway). Decided from the round already in memory: no query."""
    return not answers and not (comment or "").strip() and all(q.allow_skip for q in found.questions)


def _is_text(text: str) -> bool:
    """Whether ``text`` can be stored as UTF-8 (a lone surrogate, e.g. JSON's "\\ud800", cannot)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def submit(session: Session, token_key: bytes, credential: str, answers: Mapping[str, object],
           comment: str | None, *, now: dt.datetime, found: OpenCredential | None = None) -> None:
    """Check and store one answer set, spending the credential, in the session's transaction (the caller commits).

    The answers are checked first, so a credential's state is only revealed to someone who sends a complete,
    valid answer — which, for an unused credential, uses it.

    :raises CredentialError: the credential is unknown, used (also by a concurrent submission) or its round closed.
    :raises AnswerError: the answers do not fit the round's questions.
    """
    found = found or find_credential(session, token_key, credential, now=now)
    _spend_and_store(session.connection(), token_key, credential, found, _sealed(found, answers, comment), now=now)


def store(database: Database, token_key: bytes, credential: str, answers: Mapping[str, object],
          comment: str | None, *, now: dt.datetime, confirm_empty: bool = False) -> None:
    """Check, store and commit one answer set with as few round trips as the database allows: on PostgreSQL a
    look-up and one statement that spends the credential and stores the sealed answer in its own transaction; on
    SQLite one short transaction holding the write lock. The same checks and errors as :func:`submit`.

    :raises EmptyAnswerError: an empty answer set without ``confirm_empty``, after the look-up (so an unknown,
        closed or not yet usable credential is told as such) and before anything is written — refused alike for
        a used and an unused credential, which stays unspent.
    """
    with database.write_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        found = find_credential(conn, token_key, credential, now=now)
        if not confirm_empty and asks_before_empty(found, answers, comment):
            raise EmptyAnswerError()
        _spend_and_store(conn, token_key, credential, found, _sealed(found, answers, comment), now=now)
        conn.commit()


def _sealed(found: OpenCredential, answers: Mapping[str, object], comment: str | None) -> bytes:
    values, text = check_answers(found.questions, answers, comment, comment_enabled=found.round.comment_enabled)
    return crypto.seal(found.round.public_key, _payload(found.unit_id, values, text), round_context(found.round.id))


def _spend_and_store(conn: Connection, token_key: bytes, credential: str, found: OpenCredential, sealed: bytes, *,
                     now: dt.datetime) -> None:
    """Spend first: a concurrent submission of the same credential waits for the row and then finds nothing to
    spend; so does one that meets a close in progress (which locks the round's credentials first)."""
    response_id = str(uuid.uuid4())
    dialect = conn.dialect.name
    if dialect in SPEND_AND_STORE:
        stored = conn.exec_driver_sql(SPEND_AND_STORE[dialect], (found.credential_id, response_id, sealed)).rowcount
    else:
        statements = _statements(dialect)
        stored = conn.exec_driver_sql(statements.spend, (found.credential_id,)).rowcount
        if stored == 1:
            conn.exec_driver_sql(statements.store, (response_id, found.round.id, sealed))
    if stored != 1:
        # Used — or gone, because the round closed while this answer was on its way: say which.
        find_credential(conn, token_key, credential, now=now)
        raise CredentialError("used")


def _payload(unit_id: int, values: list[int | None], text: str | None) -> bytes:
    try:
        return seal_payload(unit_id, values, text)
    except SealingError:
        raise AnswerError({"comment": "comment_too_long"}) from None  # not within MAX_COMMENT and MAX_QUESTIONS
