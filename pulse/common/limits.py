"""Counting failures — wrong codes, wrong passwords — in this process's memory only.

Nothing about who failed is written to the database or a log: a record of "this address (or this client) got a
password wrong at 10:02", next to an answer stored at 10:03 through "Answer now", would tell a database
administrator whose answer it is (docs/ANONYMITY.md, "Answer now"). What is counted is a keyed hash under a key
that exists only in this process, forgotten after the window. The price: each app process counts on its own,
so with N processes a guesser gets N times the attempts — see docs/OPERATIONS.md for the numbers, and why the
credentials' entropy makes online guessing hopeless anyway.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque

#: Keys of this process only: the counters hold no address, and cannot be matched with anything stored.
_PROCESS_KEY = secrets.token_bytes(32)


def pseudonym(*parts: str) -> str:
    """A short keyed hash of what is counted (an address, a client), valid only inside this process."""
    joined = "\x00".join(p.casefold() for p in parts).encode()
    return hashlib.blake2b(joined, key=_PROCESS_KEY, digest_size=16).hexdigest()


class FailureLimiter:
    """Failures per key in a sliding window; ``blocked`` once ``max_failures`` are in the window."""

    def __init__(self, max_failures: int = 20, window_seconds: int = 600, max_keys: int = 50_000) -> None:
        self.max_failures, self.window, self.max_keys = max_failures, window_seconds, max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.max_failures

    def fail(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                # Under a flood, forget the oldest entries rather than grow without bound.
                for stale in list(self._failures)[: self.max_keys // 10]:
                    del self._failures[stale]
            self._failures.setdefault(key, deque()).append(now)
            self._recent(key, now)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
