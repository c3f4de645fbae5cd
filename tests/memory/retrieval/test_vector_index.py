"""The in-memory vector index: exact top-n, deletes gone at once, lazy loads that miss no write;
HNSW graphs for large namespaces that agree with the scan and lose no write made during a build."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from memory_system.memory.retrieval.embeddings import to_blob
from memory_system.memory.retrieval.vector_index import VectorIndex

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
    stored = {
        "a": list(zip(ids[:2000], vectors[:2000], strict=False)),
        "b": list(zip(ids[2000:], vectors[2000:], strict=False)),
    }
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
    index = VectorIndex(DIM, lambda ns: ((i, to_blob(v)) for i, v in zip(ids, vectors, strict=False)))
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


# -- the HNSW path (a lowered threshold keeps these small) -------------------------------------

GRAPH_AT = 400
LOCOMO = Path(__file__).resolve().parents[4] / "shared" / "data" / "locomo" / "locomo_dev.json"


def clustered(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    """Unit vectors around a few dozen centres: structured like embeddings, unlike uniform noise."""
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    v = centres[rng.integers(0, 40, n)] + 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def graph_index(
    vectors: np.ndarray, ids: list[int] | None = None, cls: type[VectorIndex] = VectorIndex, **kwargs: object
) -> VectorIndex:
    ids = ids or list(range(1, len(vectors) + 1))
    rows = [(i, to_blob(v)) for i, v in zip(ids, vectors, strict=False)]
    kwargs.setdefault("hnsw_n_share", 1.0)  # small namespaces: let the graph answer any n
    return cls(vectors.shape[1], lambda ns: iter(rows), hnsw_min_vectors=GRAPH_AT, **kwargs)  # type: ignore[arg-type]


def built(index: VectorIndex, namespace: str = "ns") -> dict[str, object]:
    index.ensure_loaded(namespace)
    assert index.wait_graphs(60), "graph thread did not finish in 60 s"
    stats = index.graph_stats(namespace)
    assert stats is not None, "no graph was built"
    return stats


def recall(got: list[int], want: list[int]) -> float:
    return len(set(got) & set(want)) / len(want)


class GatedIndex(VectorIndex):
    """Pauses every graph build after its snapshot (before or after adding the snapshot's rows
    to the graph, before publishing it) until the test lets it go on."""

    pause_after_fill = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.in_build = threading.Event()
        self.go_on = threading.Event()

    def _fill(self, *args: object) -> None:  # type: ignore[override]
        if self.pause_after_fill:
            super()._fill(*args)  # type: ignore[arg-type]
        self.in_build.set()
        assert self.go_on.wait(30)
        if not self.pause_after_fill:
            super()._fill(*args)  # type: ignore[arg-type]


F16 = 2e-3  # a graph scores on its f16 copies


def test_graph_answers_after_build_with_cosines(rng: np.random.Generator) -> None:
    vectors = clustered(rng, 2000)
    index = graph_index(vectors)
    stats = built(index)
    assert stats["vectors"] == 2000 and stats["tombstones"] == 0 and stats["stale"] == 0
    before = index.graph_searches
    for q in clustered(rng, 20):
        got = index.search("ns", q, 20)
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        for memory_id, score in got:  # the cosine, on the exact path's scale
            assert score == pytest.approx(float(vectors[memory_id - 1] @ q), abs=F16)
        assert recall([i for i, _ in got], brute(list(range(1, 2001)), vectors, q, 20)) >= 0.9
    assert index.graph_searches == before + 20
    assert index.search("ns", vectors[5], 1) == [(6, pytest.approx(1.0, abs=F16))]


def test_small_namespaces_and_huge_n_use_the_exact_scan(rng: np.random.Generator) -> None:
    vectors = clustered(rng, GRAPH_AT - 1)
    index = graph_index(vectors)
    index.search("ns", vectors[0], 5)
    assert index.wait_graphs(60) and index.graph_stats("ns") is None
    big = graph_index(clustered(rng, 1500), hnsw_n_share=0.5)
    built(big)
    everything = big.search("ns", vectors[0], 1500)  # more than a graph search should answer
    assert len(everything) == 1500 and big.graph_searches == 0
    assert len(big.search("ns", vectors[0], 750)) == 750 and big.graph_searches == 1


def test_deleted_ids_never_come_back_and_upserts_replace(rng: np.random.Generator) -> None:
    vectors = clustered(rng, 1500)
    index = graph_index(vectors)
    built(index)
    gone = list(range(1, 301))
    assert index.remove(gone) == 300
    for memory_id in gone[:50]:
        assert memory_id not in [i for i, _ in index.search("ns", vectors[memory_id - 1], 50)]
    fresh = clustered(rng, 1)
    index.upsert("ns", [400], fresh)  # an existing id: its new vector replaces the old one
    assert index.search("ns", fresh[0], 1) == [(400, pytest.approx(1.0, abs=1e-5))]
    merged = [s for _, s in index.search("ns", fresh[0], 30)]  # stale vectors merged by score
    assert merged == sorted(merged, reverse=True) and len(merged) == 30
    assert all(i != 400 or s < 0.999 for i, s in index.search("ns", vectors[399], 5))
    assert index.wait_graphs(60)
    stats = index.graph_stats("ns")
    assert stats is not None and stats["stale"] == 0 and stats["vectors"] == 1200
    assert index.search("ns", fresh[0], 1) == [(400, pytest.approx(1.0, abs=F16))]
    assert index.graph_searches > 0


def test_many_deletes_rebuild_and_a_shrunk_namespace_drops_its_graph(rng: np.random.Generator) -> None:
    vectors = clustered(rng, 1200)
    index = graph_index(vectors)
    built(index)
    index.remove(range(1, 451))  # 450 of 1200: over a quarter, the graph is rebuilt without them
    stats = built(index)
    assert stats["tombstones"] == 0 and stats["vectors"] == 750
    index.remove(range(451, 1100))  # 101 left, under half the threshold: back to the scan
    assert index.graph_stats("ns") is None
    assert {i for i, _ in index.search("ns", vectors[1150], 200)} == set(range(1100, 1201))


@pytest.mark.parametrize("after_fill", [False, True], ids=["before-rows-added", "after-rows-added"])
def test_writes_during_a_build_reach_the_graph(rng: np.random.Generator, after_fill: bool) -> None:
    vectors = clustered(rng, 1000)
    extra = clustered(rng, 50)
    index = graph_index(vectors, cls=GatedIndex)
    assert isinstance(index, GatedIndex)
    index.pause_after_fill = after_fill
    index.ensure_loaded("ns")
    assert index.in_build.wait(30)
    index.remove(range(1, 101))
    index.upsert("ns", list(range(2001, 2051)), extra)
    index.upsert("ns", [500], extra[:1])
    assert index.graph_stats("ns") is None  # still building: the scan answers, nothing waits
    assert index.search("ns", extra[3], 1)[0][0] == 2004 and index.graph_searches == 0
    index.go_on.set()
    stats = built(index)
    assert stats["stale"] == 0 and stats["vectors"] == 950
    for q in vectors[:100]:
        assert not {i for i, _ in index.search("ns", q, 30)} & set(range(1, 101))
    for k, q in enumerate(extra[1:], start=2002):
        assert index.search("ns", q, 1) == [(k, pytest.approx(1.0, abs=F16))]
    assert {i for i, _ in index.search("ns", extra[0], 2)} == {2001, 500}
    assert index.graph_searches >= 50


def test_clear_drops_graphs_and_a_build_in_flight(rng: np.random.Generator) -> None:
    vectors = clustered(rng, 800)
    index = graph_index(vectors, cls=GatedIndex)
    assert isinstance(index, GatedIndex)
    index.ensure_loaded("ns")
    assert index.in_build.wait(30)
    index.clear()
    index.go_on.set()
    assert index.wait_graphs(60)
    assert not index.loaded("ns") and index.graph_stats("ns") is None
    built(index)  # reloaded on use and built again
    index.clear()
    assert index.graph_stats("ns") is None and not index.loaded("ns")
    index.close()


def test_concurrent_searches_and_writes(rng: np.random.Generator) -> None:
    vectors = clustered(rng, 1500)
    index = graph_index(vectors)
    built(index)
    extra = clustered(rng, 300)
    deleted: set[int] = set()
    errors: list[str] = []
    done = threading.Event()

    def searcher() -> None:
        queries = clustered(np.random.default_rng(3), 50)
        for round_ in range(200):
            if done.is_set() and round_ > 20:
                return
            already = set(deleted)
            got = index.search("ns", queries[round_ % 50], 40)
            back = {i for i, _ in got} & already
            if back:
                errors.append(f"deleted ids came back: {sorted(back)}")
            if any(not -1.0001 <= s <= 1.0001 for _, s in got):
                errors.append("a score is not a cosine")

    thread = threading.Thread(target=searcher)
    thread.start()
    for step in range(30):
        ids = list(range(3000 + step * 10, 3010 + step * 10))
        index.upsert("ns", ids, extra[step * 10 : step * 10 + 10])
        drop = list(range(1 + step * 20, 11 + step * 20))
        index.remove(drop)
        deleted.update(drop)
    done.set()
    thread.join(60)
    assert not thread.is_alive() and not errors
    assert index.wait_graphs(60)
    stats = index.graph_stats("ns")
    assert stats is not None and stats["stale"] == 0
    for k in range(0, 300, 7):
        assert index.search("ns", extra[k], 1)[0][0] == 3000 + k
    assert not {i for q in vectors[:600:20] for i, _ in index.search("ns", q, 100)} & deleted


@pytest.mark.skipif(not LOCOMO.exists(), reason=f"LoCoMo dev data ({LOCOMO.parent}) is absent")
def test_graph_recall_on_real_minilm_vectors(minilm: object) -> None:
    data = json.loads(LOCOMO.read_text())
    turns = list(
        dict.fromkeys(
            t["text"]
            for s in data
            for k, v in s["conversation"].items()
            if k.startswith("session_") and isinstance(v, list)
            for t in v
        )
    )[:800]
    questions = list(dict.fromkeys(qa["question"] for s in data for qa in s["qa"]))[:60]
    vectors = minilm.encode(turns)  # type: ignore[attr-defined]
    queries = minilm.encode(questions)  # type: ignore[attr-defined]
    index = graph_index(vectors)
    built(index)
    ids = list(range(1, len(turns) + 1))
    at_20 = [recall([i for i, _ in index.search("ns", q, 20)], brute(ids, vectors, q, 20)) for q in queries]
    wide = [
        recall([i for i, _ in index.search("ns", q, 320)][:20], brute(ids, vectors, q, 20)) for q in queries
    ]
    assert index.graph_searches == 2 * len(queries)
    for q in queries[:10]:
        for memory_id, score in index.search("ns", q, 20):
            assert score == pytest.approx(float(vectors[memory_id - 1] @ q), abs=F16)
    assert np.mean(at_20) >= 0.95 and np.mean(wide) >= 0.95, (np.mean(at_20), np.mean(wide))


def test_onnxruntime_still_loads_after_a_graph_was_built() -> None:
    """usearch's wheel breaks an onnxruntime imported after it (SIGSEGV): the index imports
    onnxruntime first, so the query embedder may load after the first graph."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    code = (
        "import numpy as np\n"
        "from memory_system.memory.retrieval.embeddings import to_blob\n"
        "from memory_system.memory.retrieval.vector_index import VectorIndex\n"
        "v = np.eye(8, dtype=np.float32)\n"
        "index = VectorIndex(8, lambda ns: ((i + 1, to_blob(x)) for i, x in enumerate(v)), "
        "hnsw_min_vectors=4)\n"
        "index.ensure_loaded('ns')\n"
        "assert index.wait_graphs(30) and index.graph_stats('ns')\n"
        "import onnxruntime\n"
        "print('loaded', onnxruntime.__version__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "loaded" in done.stdout, (done.returncode, done.stderr[-2000:])
