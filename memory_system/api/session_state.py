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
from pydantic import Field

from memory_system.api.context import ContextDep
from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import WHITESPACE, WHOLE, AgentId, Body
from memory_system.api.responses import answers
from memory_system.api.responses.sessions import Handoff, SessionState
from memory_system.api.sharing import counted, require_sharing
from memory_system.core.validation import INT64_MAX
from memory_system.memory.sessions.state import MAX_STATE_BYTES, SessionStateError
from memory_system.memory.sharing.grants import SharingError
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1/sessions", tags=["session state and hand-off"], responses=responses(401, 403, 404, 500, 503)
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdentityDep = Annotated[Identity, Depends(agent_identity)]


class StateIn(Body):
    state: dict[str, Any] = Field(description=f"A JSON object of at most {MAX_STATE_BYTES} bytes.")
    version: Annotated[int, Field(ge=0, le=INT64_MAX), WHOLE] | None = Field(
        None, description="The version you read (0 for a session without state), or If-Match."
    )


class HandoffIn(Body):
    to_agent_id: AgentId


# What _if_match_version reads: the ETag of GET .../state, quoted or not, weak or not. The route
# checks it itself (422 invalid_if_match names the header), so the schema says it, not pydantic.
IF_MATCH = f'^[{WHITESPACE}]*(W/)?"*[0-9]{{1,19}}"*[{WHITESPACE}]*$'


def _if_match_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip()
    text = text.removeprefix("W/")
    text = text.strip('"')
    if not text.isascii() or not text.isdigit() or int(text) > INT64_MAX:
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


@router.get("/{session_id}/state", responses={**answers(SessionState), **responses(422)})
def get_state(
    session_id: str, response: Response, runtime: RuntimeDep, identity: IdentityDep
) -> dict[str, Any]:
    current = runtime.session_state.get(session_id, agent_id=identity.agent_id, namespace=identity.namespace)
    response.headers["ETag"] = f'"{current.version}"'
    return current.to_dict()


@router.put(
    "/{session_id}/state",
    responses=answers(SessionState)
    | responses(
        400,
        409,
        413,
        422,
        428,
        s409="stale_version (current_version, and its ETag) or session_ended.",
        s428="version_required: send version or If-Match.",
    ),
)
def put_state(
    session_id: str,
    body: StateIn,
    response: Response,
    runtime: RuntimeDep,
    identity: IdentityDep,
    if_match: Annotated[str | None, Header(json_schema_extra={"pattern": IF_MATCH})] = None,
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


@router.post(
    "/{session_id}/handoff",
    status_code=201,
    responses=answers(Handoff, 201)
    | responses(
        400, 409, 413, 422, s409="feature_disabled (USE_CROSS_AGENT_SHARING is off), or session_ended."
    ),
)
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
