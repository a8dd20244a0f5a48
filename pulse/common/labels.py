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

# --- The safety representative's desk (pulse.domain.desk) ---------------------------------------------------

REQUEST_KIND_LABELS = {
    "measure": _l("Measures (åtgärder)"),
    "investigation": _l("An investigation (undersökning)"),
}
REQUEST_STATE_LABELS = {
    "awaiting_confirmation": _l("waiting for the employer to confirm receipt"),
    "awaiting_answer": _l("receipt confirmed, waiting for the answer"),
    "overdue": _l("overdue: no answer by the date"),
    "answered": _l("answered in time"),
    "answered_late": _l("answered after the date"),
    "closed": _l("closed"),
}
REQUEST_EVENT_LABELS = {
    "registered": _l("Request registered"),
    "ask": _l("Pulse asked the employer to confirm receipt"),
    "remind": _l("Pulse reminded the employer"),
    "escalate": _l("Pulse passed the request to the next manager up"),
    "confirmed": _l("Receipt confirmed"),
    "answered": _l("Answered"),
    "attachment": _l("File added"),
    "note": _l("Note"),
    "closed": _l("Closed by the safety representative"),
}
CHECKLIST_LABELS = {
    "routines": _l("Routines for the systematic work environment management (SAM) are written down and known"),
    "tasks": _l("Work environment tasks are allocated, and those who have them have the knowledge, authority and "
                "resources they need"),
    "risks": _l("Risks are assessed (riskbedömning) regularly and before changes"),
    "actions": _l("Actions in the action plan (handlingsplan) are completed; overdue ones are followed up"),
    "pulses": _l("Pulses were run and enough people took part"),
    "complaints": _l("Complaints about the work environment were acknowledged and answered on time"),
    "requests": _l("Requests under AML 6:6a were confirmed and answered on time"),
    "incidents": _l("Ill health, accidents and serious incidents were investigated"),
    "instructions": _l("There are written instructions for tasks with serious risks"),
}
FOLLOW_UP_STATUS_LABELS = {
    "yes": _l("Yes"),
    "partly": _l("Partly"),
    "no": _l("No"),
    "na": _l("Does not apply"),
}
#: The complaint box's categories (pulse.services.box.CATEGORIES), as the box's own pages name them.
COMPLAINT_CATEGORY_LABELS = {
    "workload": _l("Workload"),
    "treatment": _l("Treatment and relationships"),
    "safety": _l("Safety and risks"),
    "premises": _l("Premises and equipment"),
    "organisation": _l("Organisation and leadership"),
    "other": _l("Other"),
}
