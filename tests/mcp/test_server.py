"""``memory-system mcp`` driven by a real MCP client session over stdio (a subprocess)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the MCP server is the optional 'mcp' extra")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from memory_system.mcp.server import tool_definitions
from memory_system.memory.graph.entities import Entity, KnowledgeGraph
from memory_system.store.connection import Database

Rows = Callable[[Path], object]

REFERENCE_TOOLS = {
    "create_entities": ["entities"],
    "create_relations": ["relations"],
    "add_observations": ["observations"],
    "delete_entities": ["entityNames"],
    "delete_observations": ["deletions"],
    "delete_relations": ["relations"],
    "read_graph": [],
    "search_nodes": ["query"],
    "open_nodes": ["names"],
}


def _params(db: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "memory_system", "mcp", "--db", str(db), *extra],
        env={**os.environ, "HOME": str(db.parent / "home")},
    )


async def _session(db: Path, script: Callable[[ClientSession], Any], *extra: str) -> Any:
    with anyio.fail_after(120):
        async with stdio_client(_params(db, *extra)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await script(session)


def _structured(result: Any) -> Any:
    """The structured result; the text block carries the same, as the reference writes it."""
    assert not result.is_error, result.content
    text = result.content[0].text
    if result.structured_content.get("success") is True:
        assert text == result.structured_content["message"]
    else:
        payload = json.loads(text)
        assert payload == result.structured_content or [payload] == list(result.structured_content.values())
    return result.structured_content


def test_tools_match_the_reference_servers_names_and_input_schemas(tmp_path: Path) -> None:
    async def script(session: ClientSession) -> Any:
        return (await session.list_tools()).tools

    tools = anyio.run(_session, tmp_path / "m.db", script)
    graph_tools = [t for t in tools if t.name in REFERENCE_TOOLS]
    assert {t.name: sorted(t.input_schema["properties"]) for t in graph_tools} == {
        name: sorted(props) for name, props in REFERENCE_TOOLS.items()
    }
    by_name = {t.name: t for t in tools}
    entity = by_name["create_entities"].input_schema["properties"]["entities"]["items"]
    assert entity["required"] == ["name", "entityType", "observations"]
    relation = by_name["create_relations"].input_schema["properties"]["relations"]["items"]
    assert relation["required"] == ["from", "to", "relationType"]
    assert by_name["read_graph"].annotations.read_only_hint is True
    assert by_name["delete_entities"].annotations.destructive_hint is True
    assert [t.name for t in tool_definitions()] == list(REFERENCE_TOOLS)


def test_a_session_creates_searches_opens_and_deletes(tmp_path: Path) -> None:
    db = tmp_path / "m.db"

    async def script(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["created"] = _structured(
            await session.call_tool(
                "create_entities",
                {
                    "entities": [
                        {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]},
                        {"name": "Babbage", "entityType": "person", "observations": []},
                        {"name": "Ada", "entityType": "robot", "observations": []},
                    ]
                },
            )
        )
        out["again"] = _structured(
            await session.call_tool(
                "create_entities", {"entities": [{"name": "Ada", "entityType": "person", "observations": []}]}
            )
        )
        out["relations"] = _structured(
            await session.call_tool(
                "create_relations",
                {"relations": [{"from": "Ada", "to": "Babbage", "relationType": "worked_with"}]},
            )
        )
        out["added"] = _structured(
            await session.call_tool(
                "add_observations",
                {"observations": [{"entityName": "Babbage", "contents": ["designed the Analytical Engine"]}]},
            )
        )
        out["search"] = _structured(await session.call_tool("search_nodes", {"query": "analytical"}))
        out["open"] = _structured(await session.call_tool("open_nodes", {"names": ["Ada"]}))
        out["del_obs"] = _structured(
            await session.call_tool(
                "delete_observations",
                {"deletions": [{"entityName": "Ada", "observations": ["wrote the first program"]}]},
            )
        )
        out["del_ent"] = _structured(await session.call_tool("delete_entities", {"entityNames": ["Babbage"]}))
        out["graph"] = _structured(await session.call_tool("read_graph", {}))
        resources = (await session.list_resources()).resources
        out["resources"] = [str(r.uri) for r in resources]
        out["resource"] = json.loads(
            (await session.read_resource("memory://knowledge-graph")).contents[0].text
        )
        return out

    out = anyio.run(_session, db, script)
    assert out["created"] == {
        "entities": [
            {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]},
            {"name": "Babbage", "entityType": "person", "observations": []},
        ]
    }
    assert out["again"] == {"entities": []}
    assert out["relations"]["relations"] == [{"from": "Ada", "to": "Babbage", "relationType": "worked_with"}]
    assert out["added"] == {
        "results": [{"entityName": "Babbage", "addedObservations": ["designed the Analytical Engine"]}]
    }
    assert [e["name"] for e in out["search"]["entities"]] == ["Babbage"]
    assert out["search"]["relations"] == out["relations"]["relations"]
    assert [e["name"] for e in out["open"]["entities"]] == ["Ada"]
    assert out["del_obs"] == {"success": True, "message": "Observations deleted successfully"}
    assert out["del_ent"] == {"success": True, "message": "Entities deleted successfully"}
    assert out["graph"] == {
        "entities": [{"name": "Ada", "entityType": "person", "observations": []}],
        "relations": [],
    }
    assert out["resources"] == ["memory://knowledge-graph"]
    assert out["resource"] == out["graph"]


def test_namespace_option_scopes_the_tools(migrated_db: Path) -> None:
    db = Database(migrated_db)
    KnowledgeGraph(db).create_entities([Entity("Secret", "note", ("only in proj-a",))], "proj-a")
    db.close()

    async def script(session: ClientSession) -> Any:
        seen = _structured(await session.call_tool("read_graph", {}))
        _structured(
            await session.call_tool(
                "create_entities",
                {"entities": [{"name": "Secret", "entityType": "other", "observations": []}]},
            )
        )
        return seen

    assert anyio.run(_session, migrated_db, script, "--namespace", "proj-b") == {
        "entities": [],
        "relations": [],
    }
    db = Database(migrated_db)
    graph = KnowledgeGraph(db)
    assert graph.read_graph("proj-a").entities == (Entity("Secret", "note", ("only in proj-a",)),)
    assert graph.read_graph("proj-b").entities == (Entity("Secret", "other", ()),)
    db.close()


def test_bad_calls_are_tool_errors_naming_the_field_and_change_nothing(
    migrated_db: Path, graph_rows: Rows
) -> None:
    db = Database(migrated_db)
    KnowledgeGraph(db).create_entities([Entity("Ada", "person", ("x",))])
    db.close()
    before = graph_rows(migrated_db)

    async def bad(session: ClientSession) -> list[tuple[bool, str]]:
        calls = [
            ("create_entities", {"entities": [{"name": "B", "entityType": "t"}]}),  # observations missing
            ("create_entities", {"entities": [{"name": "", "entityType": "t", "observations": []}]}),
            ("create_relations", {"relations": [{"from": "Ada", "to": "Nobody", "relationType": "knows"}]}),
            ("add_observations", {"observations": [{"entityName": "Ghost", "contents": ["boo"]}]}),
            ("delete_entities", {"entityNames": "Ada"}),
            ("search_nodes", {}),
        ]
        results = []
        for name, args in calls:
            result = await session.call_tool(name, args)
            results.append((bool(result.is_error), result.content[0].text))
        return results

    results = anyio.run(_session, migrated_db, bad)
    assert all(is_error for is_error, _ in results), results
    texts = [text for _, text in results]
    assert "entities[0]" in texts[0] and "observations" in texts[0]
    assert "entities[0].name" in texts[1] and "empty" in texts[1]
    assert "relations[0].to" in texts[2] and "'Nobody'" in texts[2]
    assert "observations[0].entityName" in texts[3] and "'Ghost'" in texts[3]
    assert "entityNames" in texts[4]
    assert "query" in texts[5]
    assert graph_rows(migrated_db) == before


def test_a_database_that_is_not_sqlite_is_refused_before_serving(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_text("this is not a database " * 100)
    proc = cli("mcp", "--db", str(bad), input="")
    assert proc.returncode == 1 and "not" in proc.stderr and proc.stdout == ""
