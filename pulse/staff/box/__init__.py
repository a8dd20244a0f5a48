"""The complaint box on the staff side: writing with one's name, reading and answering the items of one's units
(managers) and safety area (safety representatives), redaction, the counts report, and the administrator's
settings (deadlines, the main safety representative, units without a safety representative)."""

from flask import Blueprint

bp = Blueprint("staff_box", __name__)

from pulse.staff.box import views  # noqa: E402,F401
