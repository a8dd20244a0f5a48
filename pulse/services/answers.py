"""Answering: find an open invitation from a link token or typed code, check answers, seal and store them.

Spending the invitation and storing the sealed answer happen in one transaction: of two concurrent submissions
of the same credential exactly one succeeds. Nothing here logs, and no exception text carries a credential.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pulse import crypto
from pulse.models import Invitation, InvitationKey, PendingResponse, Question, Round
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
class OpenInvitation:
    """What the answer page needs: the round, its questions, where the answer counts, the language."""

    invitation_id: int
    round: Round
    questions: list[Question]
    unit_id: int
    language: str
    #: Invited people in the same counting unit (for the small-unit notice).
    unit_size: int


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
    invitation = session.scalar(select(Invitation).join(InvitationKey, InvitationKey.invitation_id == Invitation.id)
                                .where(InvitationKey.hash.in_(hashes)).limit(1))
    if invitation is None:
        raise CredentialError("unknown")
    rnd = session.get_one(Round, invitation.round_id)
    if rnd.status != "open" or rnd.closes_at <= now:
        raise CredentialError("closed")
    if invitation.answered:
        raise CredentialError("used")
    unit_size = session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.round_id == rnd.id, Invitation.unit_id == invitation.unit_id)) or 0
    return OpenInvitation(invitation.id, rnd, [rq.question for rq in rnd.questions], invitation.unit_id,
                          invitation.language, unit_size)


def check_answers(questions: list[Question], answers: Mapping[str, object], comment: str | None,
                  *, comment_enabled: bool) -> tuple[list[int | None], str | None]:
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
           comment: str | None, *, now: dt.datetime) -> None:
    """Check and store one answer set, spending the invitation (the caller commits).

    :raises CredentialError: the credential is unknown, used (also by a concurrent submission) or its round closed.
    :raises AnswerError: the answers do not fit the round's questions.
    """
    found = find_invitation(session, token_key, credential, now=now)
    values, text = check_answers(found.questions, answers, comment, comment_enabled=found.round.comment_enabled)
    # Spend first: a concurrent submission of the same invitation waits here and then finds nothing to spend.
    spent = session.execute(update(Invitation).where(Invitation.id == found.invitation_id,
                                                     Invitation.answered.is_(False)).values(answered=True))
    if getattr(spent, "rowcount", 0) != 1:
        raise CredentialError("used")
    payload = _pad(json.dumps({"u": found.unit_id, "v": values, "c": text}, separators=(",", ":")).encode())
    session.add(PendingResponse(id=str(uuid.uuid4()), round_id=found.round.id,
                                sealed=crypto.seal(found.round.public_key, payload, round_context(found.round.id))))
    session.flush()


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
