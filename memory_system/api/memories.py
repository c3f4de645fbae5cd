"""HTTP routes: ``/v1/memories`` (create one or a batch, list, get, change, delete).

Thin: parse, evaluate the flags for this request, call ``runtime.memories``, render. Flags
are evaluated per request with the session (``X-Session-Id``) as the key, else
``agent:<agent_id>``. With ``USE_HIERARCHICAL_TIERS`` off the list is one flat tier: each
memory still shows the tier it is stored in, a ``tier`` filter is ignored, and the response
says ``"tiers": "flat"``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.sharing import flag_key
from memory_system.flags.names import USE_CROSS_AGENT_SHARING, USE_HIERARCHICAL_TIERS
from memory_system.memory.records.models import (
    MAX_BATCH,
    MAX_LIST_LIMIT,
    BatchTooLarge,
    MemoryConflict,
    MemoryError,
    MemoryFilter,
    MemoryForbidden,
    MemoryNotFound,
    MemoryValidationError,
    NewMemory,
)
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/memories", tags=["memories"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Caller = Annotated[Identity, Depends(agent_identity)]


class MemoryIn(BaseModel):
    """One memory to store. Only ``content`` is required."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(description="What to remember (up to 32 KiB).")
    kind: str = Field("note", description="fact, preference, decision, event, code_pattern, note, ...")
    tier: str | None = Field(None, description="working (needs a session), short_term or long_term; "
                             "default working inside a session, else short_term.")
    importance: float = Field(0.5, description="0 to 1.")
    metadata: dict[str, Any] | None = Field(None, description="Any JSON object; returned as given.")
    session_id: str | None = Field(None, description="Default: the X-Session-Id header.")
    user_id: str | None = None
    occurred_at: str | None = Field(None, description="ISO 8601, when it happened; default now.")
    expires_at: str | None = Field(None, description="ISO 8601; hidden after, deleted by maintenance.")
    visibility: str = Field("private", description="private (default) or namespace.")

    def to_new(self, session_header: str | None) -> NewMemory:
        return NewMemory(
            content=self.content, kind=self.kind, tier=self.tier, importance=self.importance,
            metadata=self.metadata, session_id=self.session_id or session_header, user_id=self.user_id,
            occurred_at=self.occurred_at, expires_at=self.expires_at, visibility=self.visibility,
        )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[MemoryIn] = Field(description=f"Up to {MAX_BATCH} memories, written all or none.")


def flags_for(runtime: Runtime, request: Request, caller: Identity) -> tuple[bool, bool]:
    """(tiers enabled, sharing enabled) for this request."""
    key = flag_key(request, caller)
    return runtime.flags.enabled(USE_HIERARCHICAL_TIERS, key), runtime.flags.enabled(USE_CROSS_AGENT_SHARING, key)


def refuse(exc: MemoryError) -> HTTPException:
    if isinstance(exc, MemoryValidationError):
        return HTTPException(413 if isinstance(exc, BatchTooLarge) else 422, detail=exc.to_dict())
    if isinstance(exc, MemoryNotFound):
        return HTTPException(404, detail={"error": "not_found", "message": str(exc)})
    if isinstance(exc, MemoryForbidden):
        return HTTPException(403, detail={"error": "forbidden", "message": str(exc)})
    if isinstance(exc, MemoryConflict):
        return HTTPException(409, detail={"error": "near_duplicate", "existing_id": exc.existing_id,
                                          "message": str(exc)})
    return HTTPException(422, detail={"error": "invalid_input", "message": str(exc)})


@router.post("", status_code=201)
def create_memory(body: MemoryIn, request: Request, response: Response, runtime: RuntimeDep,
                  caller: Caller) -> dict[str, Any]:
    """Store one memory (201). Near-identical content already stored by this agent in this
    namespace is reinforced instead (200, ``reinforced: true``)."""
    try:
        result = runtime.memories.create(namespace=caller.namespace, agent_id=caller.agent_id,
                                         item=body.to_new(request.headers.get("x-session-id")))
    except MemoryError as exc:
        raise refuse(exc) from None
    if result.reinforced:
        response.status_code = 200
    return result.to_dict()


@router.post("/batch", status_code=201)
def create_batch(body: BatchIn, request: Request, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Store up to 1,000 memories in one transaction. Every item is checked first: one bad item
    (its index and field named) and nothing is written. Embedding follows in the background."""
    session = request.headers.get("x-session-id")
    try:
        results = runtime.memories.create_batch(namespace=caller.namespace, agent_id=caller.agent_id,
                                                items=[item.to_new(session) for item in body.items])
    except MemoryError as exc:
        raise refuse(exc) from None
    reinforced = sum(1 for r in results if r.reinforced)
    return {
        "created": len(results) - reinforced,
        "reinforced": reinforced,
        "items": [{"id": r.memory.id, "reinforced": r.reinforced, "tier": r.memory.tier} for r in results],
    }


@router.get("")
def list_memories(
    request: Request,
    runtime: RuntimeDep,
    caller: Caller,
    kind: str | None = None,
    tier: Annotated[str | None, Query(description="Ignored while USE_HIERARCHICAL_TIERS is off.")] = None,
    session_id: str | None = None,
    user_id: str | None = None,
    created_after: Annotated[str | None, Query(description="ISO 8601, exclusive.")] = None,
    created_before: Annotated[str | None, Query(description="ISO 8601, exclusive.")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
) -> dict[str, Any]:
    """Memories this agent may see, newest first, one page at a time."""
    tiers_on, sharing_on = flags_for(runtime, request, caller)
    filters = MemoryFilter(kind=kind, tier=tier, session_id=session_id, user_id=user_id,
                           created_after=created_after, created_before=created_before)
    try:
        page = runtime.memories.list(namespace=caller.namespace, agent_id=caller.agent_id,
                                     sharing_enabled=sharing_on, tiers_enabled=tiers_on, filters=filters,
                                     cursor=cursor, limit=limit)
    except MemoryError as exc:
        raise refuse(exc) from None
    return {"memories": [m.to_dict() for m in page.items], "next_cursor": page.next_cursor,
            "tiers": "hierarchical" if tiers_on else "flat"}


@router.get("/{memory_id}")
def get_memory(memory_id: int, request: Request, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """One memory; 404 when it does not exist or is another agent's private memory."""
    _, sharing_on = flags_for(runtime, request, caller)
    try:
        return runtime.memories.get(memory_id, namespace=caller.namespace, agent_id=caller.agent_id,
                                    sharing_enabled=sharing_on).to_dict()
    except MemoryError as exc:
        raise refuse(exc) from None


@router.patch("/{memory_id}")
def update_memory(memory_id: int, body: dict[str, Any], request: Request, runtime: RuntimeDep,
                  caller: Caller) -> dict[str, Any]:
    """Change any of content, kind, tier, importance, metadata, user_id, occurred_at, expires_at,
    visibility. Only the owning agent may (403 for an agent it is shared with)."""
    _, sharing_on = flags_for(runtime, request, caller)
    try:
        return runtime.memories.update(memory_id, body, namespace=caller.namespace, agent_id=caller.agent_id,
                                       sharing_enabled=sharing_on).to_dict()
    except MemoryError as exc:
        raise refuse(exc) from None


@router.delete("/{memory_id}")
def delete_memory(memory_id: int, request: Request, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Delete for good: the row, its full-text entry and its vector. Only the owner may."""
    _, sharing_on = flags_for(runtime, request, caller)
    try:
        runtime.memories.delete(memory_id, namespace=caller.namespace, agent_id=caller.agent_id,
                                sharing_enabled=sharing_on)
    except MemoryError as exc:
        raise refuse(exc) from None
    return {"deleted": memory_id}
