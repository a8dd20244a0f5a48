"""The rules of the SAM records (systematiskt arbetsmiljöarbete, AFS 2023:1): the fixed lists a risk and an action
choose from, which reminders an action is due, and what "overdue" means. Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from pulse.domain.scales import N_

#: The areas a risk is assessed in: the organisational and social work environment (OSA, AFS 2023:2) as the question
#: bank names them, plus the physical environment and "other", so every risk has a home. Code → label msgid.
RISK_AREAS: dict[str, str] = {
    "workload": N_("Workload"),
    "priorities": N_("Priorities"),
    "support": N_("Support"),
    "recovery": N_("Recovery"),
    "reachability": N_("Working hours and reachability"),
    "influence": N_("Influence"),
    "speaking_up": N_("Speaking up"),
    "victimisation": N_("Victimisation"),
    "threats": N_("Threats and violence"),
    "physical": N_("Physical work environment"),
    "other": N_("Other"),
}

RISK_STATUSES: dict[str, str] = {
    "open": N_("Not yet acted on"),
    "acting": N_("Actions under way"),
    "managed": N_("Managed"),
    "closed": N_("Concluded"),
}

#: How a risk came to be assessed.
RISK_SOURCES: dict[str, str] = {
    "flag": N_("A flag in the results"),
    "low_score": N_("A low score in the results"),
    "free": N_("Noticed at work"),
}

ACTION_STATUSES: dict[str, str] = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}

#: Statuses in which an action still has to be done.
OPEN_ACTION_STATUSES = ("planned", "in_progress")

#: Days before a done-by or follow-up date when the owner is reminded.
REMIND_DAYS_BEFORE = 7

#: Reminder kinds, each sent once per action and date.
REMINDER_KINDS = ("due_soon", "overdue", "follow_up_soon", "follow_up_overdue")

#: The longest texts the forms take (a risk description, minutes): enough for a page, not a document dump.
MAX_TEXT = 5000
MAX_LINE = 200

#: The APT pack's discussion questions per concern: a few short ones, so the pack fits on one or two pages.
MAX_PROMPTS = 5
MAX_PROMPT_LENGTH = 300


class PromptError(ValueError):
    """Discussion questions that do not fit the pack; ``code`` says why: ``too_many``, ``too_long`` or
    ``not_text`` (control characters)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def prompt_lines(raw: str) -> tuple[str, ...]:
    """Discussion questions as written in one field, one per line: blank lines dropped, spaces tidied.

    :raises PromptError: see :func:`check_prompts`.
    """
    lines = tuple(" ".join(line.split()) for line in raw.splitlines() if line.strip())
    check_prompts(lines)
    return lines


def check_prompts(lines: tuple[str, ...]) -> None:
    """:raises PromptError: more than :data:`MAX_PROMPTS` questions, one longer than :data:`MAX_PROMPT_LENGTH`,
    or a line break or control character inside one (each question is one line of text)."""
    if len(lines) > MAX_PROMPTS:
        raise PromptError("too_many")
    if any(len(line) > MAX_PROMPT_LENGTH for line in lines):
        raise PromptError("too_long")
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029" for line in lines for ch in line):
        raise PromptError("not_text")


@dataclass(frozen=True)
class ActionDates:
    """What the reminder rules need to know about an action."""

    status: str
    due_on: dt.date
    follow_up_on: dt.date | None
    #: Whether the follow-up has been written (the result/effect field is filled in).
    followed_up: bool


def is_overdue(action: ActionDates, today: dt.date) -> bool:
    """Still to do and past its done-by date."""
    return action.status in OPEN_ACTION_STATUSES and today > action.due_on


def follow_up_overdue(action: ActionDates, today: dt.date) -> bool:
    """Done (or under way) and its follow-up date has passed without a written result."""
    return (action.status != "cancelled" and action.follow_up_on is not None and not action.followed_up
            and today > action.follow_up_on)


def due_reminders(action: ActionDates, today: dt.date) -> list[tuple[str, dt.date]]:
    """The reminders an action is due on ``today``, as (kind, date reminded about).

    One reminder per kind and date: a week before the done-by date, once it has passed, and the same for the
    follow-up date. Moving a date makes its reminders due again; a reminder missed (no scheduler ran that week) is
    still sent while it applies, so nothing is lost, and a "soon" that was never sent is dropped once "overdue"
    applies, so nobody gets both at once.
    """
    due: list[tuple[str, dt.date]] = []
    before = dt.timedelta(days=REMIND_DAYS_BEFORE)
    if action.status in OPEN_ACTION_STATUSES:
        if today > action.due_on:
            due.append(("overdue", action.due_on))
        elif today >= action.due_on - before:
            due.append(("due_soon", action.due_on))
    if action.status != "cancelled" and action.follow_up_on is not None and not action.followed_up:
        if today > action.follow_up_on:
            due.append(("follow_up_overdue", action.follow_up_on))
        elif today >= action.follow_up_on - before:
            due.append(("follow_up_soon", action.follow_up_on))
    return due


def parse_links(raw: str) -> list[tuple[str, str]]:
    """The help text's links, one per line as ``Label | https://…`` (a bare URL is its own label).

    Only http(s) and mailto/tel links are kept, so a link can never run script in the respondent's page.
    """
    links = []
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            continue
        label, sep, url = line.rpartition("|")
        if not sep:
            label, url = line, line
        label, url = label.strip() or url.strip(), url.strip()
        if url.lower().startswith(("https://", "http://", "mailto:", "tel:")) and " " not in url:
            links.append((label[:MAX_LINE], url[:500]))
    return links


def bad_links(raw: str) -> list[str]:
    """Lines of a links field that :func:`parse_links` would drop (to tell the person who wrote them)."""
    return [line.strip() for line in raw.splitlines() if line.strip() and not parse_links(line)]
