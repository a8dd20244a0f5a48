from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from pulse.common.context import key
from pulse.common.db import get_session
from pulse.domain.crypto import KeyPurpose
from pulse.models import Person, Unit
from pulse.services import audit
from pulse.services.org import Role, people_in_unit, unit_rows
from pulse.staff.admin import bp
from pulse.staff.admin.forms import STATUS_LABELS
from pulse.staff.admin.problems import describe_gap
from pulse.staff.auth.session import staff_required

AUDIT_PAGE_SIZE = 50


@bp.route("/")
@staff_required(Role.ADMIN)
def index() -> Response:
    return redirect(url_for("admin.units"))


@bp.route("/units")
@staff_required(Role.ADMIN)
def units() -> str:
    show_inactive = request.args.get("inactive") == "1"
    return render_template("admin/units.html", rows=unit_rows(get_session(), include_inactive=show_inactive),
                           show_inactive=show_inactive)


@bp.route("/units/<int:unit_id>")
@staff_required(Role.ADMIN)
def unit(unit_id: int) -> str:
    db = get_session()
    unit = db.get(Unit, unit_id)
    if unit is None:
        abort(404)
    show_left = request.args.get("left") == "1"
    return render_template("admin/unit.html", unit=unit, children=unit.children,
                           people=people_in_unit(db, unit_id, include_left=show_left), show_left=show_left,
                           managers=list(db.scalars(select(Person).join(Person.managed_units)
                                                    .where(Unit.id == unit_id).order_by(Person.name))))


@bp.route("/audit/verify", methods=["POST"])
@staff_required(Role.ADMIN)
def audit_verify() -> str:

    result = audit.verify(get_session(), key(KeyPurpose.AUDIT_CHAIN))
    return render_template("admin/audit_verify.html", result=result)


@bp.context_processor
def _admin_context() -> dict[str, object]:

    return {"status_labels": STATUS_LABELS, "describe_gap": describe_gap}
