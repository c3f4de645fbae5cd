"""The background embedder: vectors follow writes, other processes' writes are picked up,
backfill fills gaps, and re-embedding is online and clears staleness."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.retrieval.hybrid import Retrieval
from memory_system.store import embeddings as store
from memory_system.store.connection import Database, open_connection


@pytest.fixture
def make(migrated_db: Path, minilm: Any) -> Iterator[Callable[..., tuple[MemoryService, Retrieval]]]:
    opened: list[tuple[Database, Retrieval]] = []

    def build(
        embedder: Any = None, start: bool = True, poll_s: float = 2.0
    ) -> tuple[MemoryService, Retrieval]:
        db = Database(migrated_db)
        events = MemoryEvents()
        retrieval = Retrieval(db, embedder or minilm, start_worker=start, poll_s=poll_s)
        assert retrieval.worker is not None
        events.on_written(retrieval.worker.notify)
        events.on_deleted(retrieval.worker.forget)
        opened.append((db, retrieval))
        return MemoryService(db, events), retrieval

    yield build
    for db, retrieval in opened:
        retrieval.close()
        db.close()


def stored(path: Path) -> dict[int, tuple[str, int, bytes]]:
    conn = open_connection(path, create=False)
    try:
        return {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT memory_id, model, dim, vector FROM memory_embeddings")
        }
    finally:
        conn.close()


def test_written_memories_get_vectors_in_the_background(
    make: Callable[..., Any], migrated_db: Path, minilm: Any
) -> None:
    memories, retrieval = make()
    results = memories.create_batch(
        namespace="p",
        agent_id="a",
        items=[{"content": f"fact number {i} about the deploy pipeline"} for i in range(70)],
    )  # two batches
    assert retrieval.worker.wait_idle(60)
    vectors = stored(migrated_db)
    assert set(vectors) == {r.memory.id for r in results}
    model, dim, blob = vectors[results[0].memory.id]
    assert (model, dim, len(blob)) == (minilm.name, 384, 384 * 4)
    assert np.linalg.norm(np.frombuffer(blob, dtype="<f4")) == pytest.approx(1.0, abs=1e-4)
    assert retrieval.worker.stored_model() == (minilm.name, 384)
    assert not retrieval.worker.stale()


def test_memories_written_by_another_process_are_picked_up(
    make: Callable[..., Any], migrated_db: Path
) -> None:
    make(poll_s=0.1)
    other = MemoryService(Database(migrated_db), MemoryEvents())  # no listener: like another process
    written = other.create(namespace="p", agent_id="a", item={"content": "written elsewhere"})
    other.db.close()
    deadline = time.monotonic() + 60
    while written.memory.id not in stored(migrated_db):
        assert time.monotonic() < deadline, "the periodic check never embedded the memory"
        time.sleep(0.05)


def test_backfill_embeds_only_what_is_missing(make: Callable[..., Any], migrated_db: Path) -> None:
    memories, retrieval = make(start=False)
    ids = [
        r.memory.id
        for r in memories.create_batch(
            namespace="p", agent_id="a", items=[{"content": f"note {i}"} for i in range(5)]
        )
    ]
    assert stored(migrated_db) == {}
    progress: list[tuple[int, int]] = []
    assert retrieval.worker.backfill(lambda done, total: progress.append((done, total))) == 5
    assert set(stored(migrated_db)) == set(ids) and progress[-1] == (5, 5)
    assert retrieval.worker.backfill() == 0


def test_reembed_is_online_and_clears_staleness(
    make: Callable[..., Any], migrated_db: Path, minilm: Any
) -> None:
    memories, retrieval = make(start=False)
    ids = [
        r.memory.id
        for r in memories.create_batch(
            namespace="p",
            agent_id="a",
            items=[
                {"content": "The billing service stores invoices in PostgreSQL."},
                {"content": "Alice takes her coffee black."},
            ],
        )
    ]
    retrieval.worker.backfill()
    # As if these vectors came from an older model: same layout, another name.
    with retrieval.db.write() as conn:
        conn.execute("UPDATE memory_embeddings SET model = 'old-model'")
        store.record_model(conn, "old-model", 384)
    retrieval.index.clear()
    assert retrieval.worker.stale() and retrieval.status()["stale"] is True
    assert retrieval.status()["ok"] is False

    seen: list[dict[int, tuple[str, int, bytes]]] = []
    found: list[str] = []

    def during(done: int, total: int) -> None:
        seen.append(stored(migrated_db))
        found.append(
            retrieval.search(agent_id="a", namespace="p", query="invoices database", k=1, time_budget_ms=5000)
            .hits[0]
            .memory.content
        )

    assert retrieval.worker.reembed(during) == 2
    assert all(model == "old-model" for model, _, _ in seen[0].values())  # untouched until the swap
    assert found[0].startswith("The billing service")  # search answered meanwhile
    after = stored(migrated_db)
    assert set(after) == set(ids) and {m for m, _, _ in after.values()} == {minilm.name}
    assert not retrieval.worker.stale() and retrieval.status()["stale"] is False
    conn = open_connection(migrated_db, create=False)
    assert conn.execute("SELECT count(*) FROM memory_embeddings_next").fetchone()[0] == 0
    conn.close()


def test_a_failing_model_is_reported_and_retried_not_lost(
    make: Callable[..., Any], migrated_db: Path
) -> None:
    from memory_system.memory.retrieval.embeddings import FailingEmbedder

    memories, retrieval = make(embedder=FailingEmbedder(), poll_s=0.05)
    memories.create(namespace="p", agent_id="a", item={"content": "still findable by its words"})
    deadline = time.monotonic() + 30
    while retrieval.worker.last_error is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "fail" in retrieval.status()["last_error"] and retrieval.status()["ok"] is False
    assert retrieval.worker.pending() >= 1 and stored(migrated_db) == {}
