"""The safety representative's report (for a safety area and a period), the PDF of a 6:6a request, and what Pulse
knows for an annual follow-up.

One :class:`Report` is built once and written four ways — the page, PDF, XLSX and CSV — from the same rows of text,
so the four agree by construction (and a test parses all of them against the page). Every figure comes from the
gate (pulse.disclosure.period_cells) and is written by pulse.common.format, as on the results pages: hidden and
"too few" look the same, a bound stays a bound, and nothing is finer than the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.config import DEFAULT_MIN_GROUP_SIZE
from pulse.common.format import change_text, decimal_mark, mean_text, too_few
from pulse.common.labels import (
    CHECKLIST_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    FOLLOW_UP_STATUS_LABELS,
    REQUEST_EVENT_LABELS,
    REQUEST_KIND_LABELS,
    REQUEST_STATE_LABELS,
    area_label,
)
from pulse.domain import desk
from pulse.domain import sam as sam_rules
from pulse.domain.orgcsv import neutralise
from pulse.domain.scales import SCALES
from pulse.models import FollowUp, Person, SafetyRequest, Unit
from pulse.reporting import charts, pdf
from pulse.reporting.exports import published_number, sheet_title
from pulse.services import box as box_service
from pulse.services import safety
from pulse.services import sam as sam_service
from pulse.services.org import Scope, load_tree, safety_scope


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def day(value: dt.datetime | dt.date | None, tz: ZoneInfo) -> str:
    """A date as every export writes it (ISO, unambiguous in both languages); empty for none."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).date().isoformat()
    return value.isoformat()


def _yes_no(value: bool | None) -> str:
    return "" if value is None else _("yes") if value else _("no")


# --- The report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spark:
    """One item's published values round by round as a small black-and-white line chart: the page draws it as
    inline SVG, the PDF as vector lines. Only figures shown exactly are points; a hidden round or a bound is a gap
    (it is shown as a bound in the text beside it), so the chart holds nothing the text does not."""

    #: The alternative text: what the chart shows, in words and published figures.
    label: str
    #: Per round, the point's distance from the top of the scale in the figure's published steps (tenths of a
    #: mean, whole per cents of a share), or None for a gap: whole numbers, never finer than published.
    heights: tuple[int | None, ...]
    #: The scale's span in the same steps (its bottom).
    height: int

    def runs(self) -> list[list[tuple[int, int]]]:
        """The unbroken runs of points as (round index, height)."""
        runs: list[list[tuple[int, int]]] = [[]]
        for index, value in enumerate(self.heights):
            if value is None:
                if runs[-1]:
                    runs.append([])
            else:
                runs[-1].append((index, value))
        return [run for run in runs if run]

    def svg_points(self, step: int = 4) -> list[str]:
        """Each run as an SVG ``points`` attribute: whole numbers separated by spaces (never "3,14", which would
        read like a finer figure); a lone point is a zero-length line, which the round line cap draws as a dot."""
        return [" ".join(f"{i * step} {h}" for i, h in (run if len(run) > 1 else run * 2)) for run in self.runs()]

    @property
    def width(self) -> int:
        return max(1, len(self.heights) - 1) * 4


@dataclass
class Section:
    key: str
    title: str
    header: list[str]
    rows: list[list[object]] = field(default_factory=list)
    #: Said under the heading (what the section holds, or why it is empty).
    note: str = ""
    #: Rows to make stand out (overdue actions): bold in the PDF, marked on the page; the text says why too.
    highlight: set[int] = field(default_factory=set)
    #: (unit name, survey name) of each chart the PDF draws from this section's rows.
    charts: list[tuple[str, str]] = field(default_factory=list)
    #: A section too long to read on a phone or on A4 (a row per item and round) is shown on the page and in the PDF
    #: as these rows instead, one per item, each with its sparkline (``sparks``, aligned; None for none); the XLSX and
    #: CSV hold ``rows``.
    compact_header: list[str] = field(default_factory=list)
    compact_rows: list[list[object]] = field(default_factory=list)
    sparks: list[Spark | None] = field(default_factory=list)


@dataclass
class Report:
    title: str
    language: str
    #: The header: label → value, in order.
    info: list[tuple[str, str]]
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _period(start: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """``[start 00:00, the day after end 00:00)`` in local time, as UTC."""
    low = dt.datetime.combine(start, dt.time(), tz).astimezone(dt.UTC)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return low, high


def report_units(session: Session, rep: Person) -> list[int]:
    """The units the report shows: the top units of the safety area and the units right below them."""
    tree = load_tree(session)
    roots = [u.id for u in safety.area_roots(session, rep)]
    children: dict[int, list[int]] = {}
    for unit, parent in tree.parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(unit)
    result: list[int] = []
    for root in roots:
        result.append(root)
        result += [c for c in children.get(root, []) if c not in result]
    return result


def build_report(session: Session, rep: Person, start: dt.date, end: dt.date, *, language: str, tz: ZoneInfo,
                 now: dt.datetime, k: int = DEFAULT_MIN_GROUP_SIZE) -> Report:
    """The report of ``rep``'s safety area for ``start``–``end`` (inclusive, local dates)."""
    scope = safety_scope(session, rep)
    unit_ids = report_units(session, rep)
    names = {u.id: u.name for u in session.query(Unit).filter(Unit.id.in_(unit_ids))}
    order = {u: i for i, u in enumerate(unit_ids)}
    low, high = _period(start, end, tz)
    periods = disclosure.period_cells(session, unit_ids, low, high, scope)

    # Per unit and survey, every released round of the period in order (the newest release of each round).
    series: dict[tuple[int, int], list[tuple[disclosure.ReleaseInfo, disclosure.CellView]]] = {}
    hidden = 0
    versions: dict[str, set[str]] = {}
    thresholds: set[tuple[int, int, int]] = set()
    # Each figure as the page writes it, written once (by cell, then question code): a year of weekly rounds is
    # thousands of figures, and the hidden count, the trends and the round-by-round rows all need them.
    written: dict[int, dict[str, str]] = {}
    hidden_label = too_few()
    for period in periods:
        info = period.release
        thresholds.add((info.k, info.k_dist, info.k_comments))
        versions.setdefault(info.survey_name, set()).update(f"{q.code} v{q.version}" for q in info.questions)
        for unit, cell in period.cells.items():
            series.setdefault((unit, info.survey_id), []).append((info, cell))
            written[id(cell)] = cell_texts = {q.code: mean_text(cell.get(q.code), q) for q in info.questions}
            hidden += sum(1 for text in cell_texts.values() if text == hidden_label)
    keys = sorted(series, key=lambda key: (order.get(key[0], 0), series[key][-1][0].survey_name))

    participation = Section("participation", _("Invited and answered"),
                            [_("Unit"), _("Survey"), _("Released rounds"), _("Latest round"), _("Closed"),
                             _("Invited"), _("Answered"), _("Participation %")],
                            note=_("In the latest round of the period. Counts follow the rules of the results pages: "
                                   "shown only where enough people were invited and answered."))
    results = Section("results", _("Results per unit, area and question"),
                      [_("Unit"), _("Survey"), _("Round"), _("Area"), _("Question"), _("Version"), _("Result"),
                       _("Answered")],
                      note=_("The latest round of the period, as on the results pages."))
    trends = Section("trends", _("Trends over the period"),
                     [_("Unit"), _("Survey"), _("Question"), _("Rounds shown"), _("First round"), _("Result"),
                      _("Last round"), _("Result"), _("Change")],
                     note=_("The first and the last round of the period with a figure shown, and the change between "
                            "them with its 95 per cent interval. Rounds shown: rounds with a figure, of all released."))
    rounds = Section("rounds", _("Results round by round"),
                     [_("Unit"), _("Survey"), _("Question"), _("Version"), _("Round"), _("Closed"), _("Figure"),
                      _("Result"), _("Answered"), _("Shown as")],
                     note=_("Every released round of the period, per unit and question, as published: a mean to one "
                            "decimal or a share of yes in whole per cent, and the number who answered; where the "
                            "figure is not shown exactly, what is shown instead (a bound, or too few answers). Here "
                            "one line per question: its rounds as a line (gaps where no exact figure is shown) and "
                            "the last %(n)s rounds; the spreadsheet files have every round.", n=LAST_ROUNDS),
                     compact_header=[_("Unit"), _("Survey"), _("Question"), _("Rounds shown"), _("Last rounds")])
    flags = Section("flags", _("Flags for risk assessment"),
                    [_("Unit"), _("Survey"), _("Question"), _("Rounds with a flag"), _("Latest round with a flag")],
                    note=_("A yes/no question (such as threats or harassment) where someone answered yes: assess the "
                           "risk together with the employer."))
    for unit, survey in keys:
        points = series[(unit, survey)]
        info, cell = points[-1]
        name, survey_name = cell.name, info.survey_name
        participation.rows.append([
            name, survey_name, len(points), str(info.round_number), day(info.closed_at, tz),
            cell.invited if cell.published and cell.invited is not None else too_few(),
            cell.respondents if cell.published and cell.respondents is not None else too_few(),
            cell.participation if cell.participation is not None else too_few()])
        questions: dict[str, disclosure.QuestionInfo] = {}
        for point_info, _cell in points:
            questions.update((q.code, q) for q in point_info.questions)
        for question in info.questions:
            figures = cell.get(question.code)
            results.rows.append([name, survey_name, str(info.round_number), area_label(question.area),
                                 question.text(language), f"{question.code} v{question.version}",
                                 mean_text(figures, question),
                                 figures.n if figures.exact and figures.n is not None else ""])
        # Per round, the version of each question it asked (a year of weekly rounds: looked up, not searched).
        asked_in = [{q.code: q.version for q in point_info.questions} for point_info, _cell in points]
        for code, question in questions.items():
            asked = [(i, c.get(code)) for (i, c), versions in zip(points, asked_in, strict=True) if code in versions]
            texts = [written[id(c)][code] for (_i, c), versions in zip(points, asked_in, strict=True)
                     if code in versions]
            _round_rows(rounds, name, survey_name, question, asked,
                        [versions[code] for versions in asked_in if code in versions], texts, language, tz)
            if question.scale == "yesno":
                flagged = [i for i, f in asked if f.exact and f.flag]
                if flagged:
                    flags.rows.append([name, survey_name, question.text(language), len(flagged),
                                       str(flagged[-1].round_number)])
                continue
            shown = [(i, f) for (i, f), text in zip(asked, texts, strict=True) if text != hidden_label]
            if len(shown) < 2:
                continue
            (first_info, first), (last_info, last) = shown[0], shown[-1]
            trends.rows.append([name, survey_name, question.text(language), f"{len(shown)} / {len(asked)}",
                                str(first_info.round_number), mean_text(first, question),
                                str(last_info.round_number), mean_text(last, question),
                                change_text(disclosure.compare(first, last))])

    root_units = safety.area_roots(session, rep)
    root_ids = {u.id for u in root_units}
    areas = _area_section([(key, series[key]) for key in keys if key[0] in root_ids], tz)
    requests = _request_log(session, rep, low, high, tz=tz, now=now)
    follow_ups = _follow_up_summary(session, rep, start, end)
    area = sorted(scope.unit_ids)
    risks = _risk_register(session, area, start, end)
    actions = _action_plan(session, area, start, end, today=now.astimezone(tz).date())
    complaints = _complaints(session, area, start, end, k=k, today=now.astimezone(tz).date())
    info_rows = [
        (_("Safety representative"), rep.name),
        (_("Safety area"), ", ".join(u.name for u in root_units)),
        (_("Units in the report"), ", ".join(names[u] for u in unit_ids if u in names)),
        (_("Period"), f"{start.isoformat()} – {end.isoformat()}"),
        (_("Surveys and question versions"),
         "; ".join(f"{name}: {', '.join(sorted(v))}" for name, v in sorted(versions.items())) or _("none")),
        (_("Released rounds in the period"), str(len(periods))),
        (_("Thresholds"), "; ".join(f"k={k}, k_dist={kd}, k_comments={kc}" for k, kd, kc in sorted(thresholds))
         or _("none")),
        (_("Hidden figures (too few answers)"), str(hidden)),
        (_("Made"), day(now, tz)),
    ]
    sections = [participation, results, trends, rounds, areas, flags, risks, actions, requests, complaints,
                follow_ups]
    for section in sections:
        if not section.rows and not section.note:
            section.note = _("Nothing in this period.")
    return Report(_("The safety representative's report"), language, info_rows, sections)


#: How many of an item's latest rounds the page and the PDF write out beside its line.
LAST_ROUNDS = 6


def _round_rows(section: Section, name: str, survey_name: str, question: disclosure.QuestionInfo,
                asked: list[tuple[disclosure.ReleaseInfo, disclosure.Figures]], versions: list[int],
                texts: list[str], language: str, tz: ZoneInfo) -> None:
    """An item's published figures in every round of the period that asked it (``versions``: the version each
    asked, ``texts``: each figure as the page writes it): a row per round for the XLSX and CSV (numbers as numbers:
    :func:`pulse.reporting.exports.published_number`, the gate's figures at their published precision), and for
    the page and PDF one line with the last rounds as text and all of them drawn."""
    scale = SCALES.get(question.scale)
    if scale is None or not asked:
        return  # free text has no figures
    yes_no = question.scale == "yesno"
    kind = _("per cent yes") if yes_no else _("mean")
    label = question.text(language)
    values: list[float | int | None] = []
    for (info, figures), version, text in zip(asked, versions, texts, strict=True):
        value, answered, instead = published_number(figures, question, text)
        if value is not None and not yes_no:
            value = float(value)  # a mean is written with its one decimal, also when it is whole (3,0)
        values.append(value)
        # Nothing (not an empty text) where nothing is shown instead: the XLSX writes no cell for it.
        section.rows.append([name, survey_name, label, f"{question.code} v{version}", info.round_number,
                             day(info.closed_at, tz), kind, value, answered, instead or None])
    hidden = too_few()
    shown = sum(1 for text in texts if text != hidden)
    last = " · ".join(f"{info.round_number}: {text}" for (info, _f), text in zip(asked[-LAST_ROUNDS:],
                                                                                  texts[-LAST_ROUNDS:], strict=True))
    section.compact_rows.append([name, survey_name, label, f"{shown} / {len(asked)}", last])
    top, bottom = (100, 0) if yes_no else (scale.maximum, scale.minimum)
    # Tenths of a mean (one decimal) or whole per cents: the heights are whole numbers, never finer than published.
    factor = 1 if yes_no else 10
    heights = tuple(None if v is None else round((top - v) * factor) for v in values)
    exact = [(info, v) for (info, _f), v in zip(asked, values, strict=True) if v is not None]
    if not exact:
        section.sparks.append(None)
        return
    low, high = min(v for _i, v in exact), max(v for _i, v in exact)
    section.sparks.append(Spark(_(
        "%(question)s, %(unit)s: an exact figure in %(exact)s of %(asked)s rounds, from %(low)s to %(high)s; "
        "round %(round)s: %(latest)s.", question=label, unit=name, exact=len(exact), asked=len(asked),
        low=_figure(low, yes_no), high=_figure(high, yes_no), round=exact[-1][0].round_number,
        latest=_figure(exact[-1][1], yes_no)), heights, (top - bottom) * factor))


def _figure(value: float | int, yes_no: bool) -> str:
    """A published number as the text shows it (a mean to one decimal, a share in whole per cent)."""
    return _("%(share)s %% yes", share=format_decimal(value, "0")) if yes_no else str(format_decimal(value, "0.0"))


def _request_log(session: Session, rep: Person, low: dt.datetime, high: dt.datetime, *, tz: ZoneInfo,
                 now: dt.datetime) -> Section:
    scope = safety_scope(session, rep)
    section = Section("requests", _("Requests under AML 6:6a"),
                      [_("No."), _("Registered"), _("Unit"), _("Kind"), _("Request"), _("Answer by"),
                       _("Confirmed"), _("Confirmed in time"), _("Answered"), _("Answered in time"), _("State")])
    items = [r for r in safety.requests_for(session, rep) if scope.allows(r.unit_id)
             and r.created_at < high and (r.closed_at is None or r.closed_at >= low)]
    names = {u.id: u.name for u in session.query(Unit).filter(Unit.id.in_({r.unit_id for r in items}))}
    for item in sorted(items, key=lambda r: (r.created_at, r.id)):
        dates = safety.dates(item)
        section.rows.append([
            str(item.id), day(item.created_at, tz), names.get(item.unit_id, ""),
            str(REQUEST_KIND_LABELS.get(item.kind, item.kind)), item.title, day(item.reply_by, tz),
            day(item.confirmed_at, tz), _yes_no(desk.confirmed_in_time(dates, tz)), day(item.answered_at, tz),
            _yes_no(desk.answered_in_time(dates, tz)), str(REQUEST_STATE_LABELS[safety.state(item, now, tz)])])
    return section


def _area_section(series: list[tuple[tuple[int, int], list[tuple[disclosure.ReleaseInfo, disclosure.CellView]]]],
                  tz: ZoneInfo) -> Section:
    """Each question area's index (0–100, as the heatmap shows it) per round, for the top units of the safety area;
    the PDF draws the same numbers as a chart per unit and survey."""
    codes: list[str] = []
    for _key, points in series:
        for info, cell in points:
            codes += [a for a in disclosure.area_indices(info, cell) if a not in codes]
    section = Section("areas", _("Index per area and round"),
                      [_("Unit"), _("Survey"), _("Round"), _("Closed"), *[area_label(a) for a in codes]],
                      note=_("0–100 from the means shown, as in the heatmap; sensitive questions are left out. "
                             "Empty where too few answered."))
    for _key, points in series:
        for info, cell in points:
            values = disclosure.area_indices(info, cell)
            section.rows.append([cell.name, info.survey_name, str(info.round_number), day(info.closed_at, tz),
                                 *["" if values.get(a) is None else values[a] for a in codes]])
    section.charts = [(points[-1][1].name, points[-1][0].survey_name) for _key, points in series]
    return section


def _complaints(session: Session, area: list[int], start: dt.date, end: dt.date, *, k: int,
                today: dt.date) -> Section:
    """Complaint-box counts per unit and category and deadline compliance (pulse.services.box.box_summary): only
    units with at least k people, never any text or anything about a writer."""
    section = Section("complaints", _("Complaints about the work environment"),
                      [_("Unit"), *[str(COMPLAINT_CATEGORY_LABELS[c]) for c in box_service.CATEGORIES], _("Total"),
                       _("Acknowledged in time"), _("Answered in time"), _("Overdue now")],
                      note=_("Items received in the period, per unit with at least %(k)s people; no text and nothing "
                             "about who wrote.", k=k))
    for row in box_service.box_summary(session, area, (start, end), k=k, today=today):
        if not row.total:
            continue
        section.rows.append([row.name, *[row.by_category.get(c, 0) for c in box_service.CATEGORIES], row.total,
                             f"{row.acknowledged_in_time} / {row.acknowledged_in_time + row.acknowledged_late}",
                             f"{row.answered_in_time} / {row.answered_in_time + row.answered_late}", row.overdue_open])
    return section


def _risk_register(session: Session, area: list[int], start: dt.date, end: dt.date) -> Section:
    """The risks of the safety area assessed in the period or still not managed (pulse.services.sam)."""
    section = Section("risks", _("Risk register"),
                      [_("Unit"), _("Assessed"), _("Area"), _("Risk"), _("Serious"), _("Status")])
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(area))).all()) if area else {}
    for risk in sam_service.risks(session, area):
        if not (start <= risk.assessed_on <= end or risk.status in ("open", "acting")):
            continue
        section.rows.append([names.get(risk.unit_id, ""), risk.assessed_on.isoformat(),
                             _(sam_rules.RISK_AREAS.get(risk.area, risk.area)), risk.description,
                             _yes_no(risk.serious), _(sam_rules.RISK_STATUSES.get(risk.status, risk.status))])
    return section


def _action_plan(session: Session, area: list[int], start: dt.date, end: dt.date, *, today: dt.date) -> Section:
    """The actions of the safety area due in the period or still open; overdue ones stand out."""
    section = Section("actions", _("Action plan"),
                      [_("Unit"), _("Activity"), _("Responsible"), _("Done by"), _("Status"), _("Overdue")],
                      note=_("Actions due in the period or still open. Overdue: still open after the date it "
                             "should be done by."))
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(area))).all()) if area else {}
    for action in sam_service.actions(session, area):
        still_open = action.status in sam_rules.OPEN_ACTION_STATUSES
        if not (start <= action.due_on <= end or still_open):
            continue
        overdue = sam_rules.is_overdue(sam_service.dates_of(action), today)
        if overdue:
            section.highlight.add(len(section.rows))
        section.rows.append([names.get(action.unit_id, ""), action.activity, action.owner_role,
                             action.due_on.isoformat(),
                             _(sam_rules.ACTION_STATUSES.get(action.status, action.status)),
                             _("yes, overdue") if overdue else _("no")])
    return section


def _follow_up_summary(session: Session, rep: Person, start: dt.date, end: dt.date) -> Section:
    scope = safety_scope(session, rep)
    section = Section("follow_ups", _("Annual follow-up"),
                      [_("Unit"), _("Year"), *[str(FOLLOW_UP_STATUS_LABELS[s]) for s in desk.STATUSES],
                       _("Not answered"), _("Signed by the manager"), _("Signed by the safety representative")])
    items = [f for f in safety.follow_ups_for(session, rep) if scope.allows(f.unit_id)
             and start.year <= f.year <= end.year]
    names = {u.id: u.name for u in session.query(Unit).filter(Unit.id.in_({f.unit_id for f in items}))}
    for item in sorted(items, key=lambda f: (f.year, names.get(f.unit_id, ""))):
        answers = safety.answers_of(item)
        counts = [sum(1 for a in answers.values() if a["status"] == s) for s in desk.STATUSES]
        section.rows.append([names.get(item.unit_id, ""), str(item.year), *counts,
                             sum(1 for a in answers.values() if not a["status"]),
                             f"{item.manager_signed_by} {item.manager_signed_at.date().isoformat()}"
                             if item.manager_signed_at else "",
                             f"{item.rep_signed_by} {item.rep_signed_at.date().isoformat()}"
                             if item.rep_signed_at else ""])
    return section


# --- Writing it ---------------------------------------------------------------------------------------------


def _safe(value: object) -> object:
    return neutralise(value) if isinstance(value, str) else value


def _csv_value(value: object) -> object:
    """A value as the CSV writes it: a published mean (a float, one decimal) with the language's decimal mark, so
    Swedish Excel reads it as the number it is; text made safe; the rest as it is."""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", decimal_mark())
    return "" if value is None else _safe(value)


def report_rows(report: Report) -> list[list[object]]:
    """The report as one list of rows: title, header, then each section's title, column names and rows."""
    rows: list[list[object]] = [[report.title]]
    rows += [[label, value] for label, value in report.info]
    for section in report.sections:
        rows.append([])
        rows.append([section.title])
        if section.note:
            rows.append([section.note])
        rows.append(list(section.header))
        rows += section.rows
    return rows


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([_csv_value(v) for v in row] for row in report_rows(report))
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(report: Report) -> bytes:
    """One sheet for the header and one per section; numbers as numbers (a mean with one decimal shown, as
    published). Written streaming (openpyxl's write-only mode): a year of rounds is tens of thousands of cells."""
    book = Workbook(write_only=True)

    def bold(sheet: object, value: object) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=_safe(value))
        cell.font = Font(bold=True)
        return cell

    def value(sheet: object, item: object) -> object:
        if not isinstance(item, float):
            return _safe(item)
        cell = WriteOnlyCell(sheet, value=item)
        cell.number_format = "0.0"  # one decimal, as published
        return cell

    used = {_("Report")[:31]}
    sheet = book.create_sheet(sheet_title(_("Report")))
    sheet.append([bold(sheet, report.title)])
    for label, text in report.info:
        sheet.append([_safe(label), _safe(text)])
    for section in report.sections:
        title = sheet_title(section.title)
        while title in used:
            title = title[:28] + f"-{len(used)}"
        used.add(title)
        page = book.create_sheet(title)
        page.append([bold(page, section.title)])
        if section.note:
            page.append([_safe(section.note)])
        page.append([bold(page, h) for h in section.header])
        for row in section.rows:
            page.append([value(page, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_pdf(report: Report, *, now: dt.datetime) -> bytes:
    document = pdf.Document(pdf.Meta(report.title, report.language, subject=report.info[1][1], created=now),
                            footer_text=report.title)
    document.title_block(report.title)
    document.grid([_("What"), _("Value")], [list(pair) for pair in report.info], widths=(55, 119))
    for section in report.sections:
        document.heading(section.title)
        if section.note:
            document.paragraph(section.note, size=9, muted=True)
        for unit, survey in section.charts:
            _area_chart(document, section, unit, survey)
        if section.compact_header:
            if not section.compact_rows:
                continue
            # The item's line in a column of its own, between the shown rounds and the last rounds' figures.
            header = [*section.compact_header[:4], _("Rounds"), section.compact_header[4]]
            rows = [[*(str(v) for v in row[:4]), "", str(row[4])] for row in section.compact_rows]
            lines = {i: pdf.Sparkline([[(x / max(1, len(spark.heights) - 1), 1 - h / spark.height) for x, h in run]
                                       for run in spark.runs()])
                     for i, spark in enumerate(section.sparks) if spark is not None and spark.height}
            document.long_grid(header, rows, widths=(26, 22, 44, 14, 24, 44), sparklines=lines, spark_column=4)
        elif section.rows:
            document.long_grid(section.header, [[str(v) for v in row] for row in section.rows],
                               bold_rows=section.highlight)
    return document.rendered()


def _area_chart(document: pdf.Document, section: Section, unit: str, survey: str) -> None:
    """The area indices of one unit and survey as a vector line chart, with the numbers in the table below it."""
    rows = [row for row in section.rows if row[0] == unit and row[1] == survey]
    if len(rows) < 2:
        return
    areas = section.header[4:]
    step = max(1, len(rows) // 12)
    labels = [str(row[2]) if i % step == 0 else "" for i, row in enumerate(rows)]
    lines = [charts.Series(area, [None if row[4 + i] == "" else float(str(row[4 + i])) for row in rows])
             for i, area in enumerate(areas)]
    title = _("%(unit)s: index per area, round by round", unit=unit)
    description = _("Index 0–100 per question area for each released round of %(survey)s in the period; rounds with "
                    "too few answers are gaps. The same numbers are in the table below.", survey=survey)
    document.chart(charts.line_chart(title, description, labels, lines, y_range=(0, 100), y_label=_("Index"),
                                     decimals=0), f"{title}. {description}")


# --- A 6:6a request as a PDF --------------------------------------------------------------------------------


def request_pdf(session: Session, item: SafetyRequest, *, now: dt.datetime, tz: ZoneInfo) -> bytes:
    """The request, the employer's confirmation and answer, and every step with its date — the document the
    safety representative sends Arbetsmiljöverket when the employer does not answer in time (AML 6:6a)."""
    unit = session.get_one(Unit, item.unit_id)
    manager, next_up = safety.employer_side(session, item.unit_id)
    language = "en" if _("Yes") == "Yes" else "sv"
    title = _("Request under AML 6:6a, no. %(id)s", id=item.id)
    document = pdf.Document(pdf.Meta(title, language, subject=item.title, created=now), footer_text=title)
    document.title_block(title, [_("Made by Pulse on %(date)s.", date=day(now, tz))])
    document.grid([_("What"), _("Value")], [
        [_("Unit"), unit.name],
        [_("What is requested"), str(REQUEST_KIND_LABELS.get(item.kind, item.kind))],
        [_("Request"), item.title],
        [_("Safety representative"), item.created_by_name],
        [_("Registered"), day(item.created_at, tz)],
        [_("Answer by"), day(item.reply_by, tz)],
        [_("Manager asked"), manager.name if manager else _("no manager found")],
        [_("Next manager up"), next_up.name if next_up else _("none")],
        [_("Receipt confirmed"), day(item.confirmed_at, tz) or _("not yet")],
        [_("Answered"), day(item.answered_at, tz) or _("not yet")],
        [_("State"), str(REQUEST_STATE_LABELS[safety.state(item, now, tz)])],
    ], widths=(55, 119))
    document.heading(_("Reasons"))
    document.paragraph(item.reasons)
    document.heading(_("The employer's answer"))
    document.paragraph(item.answer or _("No answer yet."))
    if item.measures:
        document.heading(_("Measures planned or taken"), level=2)
        document.paragraph(item.measures)
    linked = set(safety.linked_action_ids(item))
    actions = [a for a in sam_service.actions(session, sorted(safety.subtree(session, [item.unit_id])))
               if a.id in linked]
    if actions:
        document.heading(_("Actions in the action plan"), level=2)
        document.grid([_("Activity"), _("Responsible"), _("Done by"), _("Status")],
                      [[a.activity, a.owner_role, a.due_on.isoformat(),
                        _(sam_rules.ACTION_STATUSES.get(a.status, a.status))] for a in actions],
                      widths=(84, 36, 24, 30))
    document.heading(_("History"))
    document.grid([_("Date"), _("Step"), _("By"), _("Note")],
                  [[day(e.at, tz), str(REQUEST_EVENT_LABELS.get(e.kind, e.kind)), e.actor_name, e.note]
                   for e in item.events], widths=(24, 52, 38, 60))
    if item.attachments:
        document.heading(_("Attachments"))
        document.paragraph(_("The files themselves are in Pulse; each is identified by its SHA-256 hash."), size=9,
                           muted=True)
        document.grid([_("File"), _("Size"), _("SHA-256")],
                      [[a.filename, f"{a.size:,}".replace(",", " "), a.sha256] for a in item.attachments],
                      widths=(50, 20, 104))
    return document.rendered()


# --- What Pulse knows for an annual follow-up ---------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """Prefilled lines per checklist item: what Pulse knows about the unit in the year."""

    lines: dict[str, list[str]]

    def as_json(self) -> dict[str, object]:
        return {key: value for key, value in self.lines.items()}


def follow_up_facts(session: Session, item: FollowUp, *, tz: ZoneInfo, k: int = DEFAULT_MIN_GROUP_SIZE) -> Facts:
    """What Pulse knows for the follow-up — frozen with it once both have signed."""
    if item.locked_at is not None and item.facts:
        return Facts({k: [str(x) for x in v] for k, v in json.loads(item.facts).items()})
    lines: dict[str, list[str]] = {key: [] for key in desk.CHECKLIST}
    low, high = _period(dt.date(item.year, 1, 1), dt.date(item.year, 12, 31), tz)
    # Whoever may open the follow-up may see its unit's results (they lead it or represent it).
    periods = disclosure.period_cells(session, [item.unit_id], low, high, Scope(True, frozenset()))
    for period in periods:
        cell = period.cells[item.unit_id]
        info = period.release
        if cell.participation is not None:
            lines["pulses"].append(_("%(survey)s, round %(n)s (closed %(date)s): %(answered)s of %(invited)s "
                                     "answered (%(p)s %%)", survey=info.survey_name, n=info.round_number,
                                     date=day(info.closed_at, tz), answered=cell.respondents, invited=cell.invited,
                                     p=cell.participation))
        else:
            lines["pulses"].append(_("%(survey)s, round %(n)s (closed %(date)s): %(label)s", survey=info.survey_name,
                                     n=info.round_number, date=day(info.closed_at, tz), label=too_few()))
    if not periods:
        lines["pulses"].append(_("No pulse round covering the unit was released this year."))
    units = safety.subtree(session, [item.unit_id])
    year_start, year_end = dt.date(item.year, 1, 1), dt.date(item.year, 12, 31)
    assessed = [r for r in sam_service.risks(session, sorted(units)) if year_start <= r.assessed_on <= year_end]
    lines["risks"].append(_("%(n)s risks assessed this year, %(serious)s of them serious; %(open)s not yet managed.",
                            n=len(assessed), serious=sum(1 for r in assessed if r.serious),
                            open=sum(1 for r in assessed if r.status in ("open", "acting"))))
    serious = [r for r in sam_service.risks(session, sorted(units)) if r.serious and r.status != "closed"]
    lines["instructions"].append(ngettext("%(num)d serious risk in the risk register: tasks with it need written "
                                          "instructions.", "%(num)d serious risks in the risk register: tasks with "
                                          "them need written instructions.", len(serious)))
    planned = [a for a in sam_service.actions(session, sorted(units)) if a.due_on <= year_end
               and (a.due_on >= year_start or a.status in sam_rules.OPEN_ACTION_STATUSES)]
    as_of = min(year_end, dt.datetime.now(dt.UTC).astimezone(tz).date())
    lines["actions"].append(_("%(n)s actions due this year: %(done)s done, %(overdue)s overdue.", n=len(planned),
                              done=sum(1 for a in planned if a.status == "done"),
                              overdue=sum(1 for a in planned
                                          if sam_rules.is_overdue(sam_service.dates_of(a), as_of))))
    complaints = [row for row in box_service.box_summary(session, [item.unit_id], (year_start, year_end), k=k,
                                                          today=as_of) if row.total]
    if complaints:
        row = complaints[0]
        lines["complaints"].append(_("%(total)s complaints: %(ack)s of %(acked)s acknowledged in time, %(ans)s of "
                                     "%(answered)s answered in time, %(overdue)s overdue.", total=row.total,
                                     ack=row.acknowledged_in_time,
                                     acked=row.acknowledged_in_time + row.acknowledged_late,
                                     ans=row.answered_in_time, answered=row.answered_in_time + row.answered_late,
                                     overdue=row.overdue_open))
    else:
        lines["complaints"].append(_("No complaints this year, or too few people in the unit to count them."))
    requests = [r for r in session.query(SafetyRequest).filter(SafetyRequest.unit_id.in_(units))
                if low <= r.created_at < high]
    if requests:
        confirmed = sum(1 for r in requests if desk.confirmed_in_time(safety.dates(r), tz))
        answered = sum(1 for r in requests if desk.answered_in_time(safety.dates(r), tz))
        lines["requests"].append(_("%(total)s requests under 6:6a: %(confirmed)s confirmed in time, %(answered)s "
                                   "answered by the date.", total=len(requests), confirmed=confirmed,
                                   answered=answered))
    else:
        lines["requests"].append(_("No requests under 6:6a this year."))
    return Facts(lines)


def checklist_label(key: str) -> str:
    return str(CHECKLIST_LABELS[key])
