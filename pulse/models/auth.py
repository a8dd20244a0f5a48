"""Staff sign-in support: password reset links, rate-limit buckets, API tokens and revoked sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pulse.common.db import Base, UTCDateTime, utcnow


class PasswordReset(Base):
    """A single-use, expiring password reset link. Only the keyed hash of its token is stored."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RateLimitBucket(Base):
    """A fixed-window counter shared by all app processes.

    The key is a keyed hash of what is limited (an e-mail address, a client), never the value itself.
    """

    __tablename__ = "rate_limit_bucket"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """A personal, revocable token for the read-only JSON API. Only its keyed hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters, so people can tell their tokens apart (never enough to use one).
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RevokedSession(Base):
    """A staff session ended by signing out: every copy of its cookie stops working, not only the one signed out.

    It names nobody, and nothing is written at sign-in (docs/ANONYMITY.md, "Answer now"): a session's id is random and
    kept only in its cookie, and the row holds a keyed hash of it and when the row may go.
    """

    __tablename__ = "revoked_session"

    #: Keyed hash of the session id: nobody without the cookie (and the secret) can tell whose session it was.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: When the session would have ended anyway (its sign-in plus the maximum session age, rounded up to the hour);
    #: the scheduler deletes the row after it.
    forget_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
