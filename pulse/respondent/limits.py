"""Slowing down people who guess codes, without storing anything about them.

Failed look-ups are counted in this process's memory only, per client address, and forgotten after the window;
nothing is written to the database or a log.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FailureLimiter:
    def __init__(self, max_failures: int = 20, window_seconds: int = 600, max_clients: int = 50_000) -> None:
        self.max_failures, self.window, self.max_clients = max_failures, window_seconds, max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.max_failures

    def fail(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.max_clients:
                # Under a flood, forget the oldest entries rather than grow without bound.
                for stale in list(self._failures)[: self.max_clients // 10]:
                    del self._failures[stale]
            self._failures.setdefault(client, deque()).append(now)
            self._recent(client, now)


#: One limiter for the answering pages and the answering API of this process.
limiter = FailureLimiter()
