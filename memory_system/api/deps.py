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


def require_admin(request: Request) -> None:
    """``Authorization: Bearer <admin token>``, compared in constant time.

    No token configured: 403 saying how to configure one. Missing or wrong token: 401.
    """
    import hmac

    from fastapi import HTTPException

    token = request.app.state.runtime.settings.admin_token
    if not token:
        raise HTTPException(
            status_code=403,
            detail="admin endpoints are disabled: no admin token is configured; set "
            "MEMORY_SYSTEM_ADMIN_TOKEN or \"adminToken\" in the config file and restart or reload",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(status_code=401, detail="admin token missing or wrong: send "
                            "'Authorization: Bearer <admin token>'",
                            headers={"WWW-Authenticate": "Bearer"})
