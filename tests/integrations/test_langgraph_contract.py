"""BaseStore's documented contract, checked on MemoryStore and on LangGraph's own InMemoryStore.

LangGraph ships no behaviour suite for stores (``langgraph-checkpoint-conformance`` 0.0.2
covers checkpointers only), so these are the checks its docstrings promise, written once and
run against the reference implementation too: a check that InMemoryStore fails would be a
misreading of the contract, not a finding about ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from memory_system.integrations.langgraph import MemoryStore
from tests.integrations.conftest import Agents


@pytest.fixture(params=["memory-system", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[BaseStore]:
    if request.param == "in-memory":
        yield InMemoryStore()
        return
    agents: Agents = request.getfixturevalue("agents")
    with agents.client(agents.planner) as client:
        yield MemoryStore(client)


def keys(found: Sequence[Item]) -> set[tuple[tuple[str, ...], str]]:
    return {(item.namespace, item.key) for item in found}


def test_put_then_get_returns_the_item_with_its_times(store: BaseStore) -> None:
    value = {"text": "likes pizza", "tags": ["food"], "nested": {"n": 1}}
    store.put(("users", "u1"), "prefs", value)
    item = store.get(("users", "u1"), "prefs")
    assert item is not None
    assert (item.namespace, item.key, item.value) == (("users", "u1"), "prefs", value)
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    assert item.updated_at >= item.created_at
    assert store.get(("users", "u1"), "other") is None
    assert store.get(("users", "u2"), "prefs") is None
    assert store.get(("users",), "prefs") is None  # a namespace is exact, not a prefix, for get


def test_put_on_an_existing_key_replaces_the_value(store: BaseStore) -> None:
    store.put(("docs",), "d1", {"v": 1, "gone": True})
    first = store.get(("docs",), "d1")
    store.put(("docs",), "d1", {"v": 2})
    second = store.get(("docs",), "d1")
    assert first is not None and second is not None
    assert second.value == {"v": 2}
    assert second.updated_at >= first.updated_at  # created_at: InMemoryStore resets it, ours keeps it
    assert [i.value for i in store.search(("docs",))] == [{"v": 2}]  # one item, not two


def test_delete_and_put_none_remove_the_item_and_a_missing_key_is_no_error(store: BaseStore) -> None:
    store.put(("docs",), "a", {"v": 1})
    store.put(("docs",), "b", {"v": 2})
    store.delete(("docs",), "a")
    store.batch([PutOp(("docs",), "b", None)])
    store.delete(("docs",), "never-there")
    assert store.get(("docs",), "a") is None and store.get(("docs",), "b") is None
    assert store.search(("docs",)) == []


def test_search_keeps_to_the_prefix_label_by_label(store: BaseStore) -> None:
    for namespace in [("users", "u1"), ("users", "u1", "notes"), ("users", "u2"), ("users2",), ("teams",)]:
        store.put(namespace, "k", {"where": ".".join(namespace)})
    assert keys(store.search(("users",))) == {
        (("users", "u1"), "k"),
        (("users", "u1", "notes"), "k"),
        (("users", "u2"), "k"),
    }
    assert keys(store.search(("users", "u1"))) == {(("users", "u1"), "k"), (("users", "u1", "notes"), "k")}
    assert len(store.search((), limit=100)) == 5
    assert store.search(("nobody",)) == []


def test_search_filters_by_value_fields_and_operators(store: BaseStore) -> None:
    rows = {
        "a": {"color": "red", "score": 4.5, "meta": {"lang": "en"}},
        "b": {"color": "blue", "score": 3.0, "meta": {"lang": "fr"}},
        "c": {"color": "red", "score": 1.0, "meta": {"lang": "fr"}},
    }
    for key, value in rows.items():
        store.put(("shop",), key, value)

    def found(wanted: dict[str, object]) -> set[str]:
        return {item.key for item in store.search(("shop",), filter=wanted)}

    assert found({"color": "red"}) == {"a", "c"}
    assert found({"color": "red", "score": {"$gt": 2}}) == {"a"}
    assert found({"score": {"$gte": 3.0}}) == {"a", "b"}
    assert found({"score": {"$lt": 3.0}}) == {"c"}
    assert found({"score": {"$lte": 3.0}}) == {"b", "c"}
    assert found({"color": {"$ne": "red"}}) == {"b"}
    assert found({"color": {"$eq": "blue"}}) == {"b"}
    assert found({"meta": {"lang": "fr"}}) == {"b", "c"}
    assert found({"color": "green"}) == set()


def test_search_pages_with_limit_and_offset(store: BaseStore) -> None:
    for n in range(7):
        store.put(("pages",), f"k{n}", {"n": n})
    pages = [store.search(("pages",), limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert keys([i for p in pages for i in p]) == {(("pages",), f"k{n}") for n in range(7)}
    assert store.search(("pages",), limit=0) == []
    filtered = store.search(("pages",), filter={"n": {"$gte": 2}}, limit=2, offset=4)
    assert len(filtered) == 1 and filtered[0].value["n"] >= 2


def test_a_query_search_stays_inside_the_prefix_and_the_filter(store: BaseStore) -> None:
    store.put(("a",), "1", {"text": "the deploy runs on fridays", "team": "ops"})
    store.put(("a",), "2", {"text": "the deploy needs a review", "team": "dev"})
    store.put(("b",), "3", {"text": "the deploy of the other tenant", "team": "ops"})
    found = store.search(("a",), query="deploy", filter={"team": "ops"})
    assert keys(found) == {(("a",), "1")}


def test_list_namespaces_by_prefix_suffix_wildcards_depth_and_pages(store: BaseStore) -> None:
    for namespace in [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x", "c"),
        ("z", "b", "c"),
        ("z",),
    ]:
        store.put(namespace, "k", {"v": 1})
    assert store.list_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x", "c"),
        ("z",),
        ("z", "b", "c"),
    ]
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c")]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("a", "x", "c"), ("z", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [("a", "b", "c"), ("a", "b", "d"), ("z", "b", "c")]
    assert store.list_namespaces(prefix=("a",), suffix=("c",)) == [("a", "b", "c"), ("a", "x", "c")]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z",), ("z", "b")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "x", "c")]
    assert store.list_namespaces(prefix=("q",)) == []


def test_batch_answers_in_order_reads_first_and_the_last_put_wins(store: BaseStore) -> None:
    store.put(("b",), "old", {"v": "before"})
    results = store.batch(
        [
            PutOp(("b",), "new", {"v": 1}),
            GetOp(("b",), "old"),
            PutOp(("b",), "new", {"v": 2}),
            PutOp(("b",), "old", None),
            GetOp(("b",), "new"),
            SearchOp(("b",)),
            ListNamespacesOp(),
        ]
    )
    assert results[0] is None and results[2] is None and results[3] is None
    assert results[1] is not None and results[1].value == {"v": "before"}  # type: ignore[union-attr]
    assert results[4] is None  # the batch's own puts come after its reads
    assert keys(results[5]) == {(("b",), "old")}  # type: ignore[arg-type]
    assert results[6] == [("b",)]
    new = store.get(("b",), "new")
    assert new is not None and new.value == {"v": 2}
    assert store.get(("b",), "old") is None


def test_bad_namespaces_are_refused_before_anything_is_stored(store: BaseStore) -> None:
    for namespace in [(), ("langgraph", "x"), ("a.b",), ("",)]:
        with pytest.raises(InvalidNamespaceError):
            store.put(namespace, "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.get(("a.b",), "k")
    with pytest.raises(InvalidNamespaceError):
        store.search(("a.b",))
    assert store.search(()) == []


def test_ttl_is_refused_as_unsupported(store: BaseStore) -> None:
    assert store.supports_ttl is False
    with pytest.raises(NotImplementedError):
        store.put(("t",), "k", {"v": 1}, ttl=5)
    assert store.get(("t",), "k") is None


def test_the_async_methods_do_what_the_sync_ones_do(store: BaseStore) -> None:
    async def scenario() -> None:
        await store.aput(("as", "one"), "k1", {"text": "async put"})
        await store.aput(("as", "two"), "k2", {"text": "another"})
        item = await store.aget(("as", "one"), "k1")
        assert item is not None and item.value == {"text": "async put"}
        assert keys(await store.asearch(("as",))) == {(("as", "one"), "k1"), (("as", "two"), "k2")}
        assert await store.alist_namespaces(prefix=("as",)) == [("as", "one"), ("as", "two")]
        await store.adelete(("as", "one"), "k1")
        assert await store.aget(("as", "one"), "k1") is None

    asyncio.run(scenario())
