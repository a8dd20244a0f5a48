"""Staff sign-in: password, reset by e-mail, sign-out, session timeout. Mounted under /staff."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from pulse.staff.auth import views  # noqa: E402,F401
from pulse.staff.auth.session import init_app  # noqa: E402,F401
