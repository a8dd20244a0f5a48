"""Every page, in Swedish and English: no serious accessibility problems, and usable on a 320 px screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.pages import PAGE_IDS, PAGES, PageSpec

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

WIDE = {"width": 1280, "height": 800}
#: WCAG 2.1 reflow: content fits 320 CSS px without scrolling sideways.
NARROW = {"width": 320, "height": 800}
#: Smallest touch target height for a button (UX brief: two minutes on a phone).
MIN_TARGET = 44

_BUTTON_HEIGHTS = """() => Array.from(document.querySelectorAll(
    'button, input[type=submit], input[type=button], input[type=reset], a.button, [role=button]'))
  .filter(el => el.getClientRects().length > 0)
  .map(el => ({html: el.outerHTML.slice(0, 120), height: el.getBoundingClientRect().height}))"""

_WIDER_THAN_VIEWPORT = """() => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 5).map(el => el.outerHTML.slice(0, 120))"""


def _report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
            lines.append(f"        {node['html'][:160]}")
    return "\n".join(lines)


@pytest.mark.parametrize("spec", PAGES, ids=PAGE_IDS)
def test_no_serious_accessibility_violations(spec: PageSpec, site: LiveServer,
                                             tabs: Callable[[str | None], Page]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = tabs(spec.role)
    page.set_viewport_size(WIDE)
    spec.open(page, site)
    assert page.get_attribute("html", "lang") == site.language
    violations = Axe().run(page).response["violations"]
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"{spec.name} ({site.language}):\n{_report(serious)}"


@pytest.mark.parametrize("spec", PAGES, ids=PAGE_IDS)
def test_fits_a_320px_screen_with_large_buttons(spec: PageSpec, site: LiveServer,
                                                tabs: Callable[[str | None], Page]) -> None:
    page = tabs(spec.role)
    page.set_viewport_size(NARROW)
    spec.open(page, site)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    inner_width = page.evaluate("window.innerWidth")
    too_wide = page.evaluate(_WIDER_THAN_VIEWPORT)
    buttons = page.evaluate(_BUTTON_HEIGHTS)
    assert scroll_width <= inner_width, f"{spec.name} ({site.language}) scrolls sideways: {too_wide}"
    small = [b for b in buttons if b["height"] < MIN_TARGET]
    assert not small, f"{spec.name} ({site.language}): buttons lower than {MIN_TARGET}px: {small}"


def test_the_scan_reports_a_planted_problem(site: LiveServer, tabs: Callable[[str | None], Page]) -> None:
    """The scan runs inside the app's Content-Security-Policy; make sure it still finds something."""
    from axe_playwright_python.sync_playwright import Axe

    page = tabs(None)
    page.goto(site("/"))
    page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    violations = Axe().run(page).response["violations"]
    assert ("image-alt", "critical") in {(v["id"], v["impact"]) for v in violations}, _report(violations)
