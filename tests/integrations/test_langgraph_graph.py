"""A real LangGraph graph compiled with ``store=MemoryStore(...)``: what a node stores in one
thread, a node of another thread recalls, from the service. Deterministic nodes, no model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from memory_system.client import MemoryClient
from memory_system.integrations.langgraph import MemoryStore
from tests.integrations.conftest import Agents

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langgraph_memory.py"


class Turn(TypedDict, total=False):
    user_id: str
    message: str
    recalled: list[str]


def recall(state: Turn, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    found = runtime.store.search(("memories", state["user_id"]), query=state["message"], limit=3)
    return {"recalled": [item.value["text"] for item in found]}


def learn(state: Turn) -> dict[str, Any]:
    if state["message"].startswith("remember: "):
        text = state["message"].removeprefix("remember: ")
        store = get_store()
        count = len(store.search(("memories", state["user_id"]), limit=100))
        store.put(("memories", state["user_id"]), f"fact-{count}", {"text": text})
    return {}


async def arecall(state: Turn, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    found = await runtime.store.asearch(("memories", state["user_id"]), query=state["message"], limit=3)
    return {"recalled": [item.value["text"] for item in found]}


async def alearn(state: Turn, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    if state["message"].startswith("remember: "):
        text = state["message"].removeprefix("remember: ")
        await runtime.store.aput(("memories", state["user_id"]), "async-fact", {"text": text})
    return {}


def build(store: BaseStore, recall_node: Any = recall, learn_node: Any = learn) -> CompiledStateGraph[Any]:
    builder = StateGraph(Turn)
    builder.add_node("recall", recall_node)
    builder.add_node("learn", learn_node)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "learn")
    builder.add_edge("learn", END)
    return builder.compile(checkpointer=InMemorySaver(), store=store)


def turn(graph: CompiledStateGraph[Any], thread: str, user: str, message: str) -> list[str]:
    out = graph.invoke(Turn(user_id=user, message=message), {"configurable": {"thread_id": thread}})
    return list(out["recalled"])


def test_long_term_memory_outlives_the_thread_and_lives_in_the_service(
    agents: Agents, planner: MemoryClient
) -> None:
    graph = build(MemoryStore(planner))
    assert turn(graph, "t1", "ada", "remember: deploys happen on tuesdays") == []
    assert turn(graph, "t1", "ada", "remember: writes rust for tooling") == []
    assert turn(graph, "t2", "ada", "when are deploys?") == ["deploys happen on tuesdays"]
    assert turn(graph, "t3", "bob", "when are deploys?") == []  # bob's namespace is his own
    # The checkpointer kept each thread's own state; the store is what crossed threads.
    state = graph.get_state({"configurable": {"thread_id": "t1"}}).values
    assert state["message"] == "remember: writes rust for tooling"
    stored = planner.list_memories().memories
    assert sorted(m.metadata["value"]["text"] for m in stored) == [
        "deploys happen on tuesdays",
        "writes rust for tooling",
    ]
    assert {m.tier for m in stored} == {"long_term"}
    # A new graph on a new client, as a restarted worker would have: the memory is still there.
    with agents.client(agents.planner) as fresh:
        assert turn(build(MemoryStore(fresh)), "t9", "ada", "is rust in use?") == ["writes rust for tooling"]


def test_an_async_graph_runs_on_the_async_client(agents: Agents) -> None:
    async def scenario() -> None:
        async with agents.async_client(agents.planner) as aclient:
            with agents.client(agents.planner) as client:
                graph = build(MemoryStore(client, aclient), arecall, alearn)
                learn = Turn(user_id="ada", message="remember: ada likes green tea")
                await graph.ainvoke(learn, {"configurable": {"thread_id": "a1"}})
                ask = Turn(user_id="ada", message="what tea?")
                out = await graph.ainvoke(ask, {"configurable": {"thread_id": "a2"}})
                assert out["recalled"] == ["ada likes green tea"]

    asyncio.run(scenario())


def test_the_example_recalls_across_threads(agents: Agents) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMORY_URL": agents.url, "MEMORY_TOKEN": agents.planner},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("-> recalled []")
    assert lines[1] == "thread-2 ada: 'what pizza do I like?' -> recalled ['I like pizza with olives']"
    assert lines[2] == "thread-3 bob: 'what pizza do I like?' -> recalled []"
