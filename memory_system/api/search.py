"""HTTP route: ``POST /v1/memories/search`` -> ranked memories with fused and per-source scores.

Thin: validate, read the request's flags (``api/context``; sharing decides what the caller may
see, tiers off ignores a ``tier`` filter), call ``runtime.retrieval.search``, render; bad input
is answered by ``api/errors``. Every answer
says its ``mode``: ``hybrid``, ``fulltext`` (no model; ``reason`` says why) or ``degraded``
(the dense step was slow or failed: answered from full text).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from memory_system.api.context import ContextDep
from memory_system.api.deps import get_runtime
from memory_system.memory.retrieval.filters import SearchFilters
from memory_system.memory.retrieval.hybrid import DEFAULT_SEARCH_BUDGET_MS, MAX_K, SOURCES
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1/memories", tags=["search"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="What to look for, in plain words (no query syntax).")
    k: int = Field(10, description=f"How many memories to return, 1 to {MAX_K}.")
    filters: dict[str, Any] | None = Field(
        None,
        description="Any of kind, tier, session_id, user_id, occurred_after, occurred_before, "
        "created_after, created_before (times ISO 8601; after inclusive, before exclusive).",
    )
    sources: list[str] | None = Field(
        None, description=f"Evaluate one source alone: a subset of {list(SOURCES)}; default both, fused."
    )


@router.post("/search")
def search_memories(body: SearchIn, runtime: RuntimeDep, ctx: ContextDep) -> dict[str, Any]:
    """Hybrid search (full text + dense vectors, relative score fusion) over the memories the
    caller may see. ``hits`` best first, each with ``score`` (fused), ``ranks`` and ``scores``
    per source; ``mode`` hybrid / fulltext / degraded and ``reason`` when not hybrid."""
    caller, flags = ctx.caller, ctx.flags
    result = runtime.retrieval.search(
        agent_id=caller.agent_id,
        namespace=caller.namespace,
        query=body.query,
        k=body.k,
        filters=SearchFilters.from_dict(body.filters),
        sharing_enabled=flags.sharing,
        tiers_enabled=flags.tiers,
        time_budget_ms=DEFAULT_SEARCH_BUDGET_MS,
        sources=body.sources,
    )
    return result.to_dict()
