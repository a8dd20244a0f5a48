"""The read-only JSON API for integrations: releases and their cells, the question bank. Personal tokens only.

Every number comes from the same gate as the pages (pulse.disclosure), rounded as on screen.
"""

from flask import Blueprint

bp = Blueprint("api", __name__)

from pulse.staff.api import views  # noqa: E402,F401
