from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, jsonify, request
from flask_babel import gettext as _

from pulse import disclosure
from pulse.common.context import key, record_audit
from pulse.common.db import get_session, utcnow
from pulse.common.security import writes_db
from pulse.domain.crypto import KeyPurpose
from pulse.domain.scales import SCALES
from pulse.domain.stats import bound_value, one_decimal, whole
from pulse.models import Round
from pulse.services import apitokens
from pulse.services import questions as question_service
from pulse.services.org import roles_of, scope_of
from pulse.staff.api import bp
from pulse.staff.api.openapi import document

F = TypeVar("F", bound=Callable[..., Any])


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    response = jsonify({"error": {"status": status, "code": code, "message": message}})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pulse"'
    return response, status


def token_required(view: F) -> F:
    """Bearer token authentication; the token's owner's scope applies to every response."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _space, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return _error(401, "missing_token", _("Send a personal API token: Authorization: Bearer <token>."))
        db = get_session()
        try:
            person = apitokens.authenticate(db, key(KeyPurpose.TOKEN_HASH), secret.strip(), now=utcnow())
        except apitokens.TokenError:
            return _error(401, "invalid_token", _("The token is unknown or revoked."))
        g.api_person = person
        g.api_scope = scope_of(db, person, roles_of(db, person))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _release_json(info: disclosure.ReleaseInfo) -> dict[str, object]:
    return {
        "id": info.id, "version": info.version, "created_at": info.created_at.isoformat(),
        "round": {"id": info.round_id, "number": info.round_number, "opened_at": info.opened_at.isoformat(),
                  "closed_at": info.closed_at.isoformat()},
        "survey": {"id": info.survey_id, "name": info.survey_name},
        "thresholds": {"k": info.k, "k_dist": info.k_dist, "k_comments": info.k_comments},
        "questions": [{"code": q.code, "version": q.version, "area": q.area, "scale": q.scale,
                       "sensitive": q.sensitive, "text": {"sv": q.text_sv, "en": q.text_en}} for q in info.questions],
    }


def _figures_json(figures: disclosure.Figures, question: disclosure.QuestionInfo) -> dict[str, object] | None:
    """The figures exactly as published (the gate has rounded them: means and SD to one decimal, shares and eNPS
    whole numbers); None when hidden. A censored mean is its bound and nothing more — no answered count
    (docs/ANONYMITY.md, "Censored figures")."""
    scale = SCALES.get(question.scale)
    bound = bound_value(figures.censor, scale) if figures.bound and scale is not None else None
    if bound is not None:
        return {"version": question.version, "form": "bound", "censored": figures.censor, "bound": bound}
    if not figures.exact:
        return None
    out: dict[str, object] = {"version": question.version, "form": "exact", "answered": figures.n}
    if question.scale != "yesno":
        out["mean"] = one_decimal(figures.mean)
    if figures.dist is not None:
        out["distribution"] = list(figures.dist)
        out["prefer_not_to_say_percent"] = whole(figures.skip)
        if question.scale != "yesno":
            out["sd"] = one_decimal(figures.sd)
    if figures.enps is not None:
        out["enps"] = whole(figures.enps)
    if question.scale == "yesno":
        # Only at k_dist, with the distribution (docs/ANONYMITY.md, "Yes/no items and flags").
        out["yes_percent"] = whole(figures.yes)
        out["flag"] = figures.flag
    return out


def _cell_json(cell: disclosure.CellView, parent: int | None, info: disclosure.ReleaseInfo) -> dict[str, object]:
    return {
        "unit_id": cell.unit_id, "name": cell.name, "part": cell.kind, "parent_id": parent,
        "published": cell.published, "respondents": cell.respondents if cell.published else None,
        "participation_percent": cell.participation,
        "questions": {q.code: _figures_json(cell.get(q.code), q) for q in info.questions} if cell.published else {},
    }


@bp.route("/api/v1/releases")
@token_required
def releases() -> Response:
    visible = disclosure.visible_releases(get_session(), g.api_scope)
    return jsonify({"releases": [{**_release_json(v.release), "units": [c.unit_id for c in v.units]}
                                 for v in visible]})


@bp.route("/api/v1/releases/<int:release_id>/units/<int:unit_id>")
@token_required
@writes_db
def release_unit(release_id: int, unit_id: int) -> Response | tuple[Response, int]:
    db = get_session()
    try:
        disclosure.unit_result(db, release_id, unit_id, g.api_scope)
        data = disclosure.load_release(db, release_id)
    except disclosure.NotVisibleError:
        return _error(404, "not_found", _("No such release or unit (or it is outside your scope)."))
    cells = []
    for unit in data.subtree(unit_id):
        if not g.api_scope.allows(unit):
            continue
        cells.append(_cell_json(data.total(unit), data.parents.get(unit), data.info))
        remainder = data.remainder(unit)
        if remainder is not None:
            cells.append(_cell_json(remainder, unit, data.info))
    record_audit(db, "release.api_view", f"release:{release_id}", {"unit": unit_id}, actor=g.api_person)
    db.commit()
    return jsonify({"release": _release_json(data.info), "unit_id": unit_id, "cells": cells})


@bp.route("/api/v1/rounds/<int:round_id>/release")
@token_required
def round_release(round_id: int) -> Response | tuple[Response, int]:
    """The newest release of a round — or a clear "not yet" while the round is open."""
    db = get_session()
    rnd = db.get(Round, round_id)
    if rnd is None:
        return _error(404, "not_found", _("No such round."))
    ids = [i for i in disclosure.latest_release_ids(db, rnd.survey_id)
           if disclosure.load_release(db, i).info.round_id == round_id]
    if rnd.status == "open" or not ids:
        return _error(409, "not_released", _("The round is still open: no results exist until it closes."))
    visible = [v for v in disclosure.visible_releases(db, g.api_scope) if v.release.id == ids[0]]
    if not visible:
        return _error(404, "not_found", _("No such round (or it is outside your scope)."))
    return jsonify({**_release_json(visible[0].release), "units": [c.unit_id for c in visible[0].units]})


@bp.route("/api/v1/surveys/<int:survey_id>/units/<int:unit_id>/pooled")
@token_required
@writes_db
def pooled(survey_id: int, unit_id: int) -> Response | tuple[Response, int]:
    """A unit's pooled figures, period by period, through the gate (docs/ANONYMITY.md, "Pooled periods")."""
    db = get_session()
    try:
        trend = disclosure.pooled_trend(db, survey_id, unit_id, g.api_scope)
    except disclosure.NotVisibleError:
        return _error(404, "not_found", _("No such survey or unit (or it is outside your scope)."))
    periods = []
    for info, cell in zip(trend.periods, trend.cells, strict=True) if trend else ():
        questions = {q.code: _figures_json(cell.get(q.code), q) for q in info.questions} if cell.published else {}
        periods.append({
            "id": info.id, "version": info.version, "period": info.key, "rounds": list(info.round_numbers),
            "thresholds": {"k": info.k, "k_dist": info.k_dist},
            "cell": {"unit_id": cell.unit_id, "name": cell.name, "part": cell.kind, "parent_id": None,
                     "published": cell.published, "respondents": cell.respondents if cell.published else None,
                     "participation_percent": cell.participation, "questions": questions}})
    if trend is not None:
        record_audit(db, "release.api_view_pooled", f"pooled_release:{trend.periods[-1].id}", {"unit": unit_id},
                     actor=g.api_person)
        db.commit()
    return jsonify({"survey_id": survey_id, "unit_id": unit_id, "periods": periods})


@bp.route("/api/v1/questions")
@token_required
def questions() -> Response:
    return jsonify({"questions": [
        {"code": q.code, "version": q.version, "area": q.area, "scale": q.scale, "sensitive": q.sensitive,
         "prefer_not_to_say": q.allow_skip, "pack": q.pack, "attribution": q.attribution,
         "text": {"sv": q.text_sv, "en": q.text_en}}
        for q in question_service.current_questions(get_session())]})


@bp.route("/api/v1/openapi.json")
def openapi() -> Response:
    return jsonify(document())
