"""Writing to the box, and the writer's side of the conversation, with the reply key as the only authority.

Nothing about the request is kept: no address, browser or time (dates only), no cookie. Wrong reply keys are
counted like wrong answer codes (pulse.respondent.guard: per client in memory only, and one shared number), so
guessing is slowed and then refused with 429. Writing is limited per client in memory too, so nobody can flood the
box from one address; nothing of that is stored either.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import force_locale

from pulse.common.context import box_keys, config, local_today
from pulse.common.db import get_session
from pulse.common.i18n import DEFAULT, SUPPORTED
from pulse.common.limits import FailureLimiter, pseudonym
from pulse.common.security import reads_db
from pulse.models import BoxItem
from pulse.respondent import guard
from pulse.respondent.box import bp
from pulse.services import box as box_service

#: Items one client may write per hour (counted in this process's memory, under a pseudonym).
WRITES_PER_HOUR = 10
writes = FailureLimiter(max_failures=WRITES_PER_HOUR, window_seconds=3600)


@bp.after_request
def _not_kept(response: Response) -> Response:
    """Pages with a reply key or a conversation are never kept by a browser cache or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _language() -> str:
    chosen = request.values.get("lang")
    if chosen in SUPPORTED:
        return str(chosen)
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT


def _render(template: str, status: int = 200, **context: object) -> tuple[str, int]:
    language = _language()
    with force_locale(language):
        return render_template(template, language=language, categories=box_service.CATEGORIES,
                               max_text=box_service.MAX_TEXT, **context), status


def _write_page(status: int = 200, *, error: str | None = None, form: dict[str, str] | None = None
                ) -> tuple[str, int]:
    units = box_service.choosable_units(get_session(), config().thresholds.min_group_size)
    return _render("box/write.html", status, units=units, error=error, form=form or {},
                   k=config().thresholds.min_group_size)


@bp.route("/box", methods=["GET"])
def write_form() -> tuple[str, int]:
    """The form: a unit (only those with at least k people), a category, the text; and what the box is not."""
    return _write_page()


@bp.route("/box", methods=["POST"])
def write() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = {name: request.form.get(name, "") for name in ("unit", "category", "text")}
    client = pseudonym("box-write", request.remote_addr or "unknown")
    if writes.blocked(client):
        page, status = _write_page(429, error="rate_limited", form=form)
        return page, status, {"Retry-After": "3600"}
    db = get_session()
    unit = form["unit"]
    try:
        item, reply_key = box_service.write(
            db, box_keys(), unit_id=int(unit) if unit.isdigit() else None, category=form["category"],
            text=form["text"], k=config().thresholds.min_group_size, today=local_today())
    except box_service.BoxError as exc:
        db.rollback()
        return _write_page(400, error=exc.code, form=form)
    db.commit()
    writes.fail(client)
    return _render("box/written.html", item=item, reply_key=reply_key)


@bp.route("/box/read", methods=["GET"])
def read_form() -> tuple[str, int]:
    """Type the reply key (or, with JavaScript, pick one saved in this browser)."""
    return _render("box/read.html")


def _find() -> BoxItem | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The item the posted key opens, or the page that says why not (400 empty, 404 unknown, 429 guessing)."""
    typed = request.form.get("key", "")
    if not typed.strip():
        return _render("box/read.html", 400, error="empty")
    item = box_service.find_by_key(get_session(), box_keys(), typed)
    if item is None:
        if guard.unknown_credential():
            page, status = _render("box/read.html", 429, error="rate_limited")
            return page, status, {"Retry-After": str(guard.WINDOW_SECONDS)}
        return _render("box/read.html", 404, error="unknown")
    return item


def _conversation(item: BoxItem, typed: str, status: int = 200, *, error: str | None = None, text: str = "",
                  sent: bool = False) -> tuple[str, int]:
    messages = box_service.conversation(get_session(), box_keys(), item, reader="writer")
    return _render("box/conversation.html", status, item=item, messages=messages, reply_key=typed, error=error,
                   text=text, sent=sent)


@bp.route("/box/read", methods=["POST"])
@reads_db
def read() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    found = _find()
    if not isinstance(found, BoxItem):
        return found
    return _conversation(found, request.form.get("key", ""))


@bp.route("/box/reply", methods=["POST"])
def reply() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    found = _find()
    if not isinstance(found, BoxItem):
        return found
    db = get_session()
    typed, text = request.form.get("key", ""), request.form.get("text", "")
    try:
        box_service.writer_reply(db, box_keys(), found, text, today=local_today())
    except box_service.BoxError as exc:
        db.rollback()
        return _conversation(found, typed, 409 if exc.code == "closed" else 400, error=exc.code, text=text)
    db.commit()
    return _conversation(found, typed, sent=True)
