"""The per-process caches are bounded by bytes (issue: a worker grew without bound on the reference organisation)."""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine

from pulse import disclosure
from pulse.common.cache import ByteCache, PerDatabase, deep_size
from pulse.domain.figures import Figures, Form


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


def _release(cells: int, seed: int) -> disclosure.ReleaseData:
    """A parsed release of ``cells`` whole-unit cells with figures of varying shape (some hidden, some bounds)."""
    rng = random.Random(seed)
    questions = tuple(disclosure.QuestionInfo(f"Q{i}", 1, "workload", "agree5", False, False, f"Fråga {i}",
                                              f"Question {i}") for i in range(8))
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    info = disclosure.ReleaseInfo(1, 1, 1, 1, 1, "Puls", now, now, now, 5, 5, 5, questions)
    views = {}
    for unit in range(cells):
        figures = {}
        for question in questions:
            roll = rng.random()
            if roll < 0.3:
                figures[question.code] = disclosure.HIDDEN
            elif roll < 0.4:
                figures[question.code] = Figures(Form.BOUND, 1, censor="low")
            else:
                figures[question.code] = Figures(Form.EXACT, 1, n=rng.randint(5, 400), mean=rng.randint(10, 50) / 10,
                                                 sd=rng.randint(0, 20) / 10, dist=tuple(rng.randint(0, 80)
                                                                                        for _ in range(5)))
        views[(unit, "total")] = disclosure.CellView(unit, "total", f"Enhet {unit} " + "x" * rng.randint(0, 60),
                                                     rng.random() < 0.8, rng.randint(0, 400), rng.randint(0, 500),
                                                     figures)
    parents = {u: (None if u == 0 else rng.randrange(u)) for u in range(cells)}
    children: dict[int, list[int]] = {u: [] for u in parents}
    for unit, parent in parents.items():
        if parent is not None:
            children[parent].append(unit)
    return disclosure.ReleaseData(info, views, parents, children)


@pytest.mark.parametrize("cells", [1, 7, 64, 65, 500, 3000])
def test_a_parsed_release_is_weighed_from_a_sample_close_to_its_real_size(cells: int) -> None:
    """Weighing every object of a large release took longer than parsing it; the sample must stay close to the real
    size and never weigh it lighter than it is (the cache's limit must hold)."""
    for seed in range(3):
        data = _release(cells, seed)
        real = deep_size(data)
        assert real <= disclosure._weigh_release(data) <= real * 1.25, (cells, seed)
