"""What the respondent app and the staff app have in common: configuration, database, languages, security
headers, error pages, mail (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from pulse.common import db, errors, i18n, mail, security
from pulse.common.config import Config
from pulse.common.db import Database
from pulse.common.passwords import Passwords
from pulse.common.routing import IdConverter

#: Templates live at the top of the repository: one folder per app, and the shared layout, macros and mail.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def build_app(name: str, config: Config, database: Database | None, *, templates: str, private: bool,
              quiet: bool, home_endpoint: str, form_targets: tuple[str, ...] = ()) -> Flask:
    """A Flask app with Pulse's shared plumbing; the caller adds its blueprints.

    :param templates: the app's own template folder (next to the shared ``common`` one).
    :param private: every page is personal (staff): never cached.
    :param quiet: log nothing about requests but the kind of an unexpected error (respondent).
    """
    config.validate()
    app = Flask(name, template_folder=None, static_folder=str(STATIC_DIR), instance_path=str(config.instance_path))
    app.jinja_loader = ChoiceLoader([FileSystemLoader(TEMPLATES_DIR / templates),
                                     FileSystemLoader(TEMPLATES_DIR / "common")])
    # Before any route is added: every <int:…> in Pulse is a row id.
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        PULSE=config,
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_upload_bytes,
        PREFERRED_URL_SCHEME="https" if config.cookie_secure else "http",
        TESTING=config.env == "test",
        DEBUG=False,
        JSON_SORT_KEYS=False,
    )
    logging.getLogger("pulse").setLevel(config.log_level)
    db.init_app(app, database or Database(config.database_url))
    i18n.init_app(app)
    security.init_app(app, private=private, form_targets=form_targets)
    mail.init_app(app)
    errors.init_app(app, quiet=quiet, home_endpoint=home_endpoint)
    app.extensions["pulse.passwords"] = Passwords(time_cost=config.argon2_time_cost,
                                                  memory_kib=config.argon2_memory_kib)

    if config.trusted_proxies:
        # The client's address and scheme as the trusted proxies saw them (rate limits, Secure cookies); without
        # this, everyone behind the proxy would share one address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=config.trusted_proxies)

    @app.context_processor
    def _addresses() -> dict[str, object]:
        return {"respondent_url": config.respondent_url, "staff_url": config.staff_url}

    return app
