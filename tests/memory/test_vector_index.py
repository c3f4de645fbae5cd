"""The in-memory vector index: exact top-n, deletes gone at once, lazy loads that miss no write."""

from __future__ import annotations

import numpy as np
import pytest

from memory_system.memory.embeddings import to_blob
from memory_system.memory.vector_index import VectorIndex

DIM = 16


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute(ids: list[int], vectors: np.ndarray, query: np.ndarray, n: int) -> list[int]:
    scores = vectors @ query
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:n]]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_search_is_exact_and_per_namespace(rng: np.random.Generator) -> None:
    vectors = unit(rng, 3000)
    ids = list(range(1, 3001))
    stored = {"a": list(zip(ids[:2000], vectors[:2000])), "b": list(zip(ids[2000:], vectors[2000:]))}
    index = VectorIndex(DIM, lambda ns: ((i, to_blob(v)) for i, v in stored[ns]))
    query = unit(rng, 1)[0]
    got = [i for i, _ in index.search("a", query, 20)]
    assert got == brute(ids[:2000], vectors[:2000], query, 20)
    assert all(i > 2000 for i, _ in index.search("b", query, 20))
    scores = [s for _, s in index.search("a", query, 20)]
    assert scores == sorted(scores, reverse=True)
    assert index.loaded("a") and index.loaded("b") and index.size() == 3000


def test_remove_means_gone_and_compaction_keeps_results_exact(rng: np.random.Generator) -> None:
    vectors = unit(rng, 4000)
    ids = list(range(1, 4001))
    index = VectorIndex(DIM, lambda ns: ((i, to_blob(v)) for i, v in zip(ids, vectors)))
    query = vectors[10]
    assert index.search("ns", query, 1)[0][0] == 11
    assert index.remove([11]) == 1
    assert index.remove([11]) == 0
    assert 11 not in [i for i, _ in index.search("ns", query, 4000)]
    assert not index.contains(11)
    index.remove(range(100, 3000))  # enough holes to compact
    keep = [i for i in ids if i != 11 and not 100 <= i < 3000]
    rows = np.array([ids.index(i) for i in keep])
    assert [i for i, _ in index.search("ns", query, 50)] == brute(keep, vectors[rows], query, 50)
    assert index.size("ns") == len(keep)


def test_upsert_replaces_a_vector_and_ignores_unloaded_namespaces(rng: np.random.Generator) -> None:
    vectors = unit(rng, 3)
    index = VectorIndex(DIM, lambda ns: iter([(1, to_blob(vectors[0]))]))
    index.upsert("ns", [2], vectors[1:2])  # not loaded yet: the loader will read it from the store
    assert not index.loaded("ns")
    assert [i for i, _ in index.search("ns", vectors[0], 5)] == [1]
    index.upsert("ns", [1], vectors[2:3])
    assert index.search("ns", vectors[2], 1)[0][0] == 1
    assert index.search("ns", vectors[2], 1)[0][1] == pytest.approx(1.0, abs=1e-5)


def test_writes_during_a_load_are_replayed(rng: np.random.Generator) -> None:
    vectors = unit(rng, 4)
    holder: dict[str, VectorIndex] = {}

    def loader(ns: str):  # type: ignore[no-untyped-def]
        yield 1, to_blob(vectors[0])
        yield 2, to_blob(vectors[1])
        # Another thread writes and deletes while the stored rows are being read.
        holder["index"].upsert(ns, [3], vectors[2:3])
        holder["index"].remove([2])

    index = holder["index"] = VectorIndex(DIM, loader)
    found = {i for i, _ in index.search("ns", vectors[3], 10)}
    assert found == {1, 3}
