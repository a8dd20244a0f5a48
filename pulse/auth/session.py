"""The staff session: who is signed in, for how long, and the decorator that guards staff pages.

The session lives in a signed cookie scoped to /staff (see :data:`pulse.STAFF_PREFIX`), holding only the
person's id, a session version, and sign-in and last-seen times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from pulse.db import get_session
from pulse.models import Person, PersonStatus
from pulse.services.org import Role, Scope, roles_of, scope_of

F = TypeVar("F", bound=Callable[..., Any])

#: Update the last-seen time at most this often, so not every page view rewrites the cookie.
_SEEN_RESOLUTION = 60


def sign_in(person: Person) -> None:
    """Start a fresh session for ``person`` (the old session's contents are dropped)."""
    lang = session.get("lang")
    session.clear()
    now = int(time.time())
    session.update(pid=person.id, sv=person.session_version, since=now, seen=now)
    if lang:
        session["lang"] = lang
    session.permanent = True


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def load_person() -> None:
    """Before each staff request: find the signed-in person, ending sessions that timed out."""
    from pulse import STAFF_PREFIX

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


def init_app(app: Flask) -> None:
    app.before_request(load_person)

    @app.context_processor
    def _staff_context() -> dict[str, object]:
        person = g.get("person")
        return {"staff_user": person, "roles": current_roles() if person is not None else frozenset(),
                "Role": Role}
