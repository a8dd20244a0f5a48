"""Comment moderation by safety representatives: release, redact or withhold each comment in their area."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from pulse.common.context import record_audit
from pulse.common.db import get_session
from pulse.models import Round
from pulse.scheduler import round_keys
from pulse.services import comments as comment_service
from pulse.services.org import Role, Scope, safety_scope
from pulse.staff.admin.forms import ActionForm
from pulse.staff.auth.session import current_roles, staff_required
from pulse.staff.results import bp


def _moderator_scope() -> Scope:
    """Only safety representatives moderate, and only in their own safety area (being an administrator or a
    manager as well gives no more)."""
    if Role.SAFETY_REP not in current_roles():
        abort(403)
    return safety_scope(get_session(), g.person)


@bp.route("/moderation")
@staff_required(Role.SAFETY_REP)
def moderation() -> str:
    scope = _moderator_scope()
    db = get_session()
    status = request.args.get("status", "pending")
    if status not in comment_service.STATUSES:
        abort(404)
    queue = comment_service.moderation_queue(db, round_keys(), scope, status=status)
    names = comment_service.roster_names(db, scope)
    # Each comment with its round and the round's close date, so it is read in context.
    rounds = {r.id: r for r in db.scalars(select(Round).where(Round.id.in_({c.round_id for c in queue})))}
    return render_template("results/moderation.html", queue=queue, status=status, form=ActionForm(),
                           highlight=lambda text: comment_service.highlight(text, names),
                           statuses=comment_service.STATUSES, rounds=rounds)


@bp.route("/moderation/<comment_id>", methods=["POST"])
@staff_required(Role.SAFETY_REP)
def moderate(comment_id: str) -> Response | tuple[str, int]:
    scope = _moderator_scope()
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    decision = request.form.get("decision", "")
    try:
        comment = comment_service.moderate(db, round_keys(), scope, comment_id, decision,
                                           request.form.get("redacted"))
    except comment_service.ModerationError as exc:
        db.rollback()
        if exc.code == "unknown":
            abort(404)
        flash({"empty_redaction": _("Write the redacted text, or choose another decision."),
               "too_long": _("The redacted text is too long: at most %(max)d characters.",
                             max=comment_service.MAX_REDACTED),
               }.get(exc.code, _("Choose release, redact or withhold.")), "error")
        return moderation(), 400
    # The decision is logged; the comment's text never is.
    record_audit(db, f"comment.{decision}", f"comment:{comment.id}", {"round": comment.round_id,
                                                                       "unit": comment.home_unit_id})
    db.commit()
    flash({"released": _("The comment is released."), "redacted": _("The redacted comment is released."),
           "withheld": _("The comment is withheld."), "pending": _("The comment is back in the queue.")}[decision],
          "success")
    return redirect(url_for("results.moderation", status=request.args.get("status", "pending")))
