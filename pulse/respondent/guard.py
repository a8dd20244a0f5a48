"""Wrong codes on the answering path: a valid credential always gets through; guessing is slowed and counted.

Why this shape (docs/OPERATIONS.md, "Guessing codes"): a typed code has about 59 bits, a link token 144, so
online guessing is hopeless whatever the limiter does (at 1,000 guesses a second, finding one of 20,000 valid codes
takes over a thousand years). What matters more is never locking out a real respondent: behind a reverse proxy or a
workplace NAT, many people share one address. So every credential is looked up, and a valid one always works.
For unknown ones:

- per client (its address as the trusted proxies report it, ``PULSE_TRUSTED_PROXIES``), failures are counted in
  this process's memory under a process-only pseudonym; a client over the limit gets 429 instead of 404, after a
  short pause (at most a few requests pause at once, so pausing cannot tie up the server);
- across every process, the failures of the last ten minutes are counted in the database — one number, with
  nothing about who failed — and above a flood level every unknown code gets 429.

Nothing that says who failed is stored or logged.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import request

from pulse.common.context import key
from pulse.common.db import get_session
from pulse.common.limits import FailureLimiter, pseudonym
from pulse.domain.crypto import KeyPurpose
from pulse.services import ratelimit

log = logging.getLogger(__name__)

#: Unknown codes per client and ten minutes before 429.
PER_CLIENT = 20
WINDOW_SECONDS = 600
#: Unknown codes per ten minutes across every process before all unknown codes get 429.
FLOOD = 2000
#: Seconds a client over its limit waits for its answer, and how many such waits may run at once per process.
PAUSE_SECONDS = 0.5
PAUSES_AT_ONCE = 2

limiter = FailureLimiter(max_failures=PER_CLIENT, window_seconds=WINDOW_SECONDS)
_pauses = threading.BoundedSemaphore(PAUSES_AT_ONCE)


def _client() -> str:
    return pseudonym(request.remote_addr or "unknown")


def unknown_credential() -> bool:
    """Record a wrong code; True when it should be answered 429 (slow down) rather than 404."""
    client = _client()
    over_client = limiter.blocked(client)  # already over the limit before this one
    limiter.fail(client)
    session = get_session()  # the request's own: on SQLite a second writer would wait for it
    session.rollback()  # nothing was written by the failed look-up; start the counter's own transaction
    # One bucket for everyone: how many codes failed lately, never whose.
    failures = ratelimit.hit(session, key(KeyPurpose.RATE_LIMIT), "answering-failures", "all", WINDOW_SECONDS)
    session.commit()
    flood = failures > FLOOD
    if flood and failures == FLOOD + 1:
        log.warning("more than %d unknown codes in %d minutes: unknown codes get 429", FLOOD, WINDOW_SECONDS // 60)
    if over_client and _pauses.acquire(blocking=False):
        try:
            time.sleep(PAUSE_SECONDS)
        finally:
            _pauses.release()
    return over_client or flood
