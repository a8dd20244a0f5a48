"""Staff pages of the complaint box. Texts are shown only to the responsible managers and safety representatives
(pulse.services.box.reader_scope); an item outside that scope looks exactly like one that does not exist. An
anonymous writer's text reaches the manager only once the safety representative has released it
(pulse.services.box.conversation). Every decision is written to the audit log, never a text."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from pulse.common import mail
from pulse.common.context import box_keys, config, local_today, record_audit
from pulse.common.db import get_session
from pulse.models import BoxItem, Person
from pulse.services import box as box_service
from pulse.services import comments as comment_service
from pulse.services.org import Role
from pulse.staff.admin.forms import ActionForm
from pulse.staff.auth.session import current_person, current_scope, staff_required
from pulse.staff.box import bp


@bp.app_context_processor
def _box_context() -> dict[str, object]:
    """For the start page's card: the anonymous box's address, and (when asked) what waits for this person — texts
    to review first."""
    def waiting() -> list[BoxItem]:
        person = current_person()
        if person is None:
            return []
        db = get_session()
        return box_service.waiting(db, box_service.reader_scope(db, person))

    def reviews() -> list[BoxItem]:
        person = current_person()
        return box_service.to_review(get_session(), person) if person is not None else []

    return {"box_anonymous_url": f"{config().respondent_url}/box", "box_waiting_items": waiting,
            "box_review_items": reviews}


def _me() -> Person:
    person = current_person()
    assert person is not None
    return person


def _item(item_id: str, *, author_may: bool = True) -> tuple[BoxItem, str, bool]:
    """The item, how the signed-in person reads it (``moderator``, ``manager`` or ``writer``), and whether they
    answer for the employer (a manager of its unit or above); 404 for anyone else."""
    db = get_session()
    item = db.get(BoxItem, item_id)
    if item is None:
        abort(404)
    person = _me()
    answers = box_service.manager_scope(db, person).allows(item.unit_id)
    if box_service.may_moderate(db, person, item):
        return item, "moderator", answers
    if answers:
        return item, "manager", True
    if author_may and item.author_id == person.id:
        return item, "writer", False
    abort(404)


def _employer(item_id: str) -> BoxItem:
    """The item, for a step only the employer's side takes (acknowledge, close): 403 for its safety
    representative, 404 for anyone who cannot read it."""
    found, _reader, answers = _item(item_id, author_may=False)
    if not answers:
        abort(403)
    return found


def _check_csrf() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.route("/")
@staff_required()
def index() -> str:
    db = get_session()
    person = _me()
    status = request.args.get("status") or None
    if status is not None and status not in box_service.STATUSES:
        abort(404)
    items = box_service.visible_items(db, box_service.reader_scope(db, person), status=status)
    own = list(db.scalars(select(BoxItem).where(BoxItem.author_id == person.id).order_by(BoxItem.received_on)))
    return render_template("box/index.html", items=items, own=own, reviews=box_service.to_review(db, person),
                           status=status, statuses=box_service.STATUSES, today=local_today(),
                           overdue=box_service.overdue, in_review=box_service.in_review,
                           respondent_box=f"{config().respondent_url}/box")


def _write_page(status: int = 200, *, error: str | None = None, form: dict[str, str] | None = None
                ) -> tuple[str, int]:
    k = config().thresholds.min_group_size
    return render_template("box/write.html", units=box_service.choosable_units(get_session(), k), k=k,
                           error=error, form=form or {}, categories=box_service.CATEGORIES,
                           max_text=box_service.MAX_TEXT, action=ActionForm(),
                           respondent_box=f"{config().respondent_url}/box"), status


@bp.route("/new", methods=["GET"])
@staff_required()
def write_form() -> tuple[str, int]:
    return _write_page()


@bp.route("/new", methods=["POST"])
@staff_required()
def write() -> Response | tuple[str, int]:
    """Write with one's name: the responsible manager and safety representative see who wrote."""
    form = {name: request.form.get(name, "") for name in ("unit", "category", "text")}
    if not ActionForm().validate_on_submit():
        return _write_page(400, error="expired", form=form)
    db = get_session()
    try:
        item, _key = box_service.write(
            db, box_keys(), unit_id=int(form["unit"]) if form["unit"].isdigit() else None,
            category=form["category"], text=form["text"], k=config().thresholds.min_group_size,
            today=local_today(), author=_me())
    except box_service.BoxError as exc:
        db.rollback()
        return _write_page(400, error=exc.code, form=form)
    record_audit(db, "box.write", f"box:{item.id}", {"unit": item.unit_id, "category": item.category})
    db.commit()
    # A named writer follows the item here, signed in; the reply key is not needed and not shown.
    return _done(item.id, _("Your message is sent with your name. You can follow it here."))


@bp.route("/<item_id>")
@staff_required()
def item(item_id: str) -> str:
    found, reader, answers = _item(item_id)
    db = get_session()
    messages = box_service.conversation(db, box_keys(), found, reader=reader)
    # The reviewer sees names from the organisation marked, as in comment moderation.
    names = comment_service.roster_names(db, box_service.moderator_scope(db, _me())) if reader == "moderator" \
        else set()
    return render_template("box/item.html", item=found, messages=messages, reader=reader, answers=answers,
                           action=ActionForm(), highlight=lambda text: comment_service.highlight(text, names),
                           in_review=box_service.in_review(found),
                           retention_months=box_service.settings(db).retention_months,
                           today=local_today(), overdue=box_service.overdue(found, local_today()),
                           max_text=box_service.MAX_TEXT)


def _done(item_id: str, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("staff_box.item", item_id=item_id))


def _refused(found: BoxItem, code: str, status: int) -> tuple[str, int]:
    get_session().rollback()
    flash({"state": _("That step does not fit the item's status."),
           "closed": _("The item is closed: nothing more can be added."),
           "empty": _("Write the text first."),
           "too_long": _("The text is too long: at most %(max)d characters.", max=box_service.MAX_TEXT),
           "unknown": _("That text is not one the writer wrote."),
           }.get(code, _("Choose release, redact or withhold.")), "error")
    return item(found.id), status


@bp.route("/<item_id>/acknowledge", methods=["POST"])
@staff_required()
def acknowledge(item_id: str) -> Response | tuple[str, int]:
    found = _employer(item_id)
    _check_csrf()
    try:
        box_service.acknowledge(found, today=local_today())
    except box_service.BoxError as exc:
        return _refused(found, exc.code, 409)
    db = get_session()
    record_audit(db, "box.acknowledge", f"box:{found.id}", {"unit": found.unit_id})
    db.commit()
    return _done(found.id, _("The item is acknowledged. The writer sees that it has been received."))


@bp.route("/<item_id>/reply", methods=["POST"])
@staff_required()
def reply(item_id: str) -> Response | tuple[str, int]:
    """A manager's or safety representative's signed reply; for a named writer, their own addition."""
    found, reader, answers = _item(item_id)
    _check_csrf()
    db = get_session()
    try:
        if reader == "writer":
            box_service.writer_reply(db, box_keys(), found, request.form.get("text"), today=local_today())
        else:
            box_service.staff_reply(db, box_keys(), found, _me(), request.form.get("text"), today=local_today(),
                                    answers=answers)
    except box_service.BoxError as exc:
        return _refused(found, exc.code, 409 if exc.code == "closed" else 400)
    record_audit(db, "box.reply", f"box:{found.id}", {"unit": found.unit_id, "status": found.status})
    db.commit()
    if answers and found.author is not None and found.author.id != _me().id:
        _tell_writer(found)
    return _done(found.id, _("Your reply is sent."))


def _tell_writer(item: BoxItem) -> None:
    """A named writer is told by e-mail that their item has an answer (an anonymous one has no address: they look
    with their key). The e-mail names the unit, never the text."""
    writer = item.author
    assert writer is not None
    try:
        mail.send("box_answered", to=writer.email, language=writer.language, unit=item.unit.name,
                  url=f"{config().staff_url}/staff/box/{item.id}")
    except mail.MailError:
        flash(_("The writer could not be told by e-mail; they see the answer when they look."), "warning")


@bp.route("/<item_id>/close", methods=["POST"])
@staff_required()
def close(item_id: str) -> Response | tuple[str, int]:
    found = _employer(item_id)
    _check_csrf()
    try:
        box_service.close(found, today=local_today())
    except box_service.BoxError as exc:
        return _refused(found, exc.code, 409)
    db = get_session()
    record_audit(db, "box.close", f"box:{found.id}", {"unit": found.unit_id})
    db.commit()
    return _done(found.id, _("The item is closed."))


@bp.route("/<item_id>/messages/<message_id>", methods=["POST"])
@staff_required(Role.SAFETY_REP)
def moderate(item_id: str, message_id: str) -> Response | tuple[str, int]:
    """Release a writer's text to the manager as written or redacted, or withhold it (the safety representatives of
    the item's unit, and the main safety representative once its review is late)."""
    found, reader, _answers = _item(item_id, author_may=False)
    if reader != "moderator":
        abort(403)
    _check_csrf()
    db = get_session()
    decision = request.form.get("decision", "")
    try:
        box_service.moderate(db, box_keys(), found, message_id, decision, request.form.get("redacted"))
    except box_service.BoxError as exc:
        return _refused(found, exc.code, 404 if exc.code == "unknown" else 400)
    record_audit(db, f"box.{decision}", f"box:{found.id}", {"unit": found.unit_id})
    db.commit()
    return _done(found.id, {"redacted": _("The redacted text is what the manager now reads."),
                            "withheld": _("The text is withheld from the manager."),
                            "released": _("The manager reads the text as it was written.")}[decision])


def _period() -> tuple[dt.date, dt.date]:
    today = local_today()
    try:
        start = dt.date.fromisoformat(request.args.get("from", "")) if request.args.get("from") else \
            dt.date(today.year, 1, 1)
        end = dt.date.fromisoformat(request.args.get("to", "")) if request.args.get("to") else today
    except ValueError:
        abort(400)
    if end < start:
        abort(400)
    return start, end


@bp.route("/report")
@staff_required(Role.MANAGER, Role.SAFETY_REP)
def report() -> str:
    """Counts per unit and category and deadline compliance, at units of at least k people: never a text."""
    db = get_session()
    start, end = _period()
    scope = current_scope()
    units = box_service.report_units(db, scope)
    rows = box_service.box_summary(db, units, (start, end), k=config().thresholds.min_group_size,
                                   today=local_today())
    return render_template("box/report.html", rows=rows, start=start, end=end, categories=box_service.CATEGORIES,
                           k=config().thresholds.min_group_size)


@bp.route("/settings", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def settings() -> Response | tuple[str, int]:
    """Deadlines, the main safety representative, and the units no safety representative covers."""
    db = get_session()
    current = box_service.settings(db)
    status, error = 200, None
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        raw = {name: request.form.get(name, "").strip()
               for name in ("acknowledge_days", "answer_days", "main", "retention_months")}
        try:
            if not (raw["acknowledge_days"].isdigit() and raw["answer_days"].isdigit()):
                raise box_service.BoxError("days")
            # A form without the field (an older page) keeps the retention as it is; an empty one is a mistake.
            given = "retention_months" in request.form
            if given and not raw["retention_months"].isdigit():
                raise box_service.BoxError("retention")
            main = db.scalar(select(Person.id).where(Person.email == raw["main"].lower())) if raw["main"] else None
            if raw["main"] and main is None:
                raise box_service.BoxError("person")
            saved = box_service.save_settings(
                db, acknowledge_days=int(raw["acknowledge_days"]), answer_days=int(raw["answer_days"]),
                main_safety_rep_id=main,
                retention_months=int(raw["retention_months"]) if given else None)
        except box_service.BoxError as exc:
            db.rollback()
            status, error = 400, exc.code
        else:
            record_audit(db, "box.settings", "box_settings", {
                "acknowledge_days": saved.acknowledge_days, "answer_days": saved.answer_days,
                "main_safety_rep": saved.main_safety_rep_id, "retention_months": saved.retention_months})
            db.commit()
            flash(_("The settings are saved."), "success")
            return redirect(url_for("staff_box.settings"))
    return render_template("box/settings.html", settings=current, error=error, action=ActionForm(),
                           retention_bounds=(box_service.MIN_RETENTION_MONTHS, box_service.MAX_RETENTION_MONTHS),
                           uncovered=box_service.uncovered_units(db),
                           form=request.form if request.method == "POST" else None), status
