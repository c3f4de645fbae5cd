"""A real ``memory-system serve`` for the LangGraph store's tests: two agents of namespace
"proj" and one of namespace "other", each with its own token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from memory_system.client import AsyncMemoryClient, MemoryClient
from memory_system.ops import schema


@dataclass
class Agents:
    url: str
    planner: str  # namespace "proj"
    coder: str  # namespace "proj"
    stranger: str  # namespace "other"
    served: Any

    def client(self, token: str) -> MemoryClient:
        return MemoryClient(self.url, token=token, timeout_s=30)

    def async_client(self, token: str) -> AsyncMemoryClient:
        return AsyncMemoryClient(self.url, token=token, timeout_s=30)


@pytest.fixture
def agents(serve_process: Callable[..., Any], cli: Callable[..., Any], tmp_path: Path) -> Agents:
    db = tmp_path / "langgraph" / "memory.db"
    db.parent.mkdir()
    schema.migrate(db)

    def issue(agent: str, namespace: str) -> str:
        out = cli("tokens", "create", "--agent", agent, "--namespace", namespace, "--db", str(db), check=True)
        return str(out.stdout.strip())

    tokens = issue("planner", "proj"), issue("coder", "proj"), issue("stranger", "other")
    served = serve_process(db=db)
    return Agents(served.url, *tokens, served)


@pytest.fixture
def planner(agents: Agents) -> Iterator[MemoryClient]:
    with agents.client(agents.planner) as client:
        yield client
