"""What a memory is, and the inputs that create or change one; shared by every memory service.

Validation lives here (not in the HTTP layer) so that the API, the CLI, the MCP server and
the benchmarks all refuse the same bad input with the same message. Errors name the field
(and, in a batch, the item index) so a caller can fix exactly what was wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from memory_system.core.errors import ServiceError
from memory_system.core.validation import InvalidValue, check_json_value, check_text, check_timestamp
from memory_system.store.memories import Row

__all__ = [
    "DEFAULT_IMPORTANCE",
    "KINDS",
    "KIND_PATTERN",
    "MAX_BATCH",
    "MAX_CONTENT_BYTES",
    "MAX_ID_CHARS",
    "MAX_LIST_LIMIT",
    "MAX_METADATA_BYTES",
    "TIERS",
    "VISIBILITIES",
    "BatchTooLarge",
    "Memory",
    "MemoryConflict",
    "MemoryFilter",
    "MemoryForbidden",
    "MemoryNotFound",
    "MemoryPage",
    "MemoryPatch",
    "MemoryRecordError",
    "MemoryValidationError",
    "NewMemory",
    "ValidMemory",
    "WriteResult",
    "default_tier",
    "parse_timestamp",
]

TIERS = ("working", "short_term", "long_term")
VISIBILITIES = ("private", "namespace")
# Documented kinds; any short identifier is accepted so agents can add their own.
KINDS = ("fact", "preference", "decision", "event", "code_pattern", "note", "observation", "task")
MAX_CONTENT_BYTES = 32 * 1024
MAX_METADATA_BYTES = 16 * 1024
MAX_BATCH = 1000
MAX_LIST_LIMIT = 500
DEFAULT_IMPORTANCE = 0.5

# A kind: a short lowercase identifier. Public as text for the HTTP schema (api/memories).
KIND_PATTERN = r"^[a-z][a-z0-9_\-]{0,39}$"
# session_id and user_id: free text of at most this many characters.
MAX_ID_CHARS = 200
_IDENTIFIER = re.compile(KIND_PATTERN)
_ID_TEXT_MAX = MAX_ID_CHARS


class MemoryRecordError(ServiceError):
    """Base of every error the memory services raise; the message says what to do."""


class MemoryValidationError(MemoryRecordError, ValueError):
    """Bad input: ``field`` names it; ``index`` is the batch item (None for a single write)."""

    def __init__(self, field: str, message: str, index: int | None = None) -> None:
        self.field = field
        self.index = index
        self.message = message
        where = f"items[{index}].{field}" if index is not None else field
        super().__init__(f"{where}: {message}")

    def at(self, index: int) -> MemoryValidationError:
        return MemoryValidationError(self.field, self.message, index)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": "invalid_input", "field": self.field, "message": str(self)}
        if self.index is not None:
            out["index"] = self.index
        return out


class BatchTooLarge(MemoryValidationError):
    """More items than ``MAX_BATCH`` in one call (HTTP 413)."""


class MemoryNotFound(MemoryRecordError, LookupError):
    """No memory with that id that this agent may see (also what another agent's private one looks like)."""


class MemoryForbidden(MemoryRecordError):
    """The agent may read the memory (shared with it) but only its owner may change it."""


class MemoryConflict(MemoryRecordError):
    """A change would make the memory near-identical to another one in the same scope."""

    def __init__(self, message: str, existing_id: int) -> None:
        self.existing_id = existing_id
        super().__init__(message)


def parse_timestamp(value: Any, field: str) -> str:
    """ISO 8601 in, ISO 8601 UTC with milliseconds out (``core.validation.check_timestamp``)."""
    try:
        return check_timestamp(value, field)
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None


def default_tier(session_id: str | None) -> str:
    """A memory written inside a session starts in ``working``; otherwise ``short_term``."""
    return "working" if session_id else "short_term"


def _text(value: str, field: str) -> str:
    try:
        return check_text(value, field)
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None


def _check_text_id(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _ID_TEXT_MAX:
        raise MemoryValidationError(field, f"must be a non-empty string of at most {_ID_TEXT_MAX} characters")
    return _text(value, field)


def check_content(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MemoryValidationError("content", "must be a non-empty string")
    _text(value, "content")
    if len(value.encode("utf-8")) > MAX_CONTENT_BYTES:
        raise MemoryValidationError(
            "content", f"is larger than {MAX_CONTENT_BYTES} bytes; split it into several memories"
        )
    return value


def check_kind(value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise MemoryValidationError(
            "kind", "must be a short lowercase identifier (a-z, 0-9, _ or -, up to 40), e.g. fact or decision"
        )
    return value


def check_tier(value: Any) -> str:
    if value not in TIERS:
        raise MemoryValidationError("tier", f"must be one of {', '.join(TIERS)}")
    return str(value)


def check_importance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise MemoryValidationError("importance", "must be a number from 0 to 1")
    return float(value)


def json_text(value: Any, field: str, max_bytes: int) -> str:
    """Compact JSON text as stored, if every later use can handle the value (serialising it in a
    response, SQLite's JSON functions in the full-text trigger): at most ``MAX_JSON_DEPTH``
    levels deep, UTF-8 text, 64-bit integers, finite numbers (``core.validation``)."""
    try:
        check_json_value(value, field)
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MemoryValidationError(field, f"is not JSON-serialisable: {exc}") from None
    if len(text.encode("utf-8")) > max_bytes:
        raise MemoryValidationError(field, f"is larger than {max_bytes} bytes as JSON")
    return text


def check_metadata(value: Any) -> str:
    """The JSON text stored; objects only, so that callers can always add keys."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise MemoryValidationError("metadata", "must be a JSON object")
    return json_text(value, "metadata", MAX_METADATA_BYTES)


def check_visibility(value: Any) -> str:
    if value not in VISIBILITIES:
        raise MemoryValidationError(
            "visibility", "must be 'private' or 'namespace' (share with named agents through /shares)"
        )
    return str(value)


@dataclass(frozen=True)
class Memory:
    """One stored memory, as every reader sees it."""

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
    occurred_at: str
    created_at: str
    updated_at: str
    last_accessed_at: str | None
    access_count: int
    reinforcement_count: int
    expires_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Memory:
        """From a store row holding at least every field (``store.memories.MEMORY_COLUMNS``)."""
        return cls(
            id=row["id"],
            namespace=row["namespace"],
            agent_id=row["agent_id"],
            session_id=row["session_id"],
            user_id=row["user_id"],
            kind=row["kind"],
            tier=row["tier"],
            content=row["content"],
            importance=row["importance"],
            metadata=json.loads(row["metadata"]),
            visibility=row["visibility"],
            occurred_at=row["occurred_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_accessed_at=row["last_accessed_at"],
            access_count=row["access_count"],
            reinforcement_count=row["reinforcement_count"],
            expires_at=row["expires_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "namespace": self.namespace,
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "kind": self.kind,
            "tier": self.tier,
            "content": self.content,
            "importance": self.importance,
            "metadata": self.metadata,
            "visibility": self.visibility,
            "occurred_at": self.occurred_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last_accessed_at": self.last_accessed_at,
            "access_count": self.access_count,
            "reinforcement_count": self.reinforcement_count,
            "expires_at": self.expires_at,
        }


@dataclass
class NewMemory:
    """Input for one memory. ``validated()`` checks every field and fills defaults."""

    content: Any
    kind: Any = "note"
    tier: Any = None
    importance: Any = DEFAULT_IMPORTANCE
    metadata: Any = None
    session_id: Any = None
    user_id: Any = None
    occurred_at: Any = None
    expires_at: Any = None
    visibility: Any = "private"

    @classmethod
    def from_dict(cls, data: Any) -> NewMemory:
        if not isinstance(data, dict):
            raise MemoryValidationError("item", "must be a JSON object with at least 'content'")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise MemoryValidationError(min(unknown), "is not a memory field")
        if "content" not in data:
            raise MemoryValidationError("content", "is required")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def validated(self) -> ValidMemory:
        session_id = _check_text_id(self.session_id, "session_id")
        tier = check_tier(self.tier) if self.tier is not None else default_tier(session_id)
        if tier == "working" and not session_id:
            raise MemoryValidationError("tier", "working memories belong to a session; give a session_id")
        return ValidMemory(
            content=check_content(self.content),
            kind=check_kind(self.kind),
            tier=tier,
            importance=check_importance(self.importance),
            metadata_json=check_metadata(self.metadata),
            session_id=session_id,
            user_id=_check_text_id(self.user_id, "user_id"),
            occurred_at=None
            if self.occurred_at is None
            else parse_timestamp(self.occurred_at, "occurred_at"),
            expires_at=None if self.expires_at is None else parse_timestamp(self.expires_at, "expires_at"),
            visibility=check_visibility(self.visibility),
        )


@dataclass(frozen=True)
class ValidMemory:
    """A ``NewMemory`` after validation; what the store writes."""

    content: str
    kind: str
    tier: str
    importance: float
    metadata_json: str
    session_id: str | None
    user_id: str | None
    occurred_at: str | None
    expires_at: str | None
    visibility: str


_PATCHABLE = (
    "content",
    "kind",
    "tier",
    "importance",
    "metadata",
    "user_id",
    "occurred_at",
    "expires_at",
    "visibility",
)


@dataclass
class MemoryPatch:
    """The fields to change; absent ones stay. ``expires_at: null`` clears the expiry."""

    changes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> MemoryPatch:
        if not isinstance(data, dict) or not data:
            raise MemoryValidationError(
                "body", f"must be a JSON object with one or more of {', '.join(_PATCHABLE)}"
            )
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key not in _PATCHABLE:
                raise MemoryValidationError(key, f"cannot be changed; changeable: {', '.join(_PATCHABLE)}")
            if key == "content":
                changes[key] = check_content(value)
            elif key == "kind":
                changes[key] = check_kind(value)
            elif key == "tier":
                changes[key] = check_tier(value)
            elif key == "importance":
                changes[key] = check_importance(value)
            elif key == "metadata":
                changes[key] = check_metadata(value)
            elif key == "user_id":
                changes[key] = _check_text_id(value, "user_id")
            elif key == "visibility":
                changes[key] = check_visibility(value)
            elif key == "occurred_at":
                changes[key] = parse_timestamp(value, key)
            elif key == "expires_at":
                changes[key] = parse_timestamp(value, key) if value is not None else None
        return cls(changes)


@dataclass(frozen=True)
class WriteResult:
    """A written memory; ``reinforced`` says the write matched an existing near-identical one."""

    memory: Memory
    reinforced: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.memory.to_dict(), "reinforced": self.reinforced}


@dataclass(frozen=True)
class MemoryFilter:
    """List filters. ``tier`` is ignored while tiers are off (one flat tier)."""

    kind: str | None = None
    tier: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    # (dotted path, string) pairs, all to match (``metadata_filter``; checked by ``MemoryService.list``).
    metadata: tuple[tuple[str, str], ...] = ()

    def validated(self) -> MemoryFilter:
        return MemoryFilter(
            metadata=self.metadata,
            kind=check_kind(self.kind) if self.kind is not None else None,
            tier=check_tier(self.tier) if self.tier is not None else None,
            session_id=_check_text_id(self.session_id, "session_id"),
            user_id=_check_text_id(self.user_id, "user_id"),
            created_after=None
            if self.created_after is None
            else parse_timestamp(self.created_after, "created_after"),
            created_before=None
            if self.created_before is None
            else parse_timestamp(self.created_before, "created_before"),
        )


@dataclass(frozen=True)
class MemoryPage:
    """One page of a list, newest first; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[Memory]
    next_cursor: str | None
    tiers_enabled: bool = True
