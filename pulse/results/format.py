"""How published figures are written: one decimal for means, whole per cents, one neutral label for hidden."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal
from flask_babel import gettext as _

from pulse.disclosure import Figures, QuestionInfo
from pulse.labels import area_label
from pulse.scales import SCALES
from pulse.stats import Change


def too_few() -> str:
    """The one label for anything hidden — identical for zero answers and for too few (ANONYMITY.md)."""
    return _("too few answers")


def mean_text(figures: Figures, question: QuestionInfo) -> str:
    scale = SCALES.get(question.scale)
    if not figures.shown or scale is None:
        return too_few()
    if question.scale == "yesno":
        if figures.yes is None:
            return _("flag raised") if figures.flag else _("no “yes” answers")
        return _("%(share)s %% yes", share=format_decimal(round(figures.yes), "0"))
    if figures.censor == "low":
        return "≤ " + format_decimal(scale.minimum + 0.5, "0.0")
    if figures.censor == "high":
        return "≥ " + format_decimal(scale.maximum - 0.5, "0.0")
    if figures.mean is None:
        return too_few()
    return str(format_decimal(figures.mean, "0.0"))


def percent(value: float | None) -> str:
    return too_few() if value is None else f"{format_decimal(round(value), '0')} %"


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
    text = str(format_decimal(abs(value), "0.0"))
    return ("+" if value >= 0 else "−") + text


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(too_few=too_few, mean_text=mean_text, percent=percent, change_text=change_text,
                                 area_label=area_label)
