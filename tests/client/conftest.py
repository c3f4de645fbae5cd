"""A real ``memory-system serve`` with two agents of one namespace, for the client's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from memory_system.ops import schema

ADMIN = "admin-token-for-client-tests-0123"


@dataclass
class Service:
    url: str
    planner: str  # agent tokens, namespace "proj"
    coder: str
    admin: str
    served: Any


@pytest.fixture
def service(serve_process: Callable[..., Any], cli: Callable[..., Any], tmp_path: Path) -> Service:
    db = tmp_path / "client" / "memory.db"
    db.parent.mkdir()
    schema.migrate(db)

    def issue(agent: str) -> str:
        out = cli("tokens", "create", "--agent", agent, "--namespace", "proj", "--db", str(db), check=True)
        return str(out.stdout.strip())

    planner, coder = issue("planner"), issue("coder")
    env = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}
    served = serve_process(db=db, env=env)
    return Service(served.url, planner, coder, ADMIN, served)
