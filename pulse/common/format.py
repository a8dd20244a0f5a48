"""How published figures are written: one decimal for means, whole per cents, one neutral label for hidden.

Every number written here has been rounded by pulse.domain.stats (half away from zero) before Babel formats it, so
formatting never rounds a second time in another way (docs/ANONYMITY.md, "Precision").
"""

from __future__ import annotations

from flask import Flask
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _

from pulse.common.labels import area_label
from pulse.disclosure import Figures, QuestionInfo
from pulse.domain.pooling import Period
from pulse.domain.scales import SCALES
from pulse.domain.stats import MEAN_DECIMALS, Change, bound_value, one_decimal, round_half_away, whole


def too_few() -> str:
    """The one label for anything hidden — identical for zero answers and for too few (docs/ANONYMITY.md,
    "Release and protection")."""
    return _("too few answers")


def bound_text(figures: Figures, question: QuestionInfo) -> str | None:
    """A censored mean's bound ("≤ 1,5"), or None when the figures are not a bound."""
    scale = SCALES.get(question.scale)
    value = bound_value(figures.censor, scale) if figures.bound and scale is not None else None
    if value is None:
        return None
    return ("≤ " if figures.censor == "low" else "≥ ") + tenths(value)


def mean_text(figures: Figures, question: QuestionInfo) -> str:
    """The result of one question in one cell as shown everywhere: the mean, a bound, a share of yes, or the
    neutral label."""
    bound = bound_text(figures, question)
    if bound is not None:
        return bound
    if not figures.exact or question.scale not in SCALES:
        return too_few()
    if question.scale == "yesno":
        # Yes/no items show nothing below k_dist (docs/ANONYMITY.md, "Yes/no items and flags").
        return too_few() if figures.yes is None else _("%(share)s %% yes", share=format_decimal(figures.yes, "0"))
    if figures.mean is None:
        return too_few()
    return tenths(round_half_away(figures.mean, MEAN_DECIMALS))


#: Each language's decimal mark, asked of Babel once (a trend table writes hundreds of means).
_marks: dict[str, str] = {}


def decimal_mark() -> str:
    """The decimal mark of the current language ("," in Swedish), for text drawn outside Babel (chart ticks)."""
    language = str(get_locale())
    mark = _marks.get(language)
    if mark is None:
        mark = _marks[language] = str(format_decimal(0.5, "0.0"))[1]
    return mark


def tenths(value: float) -> str:
    """A non-negative number already rounded to one decimal, written as Babel writes it with the pattern "0.0"
    (no grouping) — without parsing the pattern again for every figure."""
    return f"{value:.1f}".replace(".", decimal_mark())


def percent(value: float | None) -> str:
    return too_few() if value is None else f"{format_decimal(whole(value), '0')} %"


def change_text(change: Change | None) -> str:
    if change is None:
        return _("too few answers to compare")
    interval = _("95 %% interval %(low)s to %(high)s", low=_signed(change.low), high=_signed(change.high))
    if not change.clear:
        return _("no clear change (%(interval)s)", interval=interval)
    if change.difference > 0:
        return _("up %(diff)s (%(interval)s)", diff=_signed(change.difference), interval=interval)
    return _("down %(diff)s (%(interval)s)", diff=_signed(change.difference), interval=interval)


def _signed(value: float) -> str:
    shown = one_decimal(value) or 0.0
    return ("+" if shown >= 0 else "−") + str(format_decimal(abs(shown), "0.0"))


def period_label(period: Period) -> str:
    """A pooled period as people say it: "november 2026", "kvartal 4 2026", "omgång 5–8"."""
    start = period.start()
    if period.kind == "month" and start is not None:
        return str(format_date(start, "LLLL y"))
    if period.kind == "quarter":
        return _("quarter %(quarter)d %(year)d", quarter=period.index, year=period.year)
    first, last = period.round_numbers()
    return _("rounds %(first)d–%(last)d", first=first, last=last)


def pooled_heading(period: Period) -> str:
    """Why a unit's figures are pooled, in the words of the results pages."""
    if period.kind == "month":
        return _("Too few answers per round – pooled per month")
    if period.kind == "quarter":
        return _("Too few answers per round – pooled per quarter")
    return _("Too few answers per round – pooled per %(n)d rounds", n=period.size)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(too_few=too_few, mean_text=mean_text, percent=percent, change_text=change_text,
                                 area_label=area_label, period_label=period_label, pooled_heading=pooled_heading)
