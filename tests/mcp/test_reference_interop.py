"""Interop: the graph tools against the reference memory server itself, step for step.

The fixture installs ``@modelcontextprotocol/server-memory`` (pinned) from the npm registry
into ``.cache/npm`` (git-ignored; installed once, reused after). If npm or the registry is
unreachable the test FAILS, on purpose: this machine kind has node, npm and registry access,
and a skipped interop test would let the drop-in claim rot unnoticed.

Both servers get the same tool calls over stdio and must answer alike: same tool names and
input schemas (ours add ``additionalProperties: false``, and ``required: []`` on read_graph,
which the comparison sets aside), same structured results. One difference is known and
kept on purpose, the reference's duplicate-relation quirk: a relation given twice in one
create_relations call is stored and returned twice by the reference (and then read back
twice by every read), once by memory-system, which keeps relations a set.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the MCP server is the optional 'mcp' extra")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

PACKAGE, VERSION = "@modelcontextprotocol/server-memory", "2026.8.31"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "npm"
BIN = CACHE / "node_modules" / ".bin" / "mcp-server-memory"
INSTALLED = CACHE / "node_modules" / PACKAGE / "package.json"

ADA = {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}
BABBAGE = {"name": "Babbage", "entityType": "person", "observations": []}
WORKED = {"from": "Ada", "to": "Babbage", "relationType": "worked_with"}
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("create_entities", {"entities": [ADA, BABBAGE]}),
    ("create_entities", {"entities": [ADA]}),
    ("create_relations", {"relations": [WORKED]}),
    ("create_relations", {"relations": [WORKED]}),
    ("add_observations", {"observations": [{"entityName": "Babbage", "contents": ["designed an engine"]}]}),
    ("read_graph", {}),
    ("search_nodes", {"query": "engine"}),
    ("open_nodes", {"names": ["Ada"]}),
    (
        "delete_observations",
        {"deletions": [{"entityName": "Ada", "observations": ["wrote the first program"]}]},
    ),
    ("delete_relations", {"relations": [WORKED]}),
    ("delete_entities", {"entityNames": ["Babbage"]}),
    ("read_graph", {}),
]
ADMIRED = {**WORKED, "relationType": "admired"}
# The duplicate-relation quirk, run after the sequence that must match exactly.
QUIRK: list[tuple[str, dict[str, Any]]] = [
    ("create_entities", {"entities": [BABBAGE]}),
    ("create_relations", {"relations": [ADMIRED, ADMIRED]}),
    ("read_graph", {}),
]


@pytest.fixture(scope="session")
def reference_server() -> Path:
    # Test workers in parallel (pytest -n) each run this: one installs, the others wait for it.
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not INSTALLED.exists() or json.loads(INSTALLED.read_text())["version"] != VERSION:
            subprocess.run(
                ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"{PACKAGE}@{VERSION}"],
                check=True,
                timeout=600,
            )
    return BIN


async def _drive(params: StdioServerParameters) -> dict[str, Any]:
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t.input_schema for t in (await session.list_tools()).tools}
                results = []
                for name, args in [*CALLS, *QUIRK]:
                    result = await session.call_tool(name, args)
                    results.append((name, bool(result.is_error), result.structured_content))
                return {"tools": tools, "results": results}


def _strip(schema: Any) -> Any:
    """Input schemas without the keys zod adds and the reference does not promise ($schema)."""
    if isinstance(schema, dict):
        return {
            k: _strip(v)
            for k, v in schema.items()
            if k not in ("$schema", "additionalProperties") and (k, v) != ("required", [])
        }
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


def test_the_graph_tools_answer_like_the_reference_server(reference_server: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    ours = anyio.run(
        _drive,
        StdioServerParameters(
            command=sys.executable,
            args=["-m", "memory_system", "mcp", "--db", str(tmp_path / "m.db")],
            env=env,
        ),
    )
    theirs = anyio.run(
        _drive,
        StdioServerParameters(
            command=str(reference_server), env={**env, "MEMORY_FILE_PATH": str(tmp_path / "ref.jsonl")}
        ),
    )
    graph_tools = set(theirs["tools"])
    assert graph_tools <= set(ours["tools"])
    for name in graph_tools:
        assert _strip(ours["tools"][name]) == _strip(theirs["tools"][name]), name
    n = len(CALLS)
    assert ours["results"][:n] == theirs["results"][:n]
    assert ours["results"][n] == theirs["results"][n]
    assert theirs["results"][n + 1][2] == {"relations": [ADMIRED, ADMIRED]}
    assert ours["results"][n + 1][2] == {"relations": [ADMIRED]}
    assert theirs["results"][n + 2][2]["relations"] == [ADMIRED, ADMIRED]
    assert ours["results"][n + 2][2]["relations"] == [ADMIRED]
