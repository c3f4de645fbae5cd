"""HTTP routes of cross-agent sharing: grants on a memory and the audit trail.

``USE_CROSS_AGENT_SHARING`` is evaluated per request (key: ``X-Session-Id``, else
``agent:<id>``). Off: share and revoke answer 409 ``feature_disabled`` naming the flag and
change nothing; stored grants stay and reads ignore them (``visible_sql``). Listing grants
and reading the trail keep working, so an operator can see what would come back.

Errors are JSON bodies ``{"detail": {"error", "field", "message"}}``; failed share, revoke
and hand-off calls count in ``memory_sharing_errors_total`` (refusals because the flag is
off do not: they are the rollback working, and would keep the sharing alert firing).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.flags import keys
from memory_system.flags.names import USE_CROSS_AGENT_SHARING
from memory_system.memory.sharing.grants import (
    MAX_EVENTS_PAGE,
    MAX_GRANTEES,
    Grant,
    InvalidShare,
    MemoryNotOwned,
    ShareNotFound,
    SharingError,
)
from memory_system.core.logging import log_event
from memory_system.core.metrics import SHARING_ERRORS
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["cross-agent sharing (Phase 3)"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdentityDep = Annotated[Identity, Depends(agent_identity)]
_log = logging.getLogger(__name__)


def flag_key(request: Request, identity: Identity, session_id: str | None = None) -> str:
    """The sticky rollout key of an HTTP request (``flags.keys.flag_key``): its session, else
    the agent. The session is the ``X-Session-Id`` header, else ``session_id`` from the body;
    the header wins when both are given, so every endpoint evaluates one request alike."""
    return keys.flag_key(request.headers.get("x-session-id") or session_id, identity.agent_id)


def sharing_enabled(
    request: Request, runtime: Runtime, identity: Identity, session_id: str | None = None
) -> bool:
    return runtime.flags.enabled(USE_CROSS_AGENT_SHARING, flag_key(request, identity, session_id))


def require_sharing(
    request: Request, runtime: Runtime, identity: Identity, action: str, session_id: str | None = None
) -> None:
    """409 naming the flag when sharing is off for this request; nothing is changed."""
    if sharing_enabled(request, runtime, identity, session_id):
        return
    log_event(_log, "sharing_refused_flag_off", action=action, namespace=identity.namespace,
              flag=USE_CROSS_AGENT_SHARING)
    raise HTTPException(409, {
        "error": "feature_disabled", "flag": USE_CROSS_AGENT_SHARING,
        "message": f"cross-agent sharing is disabled ({USE_CROSS_AGENT_SHARING} is off), so {action} is "
                   "refused; existing shares are kept and apply again when an operator turns the flag on",
    })


_STATUS: list[tuple[type[Exception], int]] = [
    (MemoryNotOwned, 404), (ShareNotFound, 404), (InvalidShare, 422),
]


def http_error(exc: Exception, status_by_type: list[tuple[type[Exception], int]]) -> HTTPException:
    status = next((code for kind, code in status_by_type if isinstance(exc, kind)), 422)
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()  # StaleVersion -> stale_version
    detail: dict[str, Any] = {"error": kind, "message": str(exc)}
    if field := getattr(exc, "field", None):
        detail["field"] = field
    return HTTPException(status, detail)


@contextmanager
def counted(
    action: str, errors: tuple[type[Exception], ...], status_by_type: list[tuple[type[Exception], int]]
) -> Iterator[None]:
    """Map service errors to HTTP ones; count every failure (a 4xx included) as a sharing error."""
    try:
        yield
    except errors as exc:
        SHARING_ERRORS.inc()
        log_event(_log, "sharing_call_failed", action=action, error=str(exc))
        raise http_error(exc, status_by_type) from exc
    except Exception:
        SHARING_ERRORS.inc()
        raise


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_ids: Annotated[list[str], Field(max_length=MAX_GRANTEES)] = []
    namespace: bool = False
    expires_at: str | None = None


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_ids: Annotated[list[str], Field(max_length=MAX_GRANTEES)] = []
    agent_id: str | None = None
    namespace: bool = False


def _shares(memory_id: int, grants: list[Grant]) -> dict[str, Any]:
    return {"memory_id": memory_id, "shares": [g.to_dict() for g in grants]}


@router.post("/memories/{memory_id}/shares", status_code=201)
def share_memory(
    memory_id: int, body: ShareIn, request: Request, runtime: RuntimeDep, identity: IdentityDep
) -> dict[str, Any]:
    """Grant the caller's memory to named agents and/or its whole namespace, optionally until
    ``expires_at``; granting again updates the expiry. Returns every grant of the memory."""
    require_sharing(request, runtime, identity, "sharing a memory")
    with counted("share", (SharingError,), _STATUS):
        grants = runtime.sharing.share(
            memory_id, agent_id=identity.agent_id, namespace=identity.namespace, grantees=body.agent_ids,
            whole_namespace=body.namespace, expires_at=body.expires_at,
        )
    return _shares(memory_id, grants)


@router.delete("/memories/{memory_id}/shares")
def revoke_memory_shares(
    memory_id: int, request: Request, runtime: RuntimeDep, identity: IdentityDep,
    agent_id: Annotated[list[str] | None, Query(description="agent whose grant to revoke; repeat it")] = None,
    namespace: Annotated[bool, Query(description="revoke the namespace-wide grant")] = False,
    body: Annotated[RevokeIn | None, Body()] = None,
) -> dict[str, Any]:
    """Revoke grants named in the query (``?agent_id=b&namespace=true``) or the body
    (``{"agent_ids": [...], "namespace": true}``). Returns the grants left."""
    require_sharing(request, runtime, identity, "revoking a share")
    grantees = list(agent_id or [])
    whole = namespace
    if body is not None:
        grantees += body.agent_ids + ([body.agent_id] if body.agent_id is not None else [])
        whole = whole or body.namespace
    with counted("revoke", (SharingError,), _STATUS):
        grants = runtime.sharing.revoke(
            memory_id, agent_id=identity.agent_id, namespace=identity.namespace, grantees=grantees,
            whole_namespace=whole,
        )
    return _shares(memory_id, grants)


@router.get("/memories/{memory_id}/shares")
def list_memory_shares(memory_id: int, runtime: RuntimeDep, identity: IdentityDep) -> dict[str, Any]:
    """The grants of the caller's own memory, expired ones with ``active: false``."""
    try:
        grants = runtime.sharing.list_shares(
            memory_id, agent_id=identity.agent_id, namespace=identity.namespace
        )
    except SharingError as exc:
        raise http_error(exc, _STATUS) from exc
    return _shares(memory_id, grants)


@router.get("/shares/events")
def share_events(
    runtime: RuntimeDep, identity: IdentityDep,
    memory_id: int | None = None,
    before_id: Annotated[int | None, Query(description="next_before_id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """The audit trail of grants, revokes and hand-offs the caller took part in, newest first."""
    try:
        events = runtime.sharing.list_events(agent_id=identity.agent_id, namespace=identity.namespace,
                                             memory_id=memory_id, before_id=before_id, limit=limit)
    except SharingError as exc:
        raise http_error(exc, _STATUS) from exc
    return {"events": [e.to_dict() for e in events],
            "next_before_id": events[-1].id if len(events) == limit else None}
