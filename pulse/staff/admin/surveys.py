"""Admin pages for the question bank, surveys and rounds."""

from __future__ import annotations

import json
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from pulse import scheduler
from pulse.common.context import config, record_audit
from pulse.common.db import get_database, get_session, utcnow
from pulse.common.i18n import current_language
from pulse.common.labels import (
    CADENCE_LABELS,
    LANGUAGE_LABELS,
    QUESTION_MODE_LABELS,
    REMINDER_LABELS,
    SCALE_LABELS,
    WEEKDAY_LABELS,
    area_label,
)
from pulse.domain.participation import closed_participation
from pulse.domain.pooling import MAX_ROUNDS, MIN_ROUNDS
from pulse.domain.protection import AuditError
from pulse.domain.questionbank import AREAS, DEFAULT_PULSE
from pulse.models import Round, Survey, Unit
from pulse.services import pooling
from pulse.services import questions as question_service
from pulse.services import rounds as round_service
from pulse.services.org import Role, unit_rows
from pulse.services.releases import ReleaseError, compute_release, explain, reasons
from pulse.services.surveys import SurveyError, SurveyInput, create_survey, survey_input, update_survey
from pulse.staff.admin import bp
from pulse.staff.admin.forms import ActionForm, PoolingForm, QuestionForm, SurveyForm
from pulse.staff.auth.session import current_person, staff_required
from pulse.staff.forms import choices

T = TypeVar("T")

#: Rounds up to this size get their invitations from the request that opens them; larger ones from the scheduler.
MAIL_IN_REQUEST = 200


def _acted_on(model: type[T], ident: int) -> T:
    """The object a button on an admin page acts on: the form must be genuine (400), the object exist (404)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    found = get_session().get(model, ident)
    if found is None:
        abort(404)
    return found


# --- questions -----------------------------------------------------------------------------------------------


@bp.route("/questions")
@staff_required(Role.ADMIN)
def questions() -> str:
    db = get_session()
    return render_template("admin/questions.html", questions=question_service.current_questions(db,
                           include_retired=True), area_label=area_label, scale_labels=SCALE_LABELS,
                           action=ActionForm())


def _question_form(form: QuestionForm) -> None:
    form.area.choices = choices((code, area_label(code)) for code in AREAS)
    form.scale.choices = choices(SCALE_LABELS.items())


def _question_error(form: QuestionForm, code: str) -> None:
    messages = {
        "bad_code": gettext("Use 1–32 letters, digits or dashes."),
        "code_taken": gettext("That code is already used."),
        "unknown_area": gettext("Choose an area."),
        "unknown_scale": gettext("Choose a scale."),
        "missing_text": gettext("Write the question in both languages."),
        "scale_change": gettext("The scale of an existing question cannot change. Add a new question instead."),
        "no_change": gettext("Nothing was changed, so no new version was made."),
        "not_current": gettext("Only the newest version can be edited."),
    }
    fields = {"bad_code": "code", "code_taken": "code", "unknown_area": "area", "unknown_scale": "scale",
              "missing_text": "text_sv", "scale_change": "scale"}
    field = fields.get(code)
    if field:
        getattr(form, field).errors = [*getattr(form, field).errors, messages[code]]
    else:
        form.form_errors.append(messages.get(code, code))


def _question_input(form: QuestionForm) -> question_service.QuestionInput:
    return question_service.QuestionInput(
        area=form.area.data or "", scale=form.scale.data or "", text_sv=form.text_sv.data or "",
        text_en=form.text_en.data or "", allow_skip=bool(form.allow_skip.data), sensitive=bool(form.sensitive.data),
        reverse=bool(form.reverse.data))


@bp.route("/questions/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def question_new() -> Response | str | tuple[str, int]:
    form = QuestionForm()
    _question_form(form)
    if form.validate_on_submit():
        db = get_session()
        try:
            question = question_service.add_question(db, form.code.data or "", _question_input(form))
        except question_service.QuestionError as exc:
            db.rollback()
            _question_error(form, exc.code)
        else:
            record_audit(db, "question.add", f"question:{question.code}", {"version": 1})
            db.commit()
            flash(_("The question %(code)s is added.", code=question.code), "success")
            return redirect(url_for("admin.questions"))
    return render_template("admin/question.html", form=form, question=None, history=[]), (
        400 if request.method == "POST" else 200)


@bp.route("/questions/<code>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def question_edit(code: str) -> Response | str | tuple[str, int]:
    db = get_session()
    question = question_service.current_by_code(db, [code]).get(code)
    if question is None:
        abort(404)
    form = QuestionForm(data=None if request.method == "POST" else {
        "code": question.code, "area": question.area, "scale": question.scale, "text_sv": question.text_sv,
        "text_en": question.text_en, "allow_skip": question.allow_skip, "sensitive": question.sensitive,
        "reverse": question.reverse})
    _question_form(form)
    if request.method == "POST":
        form.scale.data = form.scale.data or question.scale
    if form.validate_on_submit():
        try:
            new = question_service.edit_question(db, question, _question_input(form))
        except question_service.QuestionError as exc:
            db.rollback()
            _question_error(form, exc.code)
        else:
            record_audit(db, "question.edit", f"question:{new.code}", {"version": new.version})
            db.commit()
            flash(_("Saved as version %(version)d. Rounds already asked keep the earlier wording.",
                    version=new.version), "success")
            return redirect(url_for("admin.question_edit", code=code))
    return render_template("admin/question.html", form=form, question=question,
                           history=question_service.versions(db, code)), (400 if request.method == "POST" else 200)


@bp.route("/questions/<code>/retire", methods=["POST"])
@staff_required(Role.ADMIN)
def question_retire(code: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    question = question_service.current_by_code(db, [code]).get(code)
    if question is None:
        abort(404)
    question_service.set_retired(db, question, not question.retired)
    record_audit(db, "question.retire" if not question.retired else "question.restore", f"question:{code}")
    db.commit()
    return redirect(url_for("admin.questions"))


# --- surveys -------------------------------------------------------------------------------------------------


@bp.route("/surveys")
@staff_required(Role.ADMIN)
def surveys() -> str:
    db = get_session()
    rows = []
    for survey in db.scalars(select(Survey).order_by(Survey.name)):
        open_round = db.scalar(select(Round).where(Round.survey_id == survey.id, Round.status == "open"))
        count = db.scalar(select(func.count()).select_from(Round).where(Round.survey_id == survey.id)) or 0
        rows.append((survey, open_round, count))
    return render_template("admin/surveys.html", rows=rows, cadence_labels=CADENCE_LABELS)


def _survey_form(form: SurveyForm) -> None:
    db = get_session()
    form.units.choices = choices((row.unit.id, "\u2003" * row.depth + row.unit.name) for row in unit_rows(db))
    form.questions.choices = choices(
        (q.code, f"{q.code} – {q.text('en' if _lang() == 'en' else 'sv')}")
        for q in question_service.current_questions(db) if q.scale != "text")
    form.question_mode.choices = choices(QUESTION_MODE_LABELS.items())
    form.cadence.choices = choices(CADENCE_LABELS.items())
    form.open_weekday.choices = choices(enumerate(WEEKDAY_LABELS))
    form.language.choices = choices(LANGUAGE_LABELS.items())
    form.reminder_policy.choices = choices(REMINDER_LABELS.items())


def _lang() -> str:
    return current_language()


def _survey_data(form: SurveyForm) -> SurveyInput:
    chosen = set(form.questions.data or [])
    order = [choice.value for choice in form.questions.choices]
    return SurveyInput(
        name=form.name.data or "", unit_ids=tuple(form.units.data or ()),
        question_codes=tuple(code for code in order if code in chosen), cadence=form.cadence.data or "weekly",
        open_weekday=form.open_weekday.data or 0, open_time=(form.open_time.data or "").strip(),
        open_days=form.open_days.data or 0, language=form.language.data or "sv",
        min_group_size=form.min_group_size.data or 0, min_dist_size=form.min_dist_size.data or 0,
        min_comment_size=form.min_comment_size.data or 0, question_mode=form.question_mode.data or "fixed",
        rotation_count=form.rotation_count.data, comment_enabled=bool(form.comment_enabled.data),
        reminder_policy=form.reminder_policy.data or "everyone",
        reminder_after_days=form.reminder_after_days.data or 0, active=bool(form.active.data))


def _survey_error(form: SurveyForm, exc: SurveyError) -> None:
    messages = {
        "name": gettext("Enter a name of at most 200 characters."),
        "no_units": gettext("Choose at least one unit."),
        "unknown_unit": gettext("A chosen unit no longer exists. Reload the page."),
        "no_questions": gettext("Choose at least one question."),
        "too_many_questions": gettext("Choose at most %(max)s questions.", max=exc.params.get("max", "")),
        "unknown_question": gettext("A chosen question no longer exists. Reload the page."),
        "cadence": gettext("Choose how often."),
        "weekday": gettext("Choose a day."),
        "time": gettext("Enter a time such as 08:00."),
        "open_days": gettext("A round can be open 1 to 20 working days."),
        "language": gettext("Choose a language."),
        "threshold_low": gettext("This may not be lower than %(floor)s.", floor=exc.params.get("floor", "")),
        "question_mode": gettext("Choose how questions are asked."),
        "rotation_count": gettext("When rotating, ask between 1 and %(max)s questions per round.",
                                  max=exc.params.get("max", "")),
        "reminder_policy": gettext("Choose a reminder."),
        "reminder_after_days": gettext("The reminder must go out between 1 and %(max)s working days after opening.",
                                       max=exc.params.get("max", "")),
    }
    field = getattr(form, exc.field or "", None)
    message = messages.get(exc.code, exc.code)
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


@bp.route("/surveys/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def survey_new() -> Response | str | tuple[str, int]:
    floors = config().thresholds
    form = SurveyForm(data=None if request.method == "POST" else {
        "questions": list(DEFAULT_PULSE), "open_days": 5, "open_time": "08:00", "cadence": "weekly",
        "min_group_size": floors.min_group_size, "min_dist_size": floors.min_dist_size,
        "min_comment_size": floors.min_comment_size, "reminder_after_days": 2, "comment_enabled": True,
        "active": True, "question_mode": "fixed", "reminder_policy": "everyone"})
    _survey_form(form)
    if form.validate_on_submit():
        db = get_session()
        try:
            survey = create_survey(db, _survey_data(form), floors=floors, now=utcnow(),
                                   tz=ZoneInfo(config().timezone))
        except SurveyError as exc:
            db.rollback()
            _survey_error(form, exc)
        else:
            record_audit(db, "survey.create", f"survey:{survey.id}", {
                "name": survey.name, "thresholds": [survey.min_group_size, survey.min_dist_size,
                                                    survey.min_comment_size]})
            db.commit()
            flash(_("The survey is created."), "success")
            return redirect(url_for("admin.survey", survey_id=survey.id))
    return render_template("admin/survey_form.html", form=form, survey=None, floors=floors), (
        400 if request.method == "POST" else 200)


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def survey(survey_id: int) -> Response | str | tuple[str, int]:
    db = get_session()
    found = db.get(Survey, survey_id)
    if found is None:
        abort(404)
    floors = config().thresholds
    current = survey_input(found)
    form = SurveyForm(data=None if request.method == "POST" else {
        **{k: v for k, v in current.__dict__.items() if k not in ("unit_ids", "question_codes")},
        "units": list(current.unit_ids), "questions": list(current.question_codes)})
    _survey_form(form)
    if form.validate_on_submit():
        try:
            diff = update_survey(db, found, _survey_data(form), floors=floors, now=utcnow(),
                                 tz=ZoneInfo(config().timezone))
        except SurveyError as exc:
            db.rollback()
            _survey_error(form, exc)
        else:
            if diff:
                record_audit(db, "survey.update", f"survey:{found.id}", diff)
            db.commit()
            flash(_("The survey is saved. A round that is already open keeps its settings."), "success")
            return redirect(url_for("admin.survey", survey_id=found.id))
    rounds = list(db.scalars(select(Round).where(Round.survey_id == found.id).order_by(Round.number.desc())))
    return render_template("admin/survey_form.html", form=form, survey=found, floors=floors, rounds=rounds,
                           action=ActionForm(), pooling_form=_pooling_form(found),
                           pool_refusals=_pool_refusals(found)), (
        400 if request.method == "POST" else 200)


POOLING_LABELS = {"none": _l("No pooling"), "month": _l("Per calendar month"), "quarter": _l("Per quarter"),
                  "rounds": _l("Per number of consecutive rounds")}


def _pool_refusals(found: Survey) -> list[dict[str, object]]:
    """The survey's periods that could not be pooled: when, why, and for the audit's refusal what the published
    figures together would reveal (units and rounds, never a figure), in the page's language."""
    db = get_session()
    standing = pooling.refusals(db, found)
    if not standing:
        return []
    names = dict(db.execute(select(Unit.id, Unit.name)).all())
    return [{"period": refusal.period, "at": refusal.refused_at,
             "reason": (_("A round's raw answers were deleted after the retention time, so this period cannot be "
                          "pooled.") if refusal.code == "purged"
                        else _("Nothing was pooled: what is already published would reveal something together with "
                               "the pooled figures. It needs a review.")),
             "lines": explain(json.loads(refusal.findings), names, _)}
            for refusal in standing.values()]


def _pooling_form(found: Survey, form: PoolingForm | None = None) -> PoolingForm:
    form = form or PoolingForm(data={"pooling": found.pooling or "none", "pool_rounds": found.pool_rounds})
    form.pooling.choices = choices(POOLING_LABELS.items())
    return form


@bp.route("/surveys/<int:survey_id>/pooling", methods=["POST"])
@staff_required(Role.ADMIN)
def survey_pooling(survey_id: int) -> Response | tuple[str, int]:
    """Choose how the survey's rounds are pooled; refused once a pooled release exists (periods would overlap)."""
    found = _acted_on(Survey, survey_id)
    db = get_session()
    form = _pooling_form(found, PoolingForm())
    if form.validate_on_submit():
        kind = form.pooling.data
        try:
            changed = pooling.set_pooling(db, found, None if kind == "none" else kind,
                                          form.pool_rounds.data if kind == "rounds" else None)
        except pooling.PoolingError as exc:
            db.rollback()
            if exc.code == "locked":
                form.pooling.errors = [gettext("A period is already pooled: the periods cannot change any more, or "
                                               "new ones would overlap the pooled ones.")]
            else:
                form.pool_rounds.errors = [gettext("Pool between %(low)d and %(high)d rounds.", low=MIN_ROUNDS,
                                                   high=MAX_ROUNDS)]
        else:
            if changed:
                record_audit(db, "survey.pooling", f"survey:{found.id}",
                             {"pooling": found.pooling, "rounds": found.pool_rounds})
            db.commit()
            flash(_("Pooling saved."), "success")
            return redirect(url_for("admin.survey", survey_id=found.id))
    floors = config().thresholds
    current = survey_input(found)
    survey_form = SurveyForm(data={**{k: v for k, v in current.__dict__.items()
                                      if k not in ("unit_ids", "question_codes")},
                                   "units": list(current.unit_ids), "questions": list(current.question_codes)})
    _survey_form(survey_form)
    rounds = list(db.scalars(select(Round).where(Round.survey_id == found.id).order_by(Round.number.desc())))
    return render_template("admin/survey_form.html", form=survey_form, survey=found, floors=floors, rounds=rounds,
                           action=ActionForm(), pooling_form=form, pool_refusals=_pool_refusals(found)), 400


@bp.route("/surveys/<int:survey_id>/open", methods=["POST"])
@staff_required(Role.ADMIN)
def survey_open_round(survey_id: int) -> Response:
    found = _acted_on(Survey, survey_id)
    db = get_session()
    now = utcnow()
    keys = scheduler.round_keys()
    try:
        rnd = scheduler.open_round(db, found, keys, now=now, tz=ZoneInfo(config().timezone))
    except round_service.RoundError as exc:
        db.rollback()
        flash({"already_open": _("A round of this survey is already open."),
               "no_one_invited": _("Nobody would be invited: the units have no active people, or too few for any "
                                   "answer to be counted in a group of at least %(k)d.", k=found.min_group_size),
               }.get(exc.code, _("The round could not be opened.")), "error")
        return redirect(url_for("admin.survey", survey_id=survey_id))
    db.commit()
    sent = None
    if rnd.invited <= MAIL_IN_REQUEST:
        outcome = scheduler.mail_now(get_database(current_app), rnd.id, keys)
        sent = outcome.sent if outcome is not None else None
    if sent is None:
        flash(_("Round %(number)d is open: %(invited)d invited. The invitations go out with the next scheduler run, "
                "within a few minutes.", number=rnd.number, invited=rnd.invited), "success")
    else:
        flash(_("Round %(number)d is open: %(invited)d invited, %(sent)d invitations sent.", number=rnd.number,
                invited=rnd.invited, sent=sent), "success")
    return redirect(url_for("admin.round_page", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>")
@staff_required(Role.ADMIN)
def round_page(round_id: int) -> str:
    db = get_session()
    rnd = db.get(Round, round_id)
    if rnd is None:
        abort(404)
    return render_template("admin/round.html", status=round_service.round_status(db, rnd), action=ActionForm(),
                           questions=[rq.question for rq in rnd.questions])


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@staff_required(Role.ADMIN)
def round_close(round_id: int) -> Response | str:
    """Closing early cannot be undone (no more answers; the release is computed at once), so the first POST shows
    what closing now means — the answers so far, as the band the k rule allows, and the date the round would have
    closed — and only a POST with ``confirm`` closes."""
    rnd = _acted_on(Round, round_id)
    db = get_session()
    if rnd.status == "open" and request.form.get("confirm") != "yes":
        return render_template("admin/round_close.html", status=round_service.round_status(db, rnd),
                               action=ActionForm())
    try:
        result = scheduler.close_round(db, rnd, scheduler.round_keys(), now=utcnow())
    except round_service.RoundError:
        db.rollback()
        flash(_("The round is already closed."), "info")
        return redirect(url_for("admin.round_page", round_id=round_id))
    db.commit()
    round_service.scrub_closed(get_database(current_app))
    shown = closed_participation(rnd.invited, result.answers, rnd.min_group_size).answered
    flash(_("The round is closed: %(answers)d answers stored.", answers=shown) if shown is not None
          else _("The round is closed. Too few answered for the number to be shown."), "success")
    return redirect(url_for("admin.round_page", round_id=round_id))



@bp.route("/rounds/<int:round_id>/release", methods=["POST"])
@staff_required(Role.ADMIN)
def round_recompute(round_id: int) -> Response:
    """Compute a new release version of a closed round (a correction never edits a frozen release), and say why it
    hides more than today's organisation alone needs — or, when the earlier versions already reveal something on
    their own, that nothing new was published, and what."""
    def flash_lines(entries: list[dict[str, object]], category: str) -> None:
        shown = 6  # flashes live in the session cookie: the first few, and how many there are
        lines = explain(entries, dict(db.execute(select(Unit.id, Unit.name)).all()), _)
        for line in lines[:shown]:
            flash(line, category)
        if len(lines) > shown:
            flash(_("(The first %(shown)d of %(total)d are shown.)", shown=shown, total=len(lines)), category)

    rnd = _acted_on(Round, round_id)
    db = get_session()
    person = current_person()
    try:
        release = compute_release(db, rnd, created_by=person.email if person else "system", now=utcnow())
    except ReleaseError as exc:
        db.rollback()
        if exc.code == "earlier_unsafe":
            flash(_("No new version was computed: what the earlier versions published already reveals something on "
                    "its own, and a new version cannot take that back. Nothing new was published. The earlier "
                    "versions need a review:"), "error")
            flash_lines(exc.findings, "error")
        elif exc.code == "pooled":
            flash(_("The round is part of a pooled period: a new version would not be checked together with the "
                    "pooled figures, so none is made."), "error")
        else:
            flash(_("The raw answers were deleted after the retention time; the existing release is final.")
                  if exc.code == "purged" else _("The round is still open: there is nothing to release yet."), "error")
        return redirect(url_for("admin.round_page", round_id=round_id))
    except AuditError:  # never expected: the protection hides until the audit passes
        db.rollback()
        flash(_("The audit did not pass, so nothing was published."), "error")
        return redirect(url_for("admin.round_page", round_id=round_id))
    record_audit(db, "release.create", f"release:{release.id}", {"round": rnd.id, "version": release.version})
    db.commit()
    flash(_("Version %(v)d of the release is computed and audited. Earlier versions stay as they were.",
            v=release.version), "success")
    why = reasons(release)
    if why:
        flash(_("Because of what earlier versions published, version %(v)d hides more than today's organisation "
                "alone needs:", v=release.version), "info")
        flash_lines(why, "info")
    return redirect(url_for("admin.round_page", round_id=round_id))
