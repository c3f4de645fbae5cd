"""In-memory exact vector search: one float32 matrix per namespace, rebuilt from SQLite.

Why not sqlite-vec for every query: measured on this 2-core box (benchmarks/vector_search.py,
BENCHMARKS.md) exact search over 100k vectors in one namespace costs 164 ms p50 in sqlite-vec
and 4.3 ms as a numpy matrix-vector product, and injection must answer in < 25 ms including
the query embedding. SQLite stays the durable home of the vectors
(sqlite-vec's float32 layout), and sqlite-vec answers the queries whose scope SQL narrows to a
few rows (see ``store.embeddings.exact_search``).

A namespace is loaded on first use. The embedding worker adds vectors as it writes them and
deletes drop rows at once; results are only candidates: the caller re-checks every id against
the database (visibility, expiry, deletion by another process) before returning it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

Loader = Callable[[str], Iterable[tuple[int, bytes]]]


class _Namespace:
    """Rows of one namespace; ``ids[i] == -1`` marks a deleted row (its vector is zeroed)."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self.matrix = np.zeros((capacity, dim), dtype=np.float32)
        self.ids = np.full(capacity, -1, dtype=np.int64)
        self.size = 0
        self.row_of: dict[int, int] = {}
        self.holes = 0

    def upsert(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        for memory_id, vector in zip(ids, vectors, strict=True):
            row = self.row_of.get(memory_id)
            if row is None:
                if self.size == len(self.ids):
                    self._grow()
                row = self.size
                self.size += 1
                self.row_of[memory_id] = row
                self.ids[row] = memory_id
            self.matrix[row] = vector

    def remove(self, memory_id: int) -> bool:
        row = self.row_of.pop(memory_id, None)
        if row is None:
            return False
        self.ids[row] = -1
        self.matrix[row] = 0.0
        self.holes += 1
        if self.holes > 1024 and self.holes * 4 > self.size:
            self._compact()
        return True

    def _grow(self) -> None:
        # A new array, so a search holding the old one keeps a consistent view.
        capacity = max(1024, len(self.ids) * 2)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        matrix[: self.size] = self.matrix[: self.size]
        ids = np.full(capacity, -1, dtype=np.int64)
        ids[: self.size] = self.ids[: self.size]
        self.matrix, self.ids = matrix, ids

    def _compact(self) -> None:
        keep = np.nonzero(self.ids[: self.size] >= 0)[0]
        capacity = max(1024, len(keep) * 2)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        matrix[: len(keep)] = self.matrix[keep]
        ids = np.full(capacity, -1, dtype=np.int64)
        ids[: len(keep)] = self.ids[keep]
        self.matrix, self.ids, self.size, self.holes = matrix, ids, len(keep), 0
        self.row_of = {int(m): i for i, m in enumerate(ids[: self.size])}

    def search(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        matrix, ids, size = self.matrix, self.ids, self.size
        if size == 0:
            return []
        scores = matrix[:size] @ query
        n = min(n, size)
        top = np.argpartition(-scores, n - 1)[:n] if n < size else np.arange(size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in top if ids[i] >= 0]


class VectorIndex:
    """Exact cosine search per namespace over unit vectors of one model.

    Namespaces load lazily with ``loader`` (the stored vectors); writes that arrive while one
    is loading are replayed after the load, so nothing written meanwhile is missed.
    """

    def __init__(self, dim: int, loader: Loader) -> None:
        self.dim = dim
        self._loader = loader
        self._spaces: dict[str, _Namespace] = {}
        self._namespace_of: dict[int, str] = {}
        self._loading: dict[str, list[tuple[str, Any]]] = {}
        self._lock = threading.RLock()
        self._load_locks: dict[str, threading.Lock] = {}

    def loaded(self, namespace: str) -> bool:
        return namespace in self._spaces

    def size(self, namespace: str | None = None) -> int:
        with self._lock:
            spaces = [self._spaces[namespace]] if namespace in self._spaces else (
                [] if namespace is not None else list(self._spaces.values()))
            return sum(len(s.row_of) for s in spaces)

    def ensure_loaded(self, namespace: str) -> None:
        if namespace in self._spaces:
            return
        with self._lock:
            lock = self._load_locks.setdefault(namespace, threading.Lock())
        with lock:
            if namespace in self._spaces:
                return
            with self._lock:
                self._loading[namespace] = []
            space = _Namespace(self.dim)
            ids: list[int] = []
            blobs: list[bytes] = []
            for memory_id, blob in self._loader(namespace):
                ids.append(int(memory_id))
                blobs.append(blob)
            if ids:
                vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), self.dim)
                space.upsert(ids, vectors)
            with self._lock:
                for op, payload in self._loading.pop(namespace, []):
                    if op == "upsert":
                        up_ids, up_vectors = payload
                        space.upsert(up_ids, up_vectors)
                    else:
                        space.remove(int(payload))
                self._spaces[namespace] = space
                for memory_id in space.row_of:
                    self._namespace_of[memory_id] = namespace

    def upsert(self, namespace: str, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace vectors; ignored for a namespace nobody has searched yet (it loads later)."""
        with self._lock:
            for memory_id in ids:
                old = self._namespace_of.get(memory_id)
                if old is not None and old != namespace and old in self._spaces:
                    self._spaces[old].remove(memory_id)
            if namespace in self._loading:
                self._loading[namespace].append(("upsert", (list(ids), np.array(vectors, copy=True))))
                return
            space = self._spaces.get(namespace)
            if space is None:
                return
            space.upsert(ids, vectors)
            for memory_id in ids:
                self._namespace_of[memory_id] = namespace

    def remove(self, ids: Iterable[int]) -> int:
        """Drop deleted memories at once; returns how many were indexed."""
        removed = 0
        with self._lock:
            for memory_id in ids:
                for pending in self._loading.values():
                    pending.append(("remove", memory_id))
                namespace = self._namespace_of.pop(memory_id, None)
                if namespace is not None and namespace in self._spaces:
                    removed += self._spaces[namespace].remove(memory_id)
        return removed

    def contains(self, memory_id: int) -> bool:
        with self._lock:
            return memory_id in self._namespace_of

    def search(self, namespace: str, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The ``n`` nearest ids of the namespace by cosine (vectors are unit length), best first."""
        self.ensure_loaded(namespace)
        space = self._spaces.get(namespace)
        return space.search(np.asarray(query, dtype=np.float32), n) if space else []

    def clear(self) -> None:
        """Forget every namespace (after a model swap); they reload on next use."""
        with self._lock:
            self._spaces.clear()
            self._namespace_of.clear()
