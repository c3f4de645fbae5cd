"""HTTP routes: agent sessions (POST /v1/sessions, GET /v1/sessions/{id}, POST .../end).

Another agent's session, or none, is 404 (``api/errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memory_system.api.context import Context, ContextDep
from memory_system.api.deps import get_runtime
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.sessions import Session
from memory_system.memory.sessions.registry import SessionRecord
from memory_system.runtime import Runtime

# 422: a JSON body these routes ignore is still checked (api/json_body).
router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=responses(401, 403, 404, 500, 503))

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


@router.post("", status_code=201, responses={**answers(Session, 201), **responses(422)})
def start_session(runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Open a session for the calling agent; the flags say which phases it runs with."""
    return _body(runtime.sessions.start(ctx.caller.agent_id, ctx.caller.namespace), ctx)


def _own_session(
    act: Callable[[str, str, str], SessionRecord], session_id: str, ctx: Context
) -> dict[str, Any]:
    """Reading and ending a session answer alike: the caller's own session, else 404."""
    return _body(act(session_id, ctx.caller.agent_id, ctx.caller.namespace), ctx)


@router.get("/{session_id}", responses={**answers(Session), **responses(422)})
def get_session(session_id: str, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.get, session_id, ctx)


@router.post("/{session_id}/end", responses={**answers(Session), **responses(422)})
def end_session(session_id: str, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.end, session_id, ctx)
