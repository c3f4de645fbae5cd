"""The success body of ``POST /v1/inject``: the block and the manifest of what went in it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from memory_system.api.responses import Answer
from memory_system.api.responses.memories import Source, Tier
from memory_system.memory.injection.injector import FORMATS

__all__ = [
    "Injection",
    "InjectionRetrieval",
    "Manifest",
    "ManifestCodePattern",
    "ManifestEntity",
    "ManifestMemory",
    "ManifestPreference",
]

if TYPE_CHECKING:
    Format = str
else:  # the service's tuple, as an enum of the schema
    Format = Literal[FORMATS]

_TRUNCATED = "Present (true) when the entry was shortened to fit the budget."


class ManifestPreference(Answer):
    key: str
    truncated: bool = Field(False, description=_TRUNCATED)


class ManifestMemory(Answer):
    id: int
    tier: Tier
    score: float = Field(description="relevance x tier x recency x importance, as ranked.")
    relevance: float = Field(description="The retrieval score over the best hit's, in [0, 1].")
    scores: dict[str, float] = Field(description="The score by each retrieval source.")
    truncated: bool = Field(False, description=_TRUNCATED)


class ManifestCodePattern(Answer):
    id: int
    name: str
    truncated: bool = Field(False, description=_TRUNCATED)


class ManifestEntity(Answer):
    name: str
    truncated: bool = Field(False, description=_TRUNCATED)


class Manifest(Answer):
    """What the block holds, by section, in the block's order."""

    preferences: list[ManifestPreference]
    memories: list[ManifestMemory]
    code_patterns: list[ManifestCodePattern]
    entities: list[ManifestEntity]


class InjectionRetrieval(Answer):
    """How the memories were found: ``none`` (legacy), ``recency`` (retrieval broke), or a search mode."""

    mode: Literal["hybrid", "fulltext", "degraded", "recency", "none"]
    degraded: bool
    reason: str | None = Field(None, description="Why not hybrid (absent in legacy mode).")
    sources: list[Source] = Field([], description="The search's sources (absent without a search).")
    vectors_stale: bool = Field(False, description="Absent without a search.")


class Injection(Answer):
    block: str = Field(description="The context block, ready to paste into the prompt.")
    format: Format
    mode: Literal["enhanced", "degraded", "legacy"]
    cache: Literal["hit", "miss", "bypass"]
    took_ms: float
    tokens: int = Field(description="The block's size, by token_counter.")
    token_budget: int
    token_counter: str = Field(description="How tokens are counted (an approximation, named).")
    manifest: Manifest
    retrieval: InjectionRetrieval
