from __future__ import annotations

from flask import Response, current_app, jsonify, render_template

from pulse.common.db import get_database
from pulse.common.errors import RETRY_AFTER_DATABASE
from pulse.respondent.public import bp


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
    """Who can see what: in plain words, with the thresholds in force."""
    return render_template("public/privacy.html", thresholds=current_app.config["PULSE"].thresholds)
