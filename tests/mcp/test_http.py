"""MCP over streamable HTTP at ``/mcp`` of a real ``memory-system serve`` subprocess."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("mcp", reason="the MCP server is the optional 'mcp' extra")

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def _run(url: str, headers: dict[str, str], script: Any) -> Any:
    with anyio.fail_after(120):
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with streamable_http_client(f"{url}/mcp", http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await script(session)


async def _ok(session: ClientSession, name: str, args: dict[str, Any]) -> Any:
    result = await session.call_tool(name, args)
    assert not result.is_error, result.content
    return result.structured_content


async def _session_script(session: ClientSession) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["entities"] = await _ok(
        session,
        "create_entities",
        {"entities": [{"name": "Ada", "entityType": "person", "observations": ["likes tea"]}]},
    )
    out["memory"] = await _ok(session, "remember", {"content": "The build runs on port 8123", "kind": "fact"})
    out["recall"] = await _ok(session, "recall", {"query": "build port"})
    out["context"] = await _ok(session, "get_context", {"query": "which port does the build use"})
    out["forget"] = await _ok(session, "forget", {"memory_id": out["memory"]["id"]})
    out["graph"] = await _ok(session, "read_graph", {})
    bad = await session.call_tool("remember", {"importance": "high"})
    out["bad"] = (bad.is_error, bad.content[0].text)
    out["after"] = await _ok(session, "recall", {"query": "build port"})
    return out


def test_a_token_session_over_http_acts_as_its_agent_and_namespace(serve_process: Any, cli: Any) -> None:
    served = serve_process()
    token = cli(
        "tokens", "create", "--agent", "ada", "--namespace", "proj", "--db", str(served.db), check=True
    )
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}

    out = anyio.run(_run, served.url, headers, _session_script)

    assert out["entities"]["entities"][0]["name"] == "Ada"
    memory = out["memory"]
    assert (memory["agent_id"], memory["namespace"]) == ("ada", "proj")
    assert [h["memory"]["id"] for h in out["recall"]["hits"]] == [memory["id"]]
    assert "8123" in json.dumps(out["context"])
    assert out["forget"] == {"deleted": memory["id"]}
    assert [e["name"] for e in out["graph"]["entities"]] == ["Ada"]
    assert out["bad"][0] is True and "content" in out["bad"][1]
    assert out["after"]["hits"] == []
    # the graph was written in the token's namespace, seen by the HTTP API with the same token
    listed = httpx.get(f"{served.url}/v1/entities", headers=headers, timeout=30)
    assert listed.status_code == 200 and "Ada" in listed.text


def test_without_or_with_a_wrong_token_is_401(serve_process: Any) -> None:
    served = serve_process()
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(f"{served.url}/mcp", json=body, headers=accept, timeout=30)
    wrong = httpx.post(
        f"{served.url}/mcp", json=body, headers={**accept, "Authorization": "Bearer nope"}, timeout=30
    )
    assert missing.status_code == 401 and "agent token required" in missing.json()["message"]
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert "/mcp" not in httpx.get(f"{served.url}/openapi.json", timeout=30).json()["paths"]


def test_dev_mode_takes_the_agent_from_headers(serve_process: Any) -> None:
    served = serve_process(dev=True)

    async def script(session: ClientSession) -> Any:
        return await _ok(session, "remember", {"content": "dev note"})

    memory = anyio.run(_run, served.url, {"X-Agent-Id": "bob", "X-Namespace": "sandbox"}, script)
    assert (memory["agent_id"], memory["namespace"]) == ("bob", "sandbox")
