"""The index memory budget: namespaces beyond it are evicted least recently used, answered
meanwhile by FTS5 and sqlite-vec with the same ids, and loaded again on their next use."""

from __future__ import annotations

from collections.abc import Callable

from memory_system.core.metrics import REGISTRY
from memory_system.runtime import Runtime

from .conftest import dense_ids, embed_all, exact_ids, write

QUERIES = ["topic 3 notes", "what about note a 17", "unrelated words entirely"]


def bounded(make: Callable[..., Runtime], mb: float) -> Runtime:
    runtime = make(index_memory_mb=mb)
    assert runtime.retrieval.budget.limit_bytes == int(mb * 2**20)  # the setting reaches the index
    return runtime


def one_namespace_mb(runtime: Runtime, ns: str) -> float:
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded(ns)
    stats = runtime.retrieval.budget.stats()["kinds"]
    assert isinstance(stats, dict)
    return float(stats["vector"]["bytes"]) / 2**20


def test_least_recently_used_namespace_is_evicted_answers_stay_exact_and_it_reloads(
    hash_runtime: Callable[..., Runtime],
) -> None:
    probe = hash_runtime()
    write(probe, 120, ns="a")
    write(probe, 120, ns="b")
    embed_all(probe)
    size_mb = one_namespace_mb(probe, "a")
    expected = {(ns, q): exact_ids(probe, q, ns=ns) for ns in ("a", "b") for q in QUERIES}
    probe.close()

    runtime = bounded(hash_runtime, size_mb * 1.5)  # room for one namespace's vectors
    index = runtime.retrieval.index
    assert index is not None
    for query in QUERIES:
        assert dense_ids(runtime, query, ns="a") == expected[("a", query)]
    assert index.loaded("a")
    for query in QUERIES:
        assert dense_ids(runtime, query, ns="b") == expected[("b", query)]
    assert index.loaded("b") and not index.loaded("a"), runtime.retrieval.budget.stats()
    assert runtime.retrieval.budget.evictions >= 1
    evicted = REGISTRY.get_sample_value("memory_index_namespaces_evicted_total")
    assert evicted is not None and evicted >= 1
    for query in QUERIES:  # "a" again: loaded again, "b" evicted in turn
        assert dense_ids(runtime, query, ns="a") == expected[("a", query)]
    assert index.loaded("a") and not index.loaded("b")
    assert REGISTRY.get_sample_value(
        "memory_index_bytes", {"kind": "vector"}
    ) == runtime.retrieval.budget.resident_bytes("vector")


def test_a_namespace_larger_than_the_budget_is_answered_exactly_without_loading(
    hash_runtime: Callable[..., Runtime],
) -> None:
    probe = hash_runtime()
    ids = write(probe, 300, ns="a")
    write(probe, 20, ns="a", agent="other")  # what agent "a" may not see
    embed_all(probe)
    expected = {q: exact_ids(probe, q, ns="a", k=60) for q in QUERIES}
    probe.close()

    runtime = bounded(hash_runtime, 0.01)
    index = runtime.retrieval.index
    assert index is not None
    for query in QUERIES:
        found = dense_ids(runtime, query, ns="a", k=10)
        assert found == [i for i in expected[query] if i in set(ids)][:10]  # sqlite-vec, scope narrowed
    assert not index.loaded("a") and not runtime.retrieval.text.loaded("a")
    result = runtime.retrieval.search(
        agent_id="a", namespace="a", query="topic 3", k=5, time_budget_ms=30_000
    )
    assert result.mode == "hybrid" and len(result.hits) == 5  # full text from FTS5


def test_unbounded_by_default_and_bytes_per_memory_reported(hash_runtime: Callable[..., Runtime]) -> None:
    runtime = hash_runtime()
    write(runtime, 50, ns="a")
    embed_all(runtime)
    dense_ids(runtime, "topic", ns="a")
    stats = runtime.retrieval.status()["index_memory"]
    assert stats["limit_bytes"] is None and stats["evictions"] == 0
    vector = stats["kinds"]["vector"]
    assert vector["memories"] == 50 and vector["bytes_per_memory"] > 16 * 4
