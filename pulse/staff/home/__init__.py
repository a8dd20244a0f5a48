"""The staff start page, personal settings and the organisation as each role may see it."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from pulse.staff.home import views  # noqa: E402,F401
