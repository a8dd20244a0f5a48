"""Protected results for managers, safety representatives and administrators, read from frozen releases."""

from flask import Blueprint

bp = Blueprint("results", __name__)

from pulse.common.format import init_app  # noqa: E402,F401
from pulse.staff.results import apt, moderation, views  # noqa: E402,F401
