"""SAM records of a unit for its manager (and, to read, its safety representative): risk assessments, the action
plan, APT meetings, "you said, we did" and the help text shown after the victimisation and threats questions."""

from flask import Blueprint

bp = Blueprint("sam", __name__)

from pulse.staff.sam import views  # noqa: E402,F401
