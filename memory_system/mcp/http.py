"""The MCP server over streamable HTTP at ``/mcp`` of the service, one caller per agent token.

Every request authenticates as the HTTP API's do (``api/deps``): ``Authorization: Bearer
<agent token>`` fixes the agent id and the namespace (401 without one, or with an unknown
token); in ``--dev`` mode ``X-Agent-Id`` / ``X-Namespace`` say who calls (default dev /
default). The caller rides in the request's scope to the tool handlers, so one MCP session
can never act as another token's agent. The route is outside the OpenAPI schema.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from memory_system.mcp.memory_tools import Caller
from memory_system.mcp.server import build_server
from memory_system.runtime import Runtime

__all__ = ["PATH", "mount"]

PATH = "/mcp"
_CALLER = "mcp_caller"


def _caller_of(ctx: Any) -> Caller:
    caller: Caller = ctx.request.scope["state"][_CALLER]
    return caller


class _Authenticated:
    """ASGI app: authenticate, then hand the request to the session manager."""

    def __init__(self, runtime: Runtime, manager: StreamableHTTPSessionManager) -> None:
        self.runtime = runtime
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        caller = self._caller(headers)
        if isinstance(caller, str):
            body = json.dumps({"error": "unauthorized", "message": caller}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b"Bearer"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope = {**scope, "state": {**scope.get("state", {}), _CALLER: caller}}
        await self.manager.handle_request(scope, receive, send)

    def _caller(self, headers: dict[str, str]) -> Caller | str:
        if self.runtime.settings.dev:
            return Caller(headers.get("x-agent-id") or "dev", headers.get("x-namespace") or "default")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return (
                "agent token required: send 'Authorization: Bearer <token>'; an operator issues one "
                "with 'memory-system tokens create --agent A --namespace P'"
            )
        record = self.runtime.tokens.authenticate(token.strip())
        if record is None:
            return "unknown or revoked agent token"
        return Caller(record.agent_id, record.namespace)


def mount(app: Starlette, runtime: Runtime) -> None:
    """Serve MCP at ``/mcp`` of ``app``; the session manager runs for the app's lifespan."""
    manager = StreamableHTTPSessionManager(build_server(runtime, _caller_of))
    app.router.routes.append(Route(PATH, _Authenticated(runtime, manager), include_in_schema=False))
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        async with manager.run(), inner(app) as state:
            yield state

    app.router.lifespan_context = lifespan
