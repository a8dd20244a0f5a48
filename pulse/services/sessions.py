"""Revoked staff sessions: signing out ends every copy of the session's cookie.

A staff session lives in a signed cookie, which stays valid wherever it was copied to until it times out. So each
session gets a random id (kept only in the cookie), signing out stores a keyed hash of that id with the moment the
session would have expired anyway, and every signed-in request looks its id up (one primary-key read). The row names
nobody, and nothing is written at sign-in (docs/ANONYMITY.md, "Answer now"). The scheduler deletes rows whose
session has expired (:func:`purge`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pulse.domain import crypto
from pulse.models import RevokedSession


def new_session_id() -> str:
    """A random id for a new session (192 bits)."""
    return crypto.new_token(24)


def _id_hash(key: bytes, session_id: str) -> str:
    return crypto.keyed_hash(key, session_id)


def revoke(session: Session, key: bytes, session_id: str, *, forget_after: dt.datetime) -> None:
    """Revoke a session id until ``forget_after`` (rounded up to the hour); revoking it again changes nothing
    (flushes; the caller commits)."""
    hour = forget_after.replace(minute=0, second=0, microsecond=0)
    if hour < forget_after:
        hour += dt.timedelta(hours=1)
    values = {"id_hash": _id_hash(key, session_id), "forget_after": hour}
    # Two copies of one cookie may sign out at once: the second finds the row there and adds nothing.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(RevokedSession).values(**values).on_conflict_do_nothing(index_elements=["id_hash"]))
    session.flush()


def is_revoked(session: Session, key: bytes, session_id: str) -> bool:
    """Whether the session with this id was signed out."""
    return session.get(RevokedSession, _id_hash(key, session_id)) is not None


def purge(session: Session, *, now: dt.datetime) -> int:
    """Delete revocations whose sessions have expired anyway; how many (flushes; the caller commits)."""
    result = session.execute(delete(RevokedSession).where(RevokedSession.forget_after < now))
    session.flush()
    return getattr(result, "rowcount", 0) or 0
