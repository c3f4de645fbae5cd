"""Code patterns: named, language-tagged snippets with a description, searchable by text.

A pattern belongs to its namespace (every agent of the project sees it; who may change it is
the store's ``WritePolicy``, ``memory/typed/policy``) and is identified by (language, name):
writing the same name again updates it in place. Every write, applied or refused, is in the
audit trail (``memory/typed/audit``). Search is FTS5 BM25 over name, description, example and
language, name weighted highest.

Usage::

    patterns = CodePatternStore(db)
    patterns.put("default", "a1", {"language": "python", "name": "retry", "example": "..."})
    patterns.search("default", "retry with backoff")
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.validation import InvalidValue, check_text
from memory_system.memory.records.models import MemoryNotFound, MemoryValidationError
from memory_system.memory.typed.audit import TypedStoreAudit, TypedStoreEvent, value_hash
from memory_system.memory.typed.policy import WritePolicy, WriteRefused
from memory_system.store import code_patterns as store
from memory_system.store import typed_store_events as events
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

__all__ = [
    "LANGUAGE_PATTERN",
    "MAX_NAME_BYTES",
    "MAX_PAGE",
    "CodePattern",
    "CodePatternNotFound",
    "CodePatternStore",
    "content_hash",
    "fts_query",
]

MAX_DESCRIPTION_BYTES = 8 * 1024
MAX_EXAMPLE_BYTES = 32 * 1024
MAX_SEARCH_LIMIT = 100
MAX_PAGE = 500  # patterns one list call returns
# A language as stored: checked after the input is stripped and lowercased.
LANGUAGE_PATTERN = r"^[a-z0-9][a-z0-9_+#.\-]{0,39}$"
MAX_NAME_BYTES = 200
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
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
    created_by: str | None = None  # None: written before creators were recorded (migration 005)
    updated_by: str | None = None
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
            row["created_by"],
            row["updated_by"],
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
            "created_by": self.created_by,
            "updated_by": self.updated_by,
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
    try:
        check_text(value, name)
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None
    if len(value.encode("utf-8")) > max_bytes:
        raise MemoryValidationError(name, f"is larger than {max_bytes} bytes")
    return value


def check_language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value.strip().lower()):
        raise MemoryValidationError(
            "language", "is required: a short lowercase name such as python, typescript, c++ or c#"
        )
    return value.strip().lower()


def content_hash(description: str, example: str) -> str:
    """What the audit trail hashes of a pattern: the two fields a write changes."""
    return value_hash(json.dumps([description, example], ensure_ascii=False))


class CodePatternStore:
    def __init__(self, db: Database, policy: WritePolicy | None = None) -> None:
        self.db = db
        self.policy = policy or WritePolicy()

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
        name = _text(data, "name", required=True, max_bytes=MAX_NAME_BYTES)
        description = _text(data, "description", required=False, max_bytes=MAX_DESCRIPTION_BYTES)
        example = _text(data, "example", required=False, max_bytes=MAX_EXAMPLE_BYTES)
        now = utc_now()
        with self.db.write() as conn:
            old = store.find(conn, namespace, language, name)
            refused = self._refusal(namespace, agent_id, old, f"code pattern {name!r} ({language})")
            pattern_id = None if old is None else int(old["id"])
            if refused is None:
                pattern_id, created = store.upsert(
                    conn, namespace, agent_id, language, name, description, example, now
                )
                bump_scope(conn, namespace)
                row = store.get(conn, namespace, pattern_id)
            change = events.TypedStoreChange(
                namespace,
                "code_pattern",
                "create" if old is None else "update",
                agent_id,
                name,
                language=language,
                pattern_id=pattern_id,
                old_hash=_hash(old),
                new_hash=content_hash(description, example),
                policy=None if refused is None else refused.policy,
            )
            events.record(conn, change, now)
        if refused is not None:
            raise refused
        return CodePattern.from_row(row), created

    def get(self, namespace: str, pattern_id: int) -> CodePattern:
        row = store.get(self.db.reader(), namespace, pattern_id)
        if row is None:
            raise CodePatternNotFound(f"code pattern {pattern_id} not found")
        return CodePattern.from_row(row)

    def list(
        self, namespace: str, *, language: str | None = None, cursor: int | None = None, limit: int = 50
    ) -> builtins.list[CodePattern]:
        if not 1 <= limit <= MAX_PAGE:
            raise MemoryValidationError("limit", f"must be a whole number from 1 to {MAX_PAGE}")
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

    def delete(self, namespace: str, pattern_id: int, *, agent_id: str) -> None:
        with self.db.write() as conn:
            old = store.get(conn, namespace, pattern_id)
            if old is None:
                raise CodePatternNotFound(f"code pattern {pattern_id} not found")
            refused = self._refusal(namespace, agent_id, old, f"code pattern {pattern_id} ({old['name']!r})")
            change = events.TypedStoreChange(
                namespace,
                "code_pattern",
                "delete",
                agent_id,
                old["name"],
                language=old["language"],
                pattern_id=pattern_id,
                old_hash=_hash(old),
                policy=None if refused is None else refused.policy,
            )
            events.record(conn, change, utc_now())
            if refused is None:
                store.delete(conn, namespace, pattern_id)
                bump_scope(conn, namespace)
        if refused is not None:
            raise refused

    def history(
        self, namespace: str, pattern_id: int, *, before_id: int | None = None, limit: int = 100
    ) -> builtins.list[TypedStoreEvent]:
        """Every recorded write of this pattern, newest first (also after it was deleted)."""
        return TypedStoreAudit(self.db).events(
            namespace, store="code_pattern", pattern_id=pattern_id, before_id=before_id, limit=limit
        )

    def _refusal(self, namespace: str, agent_id: str, old: Any, subject: str) -> WriteRefused | None:
        return self.policy.check(
            "code_pattern",
            namespace,
            agent_id,
            subject,
            exists=old is not None,
            created_by=None if old is None else old["created_by"],
        )


def _hash(row: Any) -> str | None:
    return None if row is None else content_hash(row["description"], row["example"])
