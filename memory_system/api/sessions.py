"""HTTP routes: agent sessions (POST /v1/sessions, GET /v1/sessions/{id}, POST .../end)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.memory.sessions.registry import SessionNotFound, SessionRecord
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdentityDep = Annotated[Identity, Depends(agent_identity)]


def _body(record: SessionRecord, runtime: Runtime) -> dict[str, Any]:
    return {
        "session_id": record.id,
        "agent_id": record.agent_id,
        "namespace": record.namespace,
        "created_at": record.created_at,
        "last_active_at": record.last_active_at,
        "ended_at": record.ended_at,
        # Evaluated now, per request: a flag turned off shows here (and everywhere) at once.
        "flags": runtime.flags.evaluate_all(record.id),
    }


@router.post("", status_code=201)
def start_session(runtime: RuntimeDep, identity: IdentityDep) -> dict[str, Any]:
    """Open a session for the calling agent; the flags say which phases it runs with."""
    return _body(runtime.sessions.start(identity.agent_id, identity.namespace), runtime)


def _own_session(
    act: Callable[[str, str, str], SessionRecord], session_id: str, runtime: Runtime, identity: Identity
) -> dict[str, Any]:
    """Reading and ending a session answer alike: the caller's own session, else 404."""
    try:
        record = act(session_id, identity.agent_id, identity.namespace)
    except SessionNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return _body(record, runtime)


@router.get("/{session_id}")
def get_session(session_id: str, runtime: RuntimeDep, identity: IdentityDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.get, session_id, runtime, identity)


@router.post("/{session_id}/end")
def end_session(session_id: str, runtime: RuntimeDep, identity: IdentityDep) -> dict[str, Any]:
    return _own_session(runtime.sessions.end, session_id, runtime, identity)
