"""Languages: Swedish by default, English second; built so more can be added.

The language of a page is chosen in this order: the signed-in person's setting, an explicit switch on the
page, the browser's Accept-Language, and finally Swedish.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale

from pulse.common.extensions import babel
from pulse.common.paths import STAFF_PREFIX

SUPPORTED = ("sv", "en")
DEFAULT = "sv"
#: Each language named in itself, for the language switch.
LANGUAGE_NAMES = {"sv": "Svenska", "en": "English"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
#: How a moment is written out in each language.
WHEN_PATTERNS = {"sv": "EEEE d MMMM y 'kl.' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}
DAY_PATTERNS = {"sv": "EEEE d MMMM y", "en": "EEEE d MMMM y"}

log = logging.getLogger(__name__)


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    person = g.get("person")
    if person is not None and person.language in SUPPORTED:
        return str(person.language)
    explicit = request.args.get("lang")
    if explicit in SUPPORTED:
        return str(explicit)
    # The staff cookie is only sent to the staff area; reading it elsewhere would be pointless.
    if request.path.startswith(STAFF_PREFIX) and session.get("lang") in SUPPORTED:
        return str(session["lang"])
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT


def select_timezone() -> str:
    return str(current_app.config["PULSE"].timezone)


def current_language() -> str:
    return str(get_locale() or DEFAULT)


def init_app(app: Flask) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    for lang in SUPPORTED:
        if lang != "en" and not (TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.mo").exists():
            log.warning("The %s catalogue is not compiled; run 'make translations'. Pages show English.", lang)

    @app.template_filter("when")
    def _when(value: object) -> str:
        """A date and time as people say it: "tisdag 1 december 2026 kl. 10:27"."""
        return str(format_datetime(value, WHEN_PATTERNS.get(current_language(), WHEN_PATTERNS["en"])))

    @app.template_filter("day")
    def _day(value: object) -> str:
        """A date as people say it: "tisdag 3 december 2026" (the box's deadlines are days, not times)."""
        return str(format_date(value, DAY_PATTERNS.get(current_language(), DAY_PATTERNS["en"])))

    @app.context_processor
    def _language_context() -> dict[str, object]:
        return {"current_language": current_language(), "language_names": LANGUAGE_NAMES,
                "supported_languages": SUPPORTED}
