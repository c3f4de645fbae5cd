"""In-memory dense search: one float32 matrix per namespace, plus an HNSW graph for large ones.

Why not sqlite-vec for every query: measured on this 2-core box (benchmarks/vector_search.py,
BENCHMARKS.md) exact search over 100k vectors in one namespace costs 164 ms p50 in sqlite-vec
and ~5 ms as a numpy matrix-vector product, and injection must answer in < 25 ms including
the query embedding. SQLite stays the durable home of the vectors (sqlite-vec's float32
layout), and sqlite-vec answers the queries whose scope SQL narrows to a few rows (see
``store.embeddings.exact_search``).

Why HNSW beside the matrix: the exact scan grows with the namespace (~0.1 ms per 1k vectors
on one core, more once the matrix outgrows the caches), an HNSW graph (usearch) much more
slowly. A namespace that reaches ``hnsw_min_vectors`` gets a graph built on a background
thread. The matrix stays (154 MB per 100k vectors; the f16 graph adds ~150 MB): it answers
while the graph is built, rebuilt or busy, scores exactly the vectors written since the graph
last caught up (``stale``), and is what a rebuild reads. A graph's scores are
``1 - cosine distance`` on its f16 copies: cosines on the exact path's scale, within ~1e-3.

A namespace is loaded on first use. The embedding worker adds vectors as it writes them and
deletes drop rows at once; results are only candidates: the caller re-checks every id against
the database (visibility, expiry, deletion by another process) before returning it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from memory_system.core.logging import log_event
from memory_system.memory.retrieval.index_budget import IndexBudget
from memory_system.memory.retrieval.index_files import GraphFiles, Watermark

_log = logging.getLogger(__name__)

Loader = Callable[[str], Iterable[tuple[int, bytes]]]

# Chosen by benchmarks/vector_search.py (BENCHMARKS.md, "vector-search", its HNSW tables).
# At 10k vectors a graph answers n = 320 no faster than the scan, at 20k 1.4x, at 100k 6x.
HNSW_MIN_VECTORS = 20_000
HNSW_DTYPE = "f16"  # f32: the same recall, 1.5x slower searches, 1.7x the build, 2x the memory
HNSW_EXPANSION_SEARCH = 256  # recall@20 >= 0.95 at n = 20; retrieval asks for n >= 256 anyway
HNSW_N_SHARE = 0.02  # asked for more of its namespace than this, a graph is no faster than the scan
_SYNC_CHUNK = 8  # vectors added to a serving graph per hold of its lock
_BUILD_CHUNK = 4096
_ROW_OVERHEAD = 120  # bytes per vector beyond the matrix row: two dict entries and their ints
_RECONCILE_SHARE = 0.25  # a saved graph this far behind its vectors is rebuilt, not caught up


def _usearch_index() -> Any:
    """usearch's Index class, imported after onnxruntime when that is installed.

    usearch 2.26.6's wheel links libstdc++ statically and exports its locale facet ids as
    unique symbols; an onnxruntime imported after it binds to them and crashes (SIGSEGV) in
    its module init. Imported first, both work (tests/memory/retrieval/test_vector_index.py checks it
    in a subprocess).
    """
    try:
        import onnxruntime  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    from usearch.index import Index

    return Index


class _Graph:
    """A usearch HNSW index; every call holds ``lock`` (one usearch context, shared by threads)."""

    def __init__(self, dim: int, dtype: str, expansion_search: int) -> None:
        self.index = _usearch_index()(ndim=dim, metric="cos", dtype=dtype, expansion_search=expansion_search)
        self.lock = threading.Lock()
        self.tombstones = 0  # removed nodes still in the graph: a rebuild drops them
        self.dirty = True  # changed since it was last saved

    def put(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        keys = np.asarray(ids, dtype=np.uint64)
        self.tombstones += int(np.count_nonzero(self.index.remove(keys)))
        self.index.add(keys, vectors, threads=1)
        self.dirty = True

    def drop(self, ids: Sequence[int]) -> None:
        self.tombstones += int(np.count_nonzero(self.index.remove(np.asarray(ids, dtype=np.uint64))))
        self.dirty = True


class _Namespace:
    """Rows of one namespace; ``ids[i] == -1`` marks a deleted row (its vector is zeroed).

    ``stale`` maps ids whose current vector the graph lacks to the write's version; the graph's
    own fields are read and written under the index's lock.
    """

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self.matrix = np.zeros((capacity, dim), dtype=np.float32)
        self.ids = np.full(capacity, -1, dtype=np.int64)
        self.size = 0
        self.row_of: dict[int, int] = {}
        self.holes = 0
        self.graph: _Graph | None = None
        self.stale: dict[int, int] = {}
        self.building = False
        self.failed = False
        self.removed_in_build: list[int] | None = None
        self.evicted = False
        self.name = ""

    def nbytes(self) -> int:
        graph = self.graph
        held = self.matrix.nbytes + self.ids.nbytes + _ROW_OVERHEAD * len(self.row_of)
        return held + (int(graph.index.memory_usage) if graph is not None else 0)

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
        # A new array, so a search or a graph build holding the old one keeps a consistent view.
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
        top = top[ids[top] >= 0]
        return list(zip(ids[top].tolist(), scores[top].tolist(), strict=False))

    def merge(
        self, keys: list[int], distances: list[float], query: np.ndarray, n: int
    ) -> list[tuple[int, float]]:
        """A graph's answer made current (caller holds the index lock): deleted ids dropped, and
        the vectors the graph has not caught up with scored here, exactly, and merged in."""
        stale = self.stale
        found = [
            (k, 1.0 - d) for k, d in zip(keys, distances, strict=False) if k in self.row_of and k not in stale
        ]
        if not stale:
            return found
        rows = np.asarray([self.row_of[k] for k in stale])
        scores = self.matrix[rows] @ query
        found += zip(self.ids[rows].tolist(), scores.tolist(), strict=False)
        found.sort(key=lambda pair: -pair[1])
        return found[:n]


class VectorIndex:
    """Cosine search per namespace over unit vectors of one model.

    Namespaces load lazily with ``loader`` (the stored vectors); writes that arrive while one
    is loading are replayed after the load, so nothing written meanwhile is missed. A
    namespace with at least ``hnsw_min_vectors`` vectors is also indexed by an HNSW graph
    (``None`` turns graphs off); a search for at most ``hnsw_n_share`` of the namespace uses
    it when it is built and free, the exact scan otherwise, and never waits for a build.
    """

    def __init__(
        self,
        dim: int,
        loader: Loader,
        *,
        hnsw_min_vectors: int | None = HNSW_MIN_VECTORS,
        hnsw_dtype: str = HNSW_DTYPE,
        expansion_search: int = HNSW_EXPANSION_SEARCH,
        hnsw_n_share: float = HNSW_N_SHARE,
        files: GraphFiles | None = None,
        budget: IndexBudget | None = None,
        counter: Callable[[str], int] | None = None,
    ) -> None:
        self.dim = dim
        self._loader = loader
        self._spaces: dict[str, _Namespace] = {}
        self._namespace_of: dict[int, str] = {}
        self._loading: dict[str, list[tuple[str, Any]]] = {}
        self._lock = threading.RLock()
        self._load_locks: dict[str, threading.Lock] = {}
        self.hnsw_min_vectors = hnsw_min_vectors
        self._hnsw_dtype = hnsw_dtype
        self._expansion_search = expansion_search
        self._n_share = hnsw_n_share
        self._versions = itertools.count(1)
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self.graph_searches = 0  # answered by a graph (the rest by the exact scan)
        self.files = files  # saved graphs (None: every graph is built)
        self._budget = budget
        self._counter = counter  # a namespace's stored vector count, to ask the budget before loading
        self.evictions = 0
        if budget is not None:
            budget.register("vector", self.evict)

    def loaded(self, namespace: str) -> bool:
        return namespace in self._spaces

    def size(self, namespace: str | None = None) -> int:
        with self._lock:
            spaces = (
                [self._spaces[namespace]]
                if namespace in self._spaces
                else ([] if namespace is not None else list(self._spaces.values()))
            )
            return sum(len(s.row_of) for s in spaces)

    def ensure_loaded(self, namespace: str, *, force: bool = False) -> bool:
        """Load the namespace (its vectors from SQLite, its graph from a saved file when one
        agrees) unless the memory budget refuses it; True once it is loaded. ``force`` loads
        past the budget (no other exact path: sqlite-vec missing)."""
        if namespace in self._spaces:
            if self._budget is not None:
                self._budget.touch(namespace)
            return True
        if not force and not self._fits(namespace):
            return False
        with self._lock:
            lock = self._load_locks.setdefault(namespace, threading.Lock())
        with lock:
            if namespace in self._spaces:
                return True
            with self._lock:
                self._loading[namespace] = []
            # The watermark is read before the vectors: a write in between makes the saved graph
            # look older than it is (rebuilt), never newer.
            watermark = self.files.watermark(namespace) if self.files is not None else None
            ids: list[int] = []
            blobs: list[bytes] = []
            for memory_id, blob in self._loader(namespace):
                ids.append(int(memory_id))
                blobs.append(blob)
            space = _Namespace(
                self.dim, capacity=len(ids) + len(ids) // 8 + 1024
            )  # not 2x: 100k rows are 154 MB
            space.name = namespace
            if ids:
                vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), self.dim)
                space.upsert(ids, vectors)
            del blobs
            graph = (
                self._saved_graph(space, watermark) if watermark is not None and self._big(space) else None
            )
            with self._lock:
                space.graph = graph
                for op, payload in self._loading.pop(namespace, []):
                    if op == "upsert":
                        up_ids, up_vectors = payload
                        space.upsert(up_ids, up_vectors)
                        if graph is not None:
                            for memory_id in up_ids:
                                space.stale[memory_id] = next(self._versions)
                    elif space.remove(int(payload)) and graph is not None:
                        space.stale.pop(int(payload), None)
                        with graph.lock:
                            graph.drop([int(payload)])
                self._spaces[namespace] = space
                for memory_id in space.row_of:
                    self._namespace_of[memory_id] = namespace
                self._want_graph(space)
        self._charge(space)
        return True

    def _fits(self, namespace: str) -> bool:
        if self._budget is None or self._budget.limit_bytes is None:
            return True
        count = self._counter(namespace) if self._counter is not None else 0
        per_row = self.dim * 4 * 1.125 + 8 + _ROW_OVERHEAD
        if self.hnsw_min_vectors is not None and count >= self.hnsw_min_vectors:
            per_row += self.dim * 2 + 160  # the f16 graph's copy and its links
        return self._budget.fits(namespace, int(count * per_row))

    def _charge(self, space: _Namespace) -> None:
        """Tell the budget what the namespace holds now (never under self._lock: it may evict)."""
        if self._budget is not None and not space.evicted:
            self._budget.charge("vector", space.name, space.nbytes(), len(space.row_of))

    def _saved_graph(self, space: _Namespace, watermark: Watermark) -> _Graph | None:
        """The namespace's saved graph, reconciled with the vectors just read from SQLite: nodes
        the database no longer holds are dropped, vectors it lacks or holds otherwise are left
        ``stale`` (scored exactly, then added by the graph thread). Too far behind: None."""
        assert self.files is not None
        graph = _Graph(self.dim, self._hnsw_dtype, self._expansion_search)
        loaded = self.files.load(space.name, lambda: graph.index, watermark)
        if loaded is None:
            return None
        keys = np.asarray(graph.index.keys, dtype=np.uint64).astype(np.int64)
        stored = np.asarray(graph.index.vectors)
        live = space.ids[: space.size]
        live = live[live >= 0]
        gone = np.setdiff1d(keys, live)
        missing = np.setdiff1d(live, keys)
        changed: list[int] = []
        in_db = np.isin(keys, live)
        for start in range(0, len(keys), _BUILD_CHUNK):
            chunk = keys[start : start + _BUILD_CHUNK][in_db[start : start + _BUILD_CHUNK]]
            if not len(chunk):
                continue
            rows = [space.row_of[int(k)] for k in chunk]
            ours = stored[start : start + _BUILD_CHUNK][in_db[start : start + _BUILD_CHUNK]]
            drift = np.abs(ours.astype(np.float32) - space.matrix[rows]).max(axis=1)
            changed += chunk[drift > 1e-2].tolist()
        off = len(gone) + len(missing) + len(changed)
        if off > _RECONCILE_SHARE * max(len(live), 1):
            self.files.rejected += 1
            self.files.last_rejection = f"{off} of {len(live)} vectors differ from the database"
            log_event(_log, "vector_index_file_rejected", reason=self.files.last_rejection)
            self.files.discard(space.name)
            return None
        if len(gone):
            graph.drop(gone.tolist())
        graph.tombstones = 0
        for memory_id in [*missing.tolist(), *changed]:
            space.stale[int(memory_id)] = next(self._versions)
        graph.dirty = off > 0
        return graph

    def evict(self, namespace: str) -> None:
        """Drop the namespace from memory (the budget's callback); a saved-since-changed graph
        is written first on its own thread, so its next load skips the build."""
        with self._lock:
            space = self._spaces.pop(namespace, None)
            if space is None:
                return
            space.evicted, space.building = True, False
            for memory_id in space.row_of:
                if self._namespace_of.get(memory_id) == namespace:
                    del self._namespace_of[memory_id]
            self.evictions += 1
        log_event(_log, "vector_index_evicted", vectors=len(space.row_of))
        graph = space.graph
        if self.files is not None and graph is not None and graph.dirty:
            threading.Thread(
                target=self._save, args=(space, True), name="vector-graph-save", daemon=True
            ).start()

    def save(self) -> int:
        """Save every graph changed since its last save (shutdown); returns how many."""
        with self._lock:
            spaces = list(self._spaces.values())
        return sum(self._save(space) for space in spaces)

    def _save(self, space: _Namespace, evicted: bool = False) -> bool:
        """Write the namespace's graph if it changed; searches take the scan meanwhile."""
        graph = space.graph
        if self.files is None or graph is None or not graph.dirty or (space.evicted and not evicted):
            return False
        watermark = self.files.watermark(space.name)  # read first: see ensure_loaded
        with graph.lock:
            saved = self.files.save(space.name, graph.index, watermark) is not None
            if saved:
                graph.dirty = False
        return saved

    def upsert(self, namespace: str, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add or replace vectors; ignored for a namespace nobody has searched yet (it loads later)."""
        with self._lock:
            for memory_id in ids:
                old = self._namespace_of.get(memory_id)
                if old is not None and old != namespace and old in self._spaces:
                    self._remove_from(self._spaces[old], memory_id)
            if namespace in self._loading:
                self._loading[namespace].append(("upsert", (list(ids), np.array(vectors, copy=True))))
                return
            space = self._spaces.get(namespace)
            if space is None:
                return
            capacity = len(space.ids)
            space.upsert(ids, vectors)
            tracked = space.graph is not None or space.building
            for memory_id in ids:
                self._namespace_of[memory_id] = namespace
                if tracked:
                    space.stale[memory_id] = next(self._versions)
            self._want_graph(space)
            grew = len(space.ids) != capacity
        if grew:
            self._charge(space)

    def remove(self, ids: Iterable[int]) -> int:
        """Drop deleted memories at once (matrix and graph); returns how many were indexed."""
        removed = 0
        with self._lock:
            for memory_id in ids:
                for pending in self._loading.values():
                    pending.append(("remove", memory_id))
                namespace = self._namespace_of.pop(memory_id, None)
                if namespace is not None and namespace in self._spaces:
                    removed += self._remove_from(self._spaces[namespace], memory_id)
        return removed

    def contains(self, memory_id: int) -> bool:
        with self._lock:
            return memory_id in self._namespace_of

    def search(self, namespace: str, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The ``n`` nearest ids of the namespace by cosine (vectors are unit length), best first."""
        self.ensure_loaded(namespace)
        space = self._spaces.get(namespace)
        if space is None or n <= 0:
            return []
        query = np.asarray(query, dtype=np.float32)
        graph = space.graph
        live = len(space.row_of)
        if (
            graph is None
            or n > self._n_share * live
            or len(space.stale) * 8 > live
            or not graph.lock.acquire(blocking=False)
        ):
            return space.search(query, n)
        try:
            found = graph.index.search(query, n, threads=1)
        finally:
            graph.lock.release()
        with self._lock:
            self.graph_searches += 1
            return space.merge(found.keys.tolist(), found.distances.tolist(), query, n)

    def graph_stats(self, namespace: str) -> dict[str, Any] | None:
        """The namespace's HNSW graph (None without one): its nodes, removed nodes still in it,
        vectors it has not caught up with, and bytes (health output, tests, benchmarks)."""
        with self._lock:
            space = self._spaces.get(namespace)
            graph = space.graph if space is not None else None
            if space is None or graph is None:
                return None
            return {
                "vectors": len(graph.index),
                "tombstones": graph.tombstones,
                "stale": len(space.stale),
                "bytes": int(graph.index.memory_usage),
                "dtype": self._hnsw_dtype,
                "expansion_search": self._expansion_search,
            }

    def wait_graphs(self, timeout: float) -> bool:
        """Block until no graph is being built or caught up (tests, benchmarks); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._worker is None, timeout)

    def clear(self) -> None:
        """Forget every namespace and graph (after a model swap); they reload on next use."""
        with self._lock:
            self._generation += 1
            spaces = list(self._spaces)
            self._spaces.clear()
            self._namespace_of.clear()
        if self._budget is not None:
            for namespace in spaces:
                self._budget.release("vector", namespace)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the graph thread (a build stops at its next chunk), then save changed graphs."""
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
        self.save()

    # -- graphs (everything below runs under self._lock unless it says otherwise) -----------
    def _remove_from(self, space: _Namespace, memory_id: int) -> bool:
        found = space.remove(memory_id)
        space.stale.pop(memory_id, None)
        if space.removed_in_build is not None:
            space.removed_in_build.append(memory_id)
        graph = space.graph
        if found and graph is not None:
            with graph.lock:
                graph.drop([memory_id])
            if not self._big(space):
                space.graph = None  # small again: the scan is as fast, and the memory comes back
                space.stale.clear()
            else:
                self._want_graph(space)
        return found

    def _big(self, space: _Namespace) -> bool:
        """Worth a graph: at the threshold to get one, at half of it to keep one."""
        live, least = len(space.row_of), self.hnsw_min_vectors
        return least is not None and live >= (least if space.graph is None else least / 2)

    def _want_graph(self, space: _Namespace) -> None:
        if self._closed or space.failed or space.evicted or not self._big(space):
            return
        graph = space.graph
        if graph is None or graph.tombstones * 4 > len(space.row_of):
            space.building = True
        if (space.building or space.stale) and self._worker is None:
            self._worker = threading.Thread(target=self._work, name="vector-graphs", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        """The graph thread: builds wanted graphs, then catches serving graphs up; exits idle."""
        try:
            while True:
                with self._lock:
                    job = None if self._closed else self._next_job()
                    if job is None:
                        self._worker = None
                        self._idle.notify_all()
                        return
                    space, generation = job, self._generation
                try:
                    if space.building:
                        self._build(space, generation)
                        self._save(space)  # on this thread: no search waits for it
                        self._charge(space)
                    else:
                        self._sync(space)
                except Exception:  # noqa: BLE001 - usearch refused: this namespace stays on the exact scan
                    log_event(_log, "vector_graph_failed", level=logging.WARNING, exc_info=True)
                    with self._lock:
                        space.failed, space.building, space.graph = True, False, None
                        space.removed_in_build = None
                        space.stale.clear()
        except BaseException:
            with self._lock:
                self._worker = None
                self._idle.notify_all()
            raise

    def _next_job(self) -> _Namespace | None:
        spaces = list(self._spaces.values())
        return next((s for s in spaces if s.building), None) or next(
            (s for s in spaces if s.graph is not None and s.stale), None
        )

    def _build(self, space: _Namespace, generation: int) -> None:
        """Build a graph from a snapshot without the lock; writes meanwhile stay ``stale``."""
        with self._lock:
            ids, matrix, size = space.ids.copy(), space.matrix, space.size
            snapshot_version = next(self._versions)
            space.removed_in_build = []
        graph = _Graph(self.dim, self._hnsw_dtype, self._expansion_search)
        self._fill(graph, ids[:size], matrix, generation)
        with self._lock:
            removed, space.removed_in_build = space.removed_in_build or [], None
            space.building = False
            if self._closed or generation != self._generation or not self._big(space):
                return
            if removed:
                graph.drop(removed)
            graph.tombstones = 0
            space.stale = {i: v for i, v in space.stale.items() if v > snapshot_version}
            space.graph = graph

    def _fill(self, graph: _Graph, ids: np.ndarray, matrix: np.ndarray, generation: int) -> None:
        """Add the snapshot's live rows (no lock: ``matrix`` is only ever rewritten in place, and
        a row rewritten or deleted meanwhile is stale or removed, so fixed after the build)."""
        for start in range(0, len(ids), _BUILD_CHUNK):
            if self._closed or generation != self._generation:
                return
            chunk = ids[start : start + _BUILD_CHUNK]
            rows = np.nonzero(chunk >= 0)[0] + start
            vectors = matrix[rows]
            keep = np.linalg.norm(vectors, axis=1) > 0
            if keep.any():
                graph.index.add(ids[rows[keep]].astype(np.uint64), vectors[keep], threads=1)

    def _sync(self, space: _Namespace) -> None:
        """Add a few stale vectors to the serving graph; searches skip the graph while it is held."""
        with self._lock:
            graph = space.graph
            if graph is None:
                return
            batch = list(itertools.islice(space.stale.items(), _SYNC_CHUNK))
            ids = [memory_id for memory_id, _ in batch]
            vectors = space.matrix[[space.row_of[i] for i in ids]]
        with graph.lock:
            graph.put(ids, vectors)
        with self._lock:
            for memory_id, version in batch:
                if space.stale.get(memory_id) == version:
                    del space.stale[memory_id]
            gone = [i for i in ids if i not in space.row_of]
            if gone:
                with graph.lock:
                    graph.drop(gone)
            self._want_graph(space)
