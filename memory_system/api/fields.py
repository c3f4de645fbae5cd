"""The field types request models share: the services' limits, written as JSON Schema.

Why: the OpenAPI document is the contract. A request it allows is accepted; one it forbids
is refused with a 422 naming the field, before any service runs. Each limit is imported from
the module that enforces it, never copied.

Patterns are written so that every regex engine reads them alike (pydantic's, Python's, a
JavaScript client's): whitespace is spelled out as the characters ``str.strip`` removes, not
``\\s``, whose meaning differs between them. Bodies are strict: ``true`` is not a number and
``"0.5"`` is not one either.

Usage::

    class ShareIn(Body):
        agent_ids: list[AgentId] = []
        expires_at: Timestamp | None = None
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from memory_system.core.validation import AGENT_ID_PATTERN, INT64_MAX
from memory_system.memory.records.models import KIND_PATTERN, MAX_ID_CHARS, TIERS, VISIBILITIES

__all__ = [
    "NOT_BLANK",
    "WHITESPACE",
    "WHOLE",
    "AgentId",
    "Body",
    "Kind",
    "QueryRowId",
    "RowId",
    "RowIdPath",
    "TextId",
    "Tier",
    "Timestamp",
    "Visibility",
]

# What ``str.strip()`` removes (the characters of ``str.isspace``), as a regex class body.
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# At least one character that ``str.strip()`` keeps: what the services call "non-empty".
NOT_BLANK = f"[^{WHITESPACE}]"


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Last in an integer's Annotated: 3.0 is the integer 3, as in JSON Schema; 3.5, "3" and true
# stay refused. ``Annotated[int, Field(ge=1), WHOLE]`` (after the bounds, which the schema shows).
WHOLE = BeforeValidator(_whole)


class Body(BaseModel):
    """A JSON request body: unknown fields are refused, and no value is coerced to another type."""

    model_config = ConfigDict(extra="forbid", strict=True)


# A row id (memory, code pattern, share event): an SQLite INTEGER PRIMARY KEY.
RowId = Annotated[int, Field(ge=1, le=INT64_MAX)]
RowIdPath = Annotated[int, Path(ge=1, le=INT64_MAX)]
QueryRowId = Annotated[int | None, Query(ge=1, le=INT64_MAX)]

# session_id, user_id: the caller's own free-text labels.
TextId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=NOT_BLANK)]

# A memory's kind, tier and visibility (memory/records/models).
Kind = Annotated[str, StringConstraints(pattern=KIND_PATTERN)]
if TYPE_CHECKING:
    Tier = str
    Visibility = str
else:  # the services' tuples, as enums of the schema
    Tier = Literal[TIERS]
    Visibility = Literal[VISIBILITIES]

# An agent id as tokens issue them (core.validation.check_agent_id).
AgentId = Annotated[str, StringConstraints(pattern=AGENT_ID_PATTERN)]

# ISO 8601; a time without an offset is UTC, a bare date its midnight. Never empty.
Timestamp = Annotated[
    str,
    StringConstraints(min_length=1, pattern=NOT_BLANK),
    Field(json_schema_extra={"format": "date-time"}, examples=["2024-05-01T12:00:00Z"]),
]
