"""The per-process caches are bounded by bytes (issue: a worker grew without bound on the reference organisation)."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from sqlalchemy import create_engine

from pulse.common.cache import ByteCache, PerDatabase, deep_size


def test_the_least_recently_used_entries_go_once_the_byte_limit_would_be_passed() -> None:
    cache: ByteCache[bytes] = ByteCache("test", 100, len)
    cache.put("a", b"x" * 40)
    cache.put("b", b"x" * 40)
    assert cache.get("a") == b"x" * 40  # a is now the most recently used
    cache.put("c", b"x" * 40)  # 120 bytes would be held: b goes, not a
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert cache.bytes == 80 and len(cache) == 2


def test_an_entry_heavier_than_the_limit_is_returned_but_never_kept() -> None:
    cache: ByteCache[bytes] = ByteCache("test", 100, len)
    cache.put("small", b"x" * 10)
    assert cache.put("big", b"x" * 101) == b"x" * 101
    assert cache.get("big") is None and cache.get("small") == b"x" * 10


def test_replacing_an_entry_counts_its_new_weight_only() -> None:
    cache: ByteCache[bytes] = ByteCache("test", 100, len)
    cache.put("a", b"x" * 60)
    cache.put("a", b"x" * 30)
    assert cache.bytes == 30
    cache.put("b", b"x" * 70)
    assert cache.get("a") is not None and cache.bytes == 100


def test_many_threads_never_hold_more_than_the_limit() -> None:
    cache: ByteCache[bytes] = ByteCache("test", 1000, len)

    def work(offset: int) -> None:
        for i in range(2000):
            cache.get_or_make((offset, i % 50), lambda size=1 + i % 97: b"x" * size)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [value for key in [(n, i) for n in range(8) for i in range(50)] if (value := cache.get(key)) is not None]
    assert cache.bytes == sum(len(v) for v in held) <= 1000


def test_each_database_has_its_own_cache_shared_with_the_engines_option_views() -> None:
    caches: PerDatabase[bytes] = PerDatabase("test", 100, len)
    one, two = create_engine("sqlite://"), create_engine("sqlite://")
    caches(one).put(1, b"one")
    assert caches(one.execution_options(pulse_write=True)).get(1) == b"one"
    assert caches(two).get(1) is None
    caches.clear()
    assert caches(one).get(1) is None


@dataclass(frozen=True, slots=True)
class _Slotted:
    name: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class _Plain:
    items: dict[str, list[str]]


def test_deep_size_weighs_what_a_value_holds_once_each() -> None:
    text = "å" * 10_000
    assert deep_size(text) == sys.getsizeof(text)
    shared = ["x" * 1000]
    plain = _Plain({"a": shared, "b": shared})  # the same list twice: counted once
    assert deep_size(plain) < deep_size(_Plain({"a": ["x" * 1000], "b": ["y" * 1000]}))
    assert deep_size(plain) > 1000
    slotted = _Slotted("n", tuple(range(1000, 2000)))
    assert deep_size(slotted) >= sum(sys.getsizeof(n) for n in range(1000, 2000))
