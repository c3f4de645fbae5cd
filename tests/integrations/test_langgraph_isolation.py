"""The agent's token is the store's isolation: another agent, or another namespace, sees none of
its items, unless they are shared with the namespace while USE_CROSS_AGENT_SHARING is on."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from memory_system.client import MemoryServiceError
from memory_system.integrations.langgraph import MemoryStore
from tests.integrations.conftest import Agents


def test_another_agent_or_namespace_sees_nothing(agents: Agents) -> None:
    with (
        agents.client(agents.planner) as planner,
        agents.client(agents.coder) as coder,
        agents.client(agents.stranger) as stranger,
    ):
        mine = MemoryStore(planner)
        mine.put(("users", "u1"), "prefs", {"food": "likes pizza"})
        for other in (MemoryStore(coder), MemoryStore(stranger)):
            assert other.get(("users", "u1"), "prefs") is None
            assert other.search(("users",)) == [] and other.search((), query="pizza") == []
            assert other.list_namespaces() == []
        # The same key written by another agent is that agent's own item.
        MemoryStore(coder).put(("users", "u1"), "prefs", {"food": "likes sushi"})
        assert mine.get(("users", "u1"), "prefs").value == {"food": "likes pizza"}  # type: ignore[union-attr]
        assert len(planner.list_memories().memories) == 1


def test_namespace_visibility_shares_items_while_sharing_is_on(
    agents: Agents, cli: Callable[..., Any]
) -> None:
    with agents.client(agents.planner) as planner, agents.client(agents.coder) as coder:
        MemoryStore(planner, visibility="namespace").put(("team",), "conventions", {"rule": "docstrings"})
        reader = MemoryStore(coder)
        shared = reader.get(("team",), "conventions")
        assert shared is not None and shared.value == {"rule": "docstrings"}
        assert [i.key for i in reader.search((), query="docstrings")] == ["conventions"]
        try:  # read-only for the other agent: only the owner changes a memory
            reader.put(("team",), "conventions", {"rule": "none"})
        except MemoryServiceError as error:
            assert error.status == 403
        else:
            raise AssertionError("another agent changed a shared item")
        with agents.client(agents.stranger) as stranger:
            assert MemoryStore(stranger).get(("team",), "conventions") is None
        cli("flags", "set", "USE_CROSS_AGENT_SHARING", "false", "--db", str(agents.served.db), check=True)
        deadline = time.monotonic() + 10
        while reader.get(("team",), "conventions") is not None:  # applied within 1 s
            assert time.monotonic() < deadline, "sharing off was not applied within 10 s"
            time.sleep(0.1)
        assert MemoryStore(planner).get(("team",), "conventions") is not None
