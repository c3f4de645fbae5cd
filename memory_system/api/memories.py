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
from pydantic import ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from memory_system.api.context import ContextDep
from memory_system.api.deps import get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, Body, Kind, RowIdPath, TextId, Tier, Timestamp, Visibility
from memory_system.api.responses import answers
from memory_system.api.responses.memories import BatchResult, Memory, MemoryDeleted, MemoryPage, MemoryWrite
from memory_system.memory.records.metadata_filter import (
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_CHARS,
    parse_metadata_params,
)
from memory_system.memory.records.models import (
    DEFAULT_IMPORTANCE,
    MAX_BATCH,
    MAX_CONTENT_BYTES,
    MAX_LIST_LIMIT,
    MAX_METADATA_BYTES,
    MemoryFilter,
    NewMemory,
)
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1/memories", tags=["memories"], responses=responses(401, 403, 404, 422, 500, 503)
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WITH_BODY = responses(400, 413)

# Characters: a character is 1 to 4 bytes of UTF-8, and the service counts the bytes.
Content = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CONTENT_BYTES, pattern=NOT_BLANK)]
Importance = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# A page's next_cursor: the id to continue below, as text.
Cursor = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")]
NEAR_DUPLICATE = "The new content restates another memory of the caller (near_duplicate, existing_id)."
# ``metadata=path:value``: the path as metadata_filter's pattern (less its anchors), then any text.
MetadataParam = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}:",
        max_length=600 + MAX_METADATA_VALUE_CHARS,
    ),
]
Metadata = Annotated[
    dict[str, Any],
    Field(description=f"Any JSON object (up to {MAX_METADATA_BYTES} bytes); returned as given."),
]


class MemoryIn(Body):
    """One memory to store. Only ``content`` is required."""

    content: Content = Field(description=f"What to remember: up to {MAX_CONTENT_BYTES} bytes of UTF-8.")
    kind: Kind = Field("note", description="fact, preference, decision, event, code_pattern, note, ...")
    tier: Tier | None = Field(
        None,
        description="working (needs a session), short_term or long_term; "
        "default working inside a session, else short_term.",
    )
    importance: Importance = Field(DEFAULT_IMPORTANCE, description="0 to 1.")
    metadata: Metadata | None = None
    session_id: TextId | None = Field(None, description="Default: the X-Session-Id header.")
    user_id: TextId | None = None
    occurred_at: Timestamp | None = Field(None, description="ISO 8601, when it happened; default now.")
    expires_at: Timestamp | None = Field(None, description="ISO 8601; hidden after, deleted by maintenance.")
    visibility: Visibility = Field("private", description="private (default) or namespace.")

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


class BatchIn(Body):
    # More than MAX_BATCH is the service's 413 naming the limit, so the schema says it, not pydantic.
    items: list[MemoryIn] = Field(
        min_length=1,
        description=f"1 to {MAX_BATCH} memories, written all or none.",
        json_schema_extra={"maxItems": MAX_BATCH},
    )


# A TypedDict, not a model: a field absent stays as it is, a field sent as null is a change
# (where null means something: no metadata, no user, no expiry) or refused (anywhere else).
@with_config(ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1}))
class MemoryPatchIn(TypedDict, total=False):
    """The fields to change, one or more; ``null`` clears metadata, user_id and expires_at."""

    content: Content
    kind: Kind
    tier: Tier
    importance: Importance
    metadata: Metadata | None
    user_id: TextId | None
    occurred_at: Timestamp
    expires_at: Timestamp | None
    visibility: Visibility


@router.post(
    "",
    status_code=201,
    responses={
        **answers(MemoryWrite, 201, "Stored."),
        **answers(MemoryWrite, 200, "Reinforced: it restated a stored memory."),
        **WITH_BODY,
    },
)
def create_memory(body: MemoryIn, response: Response, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Store one memory (201). Near-identical content already stored by this agent in this
    namespace is reinforced instead (200, ``reinforced: true``). A ``session_id`` (or
    ``X-Session-Id``) naming another agent's session is a 404 and nothing is written."""
    caller = ctx.caller
    result = runtime.memories.create(
        namespace=caller.namespace, agent_id=caller.agent_id, item=body.to_new(ctx.session_id)
    )
    if result.reinforced:
        response.status_code = 200
    return result.to_dict()


@router.post("/batch", status_code=201, responses={**answers(BatchResult, 201), **WITH_BODY})
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


@router.get("", responses=answers(MemoryPage))
def list_memories(
    runtime: RuntimeDep,
    ctx: ContextDep,
    kind: Kind | None = None,
    tier: Annotated[Tier | None, Query(description="Ignored while USE_HIERARCHICAL_TIERS is off.")] = None,
    session_id: TextId | None = None,
    user_id: TextId | None = None,
    created_after: Annotated[Timestamp | None, Query(description="ISO 8601, exclusive.")] = None,
    created_before: Annotated[Timestamp | None, Query(description="ISO 8601, exclusive.")] = None,
    metadata: Annotated[
        list[MetadataParam] | None,
        Query(
            max_length=MAX_METADATA_PAIRS,
            description="path:value, repeated: the string at that dotted path of the metadata, all to match.",
        ),
    ] = None,
    cursor: Annotated[Cursor | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
) -> dict[str, Any]:
    """Memories this agent may see, newest first, one page at a time."""
    caller, flags = ctx.caller, ctx.flags
    filters = MemoryFilter(
        metadata=parse_metadata_params(metadata, "metadata"),
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


@router.get("/{memory_id:int}", responses=answers(Memory))
def get_memory(memory_id: RowIdPath, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """One memory; 404 when it does not exist or is another agent's private memory."""
    caller = ctx.caller
    return runtime.memories.get(
        memory_id, namespace=caller.namespace, agent_id=caller.agent_id, sharing_enabled=ctx.flags.sharing
    ).to_dict()


@router.patch(
    "/{memory_id:int}",
    responses={**answers(Memory), **WITH_BODY, **responses(409, s409=NEAR_DUPLICATE)},
)
def update_memory(
    memory_id: RowIdPath, body: MemoryPatchIn, runtime: RuntimeDep, ctx: ContextDep
) -> dict[str, Any]:
    """Change any of content, kind, tier, importance, metadata, user_id, occurred_at, expires_at,
    visibility. Only the owning agent may (403 for an agent it is shared with)."""
    caller = ctx.caller
    return runtime.memories.update(
        memory_id,
        dict(body),
        namespace=caller.namespace,
        agent_id=caller.agent_id,
        sharing_enabled=ctx.flags.sharing,
    ).to_dict()


@router.delete("/{memory_id:int}", responses=answers(MemoryDeleted))
def delete_memory(memory_id: RowIdPath, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Delete for good: the row, its full-text entry and its vector. Only the owner may."""
    caller = ctx.caller
    runtime.memories.delete(
        memory_id, namespace=caller.namespace, agent_id=caller.agent_id, sharing_enabled=ctx.flags.sharing
    )
    return {"deleted": memory_id}
