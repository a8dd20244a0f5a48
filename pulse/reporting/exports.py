"""CSV and XLSX exports of the release cells a viewer may see, marked exactly as on screen, and an XLSX of one
unit's figures across rounds (trend).

CSV holds each figure as the text the pages show (a mean to one decimal, a bound such as "≤ 1,5", a whole per cent
of yes, or the neutral label). XLSX holds numbers as numbers, so managers can chart them: the published mean (one
decimal) or share of yes (whole per cent) and the answered count in number cells, and beside them a column saying
what is shown instead where the figure is not shown exactly (the bound, or "too few answers") — empty number cells
there. Never a finer number (docs/ANONYMITY.md, "Precision"); a bound has no answered count and no mean
(docs/ANONYMITY.md, "Censored figures").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from pulse.common.format import bound_text, mean_text, period_label, too_few
from pulse.disclosure import CellView, Figures, PooledTrend, QuestionInfo, ReleaseData, Trend
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


def published_number(figures: Figures, question: QuestionInfo, written: str | None = None
                     ) -> tuple[float | int | None, int | None, str]:
    """One figure for a spreadsheet: the published value as a number (mean, or share of yes in per cent), the
    answered count, and what is shown instead when the figure is not shown exactly ("" when it is). ``written``:
    the figure as :func:`~pulse.common.format.mean_text` writes it, when the caller has it already (what is shown
    instead is then that text, not written again)."""
    if not figures.exact:
        return None, None, written if written is not None else bound_text(figures, question) or too_few()
    value = figures.yes if question.scale == "yesno" else figures.mean
    if value is None:
        return None, None, written if written is not None else too_few()
    return value, figures.n, ""


def _question_header(question: QuestionInfo, language: str) -> list[object]:
    label = f"{question.code} v{question.version}: {question.text(language)}"
    if question.scale == "yesno":
        label += " — " + _("share answering yes, per cent")
    return [label, f"{question.code} n", f"{question.code} " + _("shown as")]


def _numeric_rows(data: ReleaseData, unit_ids: list[int], language: str) -> Iterator[list[object]]:
    rows = _rows(data, unit_ids, language)
    for _line in range(7):  # the same head as the CSV
        yield next(rows)
    header: list[object] = [_("Unit"), _("Part"), _("Answered"), _("Participation %"), _("shown as")]
    for question in data.info.questions:
        header += _question_header(question, language)
    yield header
    for unit in unit_ids:
        for kind in ("total", "remainder"):
            cell = data.cells.get((unit, kind))
            if cell is not None:
                yield [cell.name, _("whole unit") if kind == "total" else _("directly in the unit"),
                       *_cell_numbers(cell, data.info.questions)]


def _cell_numbers(cell: CellView, questions: tuple[QuestionInfo, ...]) -> list[object]:
    row: list[object] = [cell.respondents if cell.published else None, cell.participation,
                         "" if cell.published else too_few()]
    for question in questions:
        row += list(published_number(cell.get(question.code), question))
    return row


#: Characters a worksheet's name may not hold (Excel's rule, which openpyxl enforces by raising).
_NOT_IN_SHEET_TITLES = re.compile(r"[\\/?*\[\]:]")


def sheet_title(title: str) -> str:
    """A title as a worksheet name: at most 31 characters, none of ``\\ / ? * [ ] :`` ("6:6a" → "6.6a")."""
    return _NOT_IN_SHEET_TITLES.sub(".", title)[:31].strip() or "-"


def _workbook(title: str, rows: Iterator[list[object]], header_row: int, freeze: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title(title)
    for row in rows:
        sheet.append([_safe(str(v)) if v is not None and not isinstance(v, int | float) else v for v in row])
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=header_row + 1):
        for cell in row:
            if isinstance(cell.value, float):
                cell.number_format = "0.0"  # one decimal, as published
    sheet.freeze_panes = freeze
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_xlsx(data: ReleaseData, unit_ids: list[int], language: str) -> bytes:
    return _workbook(_("Results"), _numeric_rows(data, unit_ids, language), 8, "C9")


def trend_xlsx(trend: Trend, language: str) -> bytes:
    """One unit's published figures in every released round of a survey, oldest first: one row per round."""
    questions = list(trend.questions.values())

    def rows() -> Iterator[list[object]]:
        yield [_("Survey"), trend.survey_name]
        yield [_("Unit"), trend.unit.name]
        yield [_("Hidden figures are shown as “%(label)s”, whether nobody or too few answered.", label=too_few())]
        yield []
        header: list[object] = [_("Round"), _("Closed"), _("Release version"), _("Answered"), _("Participation %"),
                                _("shown as")]
        for question in questions:
            header += _question_header(question, language)
        yield header
        for index, release in enumerate(trend.releases):
            cell = trend.cells[index]
            row: list[object] = [release.round_number, release.closed_at.date().isoformat(), release.version,
                                 cell.respondents if cell.published else None, cell.participation,
                                 "" if cell.published else too_few()]
            for question in questions:
                row += list(published_number(trend.series[question.code][index].figures, question))
            yield row

    return _workbook(_("Trend"), rows(), 5, "B6")


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
