from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from pulse.common.context import key, record_audit
from pulse.common.db import get_session
from pulse.domain.crypto import KeyPurpose
from pulse.models import AuditEntry, Person, PersonStatus, Unit
from pulse.services import audit
from pulse.services import people as people_service
from pulse.services.org import Role, people_in_unit, unit_rows
from pulse.staff.admin import bp
from pulse.staff.admin.forms import STATUS_LABELS, PersonForm, SearchForm
from pulse.staff.auth.session import current_person, staff_required
from pulse.staff.forms import choices

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


@bp.route("/people")
@staff_required(Role.ADMIN)
def people() -> str | tuple[str, int]:
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("admin/people.html", form=form, results=[]), 400
    results = people_service.search_people(get_session(), form.q.data or "")
    return render_template("admin/people.html", form=form, results=results)


def _unit_choices(keep: set[int]) -> list[tuple[int, str]]:
    """Active units in tree order, and the inactive ones in ``keep``: a person's own units stay choosable, so
    saving their form does not force them out of a unit that has closed."""
    inactive = _("inactive")
    return [(row.unit.id, "\u2003" * row.depth + row.unit.name + ("" if row.unit.active else f" ({inactive})"))
            for row in unit_rows(get_session(), include_inactive=True) if row.unit.active or row.unit.id in keep]


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def person(person_id: int) -> Response | str | tuple[str, int]:
    db = get_session()
    person = db.get(Person, person_id)
    if person is None:
        abort(404)
    managed, safety = people_service.managed_ids(db, person.id), people_service.safety_ids(db, person.id)
    form = PersonForm(
        data=None if request.method == "POST" else {
            "name": person.name, "language": person.language, "is_admin": person.is_admin,
            "unit": person.unit_id or 0, "status": person.status.value,
            "manages": sorted(managed), "safety_area": sorted(safety),
        },
    )
    units = _unit_choices({person.unit_id or 0} | managed | safety)
    form.unit.choices = choices([(0, _("(no unit)"))] + units)
    form.manages.choices = choices(units)
    form.safety_area.choices = choices(units)
    status = 200
    if form.validate_on_submit():
        changes = people_service.PersonChanges(
            name=(form.name.data or "").strip(),
            unit_id=form.unit.data or None,
            language=form.language.data or "sv",
            status=PersonStatus(form.status.data),
            is_admin=bool(form.is_admin.data),
            managed_unit_ids=frozenset(form.manages.data or []),
            safety_unit_ids=frozenset(form.safety_area.data or []),
        )
        try:
            diff = people_service.update_person(db, person, changes, acting=current_person())
        except people_service.PersonUpdateError as exc:
            db.rollback()
            if exc.code == "last_admin":
                form.is_admin.errors = [_("At least one active administrator must remain. Make someone else an "
                                          "administrator first.")]
            elif exc.code == "self_lockout":
                form.status.errors = [_("You cannot mark yourself as having left.")]
            else:
                form.form_errors.append(_("A unit in the form no longer exists. Reload the page and try again."))
            status = 400
        else:
            if diff:
                record_audit(db, "person.update", f"person:{person.id}", diff)
                db.commit()
                flash(_("The changes to %(name)s are saved.", name=person.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.person", person_id=person.id))
    elif request.method == "POST":
        status = 400
    return render_template("admin/person.html", person=person, form=form), status


@bp.route("/audit")
@staff_required(Role.ADMIN)
def audit_log() -> str:
    db = get_session()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    total = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    # Before the query: an offset past the end can be too large for the database to take.
    if page > pages:
        abort(404)
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())
                              .offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)))
    return render_template("admin/audit.html", entries=entries, page=page, pages=pages, total=total)


@bp.route("/audit/verify", methods=["POST"])
@staff_required(Role.ADMIN)
def audit_verify() -> str:

    result = audit.verify(get_session(), key(KeyPurpose.AUDIT_CHAIN))
    return render_template("admin/audit_verify.html", result=result)


@bp.context_processor
def _admin_context() -> dict[str, object]:

    return {"status_labels": STATUS_LABELS}
