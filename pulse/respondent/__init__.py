"""The respondent app: the anonymous answering pages and API, and the public pages.

Built by its own factory with no session interface, no CSRF, no staff code and no logging of requests: the
anonymous surface stays small and can run as its own process or host (docs/ARCHITECTURE.md). It never reads or
sets a cookie.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.exceptions import HTTPException

from pulse.common.app import build_app
from pulse.common.config import Config
from pulse.common.db import Database
from pulse.common.errors import render_error
from pulse.common.security import refuse_non_text
from pulse.respondent import answer_api, answering, box, public

#: The request lines a development server would log for the answering paths (addresses and paths).
QUIET_PATHS = (" /r", " /api/v1/answers", " /box")


class NoSessionInterface(SessionInterface):
    """No session at all: a cookie a client sends is never read, and none is ever set."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask uses an empty NullSession that refuses writes

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def create_respondent_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Build the respondent app (answer pages ``/r…``, ``POST /api/v1/answers``, the complaint box ``/box…``,
    ``/``, ``/privacy``, ``/healthz``)."""
    app = build_app(__name__, config or Config.from_env(), database, templates="respondent", private=False,
                    quiet=True, home_endpoint="public.index")
    app.session_interface = NoSessionInterface()
    app.register_blueprint(public.bp)
    app.register_blueprint(answering.bp)
    app.register_blueprint(answer_api.bp)
    app.register_blueprint(box.bp)

    @app.before_request
    def _text_only() -> None:
        # What a respondent sends is stored only sealed, never as database text, and a comment pasted from elsewhere
        # may contain U+FFFD: refusing it there would lose someone's answer. The public pages are checked.
        if request.blueprint == "public":
            refuse_non_text()

    @app.errorhandler(405)
    def _method_not_allowed(exc: HTTPException) -> Any:
        """On the answering pages a wrong method gets the code form again; elsewhere the usual error page."""
        if request.blueprint != "respond":
            return render_error(405, exc)
        return answering.views.method_not_allowed(exc)

    _quiet_development_server()
    return app


class _DropAnswering(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(path in message for path in QUIET_PATHS)


def _quiet_development_server() -> None:
    """Keep the development server from logging answering requests (it would record addresses and paths)."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, _DropAnswering) for f in werkzeug.filters):
        werkzeug.addFilter(_DropAnswering())
