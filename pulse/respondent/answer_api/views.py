from __future__ import annotations

import json

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _

from pulse.common.context import key
from pulse.common.db import get_database, utcnow
from pulse.domain.crypto import KeyPurpose
from pulse.respondent import guard
from pulse.respondent.answer_api import bp
from pulse.services import answers as answer_service

#: A full answer set with the longest comment fits easily; anything larger is refused before parsing.
MAX_BODY = 64 * 1024
FIELDS = {"token", "answers", "comment", "confirm_empty"}


def _error(status: int, code: str, message: str, **details: object) -> tuple[Response, int]:
    body: dict[str, object] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify({"error": body}), status


@bp.route("/api/v1/answers", methods=["POST"])
def post_answers() -> tuple[Response, int]:
    """Store one answer set. 201 on success; 4xx with a JSON error naming the problem."""
    if request.mimetype != "application/json":
        return _error(415, "unsupported_media_type", _("Send the answers as JSON (Content-Type: application/json)."))
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "too_large", _("The request body may be at most %(max)d bytes.", max=MAX_BODY))
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        return _error(413, "too_large", _("The request body may be at most %(max)d bytes.", max=MAX_BODY))
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _error(400, "not_utf8", _("The body is not UTF-8."))
    except ValueError:
        return _error(400, "invalid_json", _("The body is not valid JSON."))
    except RecursionError:  # arrays or objects nested thousands deep
        return _error(400, "invalid_json", _("The body nests too deeply."))
    if not isinstance(body, dict):
        return _error(400, "invalid_body", _("The body must be a JSON object with token, answers and comment."))
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return _error(400, "unknown_fields", _("Only token, answers, comment and confirm_empty are accepted."),
                      fields=unknown)
    token, answers, comment = body.get("token"), body.get("answers"), body.get("comment")
    if not isinstance(token, str) or not token.strip():
        return _error(400, "missing_token", _("token must be the invitation's link token or typed code."))
    if not isinstance(answers, dict):
        return _error(400, "missing_answers", _("answers must be an object of question code → value or null."))
    if comment is not None and not isinstance(comment, str):
        return _error(400, "invalid_comment", _("comment must be a string or null."))
    confirm_empty = body.get("confirm_empty", False)
    if not isinstance(confirm_empty, bool):
        return _error(400, "invalid_confirm_empty", _("confirm_empty must be true or false."))
    try:
        answer_service.store(get_database(current_app), key(KeyPurpose.TOKEN_HASH), token, answers, comment,
                             now=utcnow(), confirm_empty=confirm_empty)
    except answer_service.EmptyAnswerError:
        # As the form asks before sending nothing: nothing was written and the invitation still works. The same
        # refusal for a used and an unused invitation (docs/ANONYMITY.md, "Who learns who answered").
        # In the language asked for (?lang= or Accept-Language), in the answer page's words, so a kiosk can show
        # the same question with the same two choices.
        return _error(422, "confirm_empty", _(
            "If you send now, nothing is saved from you, and your invitation is used up: you cannot answer later in "
            "this round."), title=_("You have not answered anything"), back=_("Go back to the questions"),
            confirm=_("Send without answers"), field="confirm_empty")
    except answer_service.CredentialError as exc:
        if exc.code == "unknown":
            if guard.unknown_credential():
                response, status = _error(429, "rate_limited", _("Too many unknown tokens. Wait ten minutes."))
                response.headers["Retry-After"] = str(guard.WINDOW_SECONDS)
                return response, status
            return _error(404, "unknown_token", _("No open invitation has this token or code."))
        if exc.code == "used":
            return _error(409, "token_used", _("This invitation has already been used; nothing more was stored."))
        if exc.code == "not_ready":
            response, status = _error(503, "not_ready", _("The invitations are still being sent; try again in a "
                                                                  "few minutes."))
            response.headers["Retry-After"] = "120"
            return response, status
        return _error(410, "round_closed", _("The round has closed; the answers were not stored."))
    except answer_service.AnswerError as exc:
        messages = {
            "unknown_question": _("not a question of this round"),
            "out_of_scale": _("value outside the question's scale"),
            "required": _("an answer is required (this question offers no 'prefer not to say')"),
            "comment_too_long": _("at most %(max)d characters", max=answer_service.MAX_COMMENT),
            "comments_closed": _("this round does not collect comments"),
            "not_text": _("the comment contains characters that are not text"),
        }
        return _error(422, "invalid_answers", _("Some answers are not acceptable."),
                      problems={k: {"code": v, "message": messages[v]} for k, v in exc.problems.items()})
    return jsonify({"status": "stored"}), 201
