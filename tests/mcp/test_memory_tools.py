"""The memory tools of ``memory-system mcp``, driven by a real MCP client session over stdio."""

from __future__ import annotations

import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the MCP server is the optional 'mcp' extra")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

MEMORY_TOOLS = {
    "remember",
    "recall",
    "get_context",
    "forget",
    "share",
    "revoke",
    "start_session",
    "get_session_state",
    "set_session_state",
    "get_preferences",
    "set_preference",
    "add_code_pattern",
    "search_code_patterns",
}


async def _run(db: Path, script: Any, *extra: str, env: dict[str, str] | None = None) -> Any:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "memory_system", "mcp", "--db", str(db), "--agent", "ada", "--namespace", "proj", *extra],
        env={**os.environ, "HOME": str(db.parent / "home"), **(env or {})},
    )
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await script(session)


async def ok(session: ClientSession, name: str, args: dict[str, Any]) -> Any:
    result = await session.call_tool(name, args)
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def refused(session: ClientSession, name: str, args: dict[str, Any]) -> str:
    result = await session.call_tool(name, args)
    assert result.is_error, result.content
    text: str = result.content[0].text
    return text


def test_a_session_creates_entities_remembers_recalls_gets_context_and_forgets(tmp_path: Path) -> None:
    async def script(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        tools = {t.name: t for t in (await session.list_tools()).tools}
        out["tools"] = set(tools)
        out["recall_read_only"] = tools["recall"].annotations.read_only_hint
        out["forget_destructive"] = tools["forget"].annotations.destructive_hint
        created = await session.call_tool(
            "create_entities",
            {"entities": [{"name": "Ada", "entityType": "person", "observations": ["likes tea"]}]},
        )
        out["entities"] = created.structured_content
        out["memory"] = await ok(
            session,
            "remember",
            {"content": "The deploy script lives in ops/deploy.sh", "kind": "fact", "importance": 0.9},
        )
        out["recall"] = await ok(session, "recall", {"query": "deploy script", "k": 5})
        out["context"] = await ok(session, "get_context", {"query": "how do I deploy", "token_budget": 500})
        out["forget"] = await ok(session, "forget", {"memory_id": out["memory"]["id"]})
        out["after"] = await ok(session, "recall", {"query": "deploy script"})
        return out

    out = anyio.run(_run, tmp_path / "m.db", script)
    assert out["entities"] == {
        "entities": [{"name": "Ada", "entityType": "person", "observations": ["likes tea"]}]
    }
    assert MEMORY_TOOLS <= out["tools"] and "create_entities" in out["tools"]
    assert out["recall_read_only"] is True and out["forget_destructive"] is True
    memory = out["memory"]
    assert (memory["agent_id"], memory["namespace"], memory["kind"]) == ("ada", "proj", "fact")
    assert [h["memory"]["id"] for h in out["recall"]["hits"]] == [memory["id"]]
    context = out["context"]
    assert "ops/deploy.sh" in json.dumps(context)
    assert out["forget"] == {"deleted": memory["id"]}
    assert out["after"]["hits"] == []


def test_state_preferences_and_code_patterns(tmp_path: Path) -> None:
    async def script(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        sid = (await ok(session, "start_session", {}))["session_id"]
        out["state0"] = await ok(session, "get_session_state", {"session_id": sid})
        out["state1"] = await ok(
            session, "set_session_state", {"session_id": sid, "state": {"step": 2}, "version": 0}
        )
        out["stale"] = await refused(
            session, "set_session_state", {"session_id": sid, "state": {"step": 3}, "version": 0}
        )
        await ok(session, "set_preference", {"user_id": "u1", "key": "tone", "value": "terse"})
        out["pref"] = await ok(session, "get_preferences", {"user_id": "u1", "key": "tone"})
        out["prefs"] = await ok(session, "get_preferences", {"user_id": "u1"})
        await ok(
            session,
            "add_code_pattern",
            {"language": "python", "name": "retry loop", "example": "for attempt in range(3): ..."},
        )
        out["patterns"] = await ok(session, "search_code_patterns", {"query": "retry"})
        return out

    out = anyio.run(_run, tmp_path / "m.db", script)
    assert out["state0"]["version"] == 0
    assert out["state1"]["state"] == {"step": 2} and out["state1"]["version"] == 1
    assert "stale" in out["stale"].lower() or "version" in out["stale"]
    assert out["pref"]["value"] == "terse"
    assert [p["key"] for p in out["prefs"]["preferences"]] == ["tone"]
    assert [p["name"] for p in out["patterns"]["code_patterns"]] == ["retry loop"]


def test_refusals_are_tool_errors_and_the_session_keeps_working(tmp_path: Path) -> None:
    async def script(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        memory = await ok(session, "remember", {"content": "a private note"})
        out["share"] = await refused(session, "share", {"memory_id": memory["id"], "agent_ids": ["bob"]})
        out["missing"] = await refused(session, "remember", {"kind": "fact"})
        out["bad_importance"] = await refused(session, "remember", {"content": "x", "importance": 7})
        out["blank"] = await refused(session, "remember", {"content": "   "})
        out["unknown_id"] = await refused(session, "forget", {"memory_id": 999999})
        out["bad_filters"] = await refused(session, "recall", {"query": "x", "filters": {"tier": "attic"}})
        out["still"] = await ok(session, "recall", {"query": "private note"})
        return out

    out = anyio.run(partial(_run, env={"USE_CROSS_AGENT_SHARING": "0"}), tmp_path / "m.db", script)
    assert "USE_CROSS_AGENT_SHARING" in out["share"] and "disabled" in out["share"]
    assert "content" in out["missing"]
    assert "importance" in out["bad_importance"]
    assert "content" in out["blank"]
    assert "999999" in out["unknown_id"] or "not found" in out["unknown_id"]
    assert "tier" in out["bad_filters"]
    assert len(out["still"]["hits"]) == 1


def test_in_legacy_mode_the_graph_tools_work_and_the_memory_tools_say_rolled_back(tmp_path: Path) -> None:
    from memory_system.ops import schema
    from memory_system.ops.db_rollback import execute_rollback, plan_rollback

    db = tmp_path / "m.db"
    schema.migrate(db)
    for version in (5, 4):  # option C's end state, recorded as db rollback records it
        execute_rollback(plan_rollback(db, version, backup_path=None, approved_by=[], emergency=True))

    async def script(session: ClientSession) -> dict[str, Any]:
        entity = {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}
        created = await session.call_tool("create_entities", {"entities": [entity]})
        assert not created.is_error, created.content
        opened = await session.call_tool("open_nodes", {"names": ["Ada"]})
        assert not opened.is_error, opened.content
        return {
            "graph": json.loads(opened.content[0].text),
            "remember": await refused(session, "remember", {"content": "a note"}),
            "session": await ok(session, "start_session", {}),
        }

    out = anyio.run(_run, db, script)
    assert [e["name"] for e in out["graph"]["entities"]] == ["Ada"]
    assert "rolled back" in out["remember"] and f"memory-system db migrate --db {db}" in out["remember"]
    assert out["session"]["session_id"]
    assert schema.is_legacy(db)  # starting the MCP server did not re-apply 004
