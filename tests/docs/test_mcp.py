"""docs/mcp.md: the Claude Desktop snippet and the ``claude mcp add`` lines reach a working server."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp", reason="the MCP server is the optional 'mcp' extra")

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.MULTILINE | re.DOTALL)


def _env(tmp_path: Path) -> dict[str, str]:
    # The commands name no database: it is the default one, under this HOME.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_SYSTEM_")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
    return {**clean, "HOME": str(tmp_path), "PATH": path}


async def _remember_and_recall_in(session: ClientSession) -> tuple[str, int]:
    await session.initialize()
    made = await session.call_tool("remember", {"content": "the doc command works"})
    assert not made.is_error, made.content
    found = await session.call_tool("recall", {"query": "doc command"})
    assert not found.is_error, found.content
    assert made.structured_content is not None and found.structured_content is not None
    return made.structured_content["agent_id"], len(found.structured_content["hits"])


async def _remember_and_recall(params: StdioServerParameters) -> tuple[str, int]:
    with anyio.fail_after(120):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                return await _remember_and_recall_in(session)


async def _remember_and_recall_over_http(url: str, headers: dict[str, str]) -> tuple[str, int]:
    with anyio.fail_after(120):
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    return await _remember_and_recall_in(session)


def test_the_claude_desktop_snippet_starts_the_server(tmp_path: Path) -> None:
    (snippet,) = [b for b in _blocks("json") if "mcpServers" in b]
    server = json.loads(snippet)["mcpServers"]["memory-system"]
    params = StdioServerParameters(command=server["command"], args=server["args"], env=_env(tmp_path))
    assert anyio.run(_remember_and_recall, params) == ("claude-desktop", 1)


def test_the_claude_mcp_add_line_starts_the_server(tmp_path: Path) -> None:
    lines = [line for b in _blocks("bash") for line in b.splitlines() if line.startswith("claude mcp add")]
    stdio = [line for line in lines if " -- " in line]
    assert len(stdio) == 1
    command, *args = shlex.split(stdio[0].split(" -- ", 1)[1])
    params = StdioServerParameters(command=command, args=args, env=_env(tmp_path))
    assert anyio.run(_remember_and_recall, params) == ("claude-code", 1)


def _http_line() -> list[str]:
    lines = [line for b in _blocks("bash") for line in b.splitlines() if line.startswith("claude mcp add")]
    (http,) = [line for line in lines if "--transport http" in line]
    return shlex.split(http)


def test_the_claude_mcp_add_http_line_reaches_the_service(serve_process: Any, cli: Any) -> None:
    """The doc's token command, then the doc's URL and header (only the port and token filled in)."""
    words = _http_line()
    assert words[:5] == ["claude", "mcp", "add", "--transport", "http"]
    name, url = words[5], words[6]
    header = words[words.index("--header") + 1]
    served = serve_process()
    (token_line,) = re.findall(r"`(memory-system tokens create [^`]+)`", DOC.read_text())
    token = cli(*shlex.split(token_line)[1:], "--db", str(served.db), check=True).stdout.strip()
    port = served.url.rsplit(":", 1)[1]
    header_name, header_value = header.split(": ", 1)
    headers = {header_name: header_value.replace("<token>", token)}

    got = anyio.run(_remember_and_recall_over_http, url.replace(":8000", f":{port}"), headers)

    assert name == "memory-system"
    assert got == ("claude-code", 1)
