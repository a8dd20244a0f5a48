"""Which application serves which address.

Pulse is two applications (docs/ARCHITECTURE.md): the respondent app (the anonymous answering pages and API, and
the public pages) and the staff app (sign-in, results, administration, the read-only API). One process can serve
both, split by path (:func:`pulse.create_app`); an operator can also run them apart, on two hosts.
"""

from __future__ import annotations

#: The staff area. The staff session cookie is scoped to this path, so browsers never send it anywhere else.
STAFF_PREFIX = "/staff"
#: The JSON API: the answering endpoint belongs to the respondent app, everything else to the staff app.
API_PREFIX = "/api/"
ANSWER_API_PATH = "/api/v1/answers"


def is_staff_path(path: str) -> bool:
    """Whether ``path`` is served by the staff app (everything else is the respondent app's)."""
    if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/"):
        return True
    return path.startswith(API_PREFIX) and path.rstrip("/") != ANSWER_API_PATH
