"""User preferences: a JSON value per (namespace, user, key), always injected first.

Preferences are not memories: they are not ranked, deduplicated or tiered; the latest
value of a key simply wins. A change bumps the namespace's scope version, so a cached
injection never shows a stale preference.

Usage::

    prefs = PreferenceStore(db)
    prefs.put("default", "u1", "indent", "tabs")
    prefs.list("default", "u1")  # -> [Preference(key="indent", value="tabs", ...)]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.memory.records.models import MemoryNotFound, MemoryValidationError, json_text
from memory_system.store import preferences as store
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

__all__ = ["MAX_VALUE_BYTES", "Preference", "PreferenceNotFound", "PreferenceStore"]

MAX_VALUE_BYTES = 16 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")


class PreferenceNotFound(MemoryNotFound):
    """No such key for that user in the namespace."""


@dataclass(frozen=True)
class Preference:
    namespace: str
    user_id: str
    key: str
    value: Any
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> Preference:
        return cls(
            row["namespace"],
            row["user_id"],
            row["key"],
            json.loads(row["value"]),
            row["created_at"],
            row["updated_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def check_user(user_id: Any) -> str:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
        raise MemoryValidationError("user_id", "is required: a non-empty string of at most 200 characters")
    return user_id


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise MemoryValidationError(
            "key", "must be 1-100 characters of letters, digits, _ . : - (starting with a letter or digit)"
        )
    return key


class PreferenceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, namespace: str, user_id: str, key: str) -> Preference:
        row = store.get(self.db.reader(), namespace, check_user(user_id), check_key(key))
        if row is None:
            raise PreferenceNotFound(f"no preference {key!r} for user {user_id!r}")
        return Preference.from_row(row)

    def list(self, namespace: str, user_id: str) -> list[Preference]:
        return [
            Preference.from_row(r)
            for r in store.list_for_user(self.db.reader(), namespace, check_user(user_id))
        ]

    def put(self, namespace: str, user_id: str, key: str, value: Any) -> tuple[Preference, bool]:
        """Set the value (any JSON, ``null`` included); returns it and whether the key was new."""
        check_user(user_id)
        check_key(key)
        text = json_text(value, "value", MAX_VALUE_BYTES)
        with self.db.write() as conn:
            created = store.upsert(conn, namespace, user_id, key, text, utc_now())
            bump_scope(conn, namespace)
            row = store.get(conn, namespace, user_id, key)
        return Preference.from_row(row), created

    def delete(self, namespace: str, user_id: str, key: str) -> None:
        check_user(user_id)
        check_key(key)
        with self.db.write() as conn:
            if not store.delete(conn, namespace, user_id, key):
                raise PreferenceNotFound(f"no preference {key!r} for user {user_id!r}")
            bump_scope(conn, namespace)
