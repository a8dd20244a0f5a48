"""The safety representative's desk, the pure part: file types, the deadlines of a 6:6a request, and the annual
follow-up's checklist.

AML 6 kap. 6 a § says the employer confirms receipt of a request "genast" (at once) and answers "utan dröjsmål"
(without delay), by the date the safety representative sets. Pulse turns that into steps the scheduler takes:
ask the nearest manager the day the request is made, remind them every working day until they confirm, and pass
the request to the next manager up when two working days go by without a confirmation or the date passes without
an answer (docs/SAFETY.md, "Deadlines").
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pulse.domain.workdays import is_workday

#: The only files a request may carry, told by their first bytes (never the name, never the browser's claim).
MAGIC = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)

#: Working days without a confirmation before the request goes to the next manager up.
ESCALATE_AFTER_WORKING_DAYS = 2


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` of a PDF, PNG or JPEG file, or None for anything else."""
    for magic, content_type, extension in MAGIC:
        if data.startswith(magic):
            return content_type, extension
    return None


def safe_filename(name: str, extension: str) -> str:
    """A file name that is safe in a Content-Disposition header and on any disk: letters, digits, dot, dash and
    underscore only (accents folded), at most 100 characters, ending in the extension its bytes call for."""
    folded = unicodedata.normalize("NFKD", name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    stem = folded.rsplit(".", 1)[0] if "." in folded else folded
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem
                      if not unicodedata.combining(ch))
    cleaned = re.sub("-+", "-", cleaned).strip("-")[:90]
    return f"{cleaned or 'file'}.{extension}"


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end is not after start)."""
    days, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            days += 1
    return days


class Step(enum.StrEnum):
    """What the scheduler does next for a request."""

    ASK = "ask"
    REMIND = "remind"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class RequestDates:
    """A request's dates, as the scheduler and the pages see them."""

    created_at: dt.datetime
    reply_by: dt.date
    asked_at: dt.datetime | None = None
    reminded_at: dt.datetime | None = None
    escalated_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


def next_step(dates: RequestDates, now: dt.datetime, tz: ZoneInfo) -> Step | None:
    """The step due at ``now``, or None. Calling it again after the step was recorded gives None until the next one
    is due, which is what makes the scheduler's run idempotent.

    - ask: not yet asked (the same day the request is registered);
    - escalate (once): not confirmed after :data:`ESCALATE_AFTER_WORKING_DAYS` working days, or the reply-by date
      has passed without an answer;
    - remind: not confirmed, on each later working day (at most once a day).
    """
    if dates.closed_at is not None or dates.answered_at is not None:
        return None
    if dates.asked_at is None:
        return Step.ASK
    today = now.astimezone(tz).date()
    asked_day = dates.asked_at.astimezone(tz).date()
    if dates.escalated_at is None:
        unconfirmed_too_long = (dates.confirmed_at is None
                                and working_days_between(asked_day, today) >= ESCALATE_AFTER_WORKING_DAYS)
        if unconfirmed_too_long or today > dates.reply_by:
            return Step.ESCALATE
    if dates.confirmed_at is None and is_workday(today):
        last = max(d for d in (dates.reminded_at, dates.escalated_at, dates.asked_at) if d is not None)
        if today > last.astimezone(tz).date():
            return Step.REMIND
    return None


class State(enum.StrEnum):
    """Where a request stands, for the pages, the start page and the report."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    AWAITING_ANSWER = "awaiting_answer"
    OVERDUE = "overdue"
    ANSWERED = "answered"
    ANSWERED_LATE = "answered_late"
    CLOSED = "closed"


def state(dates: RequestDates, today: dt.date, tz: ZoneInfo) -> State:
    if dates.closed_at is not None:
        return State.CLOSED
    if dates.answered_at is not None:
        return State.ANSWERED_LATE if dates.answered_at.astimezone(tz).date() > dates.reply_by else State.ANSWERED
    if today > dates.reply_by:
        return State.OVERDUE
    return State.AWAITING_ANSWER if dates.confirmed_at is not None else State.AWAITING_CONFIRMATION


def confirmed_in_time(dates: RequestDates, tz: ZoneInfo) -> bool | None:
    """Whether receipt was confirmed by the end of the next working day after the request was made ("genast");
    None while it is not confirmed yet."""
    if dates.confirmed_at is None:
        return None
    made = dates.created_at.astimezone(tz).date()
    return working_days_between(made, dates.confirmed_at.astimezone(tz).date()) <= 1


def answered_in_time(dates: RequestDates, tz: ZoneInfo) -> bool | None:
    if dates.answered_at is None:
        return None
    return dates.answered_at.astimezone(tz).date() <= dates.reply_by


# --- The annual follow-up -----------------------------------------------------------------------------------

#: The checklist of the annual follow-up, after AFS 2023:1 (systematiskt arbetsmiljöarbete). Labels are in
#: pulse.common.labels; the order is the order on the page, the PDF and the report.
CHECKLIST = (
    "routines",      # routines for the systematic work written down and known
    "tasks",         # tasks allocated, with knowledge, authority and resources
    "risks",         # risk assessments done, regularly and before changes
    "actions",       # actions completed; overdue ones followed up
    "pulses",        # pulses run and participation
    "complaints",    # complaints handled on time
    "requests",      # 6:6a requests confirmed and answered on time
    "incidents",     # ill health, accidents and serious incidents investigated
    "instructions",  # written instructions for tasks with serious risks
)

#: How each item was judged.
STATUSES = ("yes", "partly", "no", "na")
