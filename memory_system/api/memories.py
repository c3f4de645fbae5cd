"""HTTP routes: ``/v1/memories`` (create one or a batch, list, get, change, delete).

Thin: parse, read the request's flags (``api/context``: keyed by the session, ``X-Session-Id``,
else ``agent:<agent_id>``), call ``runtime.memories``, render; its errors are answered by
``api/errors``. With ``USE_HIERARCHICAL_TIERS`` off the list is one flat tier: each
memory still shows the tier it is stored in, a ``tier`` filter is ignored, and the response
says ``"tiers": "flat"``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from memory_system.api.context import ContextDep
from memory_system.api.deps import get_runtime
from memory_system.memory.records.models import MAX_BATCH, MAX_LIST_LIMIT, MemoryFilter, NewMemory
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/memories", tags=["memories"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class MemoryIn(BaseModel):
    """One memory to store. Only ``content`` is required."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(description="What to remember (up to 32 KiB).")
    kind: str = Field("note", description="fact, preference, decision, event, code_pattern, note, ...")
    tier: str | None = Field(
        None,
        description="working (needs a session), short_term or long_term; "
        "default working inside a session, else short_term.",
    )
    importance: float = Field(0.5, description="0 to 1.")
    metadata: dict[str, Any] | None = Field(None, description="Any JSON object; returned as given.")
    session_id: str | None = Field(None, description="Default: the X-Session-Id header.")
    user_id: str | None = None
    occurred_at: str | None = Field(None, description="ISO 8601, when it happened; default now.")
    expires_at: str | None = Field(None, description="ISO 8601; hidden after, deleted by maintenance.")
    visibility: str = Field("private", description="private (default) or namespace.")

    def to_new(self, session_header: str | None) -> NewMemory:
        return NewMemory(
            content=self.content,
            kind=self.kind,
            tier=self.tier,
            importance=self.importance,
            metadata=self.metadata,
            session_id=self.session_id or session_header,
            user_id=self.user_id,
            occurred_at=self.occurred_at,
            expires_at=self.expires_at,
            visibility=self.visibility,
        )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[MemoryIn] = Field(description=f"Up to {MAX_BATCH} memories, written all or none.")


@router.post("", status_code=201)
def create_memory(body: MemoryIn, response: Response, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Store one memory (201). Near-identical content already stored by this agent in this
    namespace is reinforced instead (200, ``reinforced: true``)."""
    caller = ctx.caller
    result = runtime.memories.create(
        namespace=caller.namespace, agent_id=caller.agent_id, item=body.to_new(ctx.session_id)
    )
    if result.reinforced:
        response.status_code = 200
    return result.to_dict()


@router.post("/batch", status_code=201)
def create_batch(body: BatchIn, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Store up to 1,000 memories in one transaction. Every item is checked first: one bad item
    (its index and field named) and nothing is written. Embedding follows in the background."""
    caller = ctx.caller
    results = runtime.memories.create_batch(
        namespace=caller.namespace,
        agent_id=caller.agent_id,
        items=[item.to_new(ctx.session_id) for item in body.items],
    )
    reinforced = sum(1 for r in results if r.reinforced)
    return {
        "created": len(results) - reinforced,
        "reinforced": reinforced,
        "items": [{"id": r.memory.id, "reinforced": r.reinforced, "tier": r.memory.tier} for r in results],
    }


@router.get("")
def list_memories(
    runtime: RuntimeDep,
    ctx: ContextDep,
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
    caller, flags = ctx.caller, ctx.flags
    filters = MemoryFilter(
        kind=kind,
        tier=tier,
        session_id=session_id,
        user_id=user_id,
        created_after=created_after,
        created_before=created_before,
    )
    page = runtime.memories.list(
        namespace=caller.namespace,
        agent_id=caller.agent_id,
        sharing_enabled=flags.sharing,
        tiers_enabled=flags.tiers,
        filters=filters,
        cursor=cursor,
        limit=limit,
    )
    return {
        "memories": [m.to_dict() for m in page.items],
        "next_cursor": page.next_cursor,
        "tiers": "hierarchical" if flags.tiers else "flat",
    }


@router.get("/{memory_id}")
def get_memory(memory_id: int, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """One memory; 404 when it does not exist or is another agent's private memory."""
    caller = ctx.caller
    return runtime.memories.get(
        memory_id, namespace=caller.namespace, agent_id=caller.agent_id, sharing_enabled=ctx.flags.sharing
    ).to_dict()


@router.patch("/{memory_id}")
def update_memory(
    memory_id: int, body: dict[str, Any], runtime: RuntimeDep, ctx: ContextDep
) -> dict[str, Any]:
    """Change any of content, kind, tier, importance, metadata, user_id, occurred_at, expires_at,
    visibility. Only the owning agent may (403 for an agent it is shared with)."""
    caller = ctx.caller
    return runtime.memories.update(
        memory_id,
        body,
        namespace=caller.namespace,
        agent_id=caller.agent_id,
        sharing_enabled=ctx.flags.sharing,
    ).to_dict()


@router.delete("/{memory_id}")
def delete_memory(memory_id: int, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Delete for good: the row, its full-text entry and its vector. Only the owner may."""
    caller = ctx.caller
    runtime.memories.delete(
        memory_id, namespace=caller.namespace, agent_id=caller.agent_id, sharing_enabled=ctx.flags.sharing
    )
    return {"deleted": memory_id}
