"""HTTP routes: agent sessions (POST /v1/sessions, GET /v1/sessions/{id}, POST .../end).

Another agent's session, or none, is 404 (``api/errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memory_system.api.context import Context, ContextDep
from memory_system.api.deps import get_runtime
from memory_system.memory.sessions.registry import SessionRecord
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _body(record: SessionRecord, ctx: Context) -> dict[str, Any]:
    return {
        "session_id": record.id,
        "agent_id": record.agent_id,
        "namespace": record.namespace,
        "created_at": record.created_at,
        "last_active_at": record.last_active_at,
        "ended_at": record.ended_at,
        # Evaluated now, per request: a flag turned off shows here (and everywhere) at once.
        "flags": ctx.session_flags(record.id),
    }


@router.post("", status_code=201)
def start_session(runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Open a session for the calling agent; the flags say which phases it runs with."""
    return _body(runtime.sessions.start(ctx.caller.agent_id, ctx.caller.namespace), ctx)


def _own_session(
    act: Callable[[str, str, str], SessionRecord], session_id: str, ctx: Context
) -> dict[str, Any]:
    """Reading and ending a session answer alike: the caller's own session, else 404."""
    return _body(act(session_id, ctx.caller.agent_id, ctx.caller.namespace), ctx)


@router.get("/{session_id}")
def get_session(session_id: str, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.get, session_id, ctx)


@router.post("/{session_id}/end")
def end_session(session_id: str, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.end, session_id, ctx)
