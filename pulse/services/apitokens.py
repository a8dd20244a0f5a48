"""Personal API tokens: created by their owner (settings page or CLI), revocable, stored as keyed hashes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pulse.common.db import utcnow
from pulse.domain.crypto import keyed_hash, new_token
from pulse.models import ApiToken, Person, PersonStatus

PREFIX = "pulse_"


class TokenError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _hash(key: bytes, token: str) -> str:
    return keyed_hash(key, "api-token:" + token)


def create_token(session: Session, key: bytes, person: Person, name: str) -> tuple[ApiToken, str]:
    """A new token for ``person``; the secret is returned once and never stored.

    :raises TokenError: ``bad_name`` for an empty or over-long name.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("bad_name")
    secret = PREFIX + new_token(24)
    token = ApiToken(person_id=person.id, name=name, token_hash=_hash(key, secret), prefix=secret[:12])
    session.add(token)
    session.flush()
    return token, secret


def tokens_of(session: Session, person_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.person_id == person_id)
                                .order_by(ApiToken.created_at.desc())))


def revoke(session: Session, person_id: int | None, token_id: int) -> ApiToken:
    """Revoke a token (its owner's, or any when ``person_id`` is None, for the CLI).

    :raises TokenError: ``unknown``.
    """
    token = session.get(ApiToken, token_id)
    if token is None or (person_id is not None and token.person_id != person_id):
        raise TokenError("unknown")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token


def authenticate(session: Session, key: bytes, secret: str, *, now: dt.datetime) -> Person:
    """The active owner of a valid, unrevoked token.

    :raises TokenError: ``invalid`` (unknown, malformed, revoked, or the owner has left).
    """
    if not secret.startswith(PREFIX) or len(secret) > 100:
        raise TokenError("invalid")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(key, secret)))
    if token is None or token.revoked_at is not None:
        raise TokenError("invalid")
    person = session.get(Person, token.person_id)
    if person is None or person.status == PersonStatus.LEFT:
        raise TokenError("invalid")
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return person
