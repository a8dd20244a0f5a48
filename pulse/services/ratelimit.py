"""Fixed-window rate limits stored in the database, so every app process shares them.

Buckets are named by a keyed hash of what they limit; the value itself (an e-mail address, a client
address) is never stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pulse.common.db import utcnow
from pulse.domain.crypto import keyed_hash
from pulse.models import RateLimitBucket


def bucket_key(key: bytes, bucket: str, identifier: str) -> str:
    return keyed_hash(key, f"{bucket}\x00{identifier.casefold()}")


def count(session: Session, key: bytes, bucket: str, identifier: str, window_seconds: int) -> int:
    """Hits in the current window (0 once the window has passed)."""
    row = session.get(RateLimitBucket, bucket_key(key, bucket, identifier))
    if row is None or row.window_start + dt.timedelta(seconds=window_seconds) <= utcnow():
        return 0
    return row.count


def hit(session: Session, key: bytes, bucket: str, identifier: str, window_seconds: int) -> int:
    """Count one hit and return the hits in the current window, this one included."""
    now = utcnow()
    name = bucket_key(key, bucket, identifier)
    row = session.get(RateLimitBucket, name, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(RateLimitBucket(key=name, window_start=now, count=1))
            return 1
        except IntegrityError:
            # Another process created the bucket at the same moment; count on theirs.
            row = session.get(RateLimitBucket, name, with_for_update=True, populate_existing=True)
            assert row is not None
    if row.window_start + dt.timedelta(seconds=window_seconds) <= now:
        row.window_start, row.count = now, 0
    row.count += 1
    session.flush()
    return row.count


def clear(session: Session, key: bytes, bucket: str, identifier: str) -> None:
    session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == bucket_key(key, bucket, identifier)))


def purge_expired(session: Session, older_than_seconds: int) -> int:
    """Remove buckets whose window ended long ago."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_seconds)
    result = session.execute(delete(RateLimitBucket).where(RateLimitBucket.window_start < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
