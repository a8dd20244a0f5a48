"""The safety representative's report: a page, and the same report as PDF, XLSX and CSV.

Each exported file's SHA-256 goes to the audit log with who made it, when and for what, so a copy handed to the
employer or Arbetsmiljöverket can be checked later with ``pulse audit verify-export FILE``.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from pulse.common.context import config, record_audit
from pulse.common.db import get_session, utcnow
from pulse.common.i18n import current_language
from pulse.common.security import writes_db
from pulse.reporting import desk as desk_report
from pulse.services import safety
from pulse.services.org import Role
from pulse.staff.auth.session import current_roles, staff_required
from pulse.staff.safety import bp
from pulse.staff.safety.forms import ReportForm
from pulse.staff.safety.views import me, tz

MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


def _form() -> ReportForm:
    """The period from the query; by default the current calendar year up to today."""
    today = utcnow().astimezone(tz()).date()
    data = MultiDict(request.args)
    data.setdefault("start", dt.date(today.year, 1, 1).isoformat())
    data.setdefault("end", today.isoformat())
    return ReportForm(formdata=data)


def _check_rep() -> None:
    """The report is the safety representative's own: of their safety area (being an administrator adds none)."""
    if Role.SAFETY_REP not in current_roles() or not safety.area_roots(get_session(), me()):
        abort(403)


@bp.route("/report")
@staff_required(Role.SAFETY_REP)
@writes_db
def report() -> tuple[str, int]:
    _check_rep()
    form = _form()
    valid = form.validate()
    if valid and form.start.data and form.end.data and form.start.data > form.end.data:
        form.end.errors = [*form.end.errors, _end_before_start()]
        valid = False
    if not valid:
        return render_template("safety/report.html", form=form, report=None), 400
    assert form.start.data is not None
    assert form.end.data is not None
    db = get_session()
    built = desk_report.build_report(db, me(), form.start.data, form.end.data, language=current_language(),
                                     tz=tz(), now=utcnow(), k=config().thresholds.min_group_size)
    record_audit(db, "report.view", f"safety_area:{me().id}",
                 {"start": form.start.data.isoformat(), "end": form.end.data.isoformat()})
    db.commit()
    return render_template("safety/report.html", form=form, report=built,
                           period={"start": form.start.data.isoformat(), "end": form.end.data.isoformat()}), 200


def _end_before_start() -> str:
    return _("The end of the period cannot be before its start.")


@bp.route("/report.<any(pdf, xlsx, csv):fmt>")
@staff_required(Role.SAFETY_REP)
@writes_db
def report_file(fmt: str) -> Response:
    _check_rep()
    form = _form()
    if not form.validate() or form.start.data is None or form.end.data is None or form.start.data > form.end.data:
        abort(400)
    db = get_session()
    now = utcnow()
    built = desk_report.build_report(db, me(), form.start.data, form.end.data, language=current_language(),
                                     tz=tz(), now=now, k=config().thresholds.min_group_size)
    data = {"pdf": lambda: desk_report.to_pdf(built, now=now), "xlsx": lambda: desk_report.to_xlsx(built),
            "csv": lambda: desk_report.to_csv(built)}[fmt]()
    record_audit(db, "report.export", f"safety_area:{me().id}",
                 {"format": fmt, "sha256": desk_report.sha256(data), "bytes": len(data),
                  "start": form.start.data.isoformat(), "end": form.end.data.isoformat()})
    db.commit()
    name = f"pulse-report-{form.start.data.isoformat()}-{form.end.data.isoformat()}.{fmt}"
    return Response(data, mimetype=MIMETYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})
