"""HTTP routes of session state (``GET|PUT /v1/sessions/{id}/state``) and hand-off.

State is versioned: GET returns ``{state, version}`` and an ``ETag`` of the version; PUT
must say which version it replaces, as body field ``version`` or an ``If-Match`` header
(``If-Match: 3`` or ``"3"``). A stale PUT gets 409 with ``current_version`` in the body; one
without a version gets 428. Only the session's agent reads or writes it; to anyone else
the session does not exist (404).

``POST /v1/sessions/{id}/handoff {"to_agent_id": ...}`` passes the session on (see
``memory.handoff``); it needs ``USE_CROSS_AGENT_SHARING``, evaluated for this session
(``api/context``). Service errors are answered by ``api/errors``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from pydantic import BaseModel, ConfigDict

from memory_system.api.context import ContextDep
from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.sharing import counted, require_sharing
from memory_system.memory.sessions.state import SessionStateError
from memory_system.memory.sharing.grants import SharingError
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/sessions", tags=["session state and hand-off"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdentityDep = Annotated[Identity, Depends(agent_identity)]


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: dict[str, Any]
    version: int | None = None


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_agent_id: str


def _if_match_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip()
    text = text.removeprefix("W/")
    text = text.strip('"')
    if not text.isdigit():
        raise HTTPException(
            422,
            {
                "error": "invalid_if_match",
                "field": "If-Match",
                "message": f"If-Match {if_match!r} is not a state version; send the "
                'ETag from GET .../state, e.g. If-Match: "3"',
            },
        )
    return int(text)


@router.get("/{session_id}/state")
def get_state(
    session_id: str, response: Response, runtime: RuntimeDep, identity: IdentityDep
) -> dict[str, Any]:
    current = runtime.session_state.get(session_id, agent_id=identity.agent_id, namespace=identity.namespace)
    response.headers["ETag"] = f'"{current.version}"'
    return current.to_dict()


@router.put("/{session_id}/state")
def put_state(
    session_id: str,
    body: StateIn,
    response: Response,
    runtime: RuntimeDep,
    identity: IdentityDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Replace the state document; ``version`` (or If-Match) must be the one you read."""
    header_version = _if_match_version(if_match)
    if header_version is not None and body.version is not None and header_version != body.version:
        raise HTTPException(
            422,
            {
                "error": "version_mismatch",
                "field": "version",
                "message": f"body version {body.version} and If-Match {header_version} "
                "disagree; send one of them",
            },
        )
    version = body.version if body.version is not None else header_version
    written = runtime.session_state.put(
        session_id,
        agent_id=identity.agent_id,
        namespace=identity.namespace,
        state=body.state,
        version=version,
    )
    response.headers["ETag"] = f'"{written.version}"'
    return written.to_dict()


@router.post("/{session_id}/handoff", status_code=201)
def handoff(session_id: str, body: HandoffIn, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Hand the session over: a new session for ``to_agent_id`` with a copy of the state and the
    working memories moved to it; this session ends. Returns ``new_session_id``."""
    require_sharing(ctx.for_session(session_id), "a session hand-off")
    identity = ctx.caller
    with counted("handoff", (SharingError, SessionStateError)):
        result = runtime.handoff.handoff(
            session_id, agent_id=identity.agent_id, namespace=identity.namespace, to_agent_id=body.to_agent_id
        )
    return result.to_dict()
