"""CSV and XLSX exports of the release cells a viewer may see, marked exactly as on screen.

Each figure is the text the pages show (a mean to one decimal, a bound such as "≤ 1,5", a whole per cent of yes,
or the neutral label), never a finer number (docs/ANONYMITY.md, "Precision"); a bound has no answered count
(docs/ANONYMITY.md, "Censored figures").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask_babel import gettext as _

from pulse.common.format import mean_text, period_label, too_few
from pulse.disclosure import PooledTrend, ReleaseData
from pulse.domain.orgcsv import neutralise


def _rows(data: ReleaseData, unit_ids: list[int], language: str) -> Iterator[list[object]]:
    info = data.info
    yield [_("Survey"), info.survey_name]
    yield [_("Round"), info.round_number]
    yield [_("Closed"), info.closed_at.date().isoformat()]
    yield [_("Release version"), info.version, _("computed"), info.created_at.date().isoformat()]
    yield [_("Thresholds"), f"k={info.k}", f"k_dist={info.k_dist}", f"k_comments={info.k_comments}"]
    yield [_("Hidden figures are shown as “%(label)s”, whether nobody or too few answered.", label=too_few())]
    yield []
    header: list[object] = [_("Unit"), _("Part"), _("Answered"), _("Participation %")]
    for question in info.questions:
        header += [f"{question.code} v{question.version}: {question.text(language)}", f"{question.code} n"]
    yield header
    for unit in unit_ids:
        for kind in ("total", "remainder"):
            cell = data.cells.get((unit, kind))
            if cell is None:
                continue
            row: list[object] = [cell.name, _("whole unit") if kind == "total" else _("directly in the unit"),
                                 cell.respondents if cell.published else too_few(),
                                 cell.participation if cell.participation is not None else ""]
            for question in info.questions:
                figures = cell.get(question.code)
                row += [mean_text(figures, question), figures.n if figures.exact else ""]
            yield row


def _safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted; numbers stay numbers."""
    return neutralise(value) if isinstance(value, str) else value


def to_csv(data: ReleaseData, unit_ids: list[int], language: str) -> bytes:
    out = io.StringIO()
    # Semicolons and a BOM: what Swedish Excel opens directly.
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([_safe(v) for v in row] for row in _rows(data, unit_ids, language))
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(data: ReleaseData, unit_ids: list[int], language: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Results")[:31]
    for row in _rows(data, unit_ids, language):
        sheet.append([_safe(str(v)) if v is not None and not isinstance(v, int | float) else v for v in row])
    for cell in sheet[8]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C9"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pooled_csv(trend: PooledTrend, language: str) -> bytes:
    """One unit's pooled figures, one row per period (docs/ANONYMITY.md, "Pooled periods"), as on screen."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([_safe(v) for v in row] for row in _pooled_rows(trend, language))
    return ("\ufeff" + out.getvalue()).encode()


def _pooled_rows(trend: PooledTrend, language: str) -> Iterator[list[object]]:
    yield [_("Survey"), trend.survey_name]
    yield [_("Unit"), trend.unit.name]
    yield [_("Answers pooled over fixed periods; a person answering several rounds counts once per round.")]
    yield [_("Hidden figures are shown as “%(label)s”, whether nobody or too few answered.", label=too_few())]
    yield []
    header: list[object] = [_("Period"), _("Rounds"), _("Release version"), _("Answered")]
    for question in trend.questions.values():
        header += [f"{question.code} v{question.version}: {question.text(language)}", f"{question.code} n"]
    yield header
    for index, (info, cell) in enumerate(zip(trend.periods, trend.cells, strict=True)):
        first, last = min(info.round_numbers), max(info.round_numbers)
        row: list[object] = [period_label(info.period), f"{first}–{last}", info.version,
                             cell.respondents if cell.published else too_few()]
        for code, question in trend.questions.items():
            figures = trend.series[code][index]
            row += [mean_text(figures, question), figures.n if figures.exact else ""]
        yield row
