"""Code patterns: named, language-tagged snippets with a description, searchable by text.

A pattern belongs to its namespace (every agent of the project sees and may change it) and
is identified by (language, name): writing the same name again updates it in place. Search
is FTS5 BM25 over name, description, example and language, name weighted highest.

Usage::

    patterns = CodePatternStore(db)
    patterns.put("default", "a1", {"language": "python", "name": "retry", "example": "..."})
    patterns.search("default", "retry with backoff")
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.memory.records.models import MemoryNotFound, MemoryValidationError
from memory_system.store import code_patterns as store
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

__all__ = ["CodePattern", "CodePatternNotFound", "CodePatternStore", "fts_query"]

MAX_DESCRIPTION_BYTES = 8 * 1024
MAX_EXAMPLE_BYTES = 32 * 1024
MAX_SEARCH_LIMIT = 100
_LANGUAGE = re.compile(r"^[a-z0-9][a-z0-9_+#.\-]{0,39}$")
_FIELDS = ("language", "name", "description", "example")
_TERM = re.compile(r"\w+", re.UNICODE)


class CodePatternNotFound(MemoryNotFound):
    """No pattern with that id in the namespace."""


@dataclass(frozen=True)
class CodePattern:
    id: int
    namespace: str
    agent_id: str
    language: str
    name: str
    description: str
    example: str
    created_at: str
    updated_at: str
    score: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> CodePattern:
        keys = row.keys()
        return cls(
            row["id"],
            row["namespace"],
            row["agent_id"],
            row["language"],
            row["name"],
            row["description"],
            row["example"],
            row["created_at"],
            row["updated_at"],
            row["score"] if "score" in keys else None,
        )

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "agent_id": self.agent_id,
            "language": self.language,
            "name": self.name,
            "description": self.description,
            "example": self.example,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.score is not None:
            out["score"] = self.score
        return out


def fts_query(text: str) -> str | None:
    """Any words in, a safe FTS5 query out: each term quoted (no operator injection), OR-ed."""
    terms = list(dict.fromkeys(t.casefold() for t in _TERM.findall(text)))[:32]
    return " OR ".join(f'"{t}"' for t in terms) or None


def _text(data: Mapping[str, Any], name: str, *, required: bool, max_bytes: int) -> str:
    value = data.get(name, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise MemoryValidationError(
            name, "is required: a non-empty string" if required else "must be a string"
        )
    if len(value.encode("utf-8")) > max_bytes:
        raise MemoryValidationError(name, f"is larger than {max_bytes} bytes")
    return value


def check_language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE.match(value.strip().lower()):
        raise MemoryValidationError(
            "language", "is required: a short lowercase name such as python, typescript, c++ or c#"
        )
    return value.strip().lower()


class CodePatternStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, namespace: str, agent_id: str, data: Mapping[str, Any]) -> tuple[CodePattern, bool]:
        """Create, or update the pattern of the same (language, name); returns it and whether it is new."""
        if not isinstance(data, Mapping):
            raise MemoryValidationError(
                "body", "must be a JSON object with language, name, description, example"
            )
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise MemoryValidationError(
                unknown[0], f"is not a code pattern field; fields: {', '.join(_FIELDS)}"
            )
        language = check_language(data.get("language"))
        name = _text(data, "name", required=True, max_bytes=200)
        description = _text(data, "description", required=False, max_bytes=MAX_DESCRIPTION_BYTES)
        example = _text(data, "example", required=False, max_bytes=MAX_EXAMPLE_BYTES)
        with self.db.write() as conn:
            pattern_id, created = store.upsert(
                conn, namespace, agent_id, language, name, description, example, utc_now()
            )
            bump_scope(conn, namespace)
            row = store.get(conn, namespace, pattern_id)
        return CodePattern.from_row(row), created

    def get(self, namespace: str, pattern_id: int) -> CodePattern:
        row = store.get(self.db.reader(), namespace, pattern_id)
        if row is None:
            raise CodePatternNotFound(f"code pattern {pattern_id} not found")
        return CodePattern.from_row(row)

    def list(
        self, namespace: str, *, language: str | None = None, cursor: int | None = None, limit: int = 50
    ) -> builtins.list[CodePattern]:
        if not 1 <= limit <= 500:
            raise MemoryValidationError("limit", "must be a whole number from 1 to 500")
        lang = check_language(language) if language is not None else None
        rows = store.list_patterns(self.db.reader(), namespace, language=lang, before_id=cursor, limit=limit)
        return [CodePattern.from_row(r) for r in rows]

    def search(
        self, namespace: str, query: str, *, limit: int = 10, language: str | None = None
    ) -> builtins.list[CodePattern]:
        """Best match first, each with its BM25 ``score`` (higher is better)."""
        if not isinstance(query, str) or not query.strip():
            raise MemoryValidationError("q", "is required: the words to search for")
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise MemoryValidationError("limit", f"must be a whole number from 1 to {MAX_SEARCH_LIMIT}")
        match = fts_query(query)
        if match is None:
            return []
        lang = check_language(language) if language is not None else None
        rows = store.search(self.db.reader(), namespace, match, language=lang, limit=limit)
        return [CodePattern.from_row(r) for r in rows]

    def delete(self, namespace: str, pattern_id: int) -> None:
        with self.db.write() as conn:
            if not store.delete(conn, namespace, pattern_id):
                raise CodePatternNotFound(f"code pattern {pattern_id} not found")
            bump_scope(conn, namespace)
