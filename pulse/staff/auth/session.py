"""The staff session: who is signed in, for how long, and the decorator that guards staff pages.

The session lives in a signed cookie scoped to /staff (see :data:`pulse.common.paths.STAFF_PREFIX`), holding only the
person's id, a session version, a random session id, and sign-in and last-seen times. Signing out revokes the session
id, so every copy of the cookie stops working (pulse.services.sessions); a password change or reset ends a person's
other sessions through the session version.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Request, Response, abort, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _

from pulse.common.context import key
from pulse.common.db import get_session
from pulse.common.paths import STAFF_PREFIX
from pulse.domain import crypto
from pulse.domain.crypto import KeyPurpose
from pulse.models import Person, PersonStatus
from pulse.services import sessions
from pulse.services.org import Role, Scope, roles_of, scope_of

F = TypeVar("F", bound=Callable[..., Any])

#: Update the last-seen time at most this often, so not every page view rewrites the cookie.
_SEEN_RESOLUTION = 60


def sign_in(person: Person, answer_key: crypto.PrivateKey | None = None) -> None:
    """Start a fresh session for ``person`` (the old session's contents are dropped).

    :param answer_key: the person's answer key, unlocked with the password they just gave; kept in the session
        cookie only, encrypted under a key of the application, so "Answer now" can open their sealed credentials
        (docs/ANONYMITY.md, "Answer now"). It is never written to the database.
    """
    lang = session.get("lang")
    session.clear()
    now = int(time.time())
    # Nothing is written at sign-in (docs/ANONYMITY.md, "Answer now"): the session's id lives in the cookie alone.
    session.update(pid=person.id, sv=person.session_version, sid=sessions.new_session_id(), since=now, seen=now)
    if answer_key is not None:
        session["ak"] = base64.b64encode(crypto.encrypt(
            key(KeyPurpose.SESSION_ANSWER_KEY), crypto.private_key_bytes(answer_key), _ak_context(person.id))).decode()
    if lang:
        session["lang"] = lang
    session.permanent = True


def _ak_context(person_id: int) -> bytes:
    return f"pulse-session-answer-key:{person_id}".encode()


def session_answer_key() -> crypto.PrivateKey | None:
    """The signed-in person's unlocked answer key, or None (signed in before it existed, or a changed cookie)."""
    person = current_person()
    stored = session.get("ak")
    if person is None or not isinstance(stored, str):
        return None
    try:
        raw = crypto.decrypt(key(KeyPurpose.SESSION_ANSWER_KEY), base64.b64decode(stored, validate=True),
                             _ak_context(person.id))
        return crypto.private_key_from_bytes(raw)
    except (ValueError, crypto.SealError):
        return None


def sign_out() -> None:
    """Forget the session in this cookie (copies of it stay valid until they time out: :func:`end_session`)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _revocation_key() -> bytes:
    return crypto.subkey(key(KeyPurpose.SESSION), b"pulse/revoked-session")


def end_session() -> None:
    """Sign out for good: the session's id is revoked, so every copy of the cookie stops working too (flushes; the
    caller commits). The revocation names nobody (pulse.services.sessions)."""
    sid = session.get("sid")
    if "pid" in session and isinstance(sid, str):
        expires = int(session.get("since", 0)) + current_app.config["PULSE"].session_max_hours * 3600
        sessions.revoke(get_session(), _revocation_key(), sid,
                        forget_after=dt.datetime.fromtimestamp(expires, dt.UTC))
    sign_out()


def load_person() -> None:
    """Before each staff request: find the signed-in person, ending sessions that timed out."""
    g.person = None
    if not request.path.startswith(STAFF_PREFIX) or "pid" not in session:
        return
    config = current_app.config["PULSE"]
    now = int(time.time())
    idle = now - int(session.get("seen", 0))
    age = now - int(session.get("since", 0))
    if idle > config.session_idle_minutes * 60 or age > config.session_max_hours * 3600:
        sign_out()
        g.session_expired = True
        return
    sid = session.get("sid")
    # A session from before sessions had ids cannot be revoked: it ends, and its holder signs in again.
    if not isinstance(sid, str) or sessions.is_revoked(get_session(), _revocation_key(), sid):
        sign_out()
        return
    person = get_session().get(Person, session["pid"])
    if (person is None or person.status == PersonStatus.LEFT or not person.password_hash
            or person.session_version != session.get("sv")):
        sign_out()
        return
    if idle >= _SEEN_RESOLUTION:
        session["seen"] = now
    g.person = person


def current_person() -> Person | None:
    return g.get("person")


def current_roles() -> frozenset[Role]:
    if "roles" not in g:
        person = current_person()
        g.roles = roles_of(get_session(), person) if person is not None else frozenset()
    return g.roles


def current_scope() -> Scope:
    if "scope" not in g:
        person = current_person()
        g.scope = (scope_of(get_session(), person, current_roles()) if person is not None
                   else Scope(False, frozenset()))
    return g.scope


def staff_required(*roles: Role) -> Callable[[F], F]:
    """Require a signed-in staff member; with ``roles``, one of them (admins pass every role check)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_person() is None:
                if g.get("session_expired"):
                    flash(_("Your session ended because you were inactive. Please sign in again."), "info")
                else:
                    flash(_("Please sign in to continue."), "info")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            held = current_roles()
            if roles and Role.ADMIN not in held and not held.intersection(roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class StaffSessionInterface(SecureCookieSessionInterface):
    """The staff session exists only under /staff. Anywhere else (the read-only API, static files) a staff cookie a
    client sends anyway is neither read nor refreshed, and no cookie is set. The answering paths are another app
    with no session at all (docs/ANONYMITY.md, "The answering path")."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(STAFF_PREFIX):
            return None  # Flask then uses a NullSession: empty, and refusing writes
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, NullSession):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = StaffSessionInterface()
    app.before_request(load_person)

    @app.context_processor
    def _staff_context() -> dict[str, object]:
        person = g.get("person")
        return {"staff_user": person, "roles": current_roles() if person is not None else frozenset(),
                "Role": Role}
