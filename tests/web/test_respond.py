"""The anonymous answer pages: no cookie, no trace, one answer per invitation, kind errors."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pulse import respondent_app
from pulse.models import PendingResponse, Person, Round
from tests.factories import sign_in
from tests.rounds import make_survey, open_with_credentials

ANSWERS = {"q-OSA-WL1": "4", "q-OSA-SP1": "skip", "q-OSA-VI1": "0", "q-OSA-NPS": "8"}


@pytest.fixture
def opened(session: Session, app: Flask, org, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from pulse.respondent import guard
    from pulse.respondent.answer_api import views as api_views
    from pulse.respondent.answering import views

    # Rounds in the helpers open on a fixed Monday; the pages compare with the real clock.
    monkeypatch.setattr(views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(api_views, "utcnow", lambda: dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC))
    monkeypatch.setattr(guard.limiter, "_failures", {})
    return open_with_credentials(session, app, make_survey(session, [org.dept]))


def test_landing_sets_no_cookie(client: FlaskClient) -> None:
    response = client.get("/r")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert 'name="credential"' in response.get_data(as_text=True)


def test_the_page_a_link_opens_is_the_same_for_everyone_in_a_language_and_cacheable(client: FlaskClient) -> None:
    swedish = client.get("/r?lang=sv")
    again = client.get("/r?lang=sv", headers={"Accept-Language": "en"})
    english = client.get("/r?lang=en")
    assert swedish.status_code == again.status_code == english.status_code == 200
    assert swedish.get_data() == again.get_data()  # the address's language wins over the browser's
    assert '<html lang="sv">' in swedish.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True) and "Answer a pulse" in english.get_data(as_text=True)
    assert swedish.headers["ETag"] != english.headers["ETag"]
    assert "public" in swedish.headers["Cache-Control"] and "max-age=300" in swedish.headers["Cache-Control"]
    assert "Set-Cookie" not in swedish.headers
    # A browser that has the page gets 304 with no body; one with another language's copy gets the page.
    assert client.get("/r?lang=sv", headers={"If-None-Match": swedish.headers["ETag"]}).status_code == 304
    assert client.get("/r?lang=sv", headers={"If-None-Match": english.headers["ETag"]}).status_code == 200


def test_without_a_language_in_the_address_the_browser_s_decides_and_caches_know_it(client: FlaskClient) -> None:
    english = client.get("/r", headers={"Accept-Language": "en-GB,en;q=0.9"})
    swedish = client.get("/r", headers={"Accept-Language": "sv-SE"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert '<html lang="sv">' in swedish.get_data(as_text=True)
    assert "Accept-Language" in english.headers["Vary"]
    # The language switch on the cached page still leads to the other language.
    assert 'href="/r?lang=sv"' in english.get_data(as_text=True)


def test_answering_with_the_link_token(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    page = client.post("/r/start", data={"credential": link})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert text.count("<fieldset") == 4 and "<legend>" in text
    assert "Fråga 1 av 4" in text  # the invitee's language (Swedish)
    # Looking at the form twice uses nothing up.
    assert client.post("/r/start", data={"credential": link}).status_code == 200
    done = client.post("/r/submit", data={"credential": link, **ANSWERS, "comment": "Bra vecka"})
    assert done.status_code == 200 and "Set-Cookie" not in done.headers
    assert "utan koppling till dig" in done.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1
    again = client.post("/r/submit", data={"credential": link, **ANSWERS})
    assert again.status_code == 409
    assert "redan använts" in again.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1


def test_holding_someone_s_invitation_does_not_tell_whether_they_answered(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                          session: Session) -> None:
    """Someone with another person's invitation (a shared mailbox, a mail administrator) learns nothing without
    using it up: the form opens the same, and wrong answers get the same refusal, answered or not. Only a complete,
    valid answer says "already used" — which, for an unused invitation, is an answer, and the owner will see their
    link was used (docs/ANONYMITY.md, "Who learns who answered")."""
    answered, _ = opened.credentials["employee@example.org"]
    unanswered, _ = opened.credentials["safety@example.org"]
    assert client.post("/r/submit", data={"credential": answered, **ANSWERS}).status_code == 200

    def looks(link: str) -> list[tuple[int, str]]:
        pages = [client.post("/r/start", data={"credential": link}),
                 client.post("/r/submit", data={"credential": link, **ANSWERS, "q-OSA-WL1": "9"}),
                 client.post("/api/v1/answers", json={"token": link, "answers": {"OSA-WL1": 9}}),
                 client.post("/api/v1/answers", json={"token": link, "answers": {"NOPE": 1}})]
        return [(p.status_code, re.sub(r'value="[^"]*"', "", p.get_data(as_text=True))) for p in pages]

    assert looks(answered) == looks(unanswered)
    assert [status for status, _ in looks(answered)] == [200, 400, 422, 422]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 1


def test_the_typed_code_works_without_javascript(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    _, code = opened.credentials["safety@example.org"]
    typed = f"{code[:4].lower()} {code[4:8]}-{code[8:]}"
    assert client.post("/r/start", data={"credential": typed}).status_code == 200
    assert client.post("/r/submit", data={"credential": typed, **ANSWERS}).status_code == 200


def test_english_invitee_and_language_switch(client: FlaskClient, opened, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    session.execute(update(Person).where(Person.id == org.employee.id).values(language="en"))
    session.commit()
    fresh = open_with_credentials(session, client.application, make_survey(session, [org.dept], name="Eng"))
    link, _ = fresh.credentials["employee@example.org"]
    # The invitation's link carries its language (/r?lang=en#t=…), and the code form sends it on; the credential
    # itself knows no language (it would tell an English speaker's answer apart in a small unit).
    page = client.post("/r/start", data={"credential": link, "lang": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Question 1 of 4" in page
    page = client.post("/r/start", data={"credential": link, "lang": "sv"}).get_data(as_text=True)
    assert '<html lang="sv">' in page and "Fråga 1 av 4" in page


def test_small_group_notice(client: FlaskClient, opened, session: Session, org) -> None:  # type: ignore[no-untyped-def]
    # The department's three count together (k = 3), but comments need four: the notice says so.
    link, _ = opened.credentials["employee@example.org"]
    assert "liten grupp" not in client.post("/r/start", data={"credential": link}).get_data(as_text=True)
    fresh = open_with_credentials(session, client.application, make_survey(session, [org.dept], name="Liten",
                                                                           min_comment_size=4))
    link, _ = fresh.credentials["employee@example.org"]
    assert "Dina svar räknas i en liten grupp" in client.post("/r/start", data={"credential": link}).get_data(
        as_text=True)


def test_invalid_answers_keep_what_was_typed(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    response = client.post("/r/submit", data={"credential": link, **ANSWERS, "q-OSA-WL1": "9",
                                                "comment": "behåll mig"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#q-OSA-WL1"' in text and "behåll mig" in text
    assert re.search(r'value="8"\s+checked', text)  # the NPS answer is still chosen
    too_long = client.post("/r/submit", data={"credential": link, **ANSWERS, "comment": "x" * 2001})
    assert too_long.status_code == 400 and "högst 2000 tecken" in too_long.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0


@pytest.mark.parametrize(("credential", "status"), [("", 400), ("NOT-A-CODE", 404), ("x" * 5000, 404)])
def test_unknown_or_missing_credentials(client: FlaskClient, opened, credential: str, status: int) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/r/start", data={"credential": credential}).status_code == status
    assert client.post("/r/submit", data={"credential": credential, **ANSWERS}).status_code == status


def test_round_closed_while_the_page_was_open(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    link, _ = opened.credentials["employee@example.org"]
    assert client.post("/r/start", data={"credential": link}).status_code == 200
    session.execute(update(Round).values(closes_at=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    session.commit()
    response = client.post("/r/submit", data={"credential": link, **ANSWERS})
    assert response.status_code == 410
    assert "stängde innan ditt svar kom fram" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0


def test_guessing_codes_is_slowed_down_but_a_valid_code_always_works(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from pulse.respondent import guard

    monkeypatch.setattr(guard, "PAUSE_SECONDS", 0.0)
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(20):
        assert client.post("/r/start", data={"credential": "WRONG-CODE"}, environ_base=guesser).status_code == 404
    slowed = client.post("/r/start", data={"credential": "WRONG-CODE"}, environ_base=guesser)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "600"
    # A real invitation still opens — from the guesser's own address (a shared proxy or NAT) and from others.
    link, _ = opened.credentials["employee@example.org"]
    assert client.post("/r/start", data={"credential": link}, environ_base=guesser).status_code == 200
    other = {"REMOTE_ADDR": "198.51.100.8"}
    assert client.post("/r/start", data={"credential": "WRONG-CODE"}, environ_base=other).status_code == 404
    assert client.post("/r/submit", data={"credential": link, **ANSWERS}, environ_base=guesser).status_code == 200


def test_a_flood_of_wrong_codes_from_everywhere_is_counted_across_processes(client: FlaskClient, opened,  # type: ignore[no-untyped-def]
                                                                            session: Session,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The count everyone shares lives in the database (one number, nothing about who failed): above the flood
    level every wrong code gets 429, while a valid code still works."""
    from pulse.models import RateLimitBucket
    from pulse.respondent import guard

    monkeypatch.setattr(guard, "FLOOD", 3)
    statuses = [client.post("/r/start", data={"credential": "WRONG-CODE"},
                            environ_base={"REMOTE_ADDR": f"203.0.113.{i}"}).status_code for i in range(5)]
    assert statuses == [404, 404, 404, 429, 429]  # the fourth failure is over the flood level of three
    link, _ = opened.credentials["safety@example.org"]
    assert client.post("/r/start", data={"credential": link}).status_code == 200
    buckets = list(session.scalars(select(RateLimitBucket)))
    assert len(buckets) == 1 and buckets[0].count == 5  # one row for everyone


def test_get_is_not_allowed_on_the_posting_pages(client: FlaskClient) -> None:
    response = client.get("/r/start")
    assert response.status_code == 405
    assert "Set-Cookie" not in response.headers


def test_the_staff_cookie_never_reaches_the_answering_path(app: Flask, client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict[str, str]] = []

    @respondent_app(app).after_request
    def _capture(response):  # type: ignore[no-untyped-def]
        if request.path.startswith("/r"):
            seen.append(dict(request.cookies))
        return response

    sign_in(client, "employee@example.org")
    link, _ = opened.credentials["employee@example.org"]
    for response in (client.get("/r"), client.post("/r/start", data={"credential": link}),
                     client.post("/r/submit", data={"credential": link, **ANSWERS})):
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    assert seen == [{}, {}, {}]


def test_a_staff_cookie_sent_to_the_answering_path_anyway_is_neither_read_nor_refreshed(  # type: ignore[no-untyped-def]
        app: Flask, client: FlaskClient, opened) -> None:
    """A client that sends the staff cookie to /r on purpose (or a proxy that rewrites paths) gets no session:
    it is not loaded, not refreshed, and no cookie is set (docs/ANONYMITY.md, "The answering path")."""
    from flask import g, session
    from flask.sessions import NullSession

    loaded: list[object] = []

    @respondent_app(app).after_request
    def _capture(response):  # type: ignore[no-untyped-def]
        loaded.append((g.get("person"), isinstance(session, NullSession), dict(session)))
        return response

    sign_in(client, "employee@example.org")
    staff_cookie = client.get_cookie("pulse_staff", path="/staff")
    assert staff_cookie is not None

    anonymous = app.test_client()
    anonymous.set_cookie("pulse_staff", staff_cookie.value, path="/")  # sent everywhere, against its own path
    link, _ = opened.credentials["manager@example.org"]
    for response in (anonymous.get("/r"),
                     anonymous.post("/r/start", data={"credential": link}),
                     anonymous.post("/r/submit", data={"credential": link, **ANSWERS}),
                     anonymous.post("/api/v1/answers", json={"token": "nope", "answers": {}}),
                     anonymous.get("/privacy")):
        assert response.status_code in (200, 404), response.status_code
        assert "Set-Cookie" not in response.headers
    assert loaded == [(None, True, {})] * 5


def test_nothing_identifying_is_logged(client: FlaskClient, opened, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    link, code = opened.credentials["employee@example.org"]
    with caplog.at_level(logging.DEBUG):
        client.post("/r/start", data={"credential": link}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
        client.post("/r/submit", data={"credential": link, **ANSWERS}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
        client.post("/r/submit", data={"credential": code, **ANSWERS}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
        client.post("/r/start", data={"credential": "WRONG"}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (link, code, "198.51.100.23", "employee@example.org"):
        assert secret not in logged


def test_privacy_page_in_both_languages(client: FlaskClient) -> None:
    sv = client.get("/privacy")
    en = client.get("/privacy?lang=en")
    assert sv.status_code == en.status_code == 200
    assert "Vem ser vad" in sv.get_data(as_text=True) and "Who can see what" in en.get_data(as_text=True)
    assert "minst 6" in sv.get_data(as_text=True)
    assert "Set-Cookie" not in sv.headers


def test_my_answers_page(client: FlaskClient) -> None:
    response = client.get("/r/mine?lang=en")
    assert response.status_code == 200 and "never receives them" in response.get_data(as_text=True)
    # Both tenses are there for the script: "stänger" while the date is ahead, "stängde" once it has passed.
    swedish = client.get("/r/mine?lang=sv").get_data(as_text=True)
    assert 'data-closes="stänger {date}"' in swedish and 'data-closed="stängde {date}"' in swedish


def test_a_wrong_code_keeps_what_was_typed(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/r/start", data={"credential": "ABCD-EFGH-JKMX", "lang": "sv"})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'value="ABCD-EFGH-JKMX"' in page and 'aria-invalid="true"' in page
    # Escaped like any value, and cut to the field's length.
    page = client.post("/r/start", data={"credential": '"><script>x</script>' + "A" * 200}).get_data(as_text=True)
    assert "<script>x" not in page and 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;' in page
    assert "A" * 81 not in page


def test_the_opening_notice_is_hidden_until_a_link_is_followed(client: FlaskClient) -> None:
    page = client.get("/r?lang=sv").get_data(as_text=True)
    notice = re.search(r'<div[^>]*id="opening-link"[^>]*>', page)
    assert notice and "hidden" in notice.group(0) and "js-only" not in notice.group(0)


def test_the_invitation_s_language_wins_over_the_browser_s_until_the_person_switches(  # type: ignore[no-untyped-def]
        client: FlaskClient, opened) -> None:
    link, _ = opened.credentials["employee@example.org"]
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    # The link of a Swedish invitation (/r?lang=sv#t=…) on an English browser: Swedish all the way.
    assert '<html lang="sv">' in client.get("/r?lang=sv", headers=english_browser).get_data(as_text=True)
    page = client.post("/r/start", data={"credential": link, "lang": "sv"}, headers=english_browser)
    assert "Fråga 1 av 4" in page.get_data(as_text=True)
    assert client.post("/r/submit", data={"credential": link, "lang": "sv", "q-OSA-WL1": "9"},
                       headers=english_browser).get_data(as_text=True).count('<html lang="sv">') == 1
    # The person's own choice (the switch on the page) then holds for the rest of the way.
    page = client.post("/r/start", data={"credential": link, "lang": "en"}).get_data(as_text=True)
    assert "Question 1 of 4" in page and '<input type="hidden" name="lang" value="en">' in page
    done = client.post("/r/submit", data={"credential": link, "lang": "en", **ANSWERS},
                       headers={"Accept-Language": "sv"}).get_data(as_text=True)
    assert '<html lang="en">' in done
    # Without either, the browser decides.
    assert '<html lang="en">' in client.get("/r", headers=english_browser).get_data(as_text=True)


def test_my_answers_can_show_the_units_published_results(client: FlaskClient, opened, session: Session,  # type: ignore[no-untyped-def]
                                                          app: Flask) -> None:
    import html
    import json

    from pulse import scheduler
    from tests.rounds import keys

    link, _ = opened.credentials["employee@example.org"]
    page = client.post("/r/submit", data={"credential": link, **ANSWERS}).get_data(as_text=True)
    copy = json.loads(html.unescape(re.search(r'<template id="private-copy">(.*?)</template>', page, re.S).group(1)))
    results_url = copy["results"]
    assert results_url.startswith("/r/results/")
    not_yet = client.get(results_url)
    # Open: the planned closing day (in Stockholm), in the future tense on the page.
    planned = opened.round.closes_at.astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()
    assert copy["closes"] == planned
    assert not_yet.status_code == 200
    assert not_yet.get_json() == {"status": "not_yet", "round": {"closed": False, "date": planned}}
    assert "Set-Cookie" not in not_yet.headers
    # Closed two days early: the page learns the real day it closed.
    early = opened.round.closes_at - dt.timedelta(days=2)
    with app.app_context():
        rnd = session.get_one(Round, opened.round.id)
        scheduler.close_round(session, rnd, keys(app), now=early)
    session.commit()
    released = client.get(results_url + "?lang=en").get_json()
    assert released["status"] == "released"
    assert released["round"] == {"closed": True,
                                 "date": early.astimezone(ZoneInfo("Europe/Stockholm")).date().isoformat()}
    # The employee's team is small: its figures are hidden, and say so.
    assert set(released["figures"].values()) == {"too few answers"}
    forged = results_url[:-1] + ("0" if results_url[-1] != "0" else "1")
    assert client.get(forged).status_code == 404
    assert client.get("/r/results/1.2").status_code == 404


def test_tokens_in_the_wrong_place_are_not_used(client: FlaskClient, opened, session: Session) -> None:  # type: ignore[no-untyped-def]
    """A token in the query string (or a JSON body on the form endpoint) is never read: only the form field."""
    link, _ = opened.credentials["employee@example.org"]
    assert client.post(f"/r/start?credential={link}").status_code == 400
    assert client.post(f"/r/submit?credential={link}", data=ANSWERS).status_code == 400
    assert client.post("/r/submit", json={"credential": link, **ANSWERS}).status_code == 400
    assert client.get(f"/r?credential={link}").status_code == 200  # the page only offers the form
    assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0


def test_the_questions_and_the_comment_prompt_are_asked_in_the_page_s_language(client: FlaskClient, opened) -> None:  # type: ignore[no-untyped-def]
    """The answer page asks each question, and the comment prompt, in the page's language — the shipped wordings,
    written out — and the answers' private copy names the questions in the same language."""
    import html
    import json

    link, code = opened.credentials["employee@example.org"]
    wordings = {
        "en": ("I can get my work done within my normal working hours.",
               "Is there anything about the work environment you would like us to raise at the next workplace "
               "meeting (APT)? Do not write any names."),
        "sv": ("Jag hinner med mina arbetsuppgifter under min vanliga arbetstid.",
               "Finns det något i arbetsmiljön som du vill att vi tar upp på nästa arbetsplatsträff (APT)? Skriv "
               "inga namn."),
    }
    for language, other in (("en", "sv"), ("sv", "en")):
        page = client.post("/r/start", data={"credential": link, "lang": language}).get_data(as_text=True)
        assert f'<span class="question-text">{wordings[language][0]}</span>' in page
        assert wordings[language][1] in page
        assert wordings[other][0] not in page and wordings[other][1] not in page
    thanks = client.post("/r/submit", data={"credential": code, "lang": "en", **ANSWERS}).get_data(as_text=True)
    copy = json.loads(html.unescape(re.search(r'<template id="private-copy">(.*?)</template>', thanks, re.S).group(1)))
    assert copy["answers"][0]["question"] == wordings["en"][0]
