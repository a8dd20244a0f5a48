"""The APT pack of a unit: the page (with the discussion questions editable), its print view and its PDF.

All three are built by pulse.reporting.apt from what the gate returns, and each view or download is written to the
audit log like every other view of a release. A manager who may write the unit's SAM records saves the discussion
questions (per release, unit and question; who and when in the audit log, never the text); everyone who may open the
pack sees them. Anyone who may open it can also send edits straight to the print view or the PDF (POST, with CSRF)
without saving them.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from pulse import disclosure
from pulse.common.context import record_audit
from pulse.common.db import get_session
from pulse.common.i18n import current_language
from pulse.common.security import writes_db
from pulse.reporting import apt
from pulse.services import sam
from pulse.staff.admin.forms import ActionForm
from pulse.staff.auth.session import current_person, current_scope, staff_required
from pulse.staff.results import bp
from pulse.staff.results.views import VIEWERS, _log_view, not_visible

PROMPT_ERRORS = {
    "too_many": lambda: _("Write at most %(max)d questions per topic, one per line.", max=apt.MAX_PROMPTS),
    "invalid": lambda: _("Choose one of the topics of the pack."),
    "too_long": lambda: _("A question is too long: at most %(max)d characters each.", max=apt.MAX_PROMPT_LENGTH),
    "not_text": lambda: _("A question contains characters that are not text."),
}


def _result(release_id: int, unit_id: int) -> disclosure.UnitResult:
    try:
        return disclosure.unit_result(get_session(), release_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        not_visible(release_id, unit_id)


def _pack(release_id: int, unit_id: int) -> tuple[apt.Pack | None, str | None]:
    """The pack with the discussion questions of the request (the bank's on GET, the edited ones on POST), or the
    error that the edited questions have."""
    result = _result(release_id, unit_id)
    prompts = None
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            prompts = apt.parse_prompts(request.form, [r.question.code for r in result.concerns])
        except apt.PromptError as exc:
            return None, PROMPT_ERRORS[exc.code]()
    return apt.build(get_session(), result, current_scope(), current_language(), prompts), None


def _can_assess(unit_id: int) -> bool:
    """Managers who lead the unit get a link from each flag and concern to a new risk assessment (as on the
    overview), and may save the pack's discussion questions: both are the unit's SAM records."""
    person = current_person()
    return person is not None and sam.edit_scope(get_session(), person).allows(unit_id)


def _edit_page(release_id: int, unit_id: int, error: str) -> tuple[str, int]:
    """The pack page again with what was written (nothing is lost) and the error at the top."""
    pack = apt.build(get_session(), _result(release_id, unit_id), current_scope(), current_language())
    page = render_template("results/apt.html", apt=apt, pack=pack, form=ActionForm(), error=error,
                           written=request.form, can_assess=_can_assess(unit_id))
    return page, 400


@bp.route("/<int:release_id>/units/<int:unit_id>/apt/prompts", methods=["POST"])
@staff_required(*VIEWERS)
@writes_db
def apt_prompts(release_id: int, unit_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Save the discussion questions of the pack's form, or (``restore`` = a concern's question code) give one
    concern the question bank's again while saving the rest. Only who may write the unit's SAM records; to anyone
    else who may read the pack it looks like nothing is here (404), as on the SAM pages."""
    result = _result(release_id, unit_id)
    person = current_person()
    scope = sam.edit_scope(get_session(), person) if person is not None else None
    if scope is None or not scope.allows(unit_id):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    codes = [r.question.code for r in result.concerns]
    restore = request.form.get("restore") or None
    if restore is not None and restore not in codes:
        return _edit_page(release_id, unit_id, PROMPT_ERRORS["invalid"]())
    try:
        edited = apt.parse_prompts(request.form, codes)
    except apt.PromptError as exc:
        return _edit_page(release_id, unit_id, PROMPT_ERRORS[exc.code]())
    db = get_session()
    changes = apt.prompt_changes(result, edited, restore)
    try:
        changed = sam.save_apt_prompts(db, release_id, unit_id, changes, scope=scope, by=person)
    except sam.NotFoundError:
        abort(404)
    except sam.SamError as exc:
        db.rollback()
        return _edit_page(release_id, unit_id, PROMPT_ERRORS.get(exc.code, PROMPT_ERRORS["invalid"])())
    if changed:
        # Who and when, and which questions: never the text (like every SAM record).
        record_audit(db, "sam.apt_prompts", f"release:{release_id}", {
            "unit": unit_id, "saved": [c for c in changed if changes[c] is not None],
            "restored": [c for c in changed if changes[c] is None]})
    db.commit()
    flash(_("The question bank's questions are back.") if restore else _("The questions are saved."), "success")
    return redirect(url_for("results.apt_pack", release_id=release_id, unit_id=unit_id) + "#concerns-title")


@bp.route("/<int:release_id>/units/<int:unit_id>/apt")
@staff_required(*VIEWERS)
@writes_db
def apt_pack(release_id: int, unit_id: int) -> str:
    pack = apt.build(get_session(), _result(release_id, unit_id), current_scope(), current_language())
    _log_view("release.view_apt", release_id, unit_id)
    return render_template("results/apt.html", apt=apt, pack=pack, form=ActionForm(), error=None, written=None,
                           can_assess=_can_assess(unit_id))


@bp.route("/<int:release_id>/units/<int:unit_id>/apt/print", methods=["GET", "POST"])
@staff_required(*VIEWERS)
@writes_db
def apt_print(release_id: int, unit_id: int) -> str | tuple[str, int]:
    pack, error = _pack(release_id, unit_id)
    if pack is None:
        return _edit_page(release_id, unit_id, error or "")
    _log_view("release.view_apt", release_id, unit_id, view="print")
    return render_template("results/apt_print.html", apt=apt, pack=pack)


@bp.route("/<int:release_id>/units/<int:unit_id>/apt.pdf", methods=["GET", "POST"])
@staff_required(*VIEWERS)
@writes_db
def apt_pdf(release_id: int, unit_id: int) -> Response | tuple[str, int]:
    pack, error = _pack(release_id, unit_id)
    if pack is None:
        return _edit_page(release_id, unit_id, error or "")
    language = current_language()
    data = apt.to_pdf(pack, language)
    _log_view("release.export", release_id, unit_id, format="apt-pdf")
    info = pack.result.release
    name = f"apt-{info.survey_name}-{info.round_number}-v{info.version}-{unit_id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.pdf"'})
