"""The background embedder: writes are acknowledged first, vectors follow in batches.

A memory is findable by text as soon as its write commits (FTS triggers) and by meaning once
this worker has embedded it (benchmarks/ingest.py: 28 memories/s behind a bulk ingest).
New ids arrive through ``MemoryEvents.on_written``; a periodic check (a high-water mark on
memory id) picks up memories written by other processes (CLI imports), vectors written by
other processes (``embed --backfill`` while the service runs) and model swaps.

``reembed`` is online: new vectors are staged in ``memory_embeddings_next`` while searches keep
using the current ones, then swapped in by one transaction that also records the model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np

from memory_system.core import metrics
from memory_system.core.clock import format_utc, utc_now
from memory_system.core.logging import log_event
from memory_system.memory.retrieval.documents import DocumentOptions, embedding_text
from memory_system.memory.retrieval.embeddings import BATCH_SIZE, Embedder, to_blob
from memory_system.memory.retrieval.vector_index import VectorIndex
from memory_system.store import embeddings as store
from memory_system.store.connection import Database

Progress = Callable[[int, int], None]
_log = logging.getLogger(__name__)


class EmbeddingWorker:
    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        index: VectorIndex,
        *,
        options: DocumentOptions | None = None,
        batch_size: int = BATCH_SIZE,
        poll_s: float = 2.0,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.index = index
        self.options = options or DocumentOptions()
        self.batch_size = batch_size
        self.poll_s = poll_s
        self.last_error: str | None = None
        self.embedded = 0
        self._queue: dict[int, None] = {}
        self._busy = 0
        self._cond = threading.Condition()
        self._scan_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._high_water = 0
        self._vectors_seen = utc_now()
        self._generation = self._read_generation()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="embedding-worker", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # -- event listeners (quick: enqueue only) ------------------------------------------------
    def notify(self, ids: Sequence[int]) -> None:
        with self._cond:
            for memory_id in ids:
                self._queue[int(memory_id)] = None
            metrics.EMBEDDING_QUEUE.set(len(self._queue))
            self._cond.notify()

    def forget(self, ids: Sequence[int]) -> None:
        self.index.remove(int(i) for i in ids)
        with self._cond:
            for memory_id in ids:
                self._queue.pop(int(memory_id), None)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or being embedded (tests and benchmarks wait on this).

        Looks for memories without a vector first, so writes made before this worker listened
        (or by another process) are waited for too.
        """
        deadline = time.monotonic() + timeout
        self._scan_missing()
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.02)
        return self.pending() == 0

    # -- the work --------------------------------------------------------------------------
    def embed_ids(self, ids: Sequence[int], *, staging: bool = False) -> int:
        """Embed these memories now and store their vectors; returns how many were written."""
        reader = self.db.reader()
        rows = store.rows_to_embed(reader, ids)
        if not rows:
            return 0
        texts = []
        for row in rows:
            previous: list[tuple[str, object]] = []
            if row["session_id"] and self.options.context_turns > 0:
                previous = [
                    (p["content"], p["metadata"])
                    for p in store.previous_in_session(
                        reader,
                        row["namespace"],
                        row["agent_id"],
                        row["session_id"],
                        row["id"],
                        self.options.context_turns,
                    )
                ]
            texts.append(
                embedding_text(row["content"], row["metadata"], row["occurred_at"], previous, self.options)
            )
        vectors = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        model, dim = self.embedder.name, self.embedder.dim
        with self.db.write() as conn:
            store.write_vectors(
                conn,
                [(r["id"], r["namespace"], to_blob(v)) for r, v in zip(rows, vectors, strict=False)],
                model,
                dim,
                staging=staging,
            )
            if not staging and store.get_meta(conn, store.MODEL_KEY) is None:
                store.record_model(conn, model, dim)
        if not staging:
            by_namespace: dict[str, list[int]] = {}
            for i, row in enumerate(rows):
                by_namespace.setdefault(row["namespace"], []).append(i)
            for namespace, positions in by_namespace.items():
                self.index.upsert(namespace, [rows[i]["id"] for i in positions], vectors[positions])
            self.embedded += len(rows)
        return len(rows)

    def backfill(self, progress: Progress | None = None) -> int:
        """Embed every memory that has no vector yet; returns how many."""
        reader = self.db.reader()
        return self._embed_pages(
            lambda after: store.missing_after(reader, after, self.batch_size),
            store.count_missing(reader),
            progress,
            staging=False,
        )

    def reembed(self, progress: Progress | None = None) -> int:
        """Recompute every vector with the configured model while search keeps the old ones."""
        reader = self.db.reader()
        with self.db.write() as conn:
            store.clear_staged(conn)
        done = self._embed_pages(
            lambda after: store.all_ids(reader, after, self.batch_size),
            store.count_memories(reader),
            progress,
            staging=True,
        )
        with self.db.write() as conn:
            store.swap_staged(conn)
            store.record_model(conn, self.embedder.name, self.embedder.dim, bump_generation=True)
        self._generation = self._read_generation()
        self.index.clear()
        log_event(_log, "embeddings_reembedded", model=self.embedder.name, dim=self.embedder.dim, count=done)
        return done

    def _embed_pages(
        self, next_ids: Callable[[int], list[int]], total: int, progress: Progress | None, *, staging: bool
    ) -> int:
        """Backfill and re-embed walk ids alike: pages keyed on the last id done, until one is empty."""
        done, after = 0, 0
        while ids := next_ids(after):
            done += self.embed_ids(ids, staging=staging)
            after = ids[-1]
            if progress:
                progress(done, total)
        return done

    def stored_model(self) -> tuple[str | None, int | None]:
        reader = self.db.reader()
        model = store.get_meta(reader, store.MODEL_KEY)
        dim = store.get_meta(reader, store.DIM_KEY)
        return model, int(dim) if dim else None

    def stale(self) -> bool:
        """Stored vectors were made by another model (or dimension) than the configured one."""
        model, dim = self.stored_model()
        return model is not None and (model != self.embedder.name or dim != self.embedder.dim)

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        next_check = 0.0
        backoff = 0.0
        while not self._stop.is_set():
            with self._cond:
                if not self._queue:
                    self._cond.wait(timeout=max(0.05, min(self.poll_s, next_check - time.monotonic())))
                batch = list(self._queue)[: self.batch_size] if backoff <= time.monotonic() else []
                for memory_id in batch:
                    del self._queue[memory_id]
                self._busy = len(batch)
            if self._stop.is_set():
                break
            if batch:
                try:
                    self.embed_ids(batch)
                    self.last_error = None
                    backoff = 0.0
                except Exception as exc:  # noqa: BLE001 - any failure: requeue, back off, keep the thread
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log_event(
                        _log,
                        "embedding_failed",
                        level=logging.WARNING,
                        count=len(batch),
                        error=self.last_error,
                    )
                    backoff = time.monotonic() + self.poll_s
                    with self._cond:
                        for memory_id in batch:
                            self._queue.setdefault(memory_id, None)
                finally:
                    with self._cond:
                        self._busy = 0
                        metrics.EMBEDDING_QUEUE.set(len(self._queue))
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.poll_s
                try:
                    self._periodic_check()
                except Exception:  # noqa: BLE001 - the next poll retries; the worker thread must live on
                    log_event(_log, "embedding_check_failed", level=logging.WARNING, exc_info=True)

    def _periodic_check(self) -> None:
        reader = self.db.reader()
        generation = self._read_generation()
        if generation != self._generation:
            self._generation = generation
            self.index.clear()
        self._scan_missing()
        since = self._vectors_seen
        rows = store.vectors_since(reader, _minus_seconds(since, 5), self.embedder.name, self.embedder.dim)
        for row in rows:
            if self.index.loaded(row["namespace"]) and not self.index.contains(row["memory_id"]):
                vector = np.frombuffer(row["vector"], dtype="<f4").reshape(1, -1)
                self.index.upsert(row["namespace"], [row["memory_id"]], vector)
            self._vectors_seen = max(self._vectors_seen, row["created_at"])

    def _scan_missing(self) -> None:
        reader = self.db.reader()
        with self._scan_lock:
            top = store.max_memory_id(reader)  # read first: anything committed later is above it
            while True:
                ids = store.missing_after(reader, self._high_water, 1000)
                if not ids:
                    break
                self._high_water = ids[-1]
                self.notify(ids)
            # Nothing missing up to ``top``: the next scan starts there, not at 0 (a full scan
            # of every memory on every poll).
            self._high_water = max(self._high_water, top)

    def _read_generation(self) -> str | None:
        return store.get_meta(self.db.reader(), store.GENERATION_KEY)


def _minus_seconds(stamp: str, seconds: float) -> str:
    """A little overlap, so a vector committed late by another process is not skipped."""
    return format_utc(datetime.fromisoformat(stamp) - timedelta(seconds=seconds))
