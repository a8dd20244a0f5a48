from __future__ import annotations

from flask import Response, current_app, jsonify, render_template
from sqlalchemy.exc import SQLAlchemyError

from pulse.common.db import get_database, get_session
from pulse.common.errors import RETRY_AFTER_DATABASE
from pulse.respondent.public import bp
from pulse.services import box as box_service


@bp.route("/")
def index() -> str:
    return render_template("public/index.html")


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness and database reachability, for load balancers and monitoring."""
    database = get_database(current_app)
    ok = database.ping()
    body = {"status": "ok" if ok else "unavailable", "database": {"reachable": ok, "dialect": database.dialect}}
    response = jsonify(body)
    if not ok:
        response.headers["Retry-After"] = str(RETRY_AFTER_DATABASE)  # as every other page says during an outage
    return response, (200 if ok else 503)


@bp.route("/privacy")
def privacy() -> str:
    """Who can see what: in plain words, with the thresholds and the box's retention in force."""
    return render_template("public/privacy.html", thresholds=current_app.config["PULSE"].thresholds,
                           box_retention_months=_box_retention_months())


def _box_retention_months() -> int | None:
    """The months a closed box item keeps its texts; None when the database cannot say (the page must still
    answer during an outage, and then names the default)."""
    try:
        return box_service.settings(get_session()).retention_months
    except SQLAlchemyError:
        return None
