"""Headers on every response, refusing text that is not text, and the write-intent flag SQLite transactions use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, g, request

F = TypeVar("F", bound=Callable[..., Any])

#: No inline script or style anywhere; every asset is served by Pulse itself.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: NUL never belongs in text (PostgreSQL cannot store or even compare it), and U+FFFD is what bytes that were
#: not UTF-8 became when Werkzeug decoded the request: storing it would quietly corrupt a name.
NOT_TEXT = ("\x00", "\ufffd")


def _request_texts() -> list[str]:
    """The path, and every name and value of the query string and form, file names included."""
    texts = [request.path]
    texts += [text for pair in request.args.items(multi=True) for text in pair]
    if request.method not in SAFE_METHODS:
        texts += [text for pair in request.form.items(multi=True) for text in pair]
        texts += [text for name, upload in request.files.items(multi=True) for text in (name, upload.filename or "")]
    return texts


def writes_db(view: F) -> F:
    """Mark a GET view that writes (for example to the audit log), so its transaction takes the write lock."""
    view._pulse_writes_db = True  # type: ignore[attr-defined]
    return view


def reads_db(view: F) -> F:
    """Mark a POST view that only reads, so on SQLite it does not queue behind writers for the write lock."""
    view._pulse_reads_db = True  # type: ignore[attr-defined]
    return view


def refuse_non_text() -> None:
    """Before each request: answer 400 when any text in it contains NUL or undecodable bytes."""
    if any(bad in text for text in _request_texts() for bad in NOT_TEXT):
        abort(400)


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """The policy, with other origins a form may post to (the respondent app's, for "Answer now", when it runs on
    another host)."""
    if not form_targets:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", "form-action 'self' " + " ".join(form_targets))


def init_app(app: Flask, *, private: bool, form_targets: tuple[str, ...] = ()) -> None:
    """Security headers and the write-intent flag for every response of ``app``.

    :param private: every page is someone's own (the staff app): never stored by a cache.
    :param form_targets: other origins this app's forms post to.
    """

    policy = content_security_policy(form_targets)

    @app.before_request
    def _write_intent() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "_pulse_reads_db", False):
            g.db_writes = False
            return
        g.db_writes = request.method not in SAFE_METHODS or bool(getattr(view, "_pulse_writes_db", False))

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        if current_app.config["PULSE"].cookie_secure:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if private or request.path.startswith("/api"):
            headers.setdefault("Cache-Control", "no-store")
        return response
