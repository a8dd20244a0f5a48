"""URL converters: numbers in URLs name database rows, so they stay within what a row id can be."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

#: The largest id an ``INTEGER`` primary key holds on PostgreSQL (SQLite's are larger).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` capped at :data:`MAX_ID`: a larger number is an unknown page (404), where passing it to the
    database would fail with an overflow (500)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
