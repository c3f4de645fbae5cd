"""MemoryStore's own promises beyond BaseStore's: an item is one memory of the service, with the
tier, importance and kind asked for, found by its namespace and key, ranked by the service."""

from __future__ import annotations

import asyncio
import re

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchItem

from memory_system.client import MemoryClient, MemoryServiceError
from memory_system.integrations.langgraph import MemoryStore
from tests.integrations.conftest import Agents


def test_an_item_is_one_memory_kept_across_puts(planner: MemoryClient) -> None:
    store = MemoryStore(planner)
    store.put(("users", "u1"), "prefs", {"food": "likes pizza", "n": 3})
    [memory] = planner.list_memories().memories
    assert memory.tier == "long_term" and memory.kind == "note"
    body, tag = memory.content.rsplit("\n", 1)
    assert body == "food: likes pizza\nn: 3" and re.fullmatch("#[0-9a-f]{16}", tag)
    assert memory.metadata["value"] == {"food": "likes pizza", "n": 3}
    assert memory.metadata["langgraph"]["prefix"] == {"d1": "users", "d2": "users.u1"}
    store.put(("users", "u1"), "prefs", {"food": "likes pasta"})
    [again] = planner.list_memories().memories
    assert again.id == memory.id and again.created_at == memory.created_at
    assert again.content == f"food: likes pasta\n{tag}" and again.updated_at >= memory.updated_at
    item = store.get(("users", "u1"), "prefs")
    assert item is not None and (item.created_at, item.updated_at) == (again.created_at, again.updated_at)


def test_two_keys_with_one_value_stay_two_items(planner: MemoryClient) -> None:
    """The service folds restated content into one memory; the item's tag in the content prevents it."""
    store = MemoryStore(planner)
    store.put(("n",), "a", {"text": "same"})
    store.put(("n",), "b", {"text": "same"})
    assert len(planner.list_memories().memories) == 2
    assert {i.key for i in store.search(("n",))} == {"a", "b"}


def test_tier_importance_kind_from_the_constructor_and_per_item(planner: MemoryClient) -> None:
    def per_item(op: PutOp) -> dict[str, object]:
        return {"tier": "short_term", "importance": 0.9} if op.key == "scratch" else {}

    store = MemoryStore(planner, tier="long_term", importance=0.7, kind="preference", memory_fields=per_item)
    store.put(("u",), "kept", {"v": 1})
    store.put(("u",), "scratch", {"v": 2})
    by_key = {m.metadata["langgraph"]["key"]: m for m in planner.list_memories().memories}
    assert (by_key["kept"].tier, by_key["kept"].importance, by_key["kept"].kind) == (
        "long_term",
        0.7,
        "preference",
    )
    assert (by_key["scratch"].tier, by_key["scratch"].importance) == ("short_term", 0.9)
    bad = MemoryStore(planner, memory_fields=lambda op: {"content": "x"})
    with pytest.raises(ValueError, match="memory_fields gave \\['content'\\]"):
        bad.put(("u",), "k", {"v": 1})


def test_a_query_is_the_services_ranking_over_the_indexed_fields(planner: MemoryClient) -> None:
    store = MemoryStore(planner, fields=["text"])
    store.put(("docs",), "deploy", {"text": "deploys freeze on fridays", "owner": "kubernetes team"})
    store.put(("docs",), "db", {"text": "the database listens on port 5432", "owner": "dba"})
    store.put(("docs",), "quiet", {"text": "friday deploys are forbidden"}, index=False)
    hits = store.search(("docs",), query="when do deploys freeze?")
    assert [h.key for h in hits] == ["deploy"]
    assert isinstance(hits[0], SearchItem) and hits[0].score is not None and hits[0].score > 0
    assert store.search(("docs",), query="kubernetes") == []  # "owner" is not an indexed field
    assert [h.key for h in store.search(("docs",), query="port 5432", limit=1)] == ["db"]
    quiet = planner.list_memories(metadata={"langgraph.key": "quiet"}).memories
    assert [len(m.content) for m in quiet] == [17]  # index=False: only the item's tag
    assert store.search(("docs",), query="docs quiet") == []  # namespace and key are not searched


def test_collections_keep_two_stores_of_one_agent_apart(planner: MemoryClient) -> None:
    a, b = MemoryStore(planner, collection="a"), MemoryStore(planner, collection="b")
    a.put(("x",), "k", {"v": "a"})
    b.put(("x",), "k", {"v": "b"})
    assert a.get(("x",), "k").value == {"v": "a"}  # type: ignore[union-attr]
    assert b.get(("x",), "k").value == {"v": "b"}  # type: ignore[union-attr]
    assert a.list_namespaces() == [("x",)] and len(a.search(())) == 1
    b.delete(("x",), "k")
    assert a.get(("x",), "k") is not None
    with pytest.raises(ValueError, match="collection"):
        MemoryStore(planner, collection="")


def test_other_memories_of_the_agent_are_neither_items_nor_touched(planner: MemoryClient) -> None:
    planner.remember("deploys freeze on fridays", kind="fact")
    store = MemoryStore(planner)
    assert store.search(()) == [] and store.list_namespaces() == []
    assert store.search((), query="deploys") == []
    store.put(("x",), "k", {"text": "deploys"})
    assert len(planner.list_memories().memories) == 2


def test_refusals_name_what_was_wrong_and_store_nothing(planner: MemoryClient) -> None:
    store = MemoryStore(planner)
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])  # batch checks the ops that skip put/get's checks
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp((), "k", {"v": 1})])
    with pytest.raises(NotImplementedError, match="TTL"):
        store.batch([PutOp(("t",), "k", {"v": 1}, ttl=5.0)])
    with pytest.raises(MemoryServiceError) as too_big:
        store.put(("big",), "k", {"blob": "x" * 20_000})
    assert too_big.value.status == 422 and too_big.value.field == "metadata"
    with pytest.raises(ValueError, match="search limit and offset"):
        store.search(("a",), limit=-1)
    assert planner.list_memories().memories == []


def test_abatch_runs_on_the_async_client(agents: Agents) -> None:
    async def scenario() -> None:
        async with agents.async_client(agents.planner) as aclient:
            with agents.client(agents.planner) as client:
                store = MemoryStore(client, aclient)
                await store.aput(("as",), "k", {"text": "written through the async client"})
                item = await store.aget(("as",), "k")
                assert item is not None and item.value["text"].startswith("written")
                hits = await store.asearch(("as",), query="async client")
                assert [h.key for h in hits] == ["k"]
                assert await store.alist_namespaces() == [("as",)]
                await store.adelete(("as",), "k")
                assert await store.aget(("as",), "k") is None
                assert client.list_memories().memories == []

    asyncio.run(scenario())
