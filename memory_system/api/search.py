"""HTTP route: ``POST /v1/memories/search`` -> ranked memories with fused and per-source scores.

Thin: validate, read the request's flags (``api/context``; sharing decides what the caller may
see, tiers off ignores a ``tier`` filter), call ``runtime.retrieval.search``, render; bad input,
and a ``session_id`` filter naming another agent's session (404), are answered by
``api/errors``. Every answer says its ``mode``: ``hybrid``, ``fulltext`` (no model; ``reason``
says why) or ``degraded`` (the dense step was slow or failed: answered from full text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from memory_system.api.context import ContextDep
from memory_system.api.deps import get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, WHOLE, Body, Kind, TextId, Tier, Timestamp
from memory_system.api.responses import answers
from memory_system.api.responses.memories import SearchResult
from memory_system.memory.records.metadata_filter import (
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE_CHARS,
    METADATA_PATH_PATTERN,
)
from memory_system.memory.retrieval.filters import SearchFilters
from memory_system.memory.retrieval.hybrid import DEFAULT_SEARCH_BUDGET_MS, MAX_K, MAX_QUERY_CHARS, SOURCES
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1/memories", tags=["search"], responses=responses(400, 401, 403, 404, 413, 422, 500, 503)
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

if TYPE_CHECKING:
    Source = str
else:  # the service's tuple, as an enum of the schema
    Source = Literal[SOURCES]


class FiltersIn(Body):
    """Times ISO 8601: after inclusive, before exclusive. ``tier`` is ignored while tiers are off."""

    kind: Kind | None = None
    tier: Tier | None = None
    session_id: TextId | None = None
    user_id: TextId | None = None
    occurred_after: Timestamp | None = None
    occurred_before: Timestamp | None = None
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
    metadata: (
        Annotated[
            dict[
                Annotated[str, StringConstraints(pattern=METADATA_PATH_PATTERN)],
                Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE_CHARS)],
            ],
            Field(max_length=MAX_METADATA_PAIRS),
        ]
        | None
    ) = Field(None, description="Dotted metadata path -> the string there; all must match.")


class SearchIn(Body):
    query: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK)] = (
        Field(description="What to look for, in plain words (no query syntax).")
    )
    k: Annotated[int, Field(ge=1, le=MAX_K), WHOLE] = Field(
        10, description=f"How many memories to return, 1 to {MAX_K}."
    )
    filters: FiltersIn | None = None
    sources: Annotated[list[Source], Field(min_length=1)] | None = Field(
        None, description=f"Evaluate one source alone: a subset of {list(SOURCES)}; default both, fused."
    )


@router.post("/search", responses=answers(SearchResult))
def search_memories(body: SearchIn, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Hybrid search (full text + dense vectors, relative score fusion) over the memories the
    caller may see. ``hits`` best first, each with ``score`` (fused), ``ranks`` and ``scores``
    per source; ``mode`` hybrid / fulltext / degraded and ``reason`` when not hybrid."""
    caller, flags = ctx.caller, ctx.flags
    filters = SearchFilters.from_dict(body.filters.model_dump(exclude_none=True) if body.filters else None)
    runtime.sessions.check_usable(filters.session_id, caller.agent_id, caller.namespace)
    result = runtime.retrieval.search(
        agent_id=caller.agent_id,
        namespace=caller.namespace,
        query=body.query,
        k=body.k,
        filters=filters,
        sharing_enabled=flags.sharing,
        tiers_enabled=flags.tiers,
        time_budget_ms=DEFAULT_SEARCH_BUDGET_MS,
        sources=body.sources,
    )
    return result.to_dict()
