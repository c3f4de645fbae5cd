"""Success bodies of ``/v1/memories`` and ``POST /v1/memories/search``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time
from memory_system.memory.records.models import TIERS, VISIBILITIES
from memory_system.memory.retrieval.hybrid import SOURCES

__all__ = [
    "BatchItem",
    "BatchResult",
    "Memory",
    "MemoryDeleted",
    "MemoryPage",
    "MemoryWrite",
    "SearchHit",
    "SearchResult",
]

if TYPE_CHECKING:
    Tier = str
    Visibility = str
    Source = str
else:  # the services' tuples, as enums of the schema
    Tier = Literal[TIERS]
    # What a writer may set, and "shared": what sharing sets while grants exist (memory/sharing/grants).
    Visibility = Literal[(*VISIBILITIES, "shared")]
    Source = Literal[SOURCES]


class Memory(Answer):
    """One stored memory, as every reader sees it (``memory.records.models.Memory``)."""

    id: int
    namespace: str
    agent_id: str
    session_id: str | None
    user_id: str | None
    kind: str
    tier: Tier
    content: str
    importance: float
    metadata: dict[str, Any]
    visibility: Visibility
    occurred_at: Time
    created_at: Time
    updated_at: Time
    last_accessed_at: Time | None
    access_count: int
    reinforcement_count: int
    expires_at: Time | None


class MemoryWrite(Memory):
    """A created memory; ``reinforced`` when it restated a stored one (no new row)."""

    reinforced: bool


class BatchItem(Answer):
    id: int
    reinforced: bool
    tier: Tier


class BatchResult(Answer):
    created: int = Field(description="New rows.")
    reinforced: int = Field(description="Items that restated a stored memory.")
    items: list[BatchItem] = Field(description="One per item sent, in order.")


class MemoryPage(Answer):
    memories: list[Memory]
    next_cursor: str | None = Field(description="The cursor of the next page; null on the last one.")
    tiers: Literal["hierarchical", "flat"] = Field(description="flat while USE_HIERARCHICAL_TIERS is off.")


class MemoryDeleted(Answer):
    deleted: int = Field(description="The id of the deleted memory.")


class SearchHit(Answer):
    memory: Memory
    score: float = Field(description="The fused score.")
    ranks: dict[str, int] = Field(description="1-based rank by each source that found it.")
    scores: dict[str, float] = Field(description="The score by each source that found it.")


class SearchResult(Answer):
    hits: list[SearchHit] = Field(description="Best first.")
    mode: Literal["hybrid", "fulltext", "degraded"]
    reason: str | None = Field(description="Why not hybrid; null when hybrid.")
    sources: list[Source] = Field(description="The sources that contributed.")
    took_ms: float
    vectors_stale: bool = Field(description="Stored vectors come from another model.")
