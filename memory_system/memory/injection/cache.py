"""An LRU + TTL cache of injection results, so that an agent asking again costs ~nothing.

Correctness comes from the key, not from invalidation: it holds everything that can change
the answer for the caller (namespace, agent, the flag states that change what it may see
and how it is ranked, user, the normalised query, budget, format) plus the namespace's
scope version (``store/scope_versions.py``), which every memory write in the namespace bumps in
its own transaction, whichever process wrote it. So a new, changed, shared or deleted
memory changes the key of the next request and is never hidden by a cached answer. The TTL
bounds what the scope version does not see (the clock: memories expiring, recency decay;
graph writes bump the scope version too), and an entry never outlives the earliest expiry of a
memory it contains.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memory_system.core.metrics import CACHE_HITS, CACHE_MISSES

__all__ = ["CacheKey", "InjectionCache", "normalise_query"]


def normalise_query(query: str) -> str:
    """Case and whitespace do not change retrieval (FTS and the model both ignore them)."""
    return " ".join(query.casefold().split())


@dataclass(frozen=True)
class CacheKey:
    namespace: str
    agent_id: str
    flags: tuple[tuple[str, bool], ...]
    user_id: str | None
    query: str
    token_budget: int
    format: str
    scope_version: int
    session_id: str | None = None


class InjectionCache:
    """Thread-safe; ``get``/``put`` are O(1). Hit and miss counts go to Prometheus too."""

    def __init__(
        self, max_entries: int = 1024, ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if ttl_s <= 0:
            raise ValueError("ttl_s must be > 0")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[CacheKey, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey, *, count_miss: bool = True) -> Any | None:
        """``count_miss=False`` for a peek whose miss the caller's next ``get`` will count."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                CACHE_HITS.inc()
                return entry[1]
            if entry is not None:
                del self._entries[key]
            if not count_miss:
                return None
            self.misses += 1
        CACHE_MISSES.inc()
        return None

    def put(self, key: CacheKey, value: Any, ttl_s: float | None = None) -> None:
        """``ttl_s`` shorter than the default for a value that goes stale sooner; 0 = don't keep."""
        ttl = self.ttl_s if ttl_s is None else min(self.ttl_s, ttl_s)
        if ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            size = len(self._entries)
        total = self.hits + self.misses
        return {
            "entries": size,
            "max_entries": self.max_entries,
            "ttl_s": self.ttl_s,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hits / total, 4) if total else None,
        }
