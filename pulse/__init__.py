"""Pulse: anonymous, protected work-environment pulse surveys."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import Flask

from pulse.config import Config
from pulse.crypto import KeyPurpose, derive_key
from pulse.db import Database
from pulse.routing import IdConverter

#: Templates live at the top of the repository, one folder per blueprint.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
#: The staff area. The staff session cookie is scoped to this path, so the browser never sends it to the
#: respondent pages, the public pages or the answering API.
STAFF_PREFIX = "/staff"


def create_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Build the Pulse application.

    :param config: the configuration; read from ``PULSE_*`` environment variables when omitted.
    :param database: an existing :class:`~pulse.db.Database` to use instead of one built from the config.
    """
    config = config or Config.from_env()
    config.validate()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), instance_path=str(config.instance_path))
    # Before any route is added: every <int:…> in Pulse is a row id.
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        PULSE=config,
        SECRET_KEY=derive_key(config.secret_key, KeyPurpose.SESSION).hex(),
        WTF_CSRF_SECRET_KEY=derive_key(config.secret_key, KeyPurpose.CSRF).hex(),
        WTF_CSRF_ENABLED=True,
        SESSION_COOKIE_NAME="pulse_staff",
        SESSION_COOKIE_PATH=STAFF_PREFIX,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_max_hours),
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_upload_bytes,
        PREFERRED_URL_SCHEME="https" if config.cookie_secure else "http",
        TESTING=config.env == "test",
        DEBUG=False,
        JSON_SORT_KEYS=False,
    )
    logging.getLogger("pulse").setLevel(config.log_level)

    from pulse import db, extensions, i18n, mail, security
    from pulse.passwords import Passwords

    db.init_app(app, database or Database(config.database_url))
    i18n.init_app(app)
    security.init_app(app)
    mail.init_app(app)
    app.extensions["pulse.passwords"] = Passwords(time_cost=config.argon2_time_cost,
                                                  memory_kib=config.argon2_memory_kib)

    from pulse import admin, answer_api, api, auth, errors, public, respond, results, staff

    app.register_blueprint(public.bp)
    app.register_blueprint(respond.bp)
    app.register_blueprint(answer_api.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp, url_prefix=STAFF_PREFIX)
    app.register_blueprint(staff.bp, url_prefix=STAFF_PREFIX)
    app.register_blueprint(admin.bp, url_prefix=f"{STAFF_PREFIX}/admin")
    app.register_blueprint(results.bp, url_prefix=f"{STAFF_PREFIX}/results")
    results.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    # Checks that read the request body come last, after the signed-in person is known, so a refused form (or an
    # upload that is too large) is answered in that person's language with the staff menu.
    app.before_request(security.refuse_non_text)
    extensions.init_app(app)  # CSRF protection

    from pulse import cli
    from pulse.respond.views import init_logging_filter

    cli.init_app(app)
    init_logging_filter()
    return app
