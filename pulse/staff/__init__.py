"""The staff app: sign-in, the start page, results, moderation, administration, the read-only JSON API.

Built by its own factory (docs/ARCHITECTURE.md); the respondent app never imports anything from here.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask

from pulse.common import extensions
from pulse.common.app import build_app
from pulse.common.config import Config
from pulse.common.db import Database
from pulse.common.paths import STAFF_PREFIX
from pulse.common.security import refuse_non_text
from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.services.auth import SignInGuard
from pulse.staff import admin, api, auth, box, home, results, safety, sam


def create_staff_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Build the staff app (``/staff…`` and the read-only API ``/api/v1/…``)."""
    config = config or Config.from_env()
    # "Answer now" posts the person's credential to the respondent app, which may run on another host.
    respondent = _origin(config.respondent_url)
    app = build_app(__name__, config, database, templates="staff", private=True, quiet=False,
                    home_endpoint="staff.home",
                    form_targets=(respondent,) if respondent != _origin(config.staff_url) else ())
    app.config.update(
        SECRET_KEY=derive_key(config.secret_key, KeyPurpose.SESSION).hex(),
        WTF_CSRF_SECRET_KEY=derive_key(config.secret_key, KeyPurpose.CSRF).hex(),
        WTF_CSRF_ENABLED=True,
        SESSION_COOKIE_NAME="pulse_staff",
        SESSION_COOKIE_PATH=STAFF_PREFIX,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_max_hours),
    )
    app.extensions["pulse.signin_guard"] = SignInGuard(config.login_max_failures, config.login_window_seconds)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp, url_prefix=STAFF_PREFIX)
    app.register_blueprint(home.bp, url_prefix=STAFF_PREFIX)
    app.register_blueprint(admin.bp, url_prefix=f"{STAFF_PREFIX}/admin")
    app.register_blueprint(results.bp, url_prefix=f"{STAFF_PREFIX}/results")
    app.register_blueprint(box.bp, url_prefix=f"{STAFF_PREFIX}/box")
    app.register_blueprint(sam.bp, url_prefix=f"{STAFF_PREFIX}/sam")
    app.register_blueprint(safety.bp, url_prefix=f"{STAFF_PREFIX}/safety")
    results.init_app(app)
    auth.init_app(app)
    # Checks that read the request body come last, after the signed-in person is known, so a refused form (or an
    # upload that is too large) is answered in that person's language with the staff menu.
    app.before_request(refuse_non_text)
    extensions.init_app(app)  # CSRF protection
    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
