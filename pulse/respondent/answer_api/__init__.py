"""The JSON answering API for kiosks and integrations: ``POST /api/v1/answers``.

Same storage and rules as the answer page: the credential is the only authority, no cookie, no logging.
"""

from flask import Blueprint

bp = Blueprint("answer_api", __name__)

from pulse.respondent.answer_api import views  # noqa: E402,F401
