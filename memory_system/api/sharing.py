"""HTTP routes of cross-agent sharing: grants on a memory and the audit trail.

``USE_CROSS_AGENT_SHARING`` is evaluated per request (``api/context``; key: ``X-Session-Id``,
else ``agent:<id>``). Off: share and revoke answer 409 ``feature_disabled`` naming the flag and
change nothing; stored grants stay and reads ignore them (the ``store.scope.Visibility`` every
read passes carries ``sharing_enabled``). Listing grants and reading the trail keep working,
so an operator can see what would come back.

Errors are JSON bodies ``{"detail": {"error", "field", "message"}}`` (``api/errors``); failed
share, revoke and hand-off calls count in ``memory_sharing_errors_total`` (refusals because the flag is
off do not: they are the rollback working, and would keep the sharing alert firing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from pydantic import Field

from memory_system.api import fields
from memory_system.api.context import Context, ContextDep
from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import AgentId, QueryRowId, RowIdPath, Timestamp
from memory_system.api.responses import answers
from memory_system.api.responses.sharing import ShareEvents, Shares
from memory_system.core.logging import log_event
from memory_system.core.metrics import SHARING_ERRORS
from memory_system.core.validation import INT64_MAX
from memory_system.flags.names import USE_CROSS_AGENT_SHARING
from memory_system.memory.sharing.grants import (
    MAX_EVENTS_PAGE,
    MAX_GRANTEES,
    Grant,
    SharingError,
    sharing_off_message,
)
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1", tags=["cross-agent sharing (Phase 3)"], responses=responses(401, 403, 404, 422, 500, 503)
)
FLAG_OFF = "USE_CROSS_AGENT_SHARING is off for this request (feature_disabled, naming the flag)."

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdentityDep = Annotated[Identity, Depends(agent_identity)]
_log = logging.getLogger(__name__)


def require_sharing(ctx: Context, action: str) -> None:
    """409 naming the flag when sharing is off for this request; nothing is changed."""
    if ctx.flags.sharing:
        return
    log_event(
        _log,
        "sharing_refused_flag_off",
        action=action,
        namespace=ctx.caller.namespace,
        flag=USE_CROSS_AGENT_SHARING,
    )
    raise HTTPException(
        409,
        {
            "error": "feature_disabled",
            "flag": USE_CROSS_AGENT_SHARING,
            "message": sharing_off_message(USE_CROSS_AGENT_SHARING, action),
        },
    )


@contextmanager
def counted(action: str, errors: tuple[type[Exception], ...]) -> Iterator[None]:
    """Count every failure (a 4xx included) as a sharing error; ``api/errors`` answers it."""
    try:
        yield
    except errors as exc:
        SHARING_ERRORS.inc()
        log_event(_log, "sharing_call_failed", action=action, error=str(exc))
        raise
    except Exception:
        SHARING_ERRORS.inc()
        raise


Grantees = Annotated[list[AgentId], Field(max_length=MAX_GRANTEES)]


class ShareIn(fields.Body):
    agent_ids: Grantees = Field(default_factory=list)
    namespace: bool = False
    expires_at: Timestamp | None = Field(None, description="In the future, with a timezone; null: never.")


class RevokeIn(fields.Body):
    agent_ids: Grantees = Field(default_factory=list)
    agent_id: AgentId | None = None
    namespace: bool = False


def _shares(memory_id: int, grants: list[Grant]) -> dict[str, Any]:
    return {"memory_id": memory_id, "shares": [g.to_dict() for g in grants]}


@router.post(
    "/memories/{memory_id:int}/shares",
    status_code=201,
    responses={**answers(Shares, 201), **responses(400, 409, 413, s409=FLAG_OFF)},
)
def share_memory(memory_id: RowIdPath, body: ShareIn, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Grant the caller's memory to named agents and/or its whole namespace, optionally until
    ``expires_at``; granting again updates the expiry. Returns every grant of the memory."""
    require_sharing(ctx, "sharing a memory")
    identity = ctx.caller
    with counted("share", (SharingError,)):
        grants = runtime.sharing.share(
            memory_id,
            agent_id=identity.agent_id,
            namespace=identity.namespace,
            grantees=body.agent_ids,
            whole_namespace=body.namespace,
            expires_at=body.expires_at,
        )
    return _shares(memory_id, grants)


@router.delete(
    "/memories/{memory_id:int}/shares",
    responses={**answers(Shares), **responses(400, 409, 413, s409=FLAG_OFF)},
)
def revoke_memory_shares(
    memory_id: RowIdPath,
    runtime: RuntimeDep,
    ctx: ContextDep,
    agent_id: Annotated[
        list[AgentId] | None,
        Query(max_length=MAX_GRANTEES, description="agent whose grant to revoke; repeat it"),
    ] = None,
    namespace: Annotated[bool, Query(description="revoke the namespace-wide grant")] = False,
    body: Annotated[RevokeIn | None, Body()] = None,
) -> dict[str, Any]:
    """Revoke grants named in the query (``?agent_id=b&namespace=true``) or the body
    (``{"agent_ids": [...], "namespace": true}``). Returns the grants left."""
    require_sharing(ctx, "revoking a share")
    identity = ctx.caller
    grantees = list(agent_id or [])
    whole = namespace
    if body is not None:
        grantees += body.agent_ids + ([body.agent_id] if body.agent_id is not None else [])
        whole = whole or body.namespace
    with counted("revoke", (SharingError,)):
        grants = runtime.sharing.revoke(
            memory_id,
            agent_id=identity.agent_id,
            namespace=identity.namespace,
            grantees=grantees,
            whole_namespace=whole,
        )
    return _shares(memory_id, grants)


@router.get("/memories/{memory_id:int}/shares", responses=answers(Shares))
def list_memory_shares(memory_id: RowIdPath, runtime: RuntimeDep, identity: IdentityDep) -> dict[str, Any]:
    """The grants of the caller's own memory, expired ones with ``active: false``."""
    grants = runtime.sharing.list_shares(memory_id, agent_id=identity.agent_id, namespace=identity.namespace)
    return _shares(memory_id, grants)


@router.get("/shares/events", responses=answers(ShareEvents))
def share_events(
    runtime: RuntimeDep,
    identity: IdentityDep,
    memory_id: QueryRowId = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="next_before_id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """The audit trail of grants, revokes and hand-offs the caller took part in, newest first."""
    events = runtime.sharing.list_events(
        agent_id=identity.agent_id,
        namespace=identity.namespace,
        memory_id=memory_id,
        before_id=before_id,
        limit=limit,
    )
    return {
        "events": [e.to_dict() for e in events],
        "next_before_id": events[-1].id if len(events) == limit else None,
    }
