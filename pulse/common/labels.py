"""Translated labels for codes stored in the database (scales, areas, cadences, statuses…)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from pulse.domain.questionbank import AREAS

SCALE_LABELS = {
    "agree5": _l("Agreement, 1–5"),
    "freq5": _l("How often, 1–5"),
    "yesno": _l("No / yes, once / yes, several times"),
    "enps": _l("Recommendation, 0–10 (eNPS)"),
    "text": _l("Free text (the comment prompt)"),
}
CADENCE_LABELS = {
    "weekly": _l("Every week"),
    "biweekly": _l("Every two weeks"),
    "monthly": _l("Every month (first chosen weekday)"),
    "manual": _l("Only when opened by hand"),
}
WEEKDAY_LABELS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
                  _l("Sunday")]
REMINDER_LABELS = {
    "everyone": _l("To everyone invited, same text"),
    "none": _l("No reminder"),
}
QUESTION_MODE_LABELS = {
    "fixed": _l("All chosen questions every round"),
    "rotation": _l("Rotate: a few questions per round, all return regularly"),
}
ROUND_STATUS_LABELS = {"open": _l("open"), "closed": _l("closed")}
LANGUAGE_LABELS = {"sv": "Svenska", "en": "English"}


def area_label(code: str) -> str:
    return gettext(AREAS[code]) if code in AREAS else code
