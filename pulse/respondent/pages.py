"""Pages that are the same for everyone who reads them in one language: rendered once per process and language,
served with an ETag and as cacheable.

The page an invitation link opens is the busiest page of all (the token is in the link's #fragment, which never
reaches the server), so every respondent gets the same bytes. Nothing personal is on these pages, so browsers and
proxies may keep them for a few minutes; a deployment that changes them is seen after that.
"""

from __future__ import annotations

import hashlib

from flask import Response, render_template, request
from flask_babel import force_locale

from pulse.common.cache import MB, ByteCache, app_cache

#: Seconds a browser or proxy may keep such a page.
MAX_AGE = 300


def _cache() -> ByteCache[bytes]:
    return app_cache("pulse.pages", "same-for-everyone pages", 2 * MB, len)


def same_for_everyone(template: str, language: str, *, chosen: bool, **context: object) -> Response:
    """``template`` in ``language`` for everyone.

    :param chosen: the language came from the address (``?lang=``), not from the browser's Accept-Language.
    """
    def render() -> bytes:
        with force_locale(language):
            return render_template(template, language=language, **context).encode()

    body = _cache().get_or_make((template, language, request.path), render)
    response = Response(body, mimetype="text/html")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    if not chosen:
        response.vary.add("Accept-Language")
    response.make_conditional(request)  # 304 for a browser that has these bytes already
    return response
