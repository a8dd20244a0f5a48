"""Results pages. Every number comes from pulse.disclosure; every view and export is written to the audit log."""

from __future__ import annotations

from typing import NoReturn

from flask import Response, abort, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from pulse import disclosure
from pulse.common.cache import MB, ByteCache, app_cache
from pulse.common.context import record_audit
from pulse.common.db import get_session
from pulse.common.format import decimal_mark, period_label, too_few
from pulse.common.i18n import current_language
from pulse.common.labels import area_label
from pulse.common.security import writes_db
from pulse.domain.scales import SCALES
from pulse.models import Round
from pulse.reporting import charts, exports
from pulse.scheduler import round_keys
from pulse.services import sam
from pulse.services.org import Role
from pulse.staff.auth.session import current_person, current_scope, staff_required
from pulse.staff.results import bp

VIEWERS = (Role.MANAGER, Role.SAFETY_REP)


def not_visible(release_id: int | None, unit_id: int) -> NoReturn:
    """End a request for a unit's results that the release has no cell for: a unit inside the viewer's scope whose
    people the round counted in a unit above gets a page that says so and where (status 200: the page exists, it
    just has no figures); anything else is a plain 404 that says nothing about units outside the scope."""
    found = None
    if release_id is not None:
        try:
            found = disclosure.counted_elsewhere(get_session(), release_id, unit_id, current_scope())
        except disclosure.NotVisibleError:
            found = None
    if found is None:
        abort(404)
    abort(make_response(render_template("results/counted_elsewhere.html", found=found)))


def _log_view(what: str, release_id: int, unit_id: int, **details: object) -> None:
    """Views and exports of a release go to the audit log: who, what, when (staff only, never respondents)."""
    db = get_session()
    record_audit(db, what, f"release:{release_id}", {"unit": unit_id, **details})
    db.commit()


@bp.route("/")
@staff_required(*VIEWERS)
def index() -> str:
    return render_template("results/index.html", visible=disclosure.visible_releases(get_session(), current_scope()))


@bp.route("/<int:release_id>/units/<int:unit_id>")
@staff_required(*VIEWERS)
@writes_db
def unit(release_id: int, unit_id: int) -> str:
    try:
        result = disclosure.unit_result(get_session(), release_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        not_visible(release_id, unit_id)
    _log_view("release.view", release_id, unit_id)
    # Pooled figures where the round's are too few: the unit, or one of its questions, is hidden this round.
    too_few = not result.unit.published or any(row.now.hidden for row in result.rows)
    pooled = (disclosure.pooled_trend(get_session(), result.release.survey_id, unit_id, current_scope())
              if too_few else None)
    person = current_person()
    # Managers who lead the unit get a link from each flag (and each concern) to a new risk assessment.
    can_assess = person is not None and sam.edit_scope(get_session(), person).allows(unit_id)
    return render_template("results/unit.html", result=result, pooled=pooled, can_assess=can_assess)


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/pooled")
@staff_required(*VIEWERS)
@writes_db
def pooled(survey_id: int, unit_id: int) -> str:
    """A unit's figures pooled over fixed periods (docs/ANONYMITY.md, "Pooled periods"), period by period."""
    try:
        trend = disclosure.pooled_trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    if trend is not None:
        _log_pooled("release.view_pooled", trend, unit_id)
    return render_template("results/pooled.html", trend=trend, survey_id=survey_id, unit_id=unit_id,
                           areas=_areas(trend.questions) if trend else {})


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/pooled/charts/<area>.svg")
@staff_required(*VIEWERS)
def pooled_chart(survey_id: int, unit_id: int, area: str) -> Response:
    """An area's pooled means period by period, drawn like the round trends (published values only)."""
    try:
        trend = disclosure.pooled_trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    codes = [c for c, q in (trend.questions if trend else {}).items() if q.area == area and q.scale != "yesno"]
    if trend is None or not codes:
        abort(404)
    language = current_language()
    scale = SCALES[trend.questions[codes[0]].scale]
    series = [charts.Series(trend.questions[c].text(language)[:60],
                            [f.mean if f.exact else None for f in trend.series[c]]) for c in codes]
    title = _("%(area)s in %(unit)s, pooled period by period", area=area_label(area), unit=trend.unit.name)
    description = _("Mean per question (%(low)d–%(high)d) for each pooled period, to one decimal; periods with too "
                    "few answers, or with a mean shown only as “≤” or “≥”, are left out. The same numbers are in "
                    "the table beside the chart.", low=scale.minimum, high=scale.maximum)
    svg = charts.line_chart(title, description, [period_label(p.period) for p in trend.periods], series,
                            y_range=(scale.minimum, scale.maximum), y_label=_("Mean"))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/pooled.csv")
@staff_required(*VIEWERS)
@writes_db
def pooled_export(survey_id: int, unit_id: int) -> Response:
    """The pooled figures of one unit as CSV, marked exactly as on screen."""
    try:
        trend = disclosure.pooled_trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    if trend is None:
        abort(404)
    _log_pooled("release.export_pooled", trend, unit_id, format="csv")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in f"pulse-{trend.survey_name}-pooled-{unit_id}")
    return Response(exports.pooled_csv(trend, current_language()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _log_pooled(what: str, trend: disclosure.PooledTrend, unit_id: int, **details: object) -> None:
    db = get_session()
    record_audit(db, what, f"pooled_release:{trend.periods[-1].id}", {"unit": unit_id, **details})
    db.commit()


def _areas(questions: dict[str, disclosure.QuestionInfo]) -> dict[str, list[str]]:
    areas: dict[str, list[str]] = {}
    for code, question in questions.items():
        areas.setdefault(question.area, []).append(code)
    return areas


@bp.route("/<int:release_id>/units/<int:unit_id>/heatmap")
@staff_required(*VIEWERS)
@writes_db
def heatmap(release_id: int, unit_id: int) -> str:
    db = get_session()
    try:
        areas, rows = disclosure.heatmap(db, release_id, unit_id, current_scope())
        release = disclosure.load_release(db, release_id)
    except disclosure.NotVisibleError:
        not_visible(release_id, unit_id)
    _log_view("release.view_heatmap", release_id, unit_id)
    return render_template("results/heatmap.html", areas=areas, rows=rows, release=release.info,
                           unit=release.total(unit_id))


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/trends")
@staff_required(*VIEWERS)
@writes_db
def trends(survey_id: int, unit_id: int) -> str:
    try:
        trend = disclosure.trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        newest = disclosure.latest_release_ids(get_session(), survey_id)
        not_visible(newest[0] if newest else None, unit_id)
    _log_view("release.view_trends", trend.releases[-1].id, unit_id, survey=survey_id)
    areas: dict[str, list[str]] = {}
    for code, question in trend.questions.items():
        areas.setdefault(question.area, []).append(code)
    # Each area's table has a column per round: their headers are translated once, not once per table.
    round_headers = [_("Round %(n)s", n=r.round_number) for r in trend.releases]
    return render_template("results/trends.html", trend=trend, areas=areas, round_headers=round_headers)


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/trend.xlsx")
@staff_required(*VIEWERS)
@writes_db
def trend_export(survey_id: int, unit_id: int) -> Response:
    """One unit's published figures across rounds, numbers as numbers (for a manager's own charts)."""
    try:
        trend = disclosure.trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    _log_view("release.export", trend.releases[-1].id, unit_id, format="trend-xlsx", survey=survey_id)
    name = f"pulse-{trend.survey_name}-trend-{unit_id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    return Response(exports.trend_xlsx(trend, current_language()),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.xlsx"'})


#: Rendered trend charts kept per process (a chart is a few kilobytes; drawing one costs tens of milliseconds).
CHARTS_CACHED = 8 * MB


@bp.route("/surveys/<int:survey_id>/units/<int:unit_id>/charts/<area>.svg")
@staff_required(*VIEWERS)
def chart(survey_id: int, unit_id: int, area: str) -> Response:
    try:
        trend = disclosure.trend(get_session(), survey_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    codes = [c for c, q in trend.questions.items() if q.area == area and q.scale != "yesno"]
    if not codes:
        abort(404)
    language = current_language()
    cache: ByteCache[bytes] = app_cache("pulse.charts", "trend charts", CHARTS_CACHED, len)
    key = (survey_id, unit_id, area, language, tuple(r.id for r in trend.releases))
    svg = cache.get(key)
    if svg is None:
        scale = SCALES[trend.questions[codes[0]].scale]
        # Only exact published means are drawn, each with its 95 % interval from the published mean, SD and n: a
        # bound ("≤ 1,5") is left out like a hidden figure, since a point would show more than the bound
        # (docs/ANONYMITY.md, "Censored figures"); the table beside has it.
        series = [charts.series_of(trend.questions[c].text(language), [p.figures for p in trend.series[c]])
                  for c in codes]
        title = _("%(area)s in %(unit)s, round by round", area=area_label(area), unit=trend.unit.name)
        description = _("Mean per question (%(low)d–%(high)d) for each released round, to one decimal, with a bar "
                        "for its 95 %% interval; rounds with too few answers, or with a mean shown only as “≤” or "
                        "“≥”, are marked with a cross. The same numbers are in the table beside the chart.",
                        low=scale.minimum, high=scale.maximum)
        svg = charts.line_chart(title, description, [str(r.round_number) for r in trend.releases], series,
                                y_range=(scale.minimum, scale.maximum), y_label=_("Mean"), x_label=_("Round"),
                                hidden_label=too_few(), decimal_mark=decimal_mark())
        cache.put(key, svg)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@bp.route("/rounds/<int:round_id>")
@staff_required(*VIEWERS)
def round_results(round_id: int) -> WerkzeugResponse | tuple[str, int]:
    """The results of a round: its newest release, or a clear "not yet" while it is open."""
    db = get_session()
    rnd = db.get(Round, round_id)
    if rnd is None:
        abort(404)
    releases = [r for r in disclosure.latest_release_ids(db, rnd.survey_id)
                if disclosure.load_release(db, r).info.round_id == round_id]
    if rnd.status == "open" or not releases:
        return render_template("results/not_yet.html", rnd=rnd), 409
    visible = [v for v in disclosure.visible_releases(db, current_scope()) if v.release.id == releases[0]]
    if not visible:
        abort(404)
    return redirect(url_for("results.unit", release_id=releases[0], unit_id=visible[0].units[0].unit_id))



@bp.route("/<int:release_id>/units/<int:unit_id>/comments")
@staff_required(*VIEWERS)
@writes_db
def comments(release_id: int, unit_id: int) -> str:
    """Released comments placed in this unit and below: shuffled, undated, and on their own page."""
    try:
        found = disclosure.unit_comments(get_session(), round_keys(), release_id, unit_id, current_scope())
    except disclosure.NotVisibleError:
        abort(404)
    _log_view("release.view_comments", release_id, unit_id, shown=len(found.texts))
    return render_template("results/comments.html", release=found.release, unit=found.unit, texts=found.texts)


@bp.route("/<int:release_id>/units/<int:unit_id>/export.<any(csv, xlsx):fmt>")
@staff_required(*VIEWERS)
@writes_db
def export(release_id: int, unit_id: int, fmt: str) -> Response:
    db = get_session()
    try:
        disclosure.unit_result(db, release_id, unit_id, current_scope())
        data = disclosure.load_release(db, release_id)
    except disclosure.NotVisibleError:
        abort(404)
    scope = current_scope()
    units = [u for u in data.subtree(unit_id) if scope.allows(u)]
    language = current_language()
    _log_view("release.export", release_id, unit_id, format=fmt)
    name = f"pulse-{data.info.survey_name}-{data.info.round_number}-v{data.info.version}-{unit_id}"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)
    if fmt == "csv":
        return Response(exports.to_csv(data, units, language), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})
    return Response(exports.to_xlsx(data, units, language),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.xlsx"'})
