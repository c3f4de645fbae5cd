"""A LangGraph graph whose long-term memory is memory-system: what one thread learns, the next recalls.

    pip install 'memory-system[langgraph]'
    MEMORY_URL=http://127.0.0.1:8080 MEMORY_TOKEN=mst_... python examples/langgraph_memory.py

Two nodes, no model: ``recall`` searches the user's memories for the message (through the
node's ``runtime.store``), ``learn`` files a "remember: ..." message under the user's namespace
(through ``get_store()``). The checkpointer keeps each thread's state; the store keeps what
outlives a thread, in the service, as memories of the token's agent.
"""

from __future__ import annotations

import argparse
import os
import uuid
from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from memory_system.client import MemoryClient
from memory_system.integrations.langgraph import MemoryStore

PREFIX = "remember:"


class Turn(TypedDict, total=False):
    user_id: str
    message: str
    recalled: list[str]


def recall(state: Turn, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None, "compile the graph with store=..."
    found = runtime.store.search(("memories", state["user_id"]), query=state["message"], limit=3)
    return {"recalled": [str(item.value["text"]) for item in found]}


def learn(state: Turn) -> dict[str, Any]:
    message = state["message"]
    if message.startswith(PREFIX):
        text = message[len(PREFIX) :].strip()
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, text))  # the same fact twice is one item
        get_store().put(("memories", state["user_id"]), key, {"text": text})
    return {}


def build(store: BaseStore) -> CompiledStateGraph[Turn, None, Turn, Turn]:
    builder = StateGraph(Turn)
    builder.add_node("recall", recall)
    builder.add_node("learn", learn)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "learn")
    builder.add_edge("learn", END)
    return builder.compile(checkpointer=InMemorySaver(), store=store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MEMORY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("MEMORY_TOKEN"))
    args = parser.parse_args()
    with MemoryClient(args.url, token=args.token) as client:
        graph = build(MemoryStore(client))
        turns = [
            ("thread-1", "ada", "remember: I like pizza with olives"),
            ("thread-2", "ada", "what pizza do I like?"),
            ("thread-3", "bob", "what pizza do I like?"),
        ]
        for thread, user, message in turns:
            out = graph.invoke(Turn(user_id=user, message=message), {"configurable": {"thread_id": thread}})
            print(f"{thread} {user}: {message!r} -> recalled {out.get('recalled', [])}")


if __name__ == "__main__":
    main()
