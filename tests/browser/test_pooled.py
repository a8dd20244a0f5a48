"""Pooled results in the browser (docs/ANONYMITY.md, "Pooled periods"): with real pooled figures, the pooled page
and the unit page's pooled card have no serious accessibility problems, fit a 320 px screen, and are reached by
keyboard."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from tests.browser.conftest import LiveServer, sign_in
from tests.browser.test_pages import NARROW, WIDE, _report

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def pool_two_rounds(server: LiveServer) -> None:
    """Answer and close the seeded open round, and pool the two rounds as one period."""
    from pulse import scheduler
    from pulse.models import Round, Survey
    from pulse.services import answers as answer_service
    from pulse.services import pooling
    from tests.rounds import keys

    app, database = server.app, server.database
    with database.session() as db:
        rnd = db.get_one(Round, server.memo["open_round"])
        now = rnd.opened_at + dt.timedelta(minutes=5)
        for n, link in enumerate(server.memo["links"]):
            answer_service.submit(db, keys(app).token, link, {"OSA-WL1": 1 + n % 5, "OSA-NPS": n % 11}, None,
                                  now=now)
        db.commit()
        rnd = db.get_one(Round, server.memo["open_round"])
        with app.app_context():
            scheduler.close_round(db, rnd, keys(app), now=max(rnd.closes_at, dt.datetime.now(dt.UTC)))
        db.commit()
        survey = db.get_one(Survey, server.memo["survey"])
        pooling.set_pooling(db, survey, "rounds", 2)
        made = pooling.pool_due(db, survey, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        assert len(made) == 1
        db.commit()


def test_the_pooled_page_with_figures_is_accessible_and_fits_a_phone(page: Page, live_server: LiveServer) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from pulse.models import Release

    pool_two_rounds(live_server)
    with live_server.database.session() as db:
        release = db.scalar(select(Release.id).order_by(Release.id.desc()).limit(1))
    dept = live_server.unit_ids["dept"]
    sign_in(page, live_server, live_server.emails["safety_rep"])
    pooled = live_server(f"/staff/results/surveys/{live_server.memo['survey']}/units/{dept}/pooled")
    for url in (pooled, live_server(f"/staff/results/{release}/units/{live_server.unit_ids['team-a']}")):
        for size in (WIDE, NARROW):
            page.set_viewport_size(size)
            page.goto(url)
            violations = Axe().run(page).response["violations"]
            serious = [v for v in violations if v["impact"] in ("serious", "critical")]
            assert not serious, f"{url}:\n{_report(serious)}"
            assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth")
    page.goto(pooled)
    assert page.locator("h1").inner_text().startswith("Sammanslagna resultat")
    assert page.locator("img.chart").count() >= 1
    # By keyboard: the CSV link is reached with Tab.
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.textContent") == "Ladda ner CSV":
            break
    else:
        pytest.fail("the CSV link is not reached with Tab")
