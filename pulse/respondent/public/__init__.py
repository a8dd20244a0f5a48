"""Public pages: the start page and the health check. No session cookie is read or set here."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from pulse.respondent.public import views  # noqa: E402,F401
