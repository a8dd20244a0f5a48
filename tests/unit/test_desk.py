"""The desk's pure rules: which files are accepted, and the deadlines of a 6:6a request (working days, Swedish
public holidays, one step at a time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pulse.domain import desk
from pulse.domain.desk import RequestDates, Step

TZ = ZoneInfo("Europe/Stockholm")


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), TZ).astimezone(dt.UTC)


@pytest.mark.parametrize(("data", "expected"), [
    (b"%PDF-1.7 ...", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"\xff\xd8\xff\xe0....", "image/jpeg"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b"GIF89a", None),
    (b" %PDF-1.7", None),  # not at the start
    (b"PK\x03\x04", None),  # a zip, a docx
    (b"", None),
])
def test_files_are_told_by_their_first_bytes(data: bytes, expected: str | None) -> None:
    found = desk.sniff(data)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(("name", "extension", "expected"), [
    ("bild på skrivbord.png", "png", "bild-pa-skrivbord.png"),
    ("../../etc/passwd", "pdf", "passwd.pdf"),
    ('a"; filename="evil.html', "pdf", "a-filename-evil.pdf"),
    ("C:\\Users\\x\\Mätning.JPG", "jpg", "Matning.jpg"),
    ("script.html", "pdf", "script.pdf"),  # the bytes decide the extension
    ("....", "png", "file.png"),
])
def test_file_names_are_safe_in_headers_and_on_disk(name: str, extension: str, expected: str) -> None:
    assert desk.safe_filename(name, extension) == expected


def test_the_employer_is_asked_the_same_day_then_reminded_each_working_day() -> None:
    made = at("2026-12-01")  # a Tuesday
    dates = RequestDates(created_at=made, reply_by=dt.date(2026, 12, 15))
    assert desk.next_step(dates, made, TZ) == Step.ASK
    asked = RequestDates(created_at=made, reply_by=dates.reply_by, asked_at=made)
    assert desk.next_step(asked, at("2026-12-01", 16), TZ) is None  # not twice the same day
    assert desk.next_step(asked, at("2026-12-02"), TZ) == Step.REMIND
    reminded = RequestDates(created_at=made, reply_by=dates.reply_by, asked_at=made, reminded_at=at("2026-12-02"))
    assert desk.next_step(reminded, at("2026-12-02", 17), TZ) is None
    # Two working days without a confirmation: passed on to the next manager up.
    assert desk.next_step(reminded, at("2026-12-03"), TZ) == Step.ESCALATE
    escalated = RequestDates(created_at=made, reply_by=dates.reply_by, asked_at=made,
                             reminded_at=at("2026-12-02"), escalated_at=at("2026-12-03"))
    assert desk.next_step(escalated, at("2026-12-03", 15), TZ) is None
    assert desk.next_step(escalated, at("2026-12-04"), TZ) == Step.REMIND  # still reminded, never escalated twice


def test_weekends_and_public_holidays_do_not_count() -> None:
    made = at("2026-12-23")  # Wednesday before Christmas: 24, 25, 26 are holidays, 27 a Sunday
    asked = RequestDates(created_at=made, reply_by=dt.date(2027, 1, 20), asked_at=made)
    for day in ("2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27"):
        assert desk.next_step(asked, at(day), TZ) is None, day
    assert desk.next_step(asked, at("2026-12-28"), TZ) == Step.REMIND
    reminded = RequestDates(created_at=made, reply_by=asked.reply_by, asked_at=made, reminded_at=at("2026-12-28"))
    assert desk.next_step(reminded, at("2026-12-29"), TZ) == Step.ESCALATE  # the 28th and 29th: two working days
    assert desk.working_days_between(dt.date(2026, 12, 23), dt.date(2026, 12, 29)) == 2
    # Confirmed on the first working day after: in time ("genast").
    confirmed = RequestDates(created_at=made, reply_by=asked.reply_by, asked_at=made, confirmed_at=at("2026-12-28"))
    assert desk.confirmed_in_time(confirmed, TZ) is True


def test_a_confirmed_request_is_escalated_only_when_the_date_passes_unanswered() -> None:
    made = at("2026-12-01")
    confirmed = RequestDates(created_at=made, reply_by=dt.date(2026, 12, 10), asked_at=made,
                             confirmed_at=at("2026-12-01", 11))
    assert desk.next_step(confirmed, at("2026-12-10", 23), TZ) is None
    assert desk.next_step(confirmed, at("2026-12-11"), TZ) == Step.ESCALATE
    assert desk.state(confirmed, dt.date(2026, 12, 10), TZ) == desk.State.AWAITING_ANSWER
    assert desk.state(confirmed, dt.date(2026, 12, 11), TZ) == desk.State.OVERDUE
    answered = RequestDates(created_at=made, reply_by=dt.date(2026, 12, 10), asked_at=made,
                            confirmed_at=at("2026-12-01", 11), answered_at=at("2026-12-11"))
    assert desk.next_step(answered, at("2026-12-12"), TZ) is None
    assert desk.state(answered, dt.date(2026, 12, 12), TZ) == desk.State.ANSWERED_LATE
    assert desk.answered_in_time(answered, TZ) is False
