"""Organisation import from the admin pages: upload both files, review the differences, confirm."""

from __future__ import annotations

import datetime as dt

from flask import Response as FlaskResponse
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from pulse.common.context import record_audit
from pulse.common.db import get_session, utcnow
from pulse.common.i18n import LANGUAGE_NAMES
from pulse.common.security import writes_db
from pulse.domain.crypto import new_token
from pulse.models import OrgImport
from pulse.services import orgimport
from pulse.services.org import Role
from pulse.staff.admin import bp
from pulse.staff.admin.forms import STATUS_LABELS, ConfirmImportForm, ImportForm
from pulse.staff.admin.people import group_size
from pulse.staff.admin.problems import describe
from pulse.staff.auth.session import current_person, staff_required

#: A preview is kept this long; after that the files must be uploaded again.
PREVIEW_LIFETIME = dt.timedelta(hours=24)


#: The preview's field names in words (the import's field → its label).
CHANGE_LABELS = {
    "name": _l("Name"), "parent_id": _l("Belongs to"), "active": _l("Active"), "unit_id": _l("Unit"),
    "language": _l("Language"), "status": _l("Status"), "admin": _l("Administrator"),
    "manages": _l("Leads (as manager)"), "safety_area": _l("Safety area"),
}


def change_value(field: str, value: object) -> str:
    """A value of the import preview in words: yes/no, the status and language names, lists joined."""
    if value is None or value == []:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field == "status" and isinstance(value, str) and value in STATUS_LABELS:
        return str(STATUS_LABELS[value])
    if field == "language" and isinstance(value, str) and value in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[value]
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def _preview_page(pending: OrgImport, plan: orgimport.ImportPlan, form: ConfirmImportForm) -> str:
    names = {row.key: row.name for row in plan.files.units}
    return render_template("admin/import_preview.html", pending=pending, plan=plan, form=form, describe=describe,
                           change_labels=CHANGE_LABELS, change_value=change_value, k=group_size(),
                           names={"units": names, "people": {}})


@bp.route("/import", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def org_import() -> Response | str | tuple[str, int]:
    form = ImportForm()
    if form.validate_on_submit():
        units_file, people_file = form.units.data, form.people.data
        units_data, people_data = units_file.read(), people_file.read()
        db = get_session()
        plan = orgimport.plan_import(db, units_data, people_data, units_name=units_file.filename or "units.csv",
                                     people_name=people_file.filename or "people.csv", acting=current_person(),
                                     k=group_size())
        if not plan.ok:
            return render_template("admin/import.html", form=form, plan=plan, describe=describe), 400
        # Only files that parsed as UTF-8 get here, so the stored text is exactly what was uploaded.
        pending = OrgImport(token=new_token(), created_by=current_person().id,  # type: ignore[union-attr]
                            units_filename=(units_file.filename or "units.csv")[:255],
                            people_filename=(people_file.filename or "people.csv")[:255],
                            units_csv=units_data.decode("utf-8-sig"), people_csv=people_data.decode("utf-8-sig"))
        db.execute(delete(OrgImport).where(OrgImport.created_at < utcnow() - PREVIEW_LIFETIME))
        db.add(pending)
        db.commit()
        return redirect(url_for("admin.org_import_preview", token=pending.token))
    status = 400 if form.errors else 200
    return render_template("admin/import.html", form=form, plan=None, describe=describe), status


def _pending(token: str) -> OrgImport:
    pending = get_session().scalar(select(OrgImport).where(OrgImport.token == token))
    person = current_person()
    if (pending is None or person is None or pending.created_by != person.id
            or pending.created_at < utcnow() - PREVIEW_LIFETIME):
        abort(404)
    return pending


def _plan(pending: OrgImport) -> orgimport.ImportPlan:
    return orgimport.plan_import(get_session(), pending.units_csv.encode(), pending.people_csv.encode(),
                                 units_name=pending.units_filename, people_name=pending.people_filename,
                                 acting=current_person(), k=group_size())


@bp.route("/import/<token>", methods=["GET"])
@staff_required(Role.ADMIN)
def org_import_preview(token: str) -> str:
    pending = _pending(token)
    plan = _plan(pending)
    form = ConfirmImportForm(digest=plan.digest())
    return _preview_page(pending, plan, form)


@bp.route("/import/<token>", methods=["POST"])
@staff_required(Role.ADMIN)
def org_import_confirm(token: str) -> Response | str | tuple[str, int]:
    db = get_session()
    pending = _pending(token)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    plan = _plan(pending)
    if not plan.ok or plan.digest() != form.digest.data:
        # The organisation changed since the preview was made: show the new differences instead.
        flash(_("The organisation changed after the preview was made. Check the new preview before you confirm."),
              "warning")
        return _preview_page(pending, plan, ConfirmImportForm(digest=plan.digest())), 409
    units_data, people_data = pending.units_csv.encode(), pending.people_csv.encode()
    result = orgimport.apply_import(db, plan, units_data, people_data)
    record_audit(db, "org.import", "organisation", {
        **result.counts, "units_file": pending.units_filename, "people_file": pending.people_filename,
        "units_sha256": result.units_sha256, "people_sha256": result.people_sha256,
    })
    db.delete(pending)
    db.commit()
    counts = result.counts
    flash(" ".join([
        _("The import is done:"),
        ngettext("%(num)d person added,", "%(num)d people added,", counts["people_added"]),
        ngettext("%(num)d person changed,", "%(num)d people changed,", counts["people_changed"]),
        ngettext("%(num)d person marked as left;", "%(num)d people marked as left;", counts["people_left"]),
        ngettext("%(num)d unit added.", "%(num)d units added.", counts["units_added"]),
    ]), "success")
    return redirect(url_for("admin.units"))


@bp.route("/import/<token>/cancel", methods=["POST"])
@staff_required(Role.ADMIN)
def org_import_cancel(token: str) -> Response:
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    db = get_session()
    db.delete(_pending(token))
    db.commit()
    flash(_("The import was cancelled. Nothing was changed."), "info")
    return redirect(url_for("admin.org_import"))


@bp.route("/export/<any(units, people):which>.csv")
@staff_required(Role.ADMIN)
@writes_db
def org_export(which: str) -> FlaskResponse:
    """Download the organisation in the import format, to edit and import again (logged: it holds everyone's
    e-mail address)."""
    db = get_session()
    units_text, people_text = orgimport.export_files(db)
    record_audit(db, "org.export", which)
    db.commit()
    body = units_text if which == "units" else people_text
    # A BOM makes Excel open the file as UTF-8.
    return FlaskResponse("\ufeff" + body, mimetype="text/csv",
                         headers={"Content-Disposition": f'attachment; filename="{which}.csv"'})
