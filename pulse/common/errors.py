"""Error pages: every error is a translated page (or JSON under /api) with the right status, never a trace.

A database that cannot be reached or read (stopped, restarting, out of connections, a file that cannot be opened) is
no bug: both apps answer ``503`` with ``Retry-After`` and a page (JSON under /api) saying to try again, and log one
line without the statement or its values (they can hold what someone sent).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger(__name__)


TITLES = {
    400: _l("Something in the request was wrong"),
    401: _l("You need to sign in"),
    403: _l("You do not have access to this page"),
    404: _l("The page could not be found"),
    405: _l("That does not work here"),
    410: _l("This link is no longer valid"),
    413: _l("The upload is too large"),
    415: _l("Unsupported format"),
    422: _l("The data could not be used"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is unavailable right now"),
}


def _message(code: int, exc: HTTPException) -> str:
    if code == 413:
        limit = request.max_content_length or 0
        return _("Files may be at most %(size)s MB.", size=f"{limit / 1024 / 1024:.0f}")
    if code == 404:
        return _("Check the address, or go back to the start page.")
    if code == 403:
        return _("Your roles do not give access to this page. Ask an administrator if you need it.")
    if code == 429:
        return _("Wait a few minutes and try again.")
    if code == 405:
        return _("Go back to the start page and try again.")
    if code >= 500:
        return _("The error has been logged. Try again in a moment.")
    # Views pass translated descriptions with abort(…, description=…); Werkzeug's own are English.
    description = exc.description or ""
    if description and description != type(exc).description:
        return str(description)
    return _("Go back and try again.")


#: Seconds a client is asked to wait before trying again when the database cannot be reached (a restart takes
#: seconds; a stale pooled connection is replaced at once: pulse.common.db).
RETRY_AFTER_DATABASE = 30


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached or read just now — as opposed to a statement that is
    wrong (a bug, a constraint), which stays a 500."""
    if isinstance(exc, PoolTimeoutError):  # every connection of the pool busy for the whole wait
        return True
    return isinstance(exc, DBAPIError) and (exc.connection_invalidated
                                            or isinstance(exc, OperationalError | InterfaceError))


def render_error(code: int, exc: HTTPException, message: str | None = None
                 ) -> tuple[Response | str, int, list[tuple[str, str]]]:
    title = str(TITLES.get(code, TITLES[400 if code < 500 else 500]))
    message = message or _message(code, exc)
    # Keep the headers the error carries (Allow on 405, Retry-After on 429/503); the body is ours.
    headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
    if request.path.startswith("/api/"):
        name = HTTP_STATUS_CODES.get(code, "error").lower().replace(" ", "_").replace("'", "")
        return jsonify({"error": {"status": code, "code": name, "message": f"{title}. {message}"}}), code, headers
    return render_template("errors/error.html", code=code, title=title, message=message), code, headers


def init_app(app: Flask, *, quiet: bool, home_endpoint: str) -> None:
    """Every error of ``app`` as a translated page (JSON under /api).

    :param quiet: log nothing about the request beyond the kind of error (the respondent app).
    :param home_endpoint: where "Go to the start page" leads.
    """

    @app.context_processor
    def _home() -> dict[str, object]:
        # Mail is rendered outside requests too, and has no use for the start page's address.
        return {"home_url": url_for(home_endpoint)} if has_request_context() else {}

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[Response | str, int, list[tuple[str, str]]]:
        exc.description = _("The form had expired or did not come from this site. Please fill it in again.")
        return render_error(400, exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response | str, int, list[tuple[str, str]]] | HTTPException:
        if exc.code is None or exc.code < 400:
            return exc
        return render_error(exc.code, exc)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeoutError)
    def _database(exc: Exception) -> tuple[Response | str, int, list[tuple[str, str]]]:
        if not database_unavailable(exc):
            return _unexpected(exc)
        _abandon_request_state()
        # The type only: the message would quote the statement and its values.
        log.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
        return render_error(503, ServiceUnavailable(retry_after=RETRY_AFTER_DATABASE),
                            _("Pulse cannot reach its database just now. Try again in a minute."))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int, list[tuple[str, str]]]:
        session = g.get("db_session")
        if session is not None:
            # A failed flush leaves the transaction unusable, and the error page reads the signed-in person.
            session.rollback()
        if quiet:
            # The respondent app logs no details at all: exception texts can carry submitted values.
            log.error("unhandled %s in the respondent app", type(exc).__name__)
        else:
            log.exception("unhandled error in %s", request.endpoint)
        return render_error(500, InternalServerError())


def _abandon_request_state() -> None:
    """Drop the request's database session and what was loaded through it, so that the error page asks the database
    nothing (the signed-in person's objects would reload themselves, the staff menu would ask for their roles)."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
        except DBAPIError:
            session.invalidate()
        finally:
            session.close()
    if "person" in g:
        g.person = None
        g.roles = frozenset()
