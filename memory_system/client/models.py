"""What the service answers, as pydantic models: the components of ``/openapi.json``.

Each success model here has the name, the fields (by their JSON names), the required-ness and
the JSON types of the component the service documents (``memory_system/api/responses``), with
nested models for nested ones; ``tests/client/test_models_drift.py`` compares them, field by
field, for every operation the client calls, so a field renamed, retyped or dropped fails there.

Written by hand, not generated: Python names beside the reference server's (``entity_type``
for ``entityType``), times read as ``datetime``, ``Readiness.ready``; and the client imports
nothing of the service. Unknown fields are ignored, where the service's schema refuses them: a
newer service may add some and an older client keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BatchItem",
    "BatchResult",
    "CodePattern",
    "CodePatternPage",
    "CodePatternSearch",
    "Entity",
    "EntityDetail",
    "ErrorBody",
    "Grant",
    "Graph",
    "Handoff",
    "Injection",
    "InjectionRetrieval",
    "Manifest",
    "ManifestCodePattern",
    "ManifestEntity",
    "ManifestMemory",
    "ManifestPreference",
    "Memory",
    "MemoryPage",
    "MemoryWrite",
    "Preference",
    "PreferenceList",
    "Readiness",
    "ReadinessConfig",
    "Relation",
    "SearchHit",
    "SearchResult",
    "Session",
    "SessionState",
    "Shares",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErrorBody(_Answer):
    """Every 4xx and 5xx body (``ErrorBody`` in the OpenAPI document)."""

    error: str
    message: str
    field: str | None = None
    request_id: str | None
    detail: list[dict[str, Any]] | dict[str, Any] | str


class Memory(_Answer):
    id: int
    namespace: str
    agent_id: str
    session_id: str | None
    user_id: str | None
    kind: str
    tier: str
    content: str
    importance: float
    metadata: dict[str, Any]
    visibility: str
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime
    last_accessed_at: datetime | None
    access_count: int
    reinforcement_count: int
    expires_at: datetime | None


class MemoryWrite(Memory):
    """A created memory; ``reinforced`` when it restated a stored one (no new row)."""

    reinforced: bool


class BatchItem(_Answer):
    id: int
    reinforced: bool
    tier: str


class BatchResult(_Answer):
    created: int
    reinforced: int
    items: list[BatchItem]


class MemoryPage(_Answer):
    memories: list[Memory]
    next_cursor: str | None
    tiers: str


class SearchHit(_Answer):
    memory: Memory
    score: float
    ranks: dict[str, int]
    scores: dict[str, float]


class SearchResult(_Answer):
    hits: list[SearchHit]
    mode: str
    reason: str | None
    took_ms: float
    vectors_stale: bool
    sources: list[str]


class ManifestPreference(_Answer):
    key: str
    truncated: bool = False


class ManifestMemory(_Answer):
    id: int
    tier: str
    score: float
    relevance: float
    scores: dict[str, float]
    truncated: bool = False


class ManifestCodePattern(_Answer):
    id: int
    name: str
    truncated: bool = False


class ManifestEntity(_Answer):
    name: str
    truncated: bool = False


class Manifest(_Answer):
    """What the block holds, by section; ``truncated`` where an entry was shortened to fit."""

    preferences: list[ManifestPreference]
    memories: list[ManifestMemory]
    code_patterns: list[ManifestCodePattern]
    entities: list[ManifestEntity]


class InjectionRetrieval(_Answer):
    mode: str
    degraded: bool
    reason: str | None = None
    sources: list[str] = []
    vectors_stale: bool = False


class Injection(_Answer):
    block: str
    format: str
    mode: str
    cache: str
    took_ms: float
    tokens: int
    token_budget: int
    token_counter: str
    manifest: Manifest
    retrieval: InjectionRetrieval


class Session(_Answer):
    session_id: str
    agent_id: str
    namespace: str
    created_at: datetime
    last_active_at: datetime
    ended_at: datetime | None
    flags: dict[str, bool]


class SessionState(_Answer):
    session_id: str
    state: dict[str, Any]
    version: int
    updated_at: datetime | None


class Handoff(_Answer):
    handoff_id: int
    session_id: str
    new_session_id: str
    from_agent_id: str
    to_agent_id: str
    memories_moved: int
    memories_merged: int
    state_version: int


class Grant(_Answer):
    memory_id: int
    agent_id: str | None
    namespace: bool
    granted_by: str
    expires_at: datetime | None
    created_at: datetime
    active: bool


class Shares(_Answer):
    memory_id: int
    shares: list[Grant]


class Preference(_Answer):
    user_id: str
    key: str
    value: Any
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None


class PreferenceList(_Answer):
    user_id: str
    preferences: list[Preference]


class CodePattern(_Answer):
    id: int
    agent_id: str
    language: str
    name: str
    description: str
    example: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    score: float | None = None  # only in search answers


class CodePatternPage(_Answer):
    code_patterns: list[CodePattern]
    next_cursor: int | None


class CodePatternSearch(_Answer):
    query: str
    code_patterns: list[CodePattern]


class Entity(_Answer):
    name: str
    entity_type: str = Field(alias="entityType")
    observations: list[str]


class Relation(_Answer):
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    relation_type: str = Field(alias="relationType")


class Graph(_Answer):
    entities: list[Entity]
    relations: list[Relation]


class EntityDetail(_Answer):
    entity: Entity
    relations: list[Relation]


class ReadinessConfig(_Answer):
    loaded_at: datetime | None
    last_reload_error: str | None


class Readiness(_Answer):
    """``GET /health/ready``, 200 or 503 (the same report with the error keys): ``ready`` says which."""

    status: str
    version: str
    commit: str | None = None  # builds before 0.2.0 do not say
    schema_version: int | None
    expected_schema_version: int
    schema_state: str = Field(alias="schema")
    mode: str | None = None  # "full" or "legacy (Phase 2-4 rolled back)"; builds before 0.2.0 do not say
    database: str
    config: ReadinessConfig
    draining: bool
    schema_note: str | None = None
    problems: list[str] = []  # only when the schema is "damaged"
    vectors: str | None = None
    reasons: list[str] = []  # only when not ready

    @property
    def ready(self) -> bool:
        return self.status == "ready"
