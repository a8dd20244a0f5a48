from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pulse import disclosure
from pulse.common.context import key, passwords, record_audit
from pulse.common.db import get_session, utcnow
from pulse.domain.crypto import KeyPurpose
from pulse.models import Round, Unit
from pulse.services import apitokens, invitations, sam
from pulse.services import auth as auth_service
from pulse.services.org import Role, people_in_unit, unit_rows
from pulse.services.rounds import round_status, visible_rounds
from pulse.staff.admin.forms import ActionForm
from pulse.staff.auth.session import (
    current_person,
    current_roles,
    current_scope,
    session_answer_key,
    sign_in,
    staff_required,
)
from pulse.staff.home import bp
from pulse.staff.home.forms import ApiTokenForm, ChangePasswordForm, SettingsForm
from pulse.staff.safety.views import start_summary


@bp.route("/")
@staff_required()
def home() -> str:
    person = current_person()
    assert person is not None
    roles = current_roles()
    latest = []
    if roles & {Role.MANAGER, Role.SAFETY_REP, Role.ADMIN}:
        latest = disclosure.visible_releases(get_session(), current_scope())[:1]
    db = get_session()
    statuses, attention, plans = [], None, []
    if person.managed_units:
        # What needs a manager: each led unit's newest results and flags, the next APT, the actions due or overdue
        # in everything they lead — and, for a manager of a parent unit, the plans of the units below.
        today = utcnow().date()
        scope = sam.edit_scope(db, person)
        statuses = sam.unit_statuses(db, person.managed_units, current_scope(), today)
        below = [row.unit for row in unit_rows(db, scope) if row.unit not in person.managed_units]
        attention = sam.needs_attention(db, [row.unit.id for row in unit_rows(db, scope)], today)
        plans = [(unit, count) for unit in below
                 if (count := sum(1 for a in sam.actions(db, [unit.id]) if a.status in ("planned", "in_progress")))]
    desk = start_summary(person) if roles & {Role.MANAGER, Role.SAFETY_REP} else None
    return render_template("staff/home.html", managed=person.managed_units, safety=person.safety_units,
                           roles=roles, latest=latest, desk=desk, invitations=invitations.my_invitations(
                               db, person.id, session_answer_key(), key(KeyPurpose.TOKEN_HASH),
                               now=utcnow()), action=ActionForm(), statuses=statuses, attention=attention,
                           plans=plans)


@bp.route("/settings", methods=["GET", "POST"])
@staff_required()
def settings() -> Response | str | tuple[str, int]:
    person = current_person()
    assert person is not None
    form = SettingsForm(prefix="settings", language=person.language)
    password_form = ChangePasswordForm(prefix="password")
    status = 200
    if request.method == "POST":
        db = get_session()
        if "settings-language" in request.form:
            if form.validate():
                person.language = form.language.data or person.language
                db.commit()
                flash(_("Your settings are saved."), "success")
                return redirect(url_for("staff.settings"))
            status = 400
        elif password_form.validate():
            if not passwords().verify(person.password_hash, password_form.current.data or ""):
                password_form.current.errors = [_("The current password is wrong.")]
                status = 400
            else:
                answer_key = session_answer_key()
                auth_service.set_password(person, passwords(), password_form.password.data or "",
                                          answer_key=answer_key)
                record_audit(db, "auth.password_change", f"person:{person.id}")
                db.commit()
                sign_in(person, answer_key)  # keep this session; the version bump ends all others
                flash(_("Your new password is saved. Other sessions have been signed out."), "success")
                return redirect(url_for("staff.settings"))
        else:
            status = 400
    return _settings_page(form=form, password_form=password_form, status=status)


def _settings_page(*, form: SettingsForm | None = None, password_form: ChangePasswordForm | None = None,
                   token_form: ApiTokenForm | None = None, new_secret: str | None = None,
                   status: int = 200) -> tuple[str, int]:
    person = current_person()
    assert person is not None
    return render_template(
        "staff/settings.html", form=form or SettingsForm(prefix="settings", language=person.language),
        password_form=password_form or ChangePasswordForm(prefix="password"),
        token_form=token_form or ApiTokenForm(prefix="token"), new_secret=new_secret, action=ActionForm(),
        tokens=apitokens.tokens_of(get_session(), person.id)), status


@bp.route("/units")
@staff_required(Role.MANAGER, Role.SAFETY_REP)
def units() -> str:
    return render_template("staff/units.html", rows=unit_rows(get_session(), current_scope()))


@bp.route("/units/<int:unit_id>")
@staff_required(Role.MANAGER, Role.SAFETY_REP)
def unit(unit_id: int) -> str:
    # Outside the viewer's scope looks exactly like a unit that does not exist.
    if not current_scope().allows(unit_id):
        abort(404)
    db = get_session()
    unit = db.get(Unit, unit_id)
    if unit is None:
        abort(404)
    children = [child for child in unit.children if child.active]
    return render_template("staff/unit.html", unit=unit, children=children,
                           people=people_in_unit(db, unit_id))


@bp.route("/answer/<int:round_id>", methods=["POST"])
@staff_required()
def answer_now(round_id: int) -> Response | str:
    """Hand a signed-in person over to the anonymous answer page with their own credential, opened with the
    answer key their password unlocked. Nothing is written: the staff side keeps no trace of it.

    The answer itself goes through /r like any other: the staff cookie is not sent there.
    """
    person = current_person()
    assert person is not None
    if not ActionForm().validate_on_submit():
        abort(400)
    answer_key = session_answer_key()
    if answer_key is None:
        abort(404)
    try:
        credential = invitations.my_credential(get_session(), person.id, round_id, answer_key,
                                               key(KeyPurpose.TOKEN_HASH), now=utcnow())
    except invitations.CredentialError as exc:
        if exc.code == "used":
            flash(_("You have already answered this round. Thank you!"), "info")
            return redirect(url_for("staff.home"))
        abort(404)
    return render_template("staff/answer_handoff.html", credential=credential, language=person.language)


@bp.route("/rounds")
@staff_required(Role.SAFETY_REP)
def rounds() -> str:
    db = get_session()
    return render_template("staff/rounds.html", rounds=visible_rounds(db, current_scope()))


@bp.route("/rounds/<int:round_id>")
@staff_required(Role.SAFETY_REP)
def round_integrity(round_id: int) -> str:
    db = get_session()
    rnd = db.get(Round, round_id)
    if rnd is None or rnd not in visible_rounds(db, current_scope()):
        abort(404)
    return render_template("admin/round.html", status=round_status(db, rnd), action=ActionForm(),
                           questions=[rq.question for rq in rnd.questions])


@bp.route("/settings/tokens", methods=["POST"])
@staff_required()
def create_token() -> str | tuple[str, int]:
    """Create a personal API token; its secret is shown once, on this page only."""
    person = current_person()
    assert person is not None
    form = ApiTokenForm(prefix="token")
    if not form.validate_on_submit():
        return _settings_page(token_form=form, status=400)
    db = get_session()
    token, secret = apitokens.create_token(db, key(KeyPurpose.TOKEN_HASH), person, form.name.data or "")
    record_audit(db, "api_token.create", f"api_token:{token.id}", {"name": token.name})
    db.commit()
    return _settings_page(new_secret=secret)


@bp.route("/settings/tokens/<int:token_id>/revoke", methods=["POST"])
@staff_required()
def revoke_token(token_id: int) -> Response:
    person = current_person()
    assert person is not None
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        apitokens.revoke(db, person.id, token_id)
    except apitokens.TokenError:
        abort(404)
    record_audit(db, "api_token.revoke", f"api_token:{token_id}")
    db.commit()
    flash(_("The token is revoked. Programs using it can no longer read results."), "success")
    return redirect(url_for("staff.settings"))
