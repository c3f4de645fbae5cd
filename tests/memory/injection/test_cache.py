"""The injection cache: LRU order, TTL, per-entry TTL, counters, key sensitivity."""

from __future__ import annotations

from dataclasses import replace

import pytest

from memory_system.core.metrics import CACHE_HITS, CACHE_MISSES
from memory_system.memory.injection.cache import CacheKey, InjectionCache, normalise_query

KEY = CacheKey(
    namespace="ns",
    agent_id="a",
    flags=(("enhanced", True),),
    user_id=None,
    query="q",
    token_budget=1000,
    format="markdown",
    scope_version=3,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_hit_after_put_and_counters_move_together() -> None:
    cache = InjectionCache()
    hits0, misses0 = CACHE_HITS._value.get(), CACHE_MISSES._value.get()
    assert cache.get(KEY) is None
    cache.put(KEY, "answer")
    assert cache.get(KEY) == "answer"
    assert (cache.hits, cache.misses) == (1, 1)
    assert CACHE_HITS._value.get() - hits0 == 1
    assert CACHE_MISSES._value.get() - misses0 == 1
    assert cache.stats()["hit_rate"] == 0.5


@pytest.mark.parametrize(
    "change",
    [
        {"scope_version": 4},
        {"namespace": "other"},
        {"agent_id": "b"},
        {"user_id": "u"},
        {"query": "q2"},
        {"token_budget": 999},
        {"format": "json"},
        {"session_id": "s1"},
        {"flags": (("enhanced", True), ("sharing", True))},
    ],
)
def test_any_key_part_changes_the_entry(change: dict[str, object]) -> None:
    cache = InjectionCache()
    cache.put(KEY, "answer")
    assert cache.get(replace(KEY, **change)) is None  # type: ignore[arg-type]


def test_least_recently_used_entry_goes_first() -> None:
    cache = InjectionCache(max_entries=2)
    a, b, c = (replace(KEY, query=q) for q in "abc")
    cache.put(a, 1)
    cache.put(b, 2)
    assert cache.get(a) == 1  # a is now the most recent
    cache.put(c, 3)
    assert cache.get(b) is None
    assert cache.get(a) == 1 and cache.get(c) == 3


def test_entries_expire_after_ttl_and_a_shorter_per_entry_ttl_wins() -> None:
    clock = Clock()
    cache = InjectionCache(ttl_s=30, clock=clock)
    short = replace(KEY, query="short")
    cache.put(KEY, "long")
    cache.put(short, "short", ttl_s=5)
    cache.put(replace(KEY, query="never"), "x", ttl_s=0)
    clock.now += 6
    assert cache.get(short) is None
    assert cache.get(KEY) == "long"
    assert cache.get(replace(KEY, query="never")) is None
    clock.now += 25
    assert cache.get(KEY) is None
    assert cache.stats()["entries"] == 0


def test_query_normalisation_ignores_case_and_spacing_only() -> None:
    assert normalise_query("  Fix   the LOGIN bug\n") == "fix the login bug"
    assert normalise_query("fix the login bug") != normalise_query("fix the logout bug")


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        InjectionCache(max_entries=0)
    with pytest.raises(ValueError, match="ttl_s"):
        InjectionCache(ttl_s=0)


def test_a_peek_counts_hits_but_leaves_the_miss_to_the_next_get() -> None:
    cache = InjectionCache()
    assert cache.get(KEY, count_miss=False) is None
    assert (cache.hits, cache.misses) == (0, 0)
    cache.put(KEY, "answer")
    assert cache.get(KEY, count_miss=False) == "answer"
    assert (cache.hits, cache.misses) == (1, 0)
