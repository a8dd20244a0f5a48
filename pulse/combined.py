"""Both apps in one process, split by path: what ``make run`` and ``wsgi:app`` serve (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

from pulse import cli
from pulse.common.config import Config
from pulse.common.db import Database
from pulse.common.paths import is_staff_path
from pulse.respondent import create_respondent_app
from pulse.staff import create_staff_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class PathDispatcher:
    """Send each request to the app that serves its path (:func:`pulse.common.paths.is_staff_path`), unchanged:
    the two apps live side by side under one address, as they do behind one proxy."""

    def __init__(self, staff: WSGIApplication, respondent: WSGIApplication) -> None:
        self.staff, self.respondent = staff, respondent

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.staff if is_staff_path(environ.get("PATH_INFO", "")) else self.respondent
        return app(environ, start_response)


def create_combined_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """The staff app, with every path it does not serve dispatched to the respondent app
    (``app.extensions["pulse.respondent"]``), both on one database. Commands run in the staff app."""
    config = config or Config.from_env()
    database = database or Database(config.database_url)
    staff = create_staff_app(config, database=database)
    respondent = create_respondent_app(config, database=database)
    staff.extensions["pulse.respondent"] = respondent
    staff.wsgi_app = PathDispatcher(staff.wsgi_app, respondent)  # type: ignore[method-assign]
    cli.init_app(staff)
    return staff
