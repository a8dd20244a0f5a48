"""The desk's pages: 6:6a requests (register, confirm, answer, notes, files, close, PDF) and the annual follow-up.

Access: a signed-in manager or safety representative reaches the pages; each request and follow-up is then shown
only to its unit's safety representatives and the managers above it (pulse.services.safety). Anyone else gets the
same 404 as for an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as WerkzeugResponse

from pulse import disclosure
from pulse.common.context import config, record_audit
from pulse.common.db import get_session, utcnow
from pulse.common.i18n import current_language
from pulse.common.security import writes_db
from pulse.domain import desk
from pulse.models import Action, BoxItem, FollowUp, Person, Risk, SafetyRequest, Unit
from pulse.reporting import desk as desk_report
from pulse.services import box, safety, sam
from pulse.services.org import Role, safety_scope, unit_rows
from pulse.staff.admin.forms import ActionForm
from pulse.staff.auth.session import current_person, staff_required
from pulse.staff.forms import choices
from pulse.staff.safety import bp
from pulse.staff.safety.forms import AnswerForm, AttachmentForm, CloseForm, FollowUpStartForm, NoteForm, RequestForm

DESK = (Role.MANAGER, Role.SAFETY_REP)


def tz() -> ZoneInfo:
    return ZoneInfo(config().timezone)


def me() -> Person:
    person = current_person()
    assert person is not None
    return person


def error_text(code: str) -> str:
    """The translated message for a :class:`pulse.services.safety.DeskError`."""
    messages = {
        "unit": _("Choose a unit of your safety area."),
        "kind": _("Choose what you request."),
        "title_missing": _("Write what you request."),
        "title_too_long": _("The request is too long: at most 200 characters."),
        "reasons_missing": _("Write the reasons for the request."),
        "reasons_too_long": _("The reasons are too long: at most 10 000 characters."),
        "reply_by_past": _("The date to answer by cannot be in the past."),
        "file_empty": _("A file was empty."),
        "file_too_large": _("A file is too large: at most 4 MB each."),
        "file_type": _("Only PDF, PNG and JPEG files can be attached."),
        "too_many_files": _("A request can have at most 10 files."),
        "not_employer": _("Only the unit's manager, or a manager above it, can do that."),
        "not_rep": _("Only the unit's safety representative can do that."),
        "already_confirmed": _("Receipt has already been confirmed."),
        "already_answered": _("The request has already been answered."),
        "closed": _("The request is closed."),
        "answer_missing": _("Write the answer."),
        "answer_too_long": _("The answer is too long: at most 10 000 characters."),
        "measures_too_long": _("The measures are too long: at most 10 000 characters."),
        "note_missing": _("Write the note."),
        "note_too_long": _("The note is too long: at most 10 000 characters."),
        "locked": _("The follow-up is signed by both and locked."),
        "status": _("Choose yes, partly, no or does not apply."),
        "incomplete": _("Answer every item of the checklist before signing."),
        "side": _("You cannot sign for that side."),
        "already_signed": _("You have already signed."),
        "year": _("Choose a year."),
    }
    return messages.get(code, _("That could not be saved."))


def _uploads(files: list[FileStorage]) -> list[safety.Upload]:
    return [safety.Upload(f.filename or "file", f.read()) for f in files if f and f.filename]


def _area_units(person: Person) -> list[tuple[int, str]]:
    """The units of the person's safety area, indented in tree order, for a select."""
    area = safety_scope(get_session(), person)
    return [(row.unit.id, "\u00a0\u00a0" * row.depth + row.unit.name) for row in unit_rows(get_session(), area)]


# --- The desk -----------------------------------------------------------------------------------------------


@bp.route("/")
@staff_required(*DESK)
def index() -> tuple[str, int]:
    return _index_page()


def _index_page(start_form: FollowUpStartForm | None = None, status: int = 200) -> tuple[str, int]:
    db = get_session()
    person = me()
    now = utcnow()
    requests = safety.requests_for(db, person)
    units = {u.id: u.name for u in db.query(Unit).filter(Unit.id.in_({r.unit_id for r in requests}))}
    follow_ups = safety.follow_ups_for(db, person)
    fu_units = {u.id: u.name for u in db.query(Unit).filter(Unit.id.in_({f.unit_id for f in follow_ups}))}
    return render_template("safety/index.html", requests=requests, units=units,
                           states={r.id: safety.state(r, now, tz()) for r in requests}, follow_ups=follow_ups,
                           fu_units=fu_units, start_form=start_form or _follow_up_start_form(person),
                           is_rep=bool(_area_units(person))), status


def _follow_up_start_form(person: Person) -> FollowUpStartForm:
    form = FollowUpStartForm(prefix="fu")
    db = get_session()
    scope = safety.visible_units(db, person)
    form.unit.choices = choices((row.unit.id, "\u00a0\u00a0" * row.depth + row.unit.name)
                                for row in unit_rows(db, scope))
    year = utcnow().astimezone(tz()).year
    form.year.choices = choices((y, str(y)) for y in (year, year - 1))
    return form


# --- 6:6a requests ------------------------------------------------------------------------------------------


@bp.route("/requests/new", methods=["GET", "POST"])
@staff_required(Role.SAFETY_REP)
def new_request() -> WerkzeugResponse | str | tuple[str, int]:
    person = me()
    units = _area_units(person)
    if not units:
        abort(403)  # an administrator without a safety area
    form = RequestForm(prefix="request")
    form.unit.choices = choices(units)
    if request.method == "GET":
        form.reply_by.data = (utcnow().astimezone(tz()) + dt.timedelta(days=14)).date()
        return render_template("safety/new_request.html", form=form)
    if not form.validate_on_submit():
        return render_template("safety/new_request.html", form=form), 400
    db = get_session()
    try:
        created = safety.register(db, person, unit_id=form.unit.data or 0, kind=form.kind.data or "",
                                  title=form.title.data or "", reasons=form.reasons.data or "",
                                  reply_by=form.reply_by.data or dt.date.min, uploads=_uploads(form.files.data or []),
                                  now=utcnow(), tz=tz())
    except safety.DeskError as exc:
        field = {"reply_by_past": form.reply_by, "unit": form.unit, "kind": form.kind}.get(exc.code, form.files)
        if exc.code.startswith("title"):
            field = form.title
        elif exc.code.startswith("reasons"):
            field = form.reasons
        field.errors = [*field.errors, error_text(exc.code)]
        return render_template("safety/new_request.html", form=form), 400
    record_audit(db, "safety_request.create", f"safety_request:{created.id}",
                 {"unit": created.unit_id, "kind": created.kind, "reply_by": created.reply_by.isoformat(),
                  "files": [a.sha256 for a in created.attachments]})
    db.commit()
    flash(_("The request is registered. Pulse asks the employer to confirm receipt today."), "success")
    return redirect(url_for("safety.request_page", request_id=created.id))


def _load(request_id: int) -> SafetyRequest:
    try:
        return safety.get_request(get_session(), me(), request_id)
    except safety.DeskError:
        abort(404)


def _unit_actions(item: SafetyRequest) -> list[Action]:
    """The actions of the request's unit and the units below it (the action plan an answer can point to)."""
    return sam.actions(get_session(), sorted(safety.subtree(get_session(), [item.unit_id])))


def _answer_form(item: SafetyRequest) -> AnswerForm:
    form = AnswerForm(prefix="answer")
    form.actions.choices = choices((a.id, f"{a.activity[:80]} ({a.due_on.isoformat()})") for a in _unit_actions(item))
    return form


def _request_page(item: SafetyRequest, *, status: int = 200, answer_form: AnswerForm | None = None,
                  note_form: NoteForm | None = None, attach_form: AttachmentForm | None = None,
                  close_form: CloseForm | None = None) -> tuple[str, int]:
    db = get_session()
    person = me()
    manager, next_up = safety.employer_side(db, item.unit_id)
    return render_template(
        "safety/request.html", item=item, unit=db.get_one(Unit, item.unit_id), manager=manager, next_up=next_up,
        state=safety.state(item, utcnow(), tz()), is_employer=safety.leads(db, person, item.unit_id),
        is_rep=safety.represents(db, person, item.unit_id), action=ActionForm(),
        answer_form=answer_form or _answer_form(item), note_form=note_form or NoteForm(prefix="note"),
        linked=[a for a in _unit_actions(item) if a.id in set(safety.linked_action_ids(item))],
        attach_form=attach_form or AttachmentForm(prefix="attach"), close_form=close_form or CloseForm(prefix="close"),
        confirmed_in_time=desk.confirmed_in_time(safety.dates(item), tz()),
        answered_in_time=desk.answered_in_time(safety.dates(item), tz())), status


@bp.route("/requests/<int:request_id>")
@staff_required(*DESK)
def request_page(request_id: int) -> tuple[str, int]:
    return _request_page(_load(request_id))


def _refused(item: SafetyRequest, exc: safety.DeskError, **forms: object) -> tuple[str, int]:
    status = 403 if exc.code in ("not_employer", "not_rep") else 409 if exc.code in (
        "already_confirmed", "already_answered", "closed") else 400
    flash(error_text(exc.code), "error")
    return _request_page(item, status=status, **forms)  # type: ignore[arg-type]


@bp.route("/requests/<int:request_id>/confirm", methods=["POST"])
@staff_required(*DESK)
def confirm(request_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load(request_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        safety.confirm(db, me(), item, now=utcnow())
    except safety.DeskError as exc:
        return _refused(item, exc)
    record_audit(db, "safety_request.confirm", f"safety_request:{item.id}")
    db.commit()
    flash(_("Receipt is confirmed. Answer by %(date)s.", date=item.reply_by.isoformat()), "success")
    return redirect(url_for("safety.request_page", request_id=item.id))


@bp.route("/requests/<int:request_id>/answer", methods=["POST"])
@staff_required(*DESK)
def answer(request_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load(request_id)
    form = _answer_form(item)
    if not form.validate_on_submit():
        return _request_page(item, status=400, answer_form=form)
    db = get_session()
    try:
        safety.answer(db, me(), item, text=form.answer.data or "", measures=form.measures.data or "", now=utcnow(),
                      action_ids=form.actions.data or [])
    except safety.DeskError as exc:
        return _refused(item, exc, answer_form=form)
    record_audit(db, "safety_request.answer", f"safety_request:{item.id}")
    db.commit()
    flash(_("The answer is saved and shown to the safety representative."), "success")
    return redirect(url_for("safety.request_page", request_id=item.id))


@bp.route("/requests/<int:request_id>/note", methods=["POST"])
@staff_required(*DESK)
def note(request_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load(request_id)
    form = NoteForm(prefix="note")
    if not form.validate_on_submit():
        return _request_page(item, status=400, note_form=form)
    db = get_session()
    try:
        safety.add_note(db, me(), item, form.note.data or "", now=utcnow())
    except safety.DeskError as exc:
        return _refused(item, exc, note_form=form)
    record_audit(db, "safety_request.note", f"safety_request:{item.id}")
    db.commit()
    flash(_("The note is added to the history."), "success")
    return redirect(url_for("safety.request_page", request_id=item.id))


@bp.route("/requests/<int:request_id>/attachments", methods=["POST"])
@staff_required(*DESK)
def add_files(request_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load(request_id)
    form = AttachmentForm(prefix="attach")
    if not form.validate_on_submit():
        return _request_page(item, status=400, attach_form=form)
    uploads = _uploads(form.files.data or [])
    db = get_session()
    person = me()
    try:
        if not uploads:
            raise safety.DeskError("file_empty")
        for upload in uploads:
            safety.check_upload(upload)
        added = [safety.attach(item, upload, person, now=utcnow()) for upload in uploads]
    except safety.DeskError as exc:
        db.rollback()
        item = _load(request_id)
        form.files.errors = [error_text(exc.code)]
        return _request_page(item, status=400, attach_form=form)
    db.flush()
    record_audit(db, "safety_request.attach", f"safety_request:{item.id}", {"files": [a.sha256 for a in added]})
    db.commit()
    flash(_("The files are added."), "success")
    return redirect(url_for("safety.request_page", request_id=item.id))


@bp.route("/requests/<int:request_id>/close", methods=["POST"])
@staff_required(*DESK)
def close(request_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load(request_id)
    form = CloseForm(prefix="close")
    if not form.validate_on_submit():
        return _request_page(item, status=400, close_form=form)
    db = get_session()
    try:
        safety.close(db, me(), item, form.note.data or "", now=utcnow())
    except safety.DeskError as exc:
        return _refused(item, exc, close_form=form)
    record_audit(db, "safety_request.close", f"safety_request:{item.id}")
    db.commit()
    flash(_("The request is closed."), "success")
    return redirect(url_for("safety.request_page", request_id=item.id))


@bp.route("/requests/<int:request_id>/attachments/<int:attachment_id>")
@staff_required(*DESK)
def attachment(request_id: int, attachment_id: int) -> Response:
    """A file, always as a download of the type its bytes showed, never rendered in the staff origin."""
    item = _load(request_id)
    found = next((a for a in item.attachments if a.id == attachment_id), None)
    if found is None:
        abort(404)
    return Response(found.data, mimetype=found.content_type, headers={
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


@bp.route("/requests/<int:request_id>/request.pdf")
@staff_required(*DESK)
@writes_db
def request_pdf(request_id: int) -> Response:
    """The request and its whole history as a PDF, for the employer or Arbetsmiljöverket."""
    item = _load(request_id)
    db = get_session()
    data = desk_report.request_pdf(db, item, now=utcnow(), tz=tz())
    record_audit(db, "safety_request.pdf", f"safety_request:{item.id}", {"sha256": desk_report.sha256(data)})
    db.commit()
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="pulse-6-6a-{item.id}.pdf"'})


# --- The annual follow-up -----------------------------------------------------------------------------------


@bp.route("/follow-ups", methods=["POST"])
@staff_required(*DESK)
def start_follow_up() -> WerkzeugResponse | tuple[str, int]:
    person = me()
    form = _follow_up_start_form(person)
    if not form.validate_on_submit():
        return _index_page(form, 400)
    db = get_session()
    try:
        item = safety.start_follow_up(db, person, form.unit.data or 0, form.year.data or 0, now=utcnow())
    except safety.DeskError:
        abort(404)
    db.commit()
    return redirect(url_for("safety.follow_up_page", follow_up_id=item.id))


def _load_follow_up(follow_up_id: int) -> FollowUp:
    try:
        return safety.get_follow_up(get_session(), me(), follow_up_id)
    except safety.DeskError:
        abort(404)


def _follow_up_page(item: FollowUp, *, status: int = 200, errors: dict[str, str] | None = None,
                    answers: dict[str, dict[str, str]] | None = None) -> tuple[str, int]:
    db = get_session()
    person = me()
    facts = desk_report.follow_up_facts(db, item, tz=tz(), k=config().thresholds.min_group_size)
    return render_template(
        "safety/follow_up.html", item=item, unit=db.get_one(Unit, item.unit_id), facts=facts,
        answers=answers or safety.answers_of(item), errors=errors or {}, action=ActionForm(),
        is_employer=safety.leads(db, person, item.unit_id), is_rep=safety.represents(db, person, item.unit_id),
        checklist=desk.CHECKLIST, statuses=desk.STATUSES), status


@bp.route("/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
@staff_required(*DESK)
def follow_up_page(follow_up_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load_follow_up(follow_up_id)
    if request.method == "GET":
        return _follow_up_page(item)
    if not ActionForm().validate_on_submit():
        abort(400)
    submitted = {key: (request.form.get(f"status-{key}", ""), request.form.get(f"note-{key}", ""))
                 for key in desk.CHECKLIST}
    shown = {key: {"status": s, "note": n} for key, (s, n) in submitted.items()}
    db = get_session()
    try:
        unsigned = safety.save_follow_up(db, me(), item, submitted, now=utcnow())
    except safety.DeskError as exc:
        db.rollback()
        item = _load_follow_up(follow_up_id)
        status = 409 if exc.code == "locked" else 400
        flash(error_text(exc.code), "error")
        return _follow_up_page(item, status=status, answers=shown)
    record_audit(db, "follow_up.save", f"follow_up:{item.id}", {"unit": item.unit_id, "year": item.year})
    db.commit()
    flash(_("The checklist is saved.") + (" " + _("It changed after a signature, so both must sign again.")
                                          if unsigned else ""), "success")
    return redirect(url_for("safety.follow_up_page", follow_up_id=item.id))


@bp.route("/follow-ups/<int:follow_up_id>/sign", methods=["POST"])
@staff_required(*DESK)
def sign_follow_up(follow_up_id: int) -> WerkzeugResponse | tuple[str, int]:
    item = _load_follow_up(follow_up_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    side = request.form.get("side", "")
    db = get_session()
    facts = desk_report.follow_up_facts(db, item, tz=tz(), k=config().thresholds.min_group_size)
    try:
        locked = safety.sign_follow_up(db, me(), item, side, facts.as_json(), now=utcnow())
    except safety.DeskError as exc:
        flash(error_text(exc.code), "error")
        status = 409 if exc.code in ("locked", "already_signed") else 403 if exc.code == "side" else 400
        return _follow_up_page(item, status=status)
    record_audit(db, "follow_up.sign", f"follow_up:{item.id}",
                 {"unit": item.unit_id, "year": item.year, "side": side, "locked": locked})
    db.commit()
    flash(_("Signed by both: the follow-up is locked.") if locked else _("Your signature is saved."), "success")
    return redirect(url_for("safety.follow_up_page", follow_up_id=item.id))


# --- The start page -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagView:
    release: disclosure.ReleaseInfo
    unit: str
    question: str


@dataclass(frozen=True)
class NextFollowUp:
    unit: Unit
    year: int
    item: FollowUp | None


@dataclass(frozen=True)
class StartSummary:
    """What needs a safety representative (and a manager, for the requests they must answer) on the start page."""

    comments: list[safety.WaitingComments]
    requests: list[tuple[SafetyRequest, desk.State, str]]
    flags: list[FlagView]
    #: Risks assessed in the safety area in the last 30 days (pulse.services.sam), with their unit's name.
    risks: list[tuple[Risk, str]]
    #: Complaint-box items due within two days or overdue (pulse.services.box), with their unit's name and which
    #: deadline ("acknowledge" or "answer") has passed, if one has.
    complaints: list[tuple[BoxItem, str, str | None]]
    follow_ups: list[NextFollowUp]
    #: Complaint-box items with an anonymous text waiting for this person's review (pulse.services.box.to_review),
    #: shown first: the manager reads nothing of them until then.
    reviews: list[BoxItem]

    @property
    def empty(self) -> bool:
        return not (self.comments or self.requests or self.flags or self.risks or self.complaints
                    or self.follow_ups or self.reviews)


def start_summary(person: Person) -> StartSummary:
    """Comments waiting per round, requests due or overdue, the newest flags of the safety area, and the next annual
    follow-up of each top unit of the area."""
    db = get_session()
    now = utcnow()
    zone = tz()
    today = now.astimezone(zone).date()
    area = safety_scope(db, person)
    comments = safety.waiting_comments(db, area) if not area.empty else []
    due = []
    soon = today + dt.timedelta(days=7)
    for item in safety.requests_for(db, person, include_closed=False):
        state = safety.state(item, now, zone)
        waiting_for_me = safety.leads(db, person, item.unit_id) and item.answered_at is None
        unanswered = item.answered_at is None
        # Overdue, waiting for this person's answer, not confirmed yet ("genast"), or the date within a week.
        if state == desk.State.OVERDUE or waiting_for_me or (unanswered and (item.confirmed_at is None
                                                                              or item.reply_by <= soon)):
            due.append((item, state, db.get_one(Unit, item.unit_id).name))
    flags: list[FlagView] = []
    roots = safety.area_roots(db, person)
    newest = disclosure.visible_releases(db, area)[:1]
    for visible in newest:
        for cell in visible.units:
            try:
                result = disclosure.unit_result(db, visible.release.id, cell.unit_id, area)
            except disclosure.NotVisibleError:
                continue
            flags += [FlagView(visible.release, cell.name, row.question.text(current_language()))
                      for row in result.flags]
    recent = today - dt.timedelta(days=30)
    area_units = sorted(area.unit_ids)
    risks = [(risk, db.get_one(Unit, risk.unit_id).name) for risk in sam.risks(db, area_units)
             if risk.assessed_on >= recent][:10]
    complaints = []
    for box_item in box.waiting(db, box.reader_scope(db, person)):
        late = box.overdue(box_item, today)
        deadline = box_item.acknowledge_by if box_item.status == "received" else box_item.answer_by
        if late or deadline <= today + dt.timedelta(days=2):
            complaints.append((box_item, db.get_one(Unit, box_item.unit_id).name, late))
    follow_ups = []
    for unit in roots:
        this_year = safety.follow_up(db, unit.id, today.year)
        if this_year is not None and this_year.locked_at is not None:
            follow_ups.append(NextFollowUp(unit, today.year + 1, safety.follow_up(db, unit.id, today.year + 1)))
        else:
            follow_ups.append(NextFollowUp(unit, today.year, this_year))
    return StartSummary(comments, due, flags, risks, complaints, follow_ups, box.to_review(db, person))
