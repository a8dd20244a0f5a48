"""A per-process cache bounded by bytes, not entries.

Every cache in Pulse holds things that never change once made (a frozen release, the questions of an open round,
a rendered chart, a page that is the same for everyone), so nothing is ever stale; what has to be bounded is
memory. Entries differ in size by orders of magnitude — a release of the reference organisation is megabytes, a
release of a small one kilobytes — so a limit in entries bounds nothing. Each entry is weighed when it is stored
(by the caller, who knows its shape); the least recently used entries go when the total would pass the limit.
An entry heavier than the whole limit is not kept at all.

Thread-safe: gunicorn's threaded workers serve several requests of one process at once.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from types import FunctionType, ModuleType
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from flask import current_app
from sqlalchemy import Engine, Pool

V = TypeVar("V")

MB = 1024 * 1024


class ByteCache(Generic[V]):
    """Least recently used entries go first once ``limit`` bytes are held."""

    def __init__(self, name: str, limit: int, weigh: Callable[[V], int]) -> None:
        self.name = name
        self.limit = limit
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V) -> V:
        """Keep ``value`` (when it fits at all) and return it."""
        weight = self._weigh(value)
        if weight > self.limit:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, weight)
            self._bytes += weight
            while self._bytes > self.limit:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` stored (two threads may both make it; one is kept)."""
        found = self.get(key)
        return found if found is not None else self.put(key, make())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def app_cache(key: str, name: str, limit: int, weigh: Callable[[V], int]) -> ByteCache[V]:
    """The current app's cache ``key`` (made on first use): rendered things depend on the app's templates."""
    cache: ByteCache[V] | None = current_app.extensions.get(key)
    if cache is None:
        cache = current_app.extensions.setdefault(key, ByteCache(name, limit, weigh))
    return cache


class PerDatabase(Generic[V]):
    """One :class:`ByteCache` per database, so that two apps on two databases in one process (the tests, the
    combined app) never share entries. A database is known by its connection pool, which an engine shares with
    its option views (``engine.execution_options(...)``); the cache goes when the pool does."""

    def __init__(self, name: str, limit: int, weigh: Callable[[V], int]) -> None:
        self.name = name
        self.limit = limit
        self._weigh = weigh
        self._caches: WeakKeyDictionary[Pool, ByteCache[V]] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, engine: Engine) -> ByteCache[V]:
        with self._lock:
            cache = self._caches.get(engine.pool)
            if cache is None:
                cache = self._caches[engine.pool] = ByteCache(self.name, self.limit, self._weigh)
            return cache

    def clear(self) -> None:
        with self._lock:
            for cache in self._caches.values():
                cache.clear()


def deep_size(value: object) -> int:
    """The bytes ``value`` and everything it holds take in this process (each object counted once; classes,
    functions and modules not at all). Made for the cached values: dataclasses, tuples, dicts, strings, numbers."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type | ModuleType | FunctionType):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, str | bytes | int | float | bool | None):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        else:
            held = getattr(item, "__dict__", None)
            if held is not None:
                stack.append(held)
            for slot in _slots(type(item)):
                if hasattr(item, slot):
                    stack.append(getattr(item, slot))
    return total


def _slots(cls: type) -> Iterable[str]:
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        yield from (slots,) if isinstance(slots, str) else slots
