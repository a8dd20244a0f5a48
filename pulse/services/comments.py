"""Free-text comments after close: placement, moderation by the safety representative, release to managers.

Comments are encrypted at rest until a safety representative releases them; what managers see is the released
(or redacted) text, shuffled, undated, and never next to scores. Moderation decisions go to the audit log, the
comment text never does.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.domain import crypto
from pulse.models import Comment, Person, PersonStatus, Release, Unit
from pulse.services.org import Scope
from pulse.services.rounds import RoundKeys, comment_key, round_context

MAX_REDACTED = 2000
STATUSES = ("pending", "released", "redacted", "withheld")


class ModerationError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class CommentView:
    id: str
    round_id: int
    home_unit_id: int
    home_name: str
    status: str
    text: str


def _text(keys: RoundKeys, comment: Comment) -> str:
    key = comment_key(keys, comment.round_id)
    context = round_context(comment.round_id)
    sealed = comment.redacted if comment.status == "redacted" and comment.redacted else comment.sealed
    return crypto.decrypt(key, sealed, context).decode()


def _released_rounds(session: Session) -> set[int]:
    return set(session.scalars(select(Release.round_id).distinct()))


def moderation_queue(session: Session, keys: RoundKeys, scope: Scope, *, status: str = "pending"
                     ) -> list[CommentView]:
    """Comments placed in units of the viewer's safety area, in released rounds, with the given status."""
    rounds = _released_rounds(session)
    rows = session.execute(select(Comment, Unit.name).join(Unit, Unit.id == Comment.home_unit_id)
                           .where(Comment.status == status, Comment.home_unit_id.is_not(None))
                           .order_by(Comment.round_id, Comment.id)).all()
    return [CommentView(c.id, c.round_id, c.home_unit_id, name, c.status, _text(keys, c)) for c, name in rows
            if c.round_id in rounds and c.home_unit_id is not None and scope.allows(c.home_unit_id)]


def moderate(session: Session, keys: RoundKeys, scope: Scope, comment_id: str, decision: str,
             redacted_text: str | None = None) -> Comment:
    """Release, redact (with new text) or withhold a comment in the moderator's area.

    :raises ModerationError: ``unknown`` (not in the area), ``bad_decision``, ``empty_redaction``, ``too_long``.
    """
    comment = session.get(Comment, comment_id)
    if comment is None or comment.home_unit_id is None or not scope.allows(comment.home_unit_id) \
            or comment.round_id not in _released_rounds(session):
        raise ModerationError("unknown")
    if decision not in ("released", "redacted", "withheld", "pending"):
        raise ModerationError("bad_decision")
    if decision == "redacted":
        text = (redacted_text or "").strip()
        if not text:
            raise ModerationError("empty_redaction")
        if len(text) > MAX_REDACTED:
            raise ModerationError("too_long")
        comment.redacted = crypto.encrypt(comment_key(keys, comment.round_id), text.encode(),
                                          round_context(comment.round_id))
    comment.status = decision
    session.flush()
    return comment


def released_comments(session: Session, keys: RoundKeys, round_id: int, units: Iterable[int]) -> list[str]:
    """Released (or redacted) comments placed in the given units, in random order: no dates, no scores.

    Read by the gate alone (:func:`pulse.disclosure.unit_comments`, which decides the units); no view calls it."""
    unit_ids = set(units)
    rows = list(session.scalars(select(Comment).where(Comment.round_id == round_id,
                                                      Comment.status.in_(("released", "redacted")))))
    texts = [_text(keys, c) for c in rows if c.home_unit_id in unit_ids]
    secrets.SystemRandom().shuffle(texts)
    return texts


def roster_names(session: Session, scope: Scope) -> set[str]:
    """First and last names of people in the moderator's area, to highlight in comments."""
    query = select(Person.name).where(Person.status != PersonStatus.LEFT)
    if not scope.everything:
        query = query.where(Person.unit_id.in_(scope.unit_ids))
    names: set[str] = set()
    for full in session.scalars(query):
        names.update(part.casefold() for part in re.split(r"[\s\-]+", full) if len(part) >= 3)
    return names


def highlight(text: str, names: set[str]) -> Markup:
    """The comment with words that match a name from the roster marked, everything else escaped."""
    parts = re.split(r"(\w+)", text)
    out = []
    for part in parts:
        if part and part.casefold() in names:
            out.append(Markup("<mark>{}</mark>").format(part))
        else:
            out.append(escape(part))
    return Markup("").join(out)
