"""SAM pages: a unit's risks, action plan, APT meetings and feedback to employees.

Reading: managers and safety representatives, in their scope. Writing: managers, in the units they lead
(pulse.services.sam.edit_scope); anything outside looks exactly like something that does not exist (404).
Every write goes to the audit log (what and where, never the text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from pulse import disclosure
from pulse.common.context import config, record_audit
from pulse.common.db import get_session, utcnow
from pulse.common.i18n import current_language
from pulse.common.security import writes_db
from pulse.domain.sam import ACTION_STATUSES, RISK_AREAS, RISK_SOURCES, RISK_STATUSES
from pulse.models import Action, AptMeeting, Feedback, Question, Risk, Unit
from pulse.services import sam
from pulse.services.org import Role, Scope, unit_rows
from pulse.staff.admin.forms import ActionForm as ConfirmForm
from pulse.staff.auth.session import current_person, current_scope, staff_required
from pulse.staff.forms import choices
from pulse.staff.sam import bp
from pulse.staff.sam.forms import ActionForm, FeedbackForm, HelpForm, MeetingForm, RiskForm, release_choices

READERS = (Role.MANAGER, Role.SAFETY_REP)

#: What a service's refusal means, per problem, shown at the field it concerns.
PROBLEMS = {
    "required": _l("This is required."),
    "too_long": _l("This is too long."),
    "invalid": _l("Choose one of the options given."),
    "before_start": _l("This date must not be before the start."),
}


def _today() -> dt.date:
    return sam.local_today(utcnow(), config().timezone)


def _edit_scope() -> Scope:
    person = current_person()
    assert person is not None
    return sam.edit_scope(get_session(), person)


def _unit_or_404(unit_id: int, scope: Scope) -> Unit:
    unit = get_session().get(Unit, unit_id)
    if unit is None or not scope.allows(unit_id):
        abort(404)
    return unit


def _releases_of(unit_id: int) -> list[tuple[int, str]]:
    """Released rounds whose newest release holds the unit, newest first, as (id, label)."""
    db = get_session()
    found = []
    for release_id in disclosure.releases_holding(db, unit_id):
        info = disclosure.release_info(db, release_id)
        found.append((release_id, _("%(survey)s, round %(n)s (closed %(date)s)", survey=info.survey_name,
                                    n=info.round_number, date=info.closed_at.date().isoformat())))
    return found


def _question_choices() -> list[object]:
    language = current_language()
    rows = get_session().scalars(select(Question).where(Question.current.is_(True), Question.scale != "text")
                                 .order_by(Question.code))
    return choices([("", _l("— none —"))] + [(q.code, f"{q.code}: {q.text(language)[:90]}") for q in rows])


def _show_problem(form: Any, error: sam.SamError) -> None:
    field = getattr(form, error.field, None)
    message = PROBLEMS.get(error.code, PROBLEMS["invalid"])
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


def _save(form: Any, save: Callable[[], Any], audit: Callable[[Any], tuple[str, str, dict[str, object]]],
          done: Callable[[Any], str], message: str) -> Response | None:
    """Validate, save through the service, log and commit; None (with errors on the form) when it cannot be saved."""
    if not form.validate_on_submit():
        return None
    db = get_session()
    try:
        record = save()
    except sam.SamError as exc:
        db.rollback()
        _show_problem(form, exc)
        return None
    except sam.NotFoundError:
        abort(404)
    what, target, details = audit(record)
    record_audit(db, what, target, details)
    db.commit()
    flash(message, "success")
    return redirect(done(record))


# --- overview ---------------------------------------------------------------------------------------------------


@bp.route("/")
@staff_required(*READERS)
def index() -> str:
    """The units the viewer sees, with their open risks and actions."""
    db = get_session()
    scope = current_scope()
    rows = unit_rows(db, scope)
    ids = [row.unit.id for row in rows]
    open_actions: dict[int, int] = {}
    for action in sam.actions(db, ids):
        if action.status in ("planned", "in_progress"):
            open_actions[action.unit_id] = open_actions.get(action.unit_id, 0) + 1
    open_risks: dict[int, int] = {}
    for risk in sam.risks(db, ids):
        if risk.status in ("open", "acting"):
            open_risks[risk.unit_id] = open_risks.get(risk.unit_id, 0) + 1
    attention = sam.needs_attention(db, ids, _today())
    return render_template("sam/index.html", rows=rows, open_actions=open_actions, open_risks=open_risks,
                           attention=attention, editable=_edit_scope(),
                           help_editable=_edit_scope().everything)


@bp.route("/units/<int:unit_id>")
@staff_required(*READERS)
def unit(unit_id: int) -> str:
    unit = _unit_or_404(unit_id, current_scope())
    db = get_session()
    today = _today()
    return render_template(
        "sam/unit.html", unit=unit, risks=sam.risks(db, [unit_id]), actions=sam.actions(db, [unit_id]),
        meetings=sam.meetings(db, [unit_id]), feedbacks=sam.feedbacks(db, [unit_id]),
        next_meeting=sam.next_meeting(db, unit_id, today), today=today, dates_of=sam.dates_of,
        editable=_edit_scope().allows(unit_id), help=sam.get_help(db, unit_id), action=ConfirmForm())


# --- risks --------------------------------------------------------------------------------------------------------


def _risk_form(unit_id: int, obj: Risk | None = None) -> RiskForm:
    form = RiskForm(obj=obj)
    form.release_id.choices = release_choices(_releases_of(unit_id))
    form.question_code.choices = _question_choices()
    return form


def _risk_input(form: RiskForm, source: str) -> sam.RiskInput:
    assert form.assessed_on.data is not None
    return sam.RiskInput(
        description=form.description.data or "", area=form.area.data or "", serious=bool(form.serious.data),
        assessed_by=form.assessed_by.data or "", assessed_with=form.assessed_with.data or "",
        safety_rep_involved=bool(form.safety_rep_involved.data), assessed_on=form.assessed_on.data,
        status=form.status.data or "open", source=source, release_id=form.release_id.data,
        question_code=form.question_code.data or None)


@bp.route("/units/<int:unit_id>/risks/new", methods=["GET", "POST"])
@staff_required(Role.MANAGER)
def new_risk(unit_id: int) -> Response | tuple[str, int]:
    """A new risk assessment — from a flag or a low score on a results page (the release and question come
    along), or free."""
    scope = _edit_scope()
    unit = _unit_or_404(unit_id, scope)
    form = _risk_form(unit_id)
    source = request.values.get("source", "")
    source = source if source in ("flag", "low_score") else "free"
    if request.method == "GET":
        form.assessed_on.data = _today()
        person = current_person()
        form.assessed_by.data = person.name if person else ""
        release = request.args.get("release_id", "")
        question = request.args.get("question_id", "")
        if release.isdigit() and int(release) in {i for i, _ in _releases_of(unit_id)}:
            form.release_id.data = int(release)
            if question in {str(value) for value, *_ in form.question_code.iter_choices()}:
                form.question_code.data = question
        if source == "flag":
            form.area.data = _area_of(question)
    saved = _save(form, lambda: sam.create_risk(get_session(), unit_id, _risk_input(form, source), scope=scope,
                                                by=current_person()),
                  lambda risk: ("sam.risk_create", f"risk:{risk.id}", {"unit": unit_id}),
                  lambda risk: url_for("sam.unit", unit_id=unit_id), _("The risk assessment is saved."))
    if saved is not None:
        return saved
    return render_template("sam/risk.html", unit=unit, form=form, risk=None, source=source,
                           editable=True), 200 if request.method == "GET" else 400


def _area_of(code: str) -> str:
    question = get_session().scalar(select(Question).where(Question.code == code, Question.current.is_(True)))
    return question.area if question is not None and question.area in RISK_AREAS else "other"


@bp.route("/risks/<int:risk_id>", methods=["GET", "POST"])
@staff_required(*READERS)
def risk(risk_id: int) -> Response | tuple[str, int]:
    db = get_session()
    try:
        found = sam.get_risk(db, risk_id, current_scope())
    except sam.NotFoundError:
        abort(404)
    editable = _edit_scope().allows(found.unit_id)
    if request.method == "POST" and not editable:
        abort(404)
    form = _risk_form(found.unit_id, found)
    saved = _save(form, lambda: sam.update_risk(db, risk_id, _risk_input(form, found.source), scope=_edit_scope()),
                  lambda risk: ("sam.risk_update", f"risk:{risk.id}", {"unit": risk.unit_id}),
                  lambda risk: url_for("sam.unit", unit_id=risk.unit_id), _("The risk assessment is saved."))
    if saved is not None:
        return saved
    actions = [a for a in sam.actions(db, [found.unit_id]) if a.risk_id == found.id]
    return render_template("sam/risk.html", unit=found.unit, form=form, risk=found, source=found.source,
                           editable=editable, actions=actions), 200 if request.method == "GET" else 400


# --- actions ------------------------------------------------------------------------------------------------------


def _action_form(unit_id: int, obj: Action | None = None) -> ActionForm:
    db = get_session()
    form = ActionForm(obj=obj)
    form.owner_id.choices = choices([("", _l("— a role only —"))]
                                    + [(str(p.id), p.name) for p in sam.owner_choices(db, unit_id)])
    ancestors = [unit_id]
    unit = db.get(Unit, unit_id)
    while unit is not None and unit.parent_id is not None:
        ancestors.append(unit.parent_id)
        unit = db.get(Unit, unit.parent_id)
    form.risk_id.choices = choices([("", _l("— none —"))] + [
        (str(r.id), f"{r.assessed_on.isoformat()}: {r.description[:80]}") for r in sam.risks(db, ancestors)])
    form.meeting_id.choices = choices([("", _l("— none —"))] + [
        (str(m.id), _("APT %(date)s", date=m.held_on.isoformat())) for m in sam.meetings(db, [unit_id])])
    form.question_code.choices = _question_choices()
    return form


def _action_input(form: ActionForm) -> sam.ActionInput:
    assert form.start_on.data is not None
    assert form.due_on.data is not None
    return sam.ActionInput(
        activity=form.activity.data or "", goal=form.goal.data or "", owner_role=form.owner_role.data or "",
        owner_id=form.owner_id.data, start_on=form.start_on.data, due_on=form.due_on.data,
        status=form.status.data or "planned", follow_up_on=form.follow_up_on.data, cost_sek=form.cost_sek.data,
        result=form.result.data or "", risk_id=form.risk_id.data, question_code=form.question_code.data or None,
        meeting_id=form.meeting_id.data)


@bp.route("/units/<int:unit_id>/actions/new", methods=["GET", "POST"])
@staff_required(Role.MANAGER)
def new_action(unit_id: int) -> Response | tuple[str, int]:
    scope = _edit_scope()
    unit = _unit_or_404(unit_id, scope)
    form = _action_form(unit_id)
    if request.method == "GET":
        today = _today()
        form.start_on.data, form.due_on.data = today, today + dt.timedelta(days=30)
        for name in ("risk_id", "meeting_id"):
            value = request.args.get(name, "")
            if value.isdigit() and value in {str(v) for v, *_ in getattr(form, name).iter_choices()}:
                getattr(form, name).data = int(value)
    saved = _save(form, lambda: sam.create_action(get_session(), unit_id, _action_input(form), scope=scope,
                                                  by=current_person()),
                  lambda action: ("sam.action_create", f"action:{action.id}", {"unit": unit_id}),
                  lambda action: url_for("sam.meeting", meeting_id=action.meeting_id) if action.meeting_id
                  else url_for("sam.unit", unit_id=unit_id), _("The action is saved."))
    if saved is not None:
        return saved
    return render_template("sam/action.html", unit=unit, form=form, record=None, editable=True,
                           effect=None), 200 if request.method == "GET" else 400


@bp.route("/actions/<int:action_id>", methods=["GET", "POST"])
@staff_required(*READERS)
@writes_db
def action(action_id: int) -> Response | tuple[str, int]:
    db = get_session()
    scope = current_scope()
    try:
        found = sam.get_action(db, action_id, scope)
    except sam.NotFoundError:
        abort(404)
    editable = _edit_scope().allows(found.unit_id)
    if request.method == "POST" and not editable:
        abort(404)
    form = _action_form(found.unit_id, found)
    saved = _save(form, lambda: sam.update_action(db, action_id, _action_input(form), scope=_edit_scope()),
                  lambda action: ("sam.action_update", f"action:{action.id}", {"unit": action.unit_id}),
                  lambda action: url_for("sam.unit", unit_id=action.unit_id), _("The action is saved."))
    if saved is not None:
        return saved
    effect = sam.effect(db, found, scope)
    if effect is not None and effect.points:
        _log_release_view([p.release.id for p in effect.points], found.unit_id, "sam.action")
    return render_template("sam/action.html", unit=found.unit, form=form, record=found, editable=editable,
                           effect=effect), 200 if request.method == "GET" else 400


# --- APT meetings -------------------------------------------------------------------------------------------------


def _meeting_form(unit_id: int, obj: AptMeeting | None = None) -> MeetingForm:
    form = MeetingForm(obj=obj)
    form.release_id.choices = release_choices(_releases_of(unit_id))
    return form


def _meeting_input(form: MeetingForm) -> sam.MeetingInput:
    assert form.held_on.data is not None
    return sam.MeetingInput(form.held_on.data, form.minutes.data or "", form.release_id.data)


@bp.route("/units/<int:unit_id>/meetings/new", methods=["GET", "POST"])
@staff_required(Role.MANAGER)
def new_meeting(unit_id: int) -> Response | tuple[str, int]:
    scope = _edit_scope()
    unit = _unit_or_404(unit_id, scope)
    form = _meeting_form(unit_id)
    if request.method == "GET":
        form.held_on.data = _today()
        releases = _releases_of(unit_id)
        form.release_id.data = releases[0][0] if releases else None
    saved = _save(form, lambda: sam.create_meeting(get_session(), unit_id, _meeting_input(form), scope=scope,
                                                   by=current_person()),
                  lambda meeting: ("sam.meeting_create", f"meeting:{meeting.id}", {"unit": unit_id}),
                  lambda meeting: url_for("sam.meeting", meeting_id=meeting.id), _("The meeting is saved."))
    if saved is not None:
        return saved
    return render_template("sam/meeting.html", unit=unit, form=form, record=None, editable=True,
                           decisions=[]), 200 if request.method == "GET" else 400


@bp.route("/meetings/<int:meeting_id>", methods=["GET", "POST"])
@staff_required(*READERS)
def meeting(meeting_id: int) -> Response | tuple[str, int]:
    db = get_session()
    try:
        found = sam.get_meeting(db, meeting_id, current_scope())
    except sam.NotFoundError:
        abort(404)
    editable = _edit_scope().allows(found.unit_id)
    if request.method == "POST" and not editable:
        abort(404)
    form = _meeting_form(found.unit_id, found)
    saved = _save(form, lambda: sam.update_meeting(db, meeting_id, _meeting_input(form), scope=_edit_scope()),
                  lambda meeting: ("sam.meeting_update", f"meeting:{meeting.id}", {"unit": meeting.unit_id}),
                  lambda meeting: url_for("sam.meeting", meeting_id=meeting.id), _("The meeting is saved."))
    if saved is not None:
        return saved
    return render_template("sam/meeting.html", unit=found.unit, form=form, record=found, editable=editable,
                           decisions=sam.meeting_actions(db, meeting_id)), 200 if request.method == "GET" else 400


# --- "you said, we did" -------------------------------------------------------------------------------------------


def _feedback_form(unit_id: int, obj: Feedback | None = None) -> FeedbackForm:
    form = FeedbackForm(obj=obj)
    form.release_id.choices = release_choices(_releases_of(unit_id), empty=False)
    form.action_ids.choices = choices([(a.id, a.activity[:100]) for a in sam.actions(get_session(), [unit_id])
                                       if a.status != "cancelled"])
    if obj is not None and request.method == "GET":
        form.action_ids.data = [fa.action_id for fa in obj.shown_actions]
    return form


def _log_release_view(release_ids: list[int], unit_id: int, page: str) -> None:
    """Published figures shown on a SAM page are a view of the release, logged like the results pages'."""
    db = get_session()
    for release_id in release_ids:
        record_audit(db, "release.view", f"release:{release_id}", {"unit": unit_id, "page": page})
    db.commit()


def _heard_from(release_id: int | None, unit_id: int) -> disclosure.UnitResult | None:
    """The released results the feedback answers (strengths and concerns, through the gate), to write from."""
    if not release_id:
        return None
    try:
        return disclosure.unit_result(get_session(), release_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        return None


def _feedback_input(form: FeedbackForm) -> sam.FeedbackInput:
    return sam.FeedbackInput(form.release_id.data or 0, form.heard.data or "", form.doing.data or "",
                             tuple(form.action_ids.data or ()))


@bp.route("/units/<int:unit_id>/feedback/new", methods=["GET", "POST"])
@staff_required(Role.MANAGER)
@writes_db
def new_feedback(unit_id: int) -> Response | tuple[str, int]:
    scope = _edit_scope()
    unit = _unit_or_404(unit_id, scope)
    form = _feedback_form(unit_id)
    if request.method == "GET":
        releases = _releases_of(unit_id)
        form.release_id.data = releases[0][0] if releases else None
    saved = _save(form, lambda: sam.create_feedback(get_session(), unit_id, _feedback_input(form), scope=scope,
                                                    by=current_person()),
                  lambda feedback: ("sam.feedback_create", f"feedback:{feedback.id}", {"unit": unit_id}),
                  lambda feedback: url_for("sam.feedback", feedback_id=feedback.id),
                  _("The feedback is saved as a draft. Publish it when it is ready."))
    if saved is not None:
        return saved
    heard_from = _heard_from(form.release_id.data, unit_id)
    if heard_from is not None:
        _log_release_view([heard_from.release.id], unit_id, "sam.feedback")
    return render_template("sam/feedback.html", unit=unit, form=form, record=None, editable=True,
                           action=ConfirmForm(), heard_from=heard_from, notes_seconds=int(sam.NOTES_SECONDS)), \
        200 if request.method == "GET" else 400


@bp.route("/feedback/<int:feedback_id>", methods=["GET", "POST"])
@staff_required(*READERS)
@writes_db
def feedback(feedback_id: int) -> Response | tuple[str, int]:
    db = get_session()
    try:
        found = sam.get_feedback(db, feedback_id, current_scope())
    except sam.NotFoundError:
        abort(404)
    editable = _edit_scope().allows(found.unit_id)
    if request.method == "POST" and not editable:
        abort(404)
    form = _feedback_form(found.unit_id, found)
    saved = _save(form, lambda: sam.update_feedback(db, feedback_id, _feedback_input(form), scope=_edit_scope()),
                  lambda feedback: ("sam.feedback_update", f"feedback:{feedback.id}", {"unit": feedback.unit_id}),
                  lambda feedback: url_for("sam.feedback", feedback_id=feedback.id), _("The feedback is saved."))
    if saved is not None:
        return saved
    heard_from = _heard_from(found.release_id, found.unit_id)
    if heard_from is not None:
        _log_release_view([heard_from.release.id], found.unit_id, "sam.feedback")
    return render_template("sam/feedback.html", unit=found.unit, form=form, record=found, editable=editable,
                           action=ConfirmForm(), heard_from=heard_from, notes_seconds=int(sam.NOTES_SECONDS)), \
        200 if request.method == "GET" else 400


@bp.route("/feedback/<int:feedback_id>/publish", methods=["POST"])
@staff_required(Role.MANAGER)
def publish_feedback(feedback_id: int) -> Response:
    """Publish a feedback (``publish=1``) or take it back (``publish=0``)."""
    db = get_session()
    publish = request.form.get("publish") != "0"
    try:
        found = sam.get_feedback(db, feedback_id, _edit_scope())
    except sam.NotFoundError:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    sam.publish_feedback(db, feedback_id, scope=_edit_scope(), now=utcnow(), published=publish)
    record_audit(db, "sam.feedback_publish" if publish else "sam.feedback_withdraw", f"feedback:{found.id}",
                 {"unit": found.unit_id})
    db.commit()
    flash(_("The feedback is published: employees of the unit see it when they answer.") if publish
          else _("The feedback is taken back: employees no longer see it."), "success")
    return redirect(url_for("sam.feedback", feedback_id=feedback_id))


# --- help after victimisation or threats ------------------------------------------------------------------------


def _help_page(unit: Unit | None, scope: Scope) -> Response | tuple[str, int]:
    db = get_session()
    unit_id = unit.id if unit is not None else None
    existing = sam.get_help(db, unit_id)
    form = HelpForm(obj=existing)
    if form.validate_on_submit():
        try:
            sam.set_help(db, unit_id, form.body.data or "", form.links.data or "", scope=scope)
        except sam.SamError as exc:
            db.rollback()
            form.links.errors = [_("Every line needs a label and a link that starts with https://, http://, "
                                   "mailto: or tel:, e.g. “HR | https://intranet.example.se/hr”.")] \
                if exc.field == "links" else [str(PROBLEMS.get(exc.code, PROBLEMS["invalid"]))]
        except sam.NotFoundError:
            abort(404)
        else:
            record_audit(db, "sam.help_update", f"unit:{unit_id}" if unit_id else "organisation")
            db.commit()
            flash(_("The help text is saved."), "success")
            return redirect(url_for("sam.unit", unit_id=unit_id) if unit_id else url_for("sam.index"))
    inherited = sam.help_for(db, unit_id) if unit_id is not None and existing is None else None
    return render_template("sam/help.html", unit=unit, form=form, inherited=inherited,
                           notes_seconds=int(sam.NOTES_SECONDS)), 200 if request.method == "GET" else 400


@bp.route("/help", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def org_help() -> Response | tuple[str, int]:
    """The organisation's help text (administrators)."""
    return _help_page(None, _edit_scope())


@bp.route("/units/<int:unit_id>/help", methods=["GET", "POST"])
@staff_required(Role.MANAGER)
def unit_help(unit_id: int) -> Response | tuple[str, int]:
    """A unit's own help text (its manager), instead of the organisation's."""
    scope = _edit_scope()
    return _help_page(_unit_or_404(unit_id, scope), scope)


LABELS = {"area": RISK_AREAS, "risk_status": RISK_STATUSES, "source": RISK_SOURCES, "action_status": ACTION_STATUSES}


@bp.app_context_processor
def _labels() -> dict[str, object]:
    def sam_label(kind: str, code: str) -> str:
        """A stored code's label in the page's language (the msgids are in pulse.domain.sam)."""
        label = LABELS[kind].get(code)
        return _(label) if label else code  # noqa: INT001 - the msgids are marked with N_ in pulse.domain.sam

    return {"sam_label": sam_label}
