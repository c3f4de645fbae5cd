"""Hybrid retrieval: by words at once, by meaning once embedded, never past visibility, and
answering from full text when the model is slow, failing or absent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.core import metrics
from memory_system.core.settings import Settings
from memory_system.memory.records.models import MemoryValidationError
from memory_system.memory.retrieval.filters import SearchFilters
from memory_system.runtime import Runtime
from memory_system.store.connection import open_connection

FACTS = [
    "The deploy pipeline pushes container images to the Kubernetes cluster on every merge.",
    "Alice prefers tabs over spaces in Python code.",
    "Invoices for the billing service are kept in PostgreSQL.",
    "Bananas are rich in potassium.",
]


@pytest.fixture
def make_runtime(migrated_db: Path, minilm: Any) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**settings: Any) -> Runtime:
        runtime = Runtime(Settings(db_path=migrated_db, **settings))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def write(runtime: Runtime, items: list[dict[str, Any]], agent: str = "a", ns: str = "p") -> list[int]:
    return [r.memory.id for r in runtime.memories.create_batch(namespace=ns, agent_id=agent, items=items)]


def search(runtime: Runtime, query: str, agent: str = "a", ns: str = "p", **kw: Any) -> Any:
    kw.setdefault("time_budget_ms", 10_000)
    return runtime.retrieval.search(agent_id=agent, namespace=ns, query=query, **kw)


def embedded(runtime: Runtime) -> None:
    assert runtime.retrieval.worker is not None and runtime.retrieval.worker.wait_idle(60)


def test_found_by_words_at_once_and_by_meaning_after_embedding(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    runtime.retrieval.worker.close()  # hold the worker back: nothing embedded yet
    ids = write(runtime, [{"content": c} for c in FACTS])
    words = search(runtime, "Which database keeps the invoices?", k=2)
    assert words.hits[0].memory.id == ids[2] and words.hits[0].ranks == {"fulltext": 1}
    meaning = "how do we ship new releases to production"  # no word in common with the deploy fact
    assert ids[0] not in [h.memory.id for h in search(runtime, meaning, sources=["fulltext"]).hits]
    runtime.retrieval.worker.backfill()
    result = search(runtime, meaning, k=2)
    assert result.mode == "hybrid" and result.reason is None
    top = result.hits[0]
    assert top.memory.id == ids[0] and top.ranks["dense"] == 1 and top.scores["dense"] > 0.2
    assert top.score > 0 and result.sources == ("fulltext", "dense")


def test_fusion_rewards_agreement_between_sources(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    ids = write(runtime, [{"content": c} for c in FACTS])
    embedded(runtime)
    result = search(runtime, "PostgreSQL invoices billing", k=4)
    assert result.hits[0].memory.id == ids[2]
    assert set(result.hits[0].ranks) == {"fulltext", "dense"}
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


def test_delete_means_gone_from_full_text_and_the_vector_index(
    make_runtime: Callable[..., Runtime], migrated_db: Path
) -> None:
    runtime = make_runtime()
    ids = write(runtime, [{"content": c} for c in FACTS])
    embedded(runtime)
    search(runtime, "bananas")  # loads the namespace into the index
    assert runtime.retrieval.index.contains(ids[3])
    runtime.memories.delete(ids[3], namespace="p", agent_id="a", sharing_enabled=False)
    assert not runtime.retrieval.index.contains(ids[3])
    for sources in (["fulltext"], ["dense"], None):
        assert ids[3] not in [
            h.memory.id for h in search(runtime, "bananas potassium fruit", sources=sources).hits
        ]
    conn = open_connection(migrated_db, create=False)
    assert (
        conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'bananas'").fetchone()[0]
        == 0
    )
    assert (
        conn.execute("SELECT count(*) FROM memory_embeddings WHERE memory_id = ?", (ids[3],)).fetchone()[0]
        == 0
    )
    conn.close()


def test_never_past_visibility_by_either_source(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    mine = write(runtime, [{"content": "My private note about the database migration plan."}], agent="a")
    theirs = write(
        runtime,
        [
            {"content": "Bob's private note about the database migration."},
            {"content": "Team-wide note: the database migration is on Friday.", "visibility": "namespace"},
        ],
        agent="b",
    )
    write(runtime, [{"content": "Another project's database migration."}], agent="a", ns="other")
    embedded(runtime)
    for sources in (["fulltext"], ["dense"], None):
        off = {h.memory.id for h in search(runtime, "database migration", sources=sources).hits}
        assert off == set(mine)
        on = {
            h.memory.id
            for h in search(runtime, "database migration", sources=sources, sharing_enabled=True).hits
        }
        assert on == set(mine) | {theirs[1]}


def test_a_small_scope_in_a_crowded_namespace_still_finds_its_nearest(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    write(
        runtime,
        [{"content": f"Ticket {i}: the login page times out for customer {i}"} for i in range(300)],
        agent="crowd",
    )
    mine = write(runtime, [{"content": "I keep my spare house keys under the blue flower pot."}], agent="a")
    embedded(runtime)
    result = search(runtime, "where are the spare keys hidden?", sources=["dense"])
    assert [h.memory.id for h in result.hits] == mine


def test_scope_filters(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    ids = write(
        runtime,
        [
            {
                "content": "Decided to use PostgreSQL for billing.",
                "kind": "decision",
                "session_id": "s1",
                "tier": "long_term",
                "occurred_at": "2024-01-10T00:00:00Z",
            },
            {
                "content": "PostgreSQL upgrade failed once.",
                "kind": "event",
                "user_id": "u1",
                "occurred_at": "2024-03-10T00:00:00Z",
            },
        ],
    )
    embedded(runtime)

    def found(**filters: Any) -> list[int]:
        return [
            h.memory.id for h in search(runtime, "PostgreSQL", filters=SearchFilters.from_dict(filters)).hits
        ]

    assert found(kind="decision") == [ids[0]]
    assert found(session_id="s1") == [ids[0]]
    assert found(user_id="u1") == [ids[1]]
    assert found(occurred_after="2024-02-01T00:00:00Z") == [ids[1]]
    assert found(occurred_before="2024-02-01") == [ids[0]]
    assert found(tier="long_term") == [ids[0]]
    tiers_off = search(runtime, "PostgreSQL", filters=SearchFilters(tier="long_term"), tiers_enabled=False)
    assert {h.memory.id for h in tiers_off.hits} == set(ids)


@pytest.mark.parametrize("embedder", ["failing", "slow:400"])
def test_slow_or_failing_model_degrades_to_full_text(
    make_runtime: Callable[..., Runtime], embedder: str
) -> None:
    runtime = make_runtime(embedder=embedder)
    ids = write(runtime, [{"content": c} for c in FACTS])
    reason = "error" if embedder == "failing" else "timeout"
    before = metrics.RAG_TIMEOUTS.labels(reason=reason)._value.get()
    result = runtime.retrieval.search(
        agent_id="a", namespace="p", query="invoices PostgreSQL", time_budget_ms=50
    )
    assert result.mode == "degraded" and result.reason and result.sources == ("fulltext",)
    assert result.hits[0].memory.id == ids[2]
    assert metrics.RAG_TIMEOUTS.labels(reason=reason)._value.get() == before + 1


def test_without_a_model_it_says_full_text(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(embedder="none")
    ids = write(runtime, [{"content": c} for c in FACTS])
    result = search(runtime, "invoices")
    assert result.mode == "fulltext" and "none" in (result.reason or "")
    assert [h.memory.id for h in result.hits] == [ids[2]]
    status = runtime.retrieval.status()
    assert status["semantic"] is False and status["mode"] == "fulltext" and status["reason"]


def test_user_text_never_becomes_query_syntax(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(embedder="none")
    ids = write(runtime, [{"content": 'NEAR the content column sits a quoted "word".'}])
    for query in ['"unbalanced', "content: NEAR(a b) OR *", "scope : ns00 AND NOT x", "^ - + ( ) { }"]:
        search(runtime, query)  # no FTS5 syntax error
    assert [h.memory.id for h in search(runtime, 'NEAR("word"').hits] == ids


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 101}, "k"),
        ({"query": "x", "sources": ["bm25"]}, "sources"),
    ],
)
def test_bad_input_names_the_field(
    make_runtime: Callable[..., Runtime], kwargs: dict[str, Any], field: str
) -> None:
    runtime = make_runtime(embedder="none")
    with pytest.raises(MemoryValidationError) as err:
        runtime.retrieval.search(agent_id="a", namespace="p", **kwargs)
    assert err.value.field == field


def test_bad_filters_name_the_filter() -> None:
    with pytest.raises(MemoryValidationError) as err:
        SearchFilters.from_dict({"colour": "red"})
    assert err.value.field == "filters.colour"
    with pytest.raises(MemoryValidationError) as err:
        SearchFilters.from_dict({"occurred_after": "last tuesday"})
    assert err.value.field == "filters.occurred_after"


def test_without_the_semantic_extra_the_service_says_full_text_only(migrated_db: Path) -> None:
    """A process where sentence-transformers cannot be imported (as without the extra)."""
    import json
    import subprocess
    import sys

    code = (
        "import sys, json; sys.modules['sentence_transformers'] = None\n"
        "from pathlib import Path\n"
        "from memory_system.runtime import Runtime\nfrom memory_system.core.settings import Settings\n"
        f"rt = Runtime(Settings(db_path=Path({str(migrated_db)!r})))\n"
        "rt.memories.create(namespace='p', agent_id='a', item={'content': 'tea with lemon'})\n"
        "res = rt.retrieval.search(agent_id='a', namespace='p', query='lemon tea')\n"
        "print(json.dumps({'status': rt.retrieval.status(), 'mode': res.mode, 'reason': res.reason,"
        " 'hits': len(res.hits)}))\nrt.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mode"] == "fulltext" and out["hits"] == 1
    assert "semantic" in out["reason"] and out["status"]["semantic"] is False
