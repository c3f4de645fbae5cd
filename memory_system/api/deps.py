"""Request dependencies every router shares: the runtime, who is calling, admin access."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from memory_system.runtime import Runtime


@dataclass(frozen=True)
class Identity:
    """Who a request acts as. Fixed by the agent token (or by dev headers in --dev mode)."""

    agent_id: str
    namespace: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def agent_identity(request: Request) -> Identity:
    """The calling agent. In --dev mode the X-Agent-Id / X-Namespace headers say it."""
    return Identity(
        agent_id=request.headers.get("x-agent-id", "dev"),
        namespace=request.headers.get("x-namespace", "default"),
    )
