"""A small deterministic embedder and a runtime factory for the index tests (persisted graphs,
memory budget): real SQLite, real usearch graphs, sizes small enough to build in a second."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memory_system.core.settings import Settings
from memory_system.runtime import Runtime

HASH_DIM = 16
GRAPH_AT = 150  # hnsw_min_vectors in these tests


class HashEmbedder:
    """A text's vector from its hash: unrelated texts, unrelated vectors; the same text, the
    same vector in every process."""

    dim = HASH_DIM

    def __init__(self, name: str = "hash-16") -> None:
        self.name = name

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(HASH_DIM).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def hash_runtime(migrated_db: Path) -> Iterator[Callable[..., Runtime]]:
    """``make(**settings)``: a Runtime on the test database whose retrieval uses HashEmbedder
    (no embedding thread: tests embed with ``embed_all``) and builds graphs at GRAPH_AT."""
    made: list[Runtime] = []

    def make(**settings: Any) -> Runtime:
        runtime = Runtime(Settings(db_path=migrated_db, **settings))
        runtime.__dict__["embedder"] = HashEmbedder()  # the cached_property's value, set first
        made.append(runtime)
        index = runtime.retrieval.index
        assert index is not None
        index.hnsw_min_vectors = GRAPH_AT
        index._n_share = 1.0  # let the graph answer even these small namespaces' wide searches
        assert runtime.retrieval.worker is not None
        runtime.retrieval.worker.close()  # embed by hand: each test says when vectors exist
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def write(runtime: Runtime, count: int, ns: str = "p", agent: str = "a", start: int = 0) -> list[int]:
    items = [{"content": f"note {ns} {i} about topic {i % 7}"} for i in range(start, start + count)]
    return [r.memory.id for r in runtime.memories.create_batch(namespace=ns, agent_id=agent, items=items)]


def embed_all(runtime: Runtime) -> None:
    assert runtime.retrieval.worker is not None
    runtime.retrieval.worker.backfill()


def dense_ids(runtime: Runtime, query: str, ns: str = "p", agent: str = "a", k: int = 10) -> list[int]:
    result = runtime.retrieval.search(
        agent_id=agent, namespace=ns, query=query, k=k, sources=["dense"], time_budget_ms=30_000
    )
    return [h.memory.id for h in result.hits]


def dense_scores(runtime: Runtime, query: str, ns: str = "p", k: int = 10) -> list[float]:
    result = runtime.retrieval.search(
        agent_id="a", namespace=ns, query=query, k=k, sources=["dense"], time_budget_ms=30_000
    )
    return [h.scores["dense"] for h in result.hits]


def agrees_with_exact(runtime: Runtime, query: str, ns: str = "p", k: int = 10) -> bool:
    """A graph's answer is the exact one up to its f16 copies: the same cosines within 2e-3
    rank by rank (near-ties may swap ids), and every id is one of the namespace's."""
    got = dense_scores(runtime, query, ns, k)
    want = exact_scores(runtime, query, ns, k)
    return len(got) == len(want) and all(abs(a - b) < 2e-3 for a, b in zip(got, want, strict=True))


def exact_scores(runtime: Runtime, query: str, ns: str = "p", k: int = 10) -> list[float]:
    return [s for _, s in _exact(runtime, query, ns, k)]


def exact_ids(runtime: Runtime, query: str, ns: str = "p", k: int = 10) -> list[int]:
    return [i for i, _ in _exact(runtime, query, ns, k)]


def _exact(runtime: Runtime, query: str, ns: str, k: int) -> list[tuple[int, float]]:
    """The top ``k`` by exact cosine over the namespace's stored vectors, read from SQLite."""
    from memory_system.store import embeddings as vec_store

    embedder = HashEmbedder()
    rows = list(vec_store.namespace_vectors(runtime.db.reader(), ns, embedder.name, embedder.dim))
    ids = np.asarray([r[0] for r in rows])
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), HASH_DIM)
    scores = matrix @ embedder.encode([query])[0]
    top = np.argsort(-scores, kind="stable")[:k]
    return [(int(ids[i]), float(scores[i])) for i in top]
