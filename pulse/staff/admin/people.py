"""People: the list (paged, searchable, filtered), adding one person, editing one, with a preview of a move."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from pulse.common.context import config, record_audit
from pulse.common.db import get_session
from pulse.models import Person, PersonStatus, Survey, Unit
from pulse.services import orgedit
from pulse.services import people as people_service
from pulse.services.org import Role, unit_rows
from pulse.staff.admin import bp
from pulse.staff.admin.forms import NewPersonForm, PersonForm, SearchForm, UnitForm
from pulse.staff.auth.session import current_person, staff_required
from pulse.staff.forms import choices


def unit_choices(keep: set[int]) -> list[tuple[int, str]]:
    """Active units in tree order, and the inactive ones in ``keep``: a person's own units stay choosable, so
    saving their form does not force them out of a unit that has closed."""
    inactive = _("inactive")
    return [(row.unit.id, "\u2003" * row.depth + row.unit.name + ("" if row.unit.active else f" ({inactive})"))
            for row in unit_rows(get_session(), include_inactive=True) if row.unit.active or row.unit.id in keep]


def group_size() -> int:
    """The k a move preview counts with: the configured one, or a higher one an active survey uses."""
    highest = get_session().scalar(select(func.max(Survey.min_group_size)).where(Survey.active.is_(True)))
    return max(config().thresholds.min_group_size, highest or 0)


def preview_digest(subject: str, values: object, preview: orgedit.Preview) -> str:
    """A fingerprint of a move and what the preview said it changes: saving needs the same fingerprint, so what
    is saved is what was shown (if the organisation changed meanwhile, the new preview is shown instead)."""
    effects = preview.effects
    payload = [subject, values, sorted(effects.managers_before), sorted(effects.managers_after),
               sorted(effects.safety_before), sorted(effects.safety_after),
               [(c.before, c.after, c.people) for c in effects.counting],
               [(str(g.unit), g.code, g.people) for g in preview.gaps_opened + preview.gaps_closed]]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def preview_names(preview: orgedit.Preview) -> dict[str, dict[int, str]]:
    """Names of the people and units a preview mentions, for the template."""
    effects = preview.effects
    people = (effects.managers_before | effects.managers_after | effects.safety_before | effects.safety_after)
    units = {c.before for c in effects.counting} | {c.after for c in effects.counting}
    units |= {int(str(g.unit)) for g in preview.gaps_opened + preview.gaps_closed}
    db = get_session()
    return {
        "people": dict(db.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all())
        if people else {},
        "units": dict(db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(
            [u for u in units if u is not None]))).all()),
    }


def move_preview(form: PersonForm | UnitForm, subject: str, values: object,
                 effects: Callable[[int], orgedit.Preview]) -> dict[str, Any] | None:
    """What a move changes, to show before saving it; None when the form already carries this very preview's
    digest (the administrator saw it and saves). ``effects`` works the preview out for a group size k.

    The digest goes into the form, so the next submit saves exactly what was shown (:func:`preview_digest`)."""
    k = group_size()
    preview = effects(k)
    digest = preview_digest(subject, values, preview)
    if form.move_digest.data == digest:
        return None
    form.move_digest.data = digest
    return {"preview": preview, "names": preview_names(preview), "k": k}


def save_edit(event: str, subject: str, diff: dict[str, Any], name: str) -> None:
    """Log and commit an edit that changed something and say it is saved, or say nothing changed."""
    if diff:
        db = get_session()
        record_audit(db, event, subject, diff)
        db.commit()
        flash(_("The changes to %(name)s are saved.", name=name), "success")
    else:
        flash(_("Nothing was changed."), "info")


# --- the list ----------------------------------------------------------------------------------------------


@bp.route("/people")
@staff_required(Role.ADMIN)
def people() -> str | tuple[str, int]:
    form = SearchForm(request.args)
    form.unit.choices = choices([(0, _("All units"))] + unit_choices(set()))
    if not form.validate():
        return render_template("admin/people.html", form=form, listing=None, filters={}), 400
    wanted = orgedit.PeopleFilter(text=form.q.data or "", unit_id=form.unit.data or None,
                                  role=form.role.data or "", status=form.status.data or "")
    page = request.args.get("page", 1, type=int)
    try:
        listing = orgedit.people_page(get_session(), wanted, page)
    except ValueError:
        abort(404)
    # The filters go into every page link, so they keep working across pages.
    filters = {name: value for name, value in (("q", wanted.text.strip()), ("unit", wanted.unit_id),
                                               ("role", wanted.role), ("status", wanted.status)) if value}
    return render_template("admin/people.html", form=form, listing=listing, filters=filters)


# --- one person --------------------------------------------------------------------------------------------


def _changes(form: PersonForm) -> people_service.PersonChanges:
    return people_service.PersonChanges(
        name=(form.name.data or "").strip(),
        unit_id=form.unit.data or None,
        language=form.language.data or "sv",
        status=PersonStatus(form.status.data),
        is_admin=bool(form.is_admin.data),
        managed_unit_ids=frozenset(form.manages.data or []),
        safety_unit_ids=frozenset(form.safety_area.data or []),
    )


def _fill_choices(form: PersonForm, keep: set[int], *, allow_no_unit: bool) -> None:
    units = unit_choices(keep)
    form.unit.choices = choices(([(0, _("(no unit)"))] if allow_no_unit else [(0, _("Choose a unit"))]) + units)
    form.manages.choices = choices(units)
    form.safety_area.choices = choices(units)


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
    _fill_choices(form, {person.unit_id or 0} | managed | safety, allow_no_unit=True)
    status = 200
    if form.validate_on_submit():
        changes = _changes(form)
        if orgedit.is_move(person, changes, managed):
            shown = move_preview(form, f"person:{person.id}", [changes.unit_id, sorted(changes.managed_unit_ids)],
                                 lambda k: orgedit.person_effects(db, person, changes, k))
            if shown is not None:
                # First the preview; the administrator saves the move from it.
                return render_template("admin/person.html", person=person, form=form, **shown)
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
            save_edit("person.update", f"person:{person.id}", diff, person.name)
            return redirect(url_for("admin.person", person_id=person.id))
    elif request.method == "POST":
        status = 400
    form.move_digest.data = ""
    return render_template("admin/person.html", person=person, form=form, preview=None, names={}), status


EDIT_ERRORS = {
    "missing_value": lambda: _("This field is required."),
    "too_long": lambda: _("This is too long."),
    "bad_email": lambda: _("This is not a valid e-mail address."),
    "duplicate_email": lambda: _("Someone in the organisation already has this e-mail address."),
    "duplicate_unit": lambda: _("Another unit already has this unit id."),
    "unknown_unit": lambda: _("The unit no longer exists. Reload the page and try again."),
    "cycle": lambda: _("A unit cannot belong to itself or to a unit below it."),
    "still_used": lambda: _("People or active units are still in this unit. Move them first."),
}


@bp.route("/people/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def person_new() -> Response | str | tuple[str, int]:
    db = get_session()
    form = NewPersonForm()
    _fill_choices(form, set(), allow_no_unit=False)
    # Every problem at once: the address and the unit are checked even when another field is missing.
    valid = form.validate_on_submit()
    if request.method == "POST" and not form.email.errors:
        try:
            orgedit.normalise_email(form.email.data or "")
        except orgedit.OrgEditError as exc:
            form.email.errors = [EDIT_ERRORS[exc.code]()]
            valid = False
    if request.method == "POST" and not form.unit.errors and not form.unit.data:
        form.unit.errors = [_("Choose the unit the person works in.")]
        valid = False
    if valid:
        changes = _changes(form)
        try:
            person, details = orgedit.create_person(db, form.email.data or "", changes)
        except orgedit.OrgEditError as exc:
            db.rollback()
            getattr(form, exc.field).errors = [EDIT_ERRORS[exc.code]()]
        else:
            record_audit(db, "person.create", f"person:{person.id}", details)
            db.commit()
            flash(_("%(name)s is added. They set a password with \u201cForgot your password, or have none "
                    "yet?\u201d on the sign-in page.", name=person.name), "success")
            return redirect(url_for("admin.person", person_id=person.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/person_new.html", form=form), status
