"""Administration: organisation tree, people and roles, organisation import, audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from pulse.staff.admin import auditlog, imports, people, surveys, units, views  # noqa: E402,F401
