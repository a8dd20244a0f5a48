"""The APT pack (arbetsplatsträff: the unit's workplace meeting): one unit's results of one release, in plain
language, ready to talk through, print or hand out as a PDF.

Everything in it comes from the gate (:func:`pulse.disclosure.unit_result` and :func:`pulse.disclosure.trend`) and is
written by pulse.common.format, exactly as on the results pages: a hidden unit's pack shows no figure at all, a hidden
figure is "too few answers", a censored mean is its bound, and the chart plots only published means. The discussion
questions come from the question bank (:data:`pulse.domain.questionbank.DISCUSSION`); a manager who may write the
unit's SAM records may edit and save them (pulse.services.sam.save_apt_prompts: per release, unit and question,
shown to everyone who opens the pack), and anyone who opens the pack may send edits with a print or PDF request.
They are words about a published result and never touch a figure.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from pulse import disclosure
from pulse.common.cache import MB, ByteCache, app_cache
from pulse.common.db import utcnow
from pulse.common.format import bound_text, change_text, decimal_mark, mean_text, too_few
from pulse.common.i18n import current_language
from pulse.domain import sam as sam_rules
from pulse.domain.questionbank import DISCUSSION, DISCUSSION_DEFAULT
from pulse.domain.sam import MAX_PROMPT_LENGTH as MAX_PROMPT_LENGTH
from pulse.domain.sam import MAX_PROMPTS as MAX_PROMPTS
from pulse.domain.sam import PromptError as PromptError
from pulse.domain.scales import SCALES
from pulse.reporting import charts
from pulse.reporting.pdf import Document, Meta
from pulse.services import sam
from pulse.services.org import Scope

#: Rounds the pack's chart looks back over.
CHART_ROUNDS = 8
#: Rendered pack charts kept per process (a few kilobytes each).
CHARTS_CACHED = 4 * MB
#: Rows of the empty action template.
TEMPLATE_ROWS = 4


@dataclass(frozen=True)
class Concern:
    row: disclosure.QuestionRow
    #: The questions to discuss: edits sent with this request, else the manager's saved ones, else the bank's.
    prompts: tuple[str, ...]
    #: The manager's saved questions for this concern (who and when), None while it has the bank's.
    saved: sam.SavedPrompts | None = None


@dataclass(frozen=True)
class ActionLine:
    """One of the unit's current actions (its SAM action plan, pulse.services.sam), as the pack lists it."""

    id: int
    activity: str
    owner: str
    due_on: dt.date
    status: str
    overdue: bool


@dataclass(frozen=True)
class Pack:
    result: disclosure.UnitResult
    concerns: list[Concern]
    #: Questions with a published change since the round before (non-sensitive), clear changes first.
    changes: list[disclosure.QuestionRow]
    #: The concerns' published means over the last rounds, or None when there is nothing to draw.
    chart_svg: bytes | None
    chart_alt: str
    agenda: str
    #: The unit's current actions: still to do, or done and not yet followed up (none for a new unit).
    actions: list[ActionLine] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        """Whether the unit's results are published at all: otherwise the pack shows no figure."""
        return self.result.unit.published

    @property
    def chart_data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.chart_svg or b"").decode()


def default_prompts(question: disclosure.QuestionInfo) -> tuple[str, ...]:
    """The bank's discussion questions for a concern's area, translated."""
    return tuple(_(p) for p in DISCUSSION.get(question.area, DISCUSSION_DEFAULT))


def parse_prompts(form: Mapping[str, str], codes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Edited discussion questions from the pack's form: one textarea per concern (``prompts-<code>``), one question
    per line. A concern whose field is missing keeps the bank's questions; an emptied field leaves it without any.

    :raises PromptError: ``too_many``, ``too_long`` or ``not_text`` (control characters).
    """
    edited: dict[str, tuple[str, ...]] = {}
    for code in codes:
        raw = form.get(f"prompts-{code}")
        if raw is not None:
            edited[code] = sam_rules.prompt_lines(raw)
    return edited


def prompt_changes(result: disclosure.UnitResult, edited: Mapping[str, tuple[str, ...]],
                   restore: str | None = None) -> dict[str, tuple[str, ...] | None]:
    """What saving the pack's questions changes, per concern: the manager's questions, or None for the question
    bank's — when ``restore`` names the concern, or when what was sent is exactly the bank's questions in this
    language (so the bank's stay in each reader's language instead of being saved in the editor's)."""
    changes: dict[str, tuple[str, ...] | None] = {}
    for row in result.concerns:
        code = row.question.code
        if code == restore:
            changes[code] = None
        elif code in edited:
            changes[code] = None if edited[code] == default_prompts(row.question) else edited[code]
    return changes


def _concern(row: disclosure.QuestionRow, edited: Mapping[str, Sequence[str]],
             saved: Mapping[str, sam.SavedPrompts]) -> Concern:
    code = row.question.code
    mine = saved.get(code)
    if code in edited:
        return Concern(row, tuple(edited[code]), mine)
    return Concern(row, mine.prompts if mine is not None else default_prompts(row.question), mine)


def build(session: Session, result: disclosure.UnitResult, scope: Scope, language: str,
          prompts: Mapping[str, Sequence[str]] | None = None) -> Pack:
    """The pack of one unit in one release, from what the gate returned for it (``result``). The discussion
    questions are ``prompts`` (edits sent with the request) where given, else those the manager saved, else the
    bank's."""
    actions = current_actions(session, result.unit.unit_id)
    if not result.unit.published:
        # Nothing of a hidden unit: no figure, no strength or concern, no flag, no chart (its actions are no figure).
        return Pack(result, [], [], None, "", agenda_text(result, []), actions)
    saved = sam.apt_prompts(session, result.release.id, result.unit.unit_id) if result.concerns else {}
    concerns = [_concern(row, prompts or {}, saved) for row in result.concerns]
    changes = [r for r in result.rows if r.change is not None and not r.question.sensitive]
    changes.sort(key=lambda r: (not r.change.clear, -abs(r.change.difference)))  # type: ignore[union-attr]
    svg, alt = _chart(session, result, scope, language)
    return Pack(result, concerns, changes, svg, alt, agenda_text(result, concerns), actions)


def current_actions(session: Session, unit_id: int, *, limit: int = 8) -> list[ActionLine]:
    """The unit's actions the meeting follows up: still to do (overdue marked), or done without a written
    follow-up; the closest done-by dates first."""
    today = utcnow().date()
    lines = []
    for action in sam.actions(session, [unit_id]):
        dates = sam.dates_of(action)
        if action.status not in sam_rules.OPEN_ACTION_STATUSES and not (
                action.status == "done" and action.follow_up_on is not None and not dates.followed_up):
            continue
        owner = ", ".join(part for part in (action.owner.name if action.owner else "", action.owner_role) if part)
        lines.append(ActionLine(action.id, action.activity, owner, action.due_on,
                                _(sam_rules.ACTION_STATUSES.get(action.status, action.status)),
                                sam_rules.is_overdue(dates, today)))
    return lines[:limit]


def action_rows(pack: Pack) -> list[list[str]]:
    """The current actions as table rows (the PDF's and the print view's)."""
    return [[line.activity, line.owner, format_date(line.due_on, "short"),
             line.status + (" · " + _("overdue") if line.overdue else "")] for line in pack.actions]


def agenda_text(result: disclosure.UnitResult, concerns: Sequence[Concern]) -> str:
    """The standing agenda item "Arbetsmiljö", to paste into the meeting invitation."""
    release = result.release
    lines = [_("Work environment (standing item)"),
             _("Results of the pulse survey %(survey)s, round %(n)d (closed %(date)s).", survey=release.survey_name,
               n=release.round_number, date=format_date(release.closed_at, "long"))]
    if concerns:
        lines.append(_("We talk about:"))
        lines += [f"– {c.row.question.text(current_language())}" for c in concerns]
    lines.append(_("Bring your ideas for what we could do. Results are shown only for groups, never for a person."))
    return "\n".join(lines)


def summary_line(result: disclosure.UnitResult) -> str:
    """Participation and index in one sentence, as the PDF's first paragraph and the page's lead."""
    unit = result.unit
    if not unit.published:
        return _("This unit's results are hidden: too few answers, or they could be worked out from other figures. "
                 "Its answers still count in the units above it.")
    parts = [_("%(n)d answered.", n=unit.respondents or 0)]
    if unit.participation is not None:
        parts.append(_("Participation %(p)d %%.", p=unit.participation))
    if result.index is not None:
        parts.append(_("Index %(i)d of 100.", i=result.index))
    return " ".join(parts)


def _chart(session: Session, result: disclosure.UnitResult, scope: Scope,
           language: str) -> tuple[bytes | None, str]:
    """The concerns' published means over the last rounds up to this one, with their intervals; hidden rounds
    marked. Only 1–5 scales (one y axis)."""
    codes = [r.question.code for r in result.concerns if r.question.scale in ("agree5", "freq5")]
    if not codes:
        return None, ""
    trend = disclosure.trend(session, result.release.survey_id, result.unit.unit_id, scope)
    upto = [i for i, r in enumerate(trend.releases) if r.round_number <= result.release.round_number]
    window = upto[-CHART_ROUNDS:]
    rounds = [str(trend.releases[i].round_number) for i in window]
    series = []
    for code in codes:
        question, figures = trend.questions[code], [trend.series[code][i].figures for i in window]
        # A round that publishes only a bound ("≤ 1,5") says so in words; it is never plotted.
        notes = [bound_text(f, question) for f in figures]
        series.append(replace(charts.series_of(question.text(language), figures), notes=notes))
    scale = SCALES["agree5"]
    title = _("To talk about, round by round: %(unit)s", unit=result.unit.name)
    alt = charts.describe(series, rounds, too_few())
    # The page, its print view and the PDF draw the same chart: drawn once per releases, unit, concerns and
    # language (releases never change; the key holds every input).
    key = ("apt", result.unit.unit_id, result.unit.name, tuple(codes), tuple(trend.releases[i].id for i in window),
           language, current_language())
    cache: ByteCache[bytes] = app_cache("pulse.apt_charts", "APT pack charts", CHARTS_CACHED, len)
    svg = cache.get_or_make(key, lambda: charts.line_chart(
        title, alt, rounds, series, y_range=(scale.minimum, scale.maximum), y_label=_("Mean"), x_label=_("Round"),
        hidden_label=too_few(), monochrome=True, decimal_mark=decimal_mark()))
    return svg, alt


# --- PDF ------------------------------------------------------------------------------------------------------------


def to_pdf(pack: Pack, language: str) -> bytes:
    """The pack as an A4 PDF: the same figures, texts and questions as the print view, in the same order."""
    result = pack.result
    release = result.release
    title = _("APT pack: %(unit)s", unit=result.unit.name)
    document = Document(Meta(title=title, language=language, subject=_("Work environment")),
                        footer_text=f"Pulse · {release.survey_name}")
    document.title_block(title, [header_line(result)])
    document.paragraph(summary_line(result), bold=True)
    if pack.shown:
        if result.flags:
            document.heading(_("Flags for risk assessment"))
            document.bullets([r.question.text(language) for r in result.flags])
            document.paragraph(flag_advice(), muted=True, size=9)
        document.heading(_("Strengths"))
        document.bullets([f"{r.question.text(language)} — {mean_text(r.now, r.question)}" for r in result.strengths]
                         or [_("None stand out.")])
        document.heading(_("To talk about"))
        if not pack.concerns:
            document.paragraph(_("None stand out."))
        for concern in pack.concerns:
            row = concern.row
            document.paragraph(f"{row.question.text(language)} — {mean_text(row.now, row.question)}", bold=True)
            document.paragraph(_("Since the round before: %(change)s", change=change_text(row.change)), size=9,
                               muted=True)
            document.bullets(concern.prompts)
        if pack.chart_svg is not None:
            document.chart(pack.chart_svg, pack.chart_alt, width=130)
        document.heading(_("Change since last time"))
        if pack.changes:
            document.grid([_("Question"), _("Result"), _("Since the round before")],
                          [[r.question.text(language), mean_text(r.now, r.question), change_text(r.change)]
                           for r in pack.changes], widths=(90, 22, 62))
            document.paragraph(uncertainty_advice(), muted=True, size=9)
        else:
            document.paragraph(_("too few answers to compare"))
    document.heading(_("Status of our current actions"))
    if pack.actions:
        document.grid([_("Activity"), _("Owner"), _("Done by"), _("Status")], action_rows(pack),
                      widths=(78, 40, 26, 30))
    else:
        document.paragraph(_("No current actions are recorded for the unit."))
    document.heading(_("Actions"))
    document.grid(action_header(), [], widths=(70, 38, 33, 33), empty_rows=TEMPLATE_ROWS)
    document.heading(_("Agenda item to copy"))
    document.paragraph(pack.agenda, size=9)
    return document.rendered()


def header_line(result: disclosure.UnitResult) -> str:
    release = result.release
    line = _("%(survey)s: round %(n)d, closed %(date)s", survey=release.survey_name, n=release.round_number,
             date=format_date(release.closed_at, "long"))
    if release.version > 1:
        line += " · " + _("release version %(v)d", v=release.version)
    return line


def flag_advice() -> str:
    return _("Someone answered “yes”. Take it up with the safety representative in the risk assessment; do not try "
             "to find out who.")


def uncertainty_advice() -> str:
    return _("A change is called clear only when chance is an unlikely explanation: the %(level)d %% interval does "
             "not include zero. “No clear change” means the difference could be chance.", level=95)


def action_header() -> list[str]:
    return [_("Activity"), _("Owner"), _("Timeline"), _("Follow-up")]
