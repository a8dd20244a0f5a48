"""Adding a unit and editing one (name, where it belongs, active), with a preview of a move."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pulse.common.context import record_audit
from pulse.common.db import get_session
from pulse.domain.orgtree import OrgTree
from pulse.models import Unit
from pulse.services import orgedit
from pulse.services.org import Role, load_tree
from pulse.staff.admin import bp
from pulse.staff.admin.forms import UnitForm
from pulse.staff.admin.people import EDIT_ERRORS, move_preview, save_edit, unit_choices
from pulse.staff.auth.session import staff_required
from pulse.staff.forms import choices


def _parent_choices(form: UnitForm, unit: Unit | None, tree: OrgTree[int]) -> None:
    """Every active unit but the unit itself and those below it (a unit cannot belong to itself)."""
    below = tree.subtree([unit.id]) if unit is not None else set()
    keep = {unit.parent_id} if unit is not None and unit.parent_id is not None else set()
    form.parent.choices = choices([(0, _("Nothing (top of the organisation)"))]
                                  + [(uid, label) for uid, label in unit_choices(keep) if uid not in below])


@bp.route("/units/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def unit_new() -> Response | str | tuple[str, int]:
    db = get_session()
    form = UnitForm(data=None if request.method == "POST" else {"parent": request.args.get("parent", 0, type=int)})
    _parent_choices(form, None, load_tree(db))
    if form.validate_on_submit():
        try:
            unit, details = orgedit.create_unit(db, form.key.data or "", form.name.data or "", form.parent.data or None)
        except orgedit.OrgEditError as exc:
            db.rollback()
            getattr(form, exc.field).errors = [EDIT_ERRORS[exc.code]()]
        else:
            record_audit(db, "unit.create", f"unit:{unit.id}", details)
            db.commit()
            flash(_("The unit %(name)s is added.", name=unit.name), "success")
            return redirect(url_for("admin.unit", unit_id=unit.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/unit_form.html", form=form, unit=None, preview=None, names={}), status


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def unit_edit(unit_id: int) -> Response | str | tuple[str, int]:
    db = get_session()
    unit = db.get(Unit, unit_id)
    if unit is None:
        abort(404)
    form = UnitForm(data=None if request.method == "POST" else {
        "key": unit.key, "name": unit.name, "parent": unit.parent_id or 0, "active": unit.active})
    # The unit id is fixed: the import files refer to the unit by it.
    form.key.data = unit.key
    _parent_choices(form, unit, load_tree(db))
    status = 200
    if form.validate_on_submit():
        parent_id = form.parent.data or None
        if parent_id != unit.parent_id:
            shown = move_preview(form, f"unit:{unit.id}", parent_id,
                                 lambda k: orgedit.unit_effects(db, unit, parent_id, k))
            if shown is not None:
                return render_template("admin/unit_form.html", form=form, unit=unit, **shown)
        try:
            diff = orgedit.update_unit(db, unit, name=form.name.data or "", parent_id=parent_id,
                                       active=bool(form.active.data))
        except orgedit.OrgEditError as exc:
            db.rollback()
            getattr(form, exc.field).errors = [EDIT_ERRORS[exc.code]()]
            status = 400
        else:
            save_edit("unit.update", f"unit:{unit.id}", diff, unit.name)
            return redirect(url_for("admin.unit", unit_id=unit.id))
    elif request.method == "POST":
        status = 400
    form.move_digest.data = ""
    return render_template("admin/unit_form.html", form=form, unit=unit, preview=None, names={}), status
