from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Response, jsonify, render_template, request, url_for
from flask_babel import force_locale, gettext
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from pulse import disclosure
from pulse.common.cache import MB, ByteCache, app_cache
from pulse.common.context import config, key
from pulse.common.db import get_session, utcnow
from pulse.common.format import mean_text
from pulse.common.i18n import DEFAULT, SUPPORTED
from pulse.common.security import reads_db
from pulse.domain import crypto
from pulse.domain.crypto import KeyPurpose
from pulse.domain.scales import SCALES, SKIP_LABEL
from pulse.models import Round
from pulse.respondent import guard, pages
from pulse.respondent.answering import bp
from pulse.services import answers as answer_service
from pulse.services import sam

# The answering path's only authority is the one-time credential: there is no session and so no CSRF token (a
# session would identify the respondent). The respondent app has neither.

STATUS = {"unknown": 404, "used": 409, "closed": 410, "not_ready": 503}
#: Seconds to wait while the invitations of a round are still going out.
RETRY_NOT_READY = 120


def _language(default: str | None = None) -> str:
    chosen = request.values.get("lang")
    if chosen in SUPPORTED:
        return str(chosen)
    if default in SUPPORTED:
        return str(default)
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT


def _render(template: str, language: str, status: int = 200, **context: object) -> tuple[str, int]:
    with force_locale(language):
        return render_template(template, language=language, thresholds=config().thresholds, **context), status


def _problem(code: str, language: str) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    page, status = _render("respond/problem.html", language, STATUS[code], problem=code)
    if code == "not_ready":
        return page, status, {"Retry-After": str(RETRY_NOT_READY)}
    return page, status


@bp.route("/r", methods=["GET"])
def landing() -> Response:
    """Type a code — or, with JavaScript, the link's #fragment is filled in and sent for you. The page every
    invitation link opens: the same for everyone in a language."""
    return pages.same_for_everyone("respond/landing.html", _language(), chosen=request.args.get("lang") in SUPPORTED,
                                   thresholds=config().thresholds)


@bp.route("/r/start", methods=["POST"])
@reads_db
def start() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    credential = request.form.get("credential", "")
    language = _language()
    if not credential.strip():
        return _render("respond/landing.html", language, 400, error="empty")
    try:
        found = answer_service.find_credential(get_session(), key(KeyPurpose.TOKEN_HASH), credential, now=utcnow())
    except answer_service.CredentialError as exc:
        if exc.code == "unknown":
            if guard.unknown_credential():
                page, status = _render("respond/landing.html", language, 429, error="rate_limited",
                                       typed=credential[:100])
                return page, status, {"Retry-After": str(guard.WINDOW_SECONDS)}
            # What was typed stays in the field, to be corrected rather than typed again.
            return _render("respond/landing.html", language, 404, error="unknown", typed=credential[:100])
        return _problem(exc.code, language)
    return _answer_page(found, credential, MultiDict(), {}, 200)


@lru_cache(maxsize=8)
def _options(language: str) -> dict[str, dict[str, object]]:
    """Every scale's options and end labels in one language (catalogues do not change while running)."""
    with force_locale(language):
        return {code: {"options": [(value, gettext(label)) for value, label in scale.options],
                       "low": gettext(scale.low_label), "high": gettext(scale.high_label),
                       "first": scale.options[0][0], "last": scale.options[-1][0]}
                for code, scale in SCALES.items()} | {"skip": {"label": gettext(SKIP_LABEL)}}


def _questions_html(found: answer_service.OpenCredential, language: str, form: Mapping[str, str],
                    problems: Mapping[str, str]) -> Markup:
    # The questions of an open round never change, and this is the busiest page in Pulse: render them once per
    # round and language (per app), and only per request when the form shows answers or errors.
    cacheable = not form and not problems
    cache_key = (found.round.id, language)
    fieldsets: ByteCache[Markup] = app_cache("pulse.fieldsets", "question fieldsets", 2 * MB, sys.getsizeof)
    cached = fieldsets.get(cache_key) if cacheable else None
    if cached is not None:
        return cached
    with force_locale(language):
        # render_template escapes everything it inserts; its output is safe markup.
        html = Markup(render_template(  # noqa: S704
            "respond/_questions.html", questions=found.questions, language=language, scales=_options(language),
            form=form, problems=problems))
    return fieldsets.put(cache_key, html) if cacheable else html


def _answer_page(found: answer_service.OpenCredential, credential: str, form: Mapping[str, str],
                 problems: Mapping[str, str], status: int, *, confirm_empty: bool = False) -> tuple[str, int]:
    language = _language()
    prompt = found.round.comment_prompt
    return _render("respond/answer.html", language, status, found=found, questions=found.questions,
                   fieldsets=_questions_html(found, language, form, problems), credential=credential, form=form,
                   problems=problems, comment_prompt=prompt.text(language) if prompt else None,
                   max_comment=answer_service.MAX_COMMENT, small=found.unit_size < found.round.min_comment_size,
                   never_shown=never_shown(found.round), notes=sam.notes_for(get_session(), found.unit_id),
                   confirm_empty=confirm_empty)


def _asks_before_empty(found: answer_service.OpenCredential, answers: Mapping[str, object],
                       form: Mapping[str, str]) -> bool:
    """An answer set with no answer, no "prefer not to say" and no comment, not yet confirmed. (Where a question
    requires an answer, the form's own error says so instead: such a set cannot be stored anyway.)"""
    return form.get("confirm_empty") != "yes" and answer_service.asks_before_empty(found, answers, form.get("comment"))


def never_shown(rnd: answer_service.RoundView) -> bool:
    """Whether no comment of the round can ever be shown: fewer people were invited in all than the comment
    threshold (comments are placed where at least that many answered; docs/ANONYMITY.md, "No comment lost")."""
    return sum(rnd.unit_sizes.values()) < rnd.min_comment_size


def _answers_from_form(form: Mapping[str, str], found: answer_service.OpenCredential) -> dict[str, object]:
    answers: dict[str, object] = {}
    for question in found.questions:
        raw = form.get(f"q-{question.code}", "")
        if raw == "" or raw == "skip":
            continue  # left out or "prefer not to say": stored as no value
        try:
            answers[question.code] = int(raw)
        except ValueError:
            answers[question.code] = raw  # reported as out of scale
    return answers


@bp.route("/r/submit", methods=["POST"])
def submit() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = request.form
    credential = form.get("credential", "")
    language = _language()
    if not credential.strip():
        return _render("respond/landing.html", language, 400, error="empty")
    db = get_session()
    token_key = key(KeyPurpose.TOKEN_HASH)
    now = utcnow()
    try:
        found = answer_service.find_credential(db, token_key, credential, now=now)
    except answer_service.CredentialError as exc:
        if exc.code == "unknown":
            if guard.unknown_credential():
                page, status = _render("respond/landing.html", language, 429, error="rate_limited",
                                       typed=credential[:100])
                return page, status, {"Retry-After": str(guard.WINDOW_SECONDS)}
            # What was typed stays in the field, to be corrected rather than typed again.
            return _render("respond/landing.html", language, 404, error="unknown", typed=credential[:100])
        return _problem(exc.code, language)
    answers = _answers_from_form(form, found)
    skipped = {q.code for q in found.questions if form.get(f"q-{q.code}") == "skip"}
    for code in skipped:
        answers[code] = None
    if _asks_before_empty(found, answers, form):
        # Nothing filled in would still use up the invitation: ask first (a second submit button on the same page
        # sends it anyway). Nothing is stored or remembered meanwhile, and it works without JavaScript.
        return _answer_page(found, credential, form, {}, 200, confirm_empty=True)
    try:
        answer_service.submit(db, token_key, credential, answers, form.get("comment"), now=now, found=found)
    except answer_service.AnswerError as exc:
        db.rollback()
        return _answer_page(found, credential, form, exc.problems, 400)
    except answer_service.CredentialError as exc:
        db.rollback()
        return _problem(exc.code, language)
    db.commit()
    copy = _private_copy(found, answers, form.get("comment", "").strip(), language)
    # Where to get help: for everyone whose round asked about victimisation or threats, whatever they answered, so
    # the page is the same for all of them and depends on nothing stored (docs/SAM.md, "What employees see").
    asked = any(q.area in sam.HELP_AREAS for q in found.questions)
    return _render("respond/thanks.html", language, found=found, copy=json.dumps(copy, ensure_ascii=False),
                   notes=sam.notes_for(get_session(), found.unit_id), show_help=asked)


def _private_copy(found: answer_service.OpenCredential, answers: Mapping[str, object], comment: str,
                  language: str) -> dict[str, object]:
    """What the person may keep on their own device (never sent back to the server)."""
    with force_locale(language):
        items = []
        for question in found.questions:
            value = answers.get(question.code)
            scale = SCALES.get(question.scale)
            label = gettext(SKIP_LABEL) if value is None else (
                gettext(scale.label(int(value))) if scale and isinstance(value, int) else str(value))
            items.append({"code": question.code, "version": question.version, "question": question.text(language),
                          "value": value, "answer": label})
    return {"survey": found.round.survey_name, "round": found.round.number,
            "closes": local_date(found.round.closes_at), "answers": items,
            "comment": comment or None,
            "results": url_for("respond.unit_results", link=results_link(found.round.id, found.unit_id))}


def results_link(round_id: int, unit_id: int) -> str:
    """A signed, unguessable link to one unit's published results of one round (kept only in the person's own
    browser with their private copy). It names a unit and a round, never a person."""
    payload = f"{round_id}.{unit_id}"
    signature = crypto.keyed_hash(key(KeyPurpose.RESULTS_LINK), payload)[:32]
    return f"{payload}.{signature}"


def _read_results_link(link: str) -> tuple[int, int] | None:
    parts = link.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(link) > 80:
        return None
    expected = crypto.keyed_hash(key(KeyPurpose.RESULTS_LINK), f"{parts[0]}.{parts[1]}")[:32]
    return (int(parts[0]), int(parts[1])) if crypto.equals(expected, parts[2]) else None


@bp.route("/r/results/<link>", methods=["GET"])
def unit_results(link: str) -> tuple[Response, int]:
    """The published figures of the unit someone answered in, for their private "my answers" page.

    The same protected release as everywhere else; hidden figures say "too few answers".
    """
    target = _read_results_link(link)
    if target is None:
        return jsonify({"status": "unknown"}), 404
    db = get_session()
    # When the round closes (or closed: a round can be closed early), so the page says it in the right tense.
    rnd = db.get(Round, target[0])
    when = {} if rnd is None else {
        "closed": rnd.closed_at is not None,
        "date": local_date(rnd.closed_at if rnd.closed_at is not None else rnd.closes_at)}
    found = disclosure.round_unit(db, *target)
    if found is None:
        return jsonify({"status": "not_yet", "round": when}), 200
    with force_locale(_language()):
        figures = {q.code: mean_text(found.figures[q.code], q) for q in found.release.questions}
    return jsonify({"status": "released", "unit": found.name, "figures": figures, "round": when}), 200


def local_date(moment: dt.datetime) -> str:
    """The day of ``moment`` where the organisation is (a round closing at 00:30 in Stockholm closes that day)."""
    return moment.astimezone(ZoneInfo(config().timezone)).date().isoformat()


@bp.route("/r/mine", methods=["GET"])
def mine() -> tuple[str, int]:
    """The person's own history, read from this browser's storage by the page's script."""
    return _render("respond/mine.html", _language())


def method_not_allowed(exc: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    """A wrong method on an answering page: the code form again, with the Allow header kept."""
    page, status = _render("respond/landing.html", _language(), 405, error="method")
    return page, status, [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
