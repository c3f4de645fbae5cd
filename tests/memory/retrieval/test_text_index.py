"""The in-memory BM25 index: FTS5's words and scores, current after every write, never
returning a deleted memory, and no write lost while a namespace loads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.settings import Settings
from memory_system.memory.retrieval import text_index
from memory_system.memory.retrieval.text_index import TextIndex, tokens
from memory_system.runtime import Runtime
from memory_system.store import search as fts
from memory_system.store._sqlite import sqlite3
from memory_system.store.scope import Filters, Visibility

TEXTS = [
    "The deploy pipeline pushes container images to the Kubernetes cluster on every merge.",
    "Deploying on Fridays is forbidden; deployments wait for Monday.",
    "Alice prefers tabs over spaces in Python code.",
    "Invoices for the billing service are kept in PostgreSQL, billing runs nightly.",
    "Café Zoë serves crème brûlée; the naïve façade hides a jalapeño garden.",
    "snake_case names, CamelCase classes, and 3.14159 digits, v2_release tags.",
    "Bananas are rich in potassium and bananas are yellow.",
]


def test_words_are_what_fts5_porter_unicode61_stores() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'porter unicode61')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'row')")
    for text in TEXTS:
        conn.execute("DELETE FROM t")
        conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
        stored = {r[0] for r in conn.execute("SELECT term FROM v")}
        assert set(tokens(text)) == stored, text


def test_words_match_fts5_across_the_projects_own_docs() -> None:
    """A broad vocabulary: PyStemmer's Porter and FTS5's differ on a handful of rare words
    (measured on LoCoMo's turns: 4 of 2,598 stems, e.g. "ecology"), so allow 1%."""
    root = Path(__file__).resolve().parents[3]
    text = "".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'porter unicode61')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'row')")
    conn.execute("INSERT INTO t (x) VALUES (?)", (text,))
    stored = {r[0] for r in conn.execute("SELECT term FROM v")}
    ours = set(tokens(text))
    assert len(stored) > 500
    assert len(ours ^ stored) <= 0.01 * len(stored), sorted(ours ^ stored)[:20]


@pytest.fixture
def runtime(migrated_db: Path) -> Iterator[Runtime]:
    made = Runtime(Settings(db_path=migrated_db, embedder="none"))
    yield made
    made.close()


def write(
    runtime: Runtime,
    texts: list[str],
    ns: str = "p",
    agent: str = "a",
    metadata: dict[str, Any] | None = None,
) -> list[int]:
    items = [{"content": t, **({"metadata": metadata} if metadata else {})} for t in texts]
    return [r.memory.id for r in runtime.memories.create_batch(namespace=ns, agent_id=agent, items=items)]


def ranked(runtime: Runtime, query: str, ns: str = "p", n: int = 10) -> list[tuple[int, float]]:
    found = runtime.retrieval.text.search(ns, fts.query_terms(query), n)
    assert found is not None, "namespace not loaded"
    return found


def fts5_ranked(runtime: Runtime, query: str, ns: str = "p", n: int = 10) -> list[tuple[int, float]]:
    rows = runtime.db.reader().execute(
        "SELECT rowid, -bm25(memories_fts, ?, ?, 0.0) AS s FROM memories_fts WHERE memories_fts MATCH ?"
        " ORDER BY s DESC LIMIT ?",
        (fts.CONTENT_WEIGHT, fts.CONTEXT_WEIGHT, fts.match_expression(ns, fts.query_terms(query)), n),
    )
    return [(int(r[0]), float(r[1])) for r in rows]


@pytest.mark.parametrize(
    "query",
    [
        "deploy on friday",
        "billing invoices",
        "bananas potassium",
        "cafe creme",
        "release digits names",
        "speaker Alice",
    ],
)
def test_scores_equal_fts5_bm25_in_a_one_namespace_database(runtime: Runtime, query: str) -> None:
    write(runtime, TEXTS[:4], metadata={"speaker": "Alice"})
    write(runtime, TEXTS[4:], metadata={"speaker": "Bob", "tags": "misc"})
    runtime.retrieval.text.load("p")
    ours, theirs = ranked(runtime, query), fts5_ranked(runtime, query)
    assert theirs, "the query must match something"
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-4)


def test_writes_are_searchable_at_once_and_deletes_gone(runtime: Runtime) -> None:
    ids = write(runtime, TEXTS)
    runtime.retrieval.text.load("p")
    (new,) = write(runtime, ["The quarterly roadmap moves the gateway to gRPC."])
    assert [i for i, _ in ranked(runtime, "roadmap gateway")] == [new]

    runtime.memories.update(
        ids[6], {"content": "Oranges are orange."}, namespace="p", agent_id="a", sharing_enabled=False
    )
    assert ids[6] not in [i for i, _ in ranked(runtime, "bananas")]
    assert [i for i, _ in ranked(runtime, "oranges")] == [ids[6]]

    runtime.memories.update(
        ids[2], {"metadata": {"speaker": "Zebediah"}}, namespace="p", agent_id="a", sharing_enabled=False
    )
    assert [i for i, _ in ranked(runtime, "zebediah")] == [ids[2]]

    runtime.memories.delete(new, namespace="p", agent_id="a", sharing_enabled=False)
    assert ranked(runtime, "roadmap gateway") == []
    assert runtime.retrieval.text.size("p") == len(TEXTS)


def test_namespaces_are_separate_indexes(runtime: Runtime) -> None:
    write(runtime, ["alpha secret in namespace p"], ns="p")
    (other,) = write(runtime, ["alpha secret in namespace q"], ns="q")
    runtime.retrieval.text.load("q")
    assert [i for i, _ in ranked(runtime, "alpha secret", ns="q")] == [other]


def test_a_small_namespace_loads_within_its_first_search(runtime: Runtime) -> None:
    (found,) = write(runtime, ["The gateway speaks gRPC."], ns="fresh")
    hits = runtime.retrieval.search(agent_id="a", namespace="fresh", query="gateway", k=3).hits
    assert [h.memory.id for h in hits] == [found]
    assert runtime.retrieval.text.loaded("fresh")


def test_a_large_namespace_answers_from_fts5_until_loaded_then_from_memory(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text_index, "SMALL_NAMESPACE", 3)  # TEXTS is "large" now
    write(runtime, TEXTS)
    text = runtime.retrieval.text
    first = runtime.retrieval.search(agent_id="a", namespace="p", query="billing invoices", k=3)
    assert first.hits and "billing" in first.hits[0].memory.content.lower()
    for _ in range(500):  # the first search started a background load
        if text.loaded("p"):
            break
        threading.Event().wait(0.01)
    assert text.loaded("p")
    again = runtime.retrieval.search(agent_id="a", namespace="p", query="billing invoices", k=3)
    assert [h.memory.id for h in again.hits] == [h.memory.id for h in first.hits]
    assert runtime.retrieval.status()["text_index"]["namespaces_loaded"] == 1


def test_a_small_scope_in_a_crowded_namespace_still_gets_its_matches(runtime: Runtime) -> None:
    write(runtime, [f"deploy note number {i} about the deploy train" for i in range(260)], agent="crowd")
    mine = write(runtime, ["my deploy checklist", "deploy rollback drill"], agent="me")
    runtime.retrieval.text.load("p")
    visibility = Visibility(agent_id="me", namespace="p", sharing_enabled=False)
    pool = ranked(runtime, "deploy", n=fts.pool_size(10))
    assert not set(mine) & {i for i, _ in pool}, "the crowd fills the pool: the fallback must find mine"
    found = fts.fulltext_search(runtime.db.reader(), visibility, Filters(), ["deploy"], 10, ranked=pool)
    assert sorted(i for i, _ in found) == sorted(mine)


def test_writes_and_deletes_during_a_load_are_not_lost(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_index, "SMALL_NAMESPACE", 0)  # load in the background
    ids = write(runtime, TEXTS)
    reader_started, release = threading.Event(), threading.Event()

    def slow_loader(ns: str) -> Iterator[Any]:
        rows = list(fts.namespace_texts(runtime.db.reader(), ns))  # read before the writes below
        yield rows[0]  # all the first search's quick look at the size takes
        reader_started.set()
        assert release.wait(30)
        yield from rows[1:]

    index = TextIndex(slow_loader, lambda batch: fts.texts_of(runtime.db.reader(), batch))
    runtime.events.on_written(index.written)
    runtime.events.on_deleted(index.deleted)
    assert index.search("p", ["bananas"], 5) is None  # starts the load
    assert reader_started.wait(30)
    (late,) = write(runtime, ["A late memory about zeppelins."])
    runtime.memories.delete(ids[6], namespace="p", agent_id="a", sharing_enabled=False)
    release.set()
    for _ in range(500):
        if index.loaded("p"):
            break
        threading.Event().wait(0.01)
    assert [i for i, _ in index.search("p", ["zeppelins"], 5) or []] == [late]
    assert index.search("p", ["bananas"], 5) == []


def test_preload_loads_every_namespace_in_the_background(runtime: Runtime) -> None:
    write(runtime, TEXTS[:2], ns="small")
    write(runtime, TEXTS, ns="large")
    thread = runtime.retrieval.preload()
    thread.join(60)
    assert not thread.is_alive()
    assert sorted(runtime.retrieval.text.namespaces()) == ["large", "small"]
    status = runtime.retrieval.status()["text_index"]
    assert status["namespaces_loaded"] == 2 and status["loading"] == 0 and not status["preloading"]
