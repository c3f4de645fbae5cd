"""What a request carries (api/context): its flag key, and flags read once per request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.api.context import ContextDep
from memory_system.core.settings import Settings
from memory_system.flags.names import USE_HIERARCHICAL_TIERS
from memory_system.ops import schema
from memory_system.runtime import Runtime

A = {"X-Agent-Id": "a", "X-Namespace": "p"}
API = Path(__file__).resolve().parents[2] / "memory_system" / "api"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """The real app plus two routes that show a request's context."""
    db = tmp_path / "context.db"
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, dev=True, config_path=tmp_path / "none.json"))
    app = create_app(runtime)

    @app.post("/probe/{session_id}")
    def probe(session_id: str, ctx: ContextDep) -> dict[str, Any]:
        return {
            "flag_key": ctx.flag_key,
            "named": ctx.for_session(session_id).flag_key,
            "session_id": ctx.session_id,
        }

    @app.get("/probe-sticky")
    def sticky(ctx: ContextDep) -> dict[str, Any]:
        first = ctx.flags.tiers
        runtime.flags.set(USE_HIERARCHICAL_TIERS, not first, actor="test", source="api")
        return {
            "first": first,
            "again": ctx.flags.tiers,
            "now": runtime.flags.enabled(USE_HIERARCHICAL_TIERS, ctx.flag_key),
        }

    with TestClient(app) as client:
        yield client, runtime
    runtime.close()


def test_the_key_is_the_session_header_else_a_session_the_route_names_else_the_agent(
    served: tuple[TestClient, Runtime],
) -> None:
    client, _ = served
    assert client.post("/probe/s-path", headers=A).json() == {
        "flag_key": "agent:a",
        "named": "s-path",
        "session_id": None,
    }
    assert client.post("/probe/s-path", headers={**A, "X-Session-Id": "s-head"}).json() == {
        "flag_key": "s-head",
        "named": "s-head",
        "session_id": "s-head",
    }
    assert client.post("/probe/s-path", headers={**A, "X-Session-Id": ""}).json()["flag_key"] == "agent:a"


def test_a_request_keeps_the_flags_it_read_first(served: tuple[TestClient, Runtime]) -> None:
    client, _ = served
    seen = client.get("/probe-sticky", headers=A).json()
    assert seen["first"] is True and seen["again"] is True and seen["now"] is False
    assert client.get("/probe-sticky", headers=A).json()["first"] is False  # the next request sees it


def test_routes_see_the_rollout_of_their_session(served: tuple[TestClient, Runtime]) -> None:
    client, runtime = served
    runtime.flags.set(USE_HIERARCHICAL_TIERS, 0.5, actor="test", source="api")
    sessions = [f"session-{i}" for i in range(40)]
    shown = {
        s: client.get("/v1/memories", headers={**A, "X-Session-Id": s}).json()["tiers"] for s in sessions
    }
    expected = {
        s: "hierarchical" if runtime.flags.enabled(USE_HIERARCHICAL_TIERS, s) else "flat" for s in sessions
    }
    assert shown == expected
    assert set(shown.values()) == {"hierarchical", "flat"}


def test_no_route_evaluates_a_flag_itself() -> None:
    """Flags are read through api/context (the admin routes manage flags, they read none)."""
    evaluating = re.compile(r"\.flags\.(enabled|evaluate_all)\(|flag_key\(")
    offenders = [
        p.name
        for p in API.glob("*.py")
        if p.name not in ("context.py", "admin_flags.py") and evaluating.search(p.read_text())
    ]
    assert offenders == []
