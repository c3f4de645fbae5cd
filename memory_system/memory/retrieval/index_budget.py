"""The index memory budget: namespaces' in-memory indexes kept under a byte limit, least
recently used evicted first.

Why: every namespace's text and vector index stayed loaded (about 400 MB per 100k memories,
issue 14), so a deployment with many large namespaces ran out of memory. An evicted namespace
is still answered, degraded but correct: FTS5 for full text and sqlite-vec (exact cosine, the
caller's scope narrowed in SQL) for vectors, and it loads again on its next use if it fits.
A namespace larger than the whole budget is never kept loaded.

Each index (``"vector"``, ``"text"``) registers an ``evict(namespace)`` callback and charges
what a namespace holds after loading it; the callbacks run outside this object's lock, and
callers charge outside their own locks, so two indexes never wait on each other.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from memory_system.core.metrics import REGISTRY

__all__ = ["INDEX_BYTES", "INDEX_EVICTED", "INDEX_LOADED", "IndexBudget"]

INDEX_BYTES = Gauge(
    "memory_index_bytes", "Resident bytes of the in-memory retrieval indexes.", ["kind"], registry=REGISTRY
)
INDEX_MEMORIES = Gauge(
    "memory_index_memories", "Memories held by the in-memory retrieval indexes.", ["kind"], registry=REGISTRY
)
INDEX_LOADED = Gauge(
    "memory_index_namespaces_loaded", "Namespaces with an index in memory.", registry=REGISTRY
)
INDEX_EVICTED = Counter(
    "memory_index_namespaces_evicted_total",
    "Namespaces evicted from memory by the index memory budget.",
    registry=REGISTRY,
)
Evict = Callable[[str], None]


class IndexBudget:
    """LRU accounting of index bytes per namespace; ``limit_bytes=None`` means unbounded."""

    def __init__(self, limit_bytes: int | None = None) -> None:
        self.limit_bytes = limit_bytes
        self._evictors: dict[str, Evict] = {}
        self._resident: OrderedDict[str, dict[str, tuple[int, int]]] = (
            OrderedDict()
        )  # ns -> kind -> (bytes, rows)
        self._too_big: set[str] = set()
        self._lock = threading.Lock()
        self.evictions = 0

    def register(self, kind: str, evict: Evict) -> None:
        self._evictors[kind] = evict

    def fits(self, namespace: str, estimate: int = 0) -> bool:
        """Whether loading the namespace is worth trying: it was not found larger than the whole
        budget and ``estimate`` (bytes, before loading) is within it."""
        if self.limit_bytes is None:
            return True
        with self._lock:
            return namespace not in self._too_big and estimate <= self.limit_bytes

    def touch(self, namespace: str) -> None:
        with self._lock:
            if namespace in self._resident:
                self._resident.move_to_end(namespace)

    def charge(self, kind: str, namespace: str, nbytes: int, rows: int) -> None:
        """The namespace's ``kind`` index now holds ``nbytes`` for ``rows`` memories; evicts the
        least recently used others (and this one, if it alone is over the budget)."""
        with self._lock:
            self._resident.setdefault(namespace, {})[kind] = (int(nbytes), int(rows))
            self._resident.move_to_end(namespace)
            victims = self._victims(namespace)
        self._evict(victims)

    def release(self, kind: str, namespace: str) -> None:
        """The index dropped the namespace itself (cleared, evicted)."""
        with self._lock:
            kinds = self._resident.get(namespace)
            if kinds is not None:
                kinds.pop(kind, None)
                if not kinds:
                    del self._resident[namespace]
        self._publish()

    def resident_bytes(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(
                b for kinds in self._resident.values() for k, (b, _) in kinds.items() if kind in (None, k)
            )

    def stats(self) -> dict[str, object]:
        """For /health/deep and tests: bytes, memories and bytes per memory by kind."""
        with self._lock:
            by_kind: dict[str, list[int]] = {}
            for kinds in self._resident.values():
                for kind, (nbytes, rows) in kinds.items():
                    total = by_kind.setdefault(kind, [0, 0])
                    total[0] += nbytes
                    total[1] += rows
            return {
                "limit_bytes": self.limit_bytes,
                "namespaces_loaded": len(self._resident),
                "evictions": self.evictions,
                "too_big": sorted(self._too_big),
                "kinds": {
                    k: {"bytes": b, "memories": r, "bytes_per_memory": round(b / r, 1) if r else None}
                    for k, (b, r) in by_kind.items()
                },
            }

    def _victims(self, loaded: str) -> list[str]:
        """Namespaces to evict, oldest use first (caller holds the lock)."""
        if self.limit_bytes is None:
            return []
        total = sum(b for kinds in self._resident.values() for b, _ in kinds.values())
        victims = []
        for namespace, kinds in self._resident.items():
            if total <= self.limit_bytes:
                break
            if namespace != loaded:
                victims.append(namespace)
                total -= sum(b for b, _ in kinds.values())
        if total > self.limit_bytes:
            victims.append(loaded)  # over the budget on its own: exact paths answer it
            self._too_big.add(loaded)
        return victims

    def _evict(self, victims: list[str]) -> None:
        for namespace in victims:
            with self._lock:
                kinds = list(self._resident.pop(namespace, {}))
            if kinds:
                self.evictions += 1
                INDEX_EVICTED.inc()
            for kind in kinds:
                evictor = self._evictors.get(kind)
                if evictor is not None:
                    evictor(namespace)
        self._publish()

    def _publish(self) -> None:
        stats = self.stats()
        INDEX_LOADED.set(stats["namespaces_loaded"])  # type: ignore[arg-type]
        for kind in ("text", "vector"):
            entry = stats["kinds"].get(kind, {})  # type: ignore[attr-defined]
            INDEX_BYTES.labels(kind=kind).set(entry.get("bytes", 0))
            INDEX_MEMORIES.labels(kind=kind).set(entry.get("memories", 0))
