"""Success bodies of the typed stores: user preferences, code patterns, their audit trail."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = [
    "CodePattern",
    "CodePatternDeleted",
    "CodePatternEvent",
    "CodePatternHistory",
    "CodePatternPage",
    "CodePatternSearch",
    "Preference",
    "PreferenceDeleted",
    "PreferenceEvent",
    "PreferenceHistory",
    "PreferenceList",
    "TypedStoreEvents",
]

_CREATOR = "null: written before creators were recorded."


class Preference(Answer):
    user_id: str
    key: str
    value: Any = Field(description="The JSON value as it was set.")
    created_at: Time
    updated_at: Time
    created_by: str | None = Field(description=_CREATOR)
    updated_by: str | None = Field(description=_CREATOR)


class PreferenceList(Answer):
    user_id: str
    preferences: list[Preference]


class PreferenceDeleted(Answer):
    deleted: str = Field(description="The key deleted.")
    user_id: str


class CodePattern(Answer):
    id: int
    agent_id: str
    language: str
    name: str
    description: str
    example: str
    created_at: Time
    updated_at: Time
    created_by: str | None = Field(description=_CREATOR)
    updated_by: str | None = Field(description=_CREATOR)
    score: float | None = Field(None, description="BM25 relevance; only in search answers.")


class CodePatternPage(Answer):
    code_patterns: list[CodePattern] = Field(description="Newest first.")
    next_cursor: int | None = Field(description="cursor of the next page; null on the last one.")


class CodePatternSearch(Answer):
    query: str
    code_patterns: list[CodePattern] = Field(description="Best first.")


class CodePatternDeleted(Answer):
    deleted: int = Field(description="The id of the deleted pattern.")


class _Event(Answer):
    id: int
    action: Literal["create", "update", "delete"]
    outcome: Literal["applied", "refused"]
    agent_id: str


class _Hashes(Answer):
    old_hash: str | None = Field(description="sha256 of the value before; null: none.")
    new_hash: str | None = Field(description="sha256 of the value after; null: none.")
    policy: str | None = Field(description="The typedStores policy that refused it; null when applied.")
    created_at: Time


class PreferenceEvent(_Hashes, _Event):
    """A write of a preference, applied or refused."""

    store: Literal["preference"]
    user_id: str | None
    key: str


class CodePatternEvent(_Hashes, _Event):
    """A write of a code pattern, applied or refused."""

    store: Literal["code_pattern"]
    pattern_id: int | None
    language: str | None
    name: str


class TypedStoreEvents(Answer):
    events: list[PreferenceEvent | CodePatternEvent] = Field(description="Newest first.")
    next_before_id: int | None = Field(description="before_id of the next page; null on the last one.")


class PreferenceHistory(Answer):
    events: list[PreferenceEvent] = Field(description="Newest first.")
    next_before_id: int | None = Field(description="before_id of the next page; null on the last one.")


class CodePatternHistory(Answer):
    events: list[CodePatternEvent] = Field(description="Newest first.")
    next_before_id: int | None = Field(description="before_id of the next page; null on the last one.")
