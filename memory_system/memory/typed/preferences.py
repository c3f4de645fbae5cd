"""User preferences: a JSON value per (namespace, user, key), always injected first.

Preferences are not memories: they are not ranked, deduplicated or tiered; the latest
value of a key simply wins. A change bumps the namespace's scope version, so a cached
injection never shows a stale preference.

Every agent of the namespace reads them; who may write is the store's ``WritePolicy``
(``memory/typed/policy``), and every write, applied or refused, is in the audit trail
(``memory/typed/audit``) with the agent that made it.

Usage::

    prefs = PreferenceStore(db)
    prefs.put("default", "u1", "indent", "tabs", agent_id="planner")
    prefs.list("default", "u1")  # -> [Preference(key="indent", value="tabs", created_by="planner", ...)]
"""

from __future__ import annotations

import builtins
import json
import re
from dataclasses import dataclass
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.validation import InvalidValue, check_text
from memory_system.memory.records.models import MemoryNotFound, MemoryValidationError, json_text
from memory_system.memory.typed.audit import TypedStoreAudit, TypedStoreEvent, value_hash
from memory_system.memory.typed.policy import WritePolicy, WriteRefused
from memory_system.store import preferences as store
from memory_system.store import typed_store_events as events
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

__all__ = ["KEY_PATTERN", "MAX_VALUE_BYTES", "Preference", "PreferenceNotFound", "PreferenceStore"]

MAX_VALUE_BYTES = 16 * 1024
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$"
_KEY = re.compile(KEY_PATTERN)


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
    created_by: str | None  # None: written before creators were recorded (migration 005)
    updated_by: str | None

    @classmethod
    def from_row(cls, row: Any) -> Preference:
        return cls(
            row["namespace"],
            row["user_id"],
            row["key"],
            json.loads(row["value"]),
            row["created_at"],
            row["updated_at"],
            row["created_by"],
            row["updated_by"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
        }


def check_user(user_id: Any) -> str:
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
        raise MemoryValidationError("user_id", "is required: a non-empty string of at most 200 characters")
    try:
        return check_text(user_id, "user_id")
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise MemoryValidationError(
            "key", "must be 1-100 characters of letters, digits, _ . : - (starting with a letter or digit)"
        )
    return key


class PreferenceStore:
    def __init__(self, db: Database, policy: WritePolicy | None = None) -> None:
        self.db = db
        self.policy = policy or WritePolicy()

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

    def put(
        self, namespace: str, user_id: str, key: str, value: Any, *, agent_id: str
    ) -> tuple[Preference, bool]:
        """Set the value (any JSON, ``null`` included) as ``agent_id``; returns it and whether the
        key was new. Raises ``WriteRefused`` when the write policy does not allow it."""
        check_user(user_id)
        check_key(key)
        text = json_text(value, "value", MAX_VALUE_BYTES)
        now = utc_now()
        with self.db.write() as conn:
            old = store.get(conn, namespace, user_id, key)
            refused = self._refusal(namespace, agent_id, user_id, key, old)
            action = "create" if old is None else "update"
            events.record(conn, _event(namespace, agent_id, user_id, key, action, old, text, refused), now)
            if refused is None:
                created = store.upsert(conn, namespace, user_id, key, text, now, agent_id)
                bump_scope(conn, namespace)
                row = store.get(conn, namespace, user_id, key)
        if refused is not None:
            raise refused
        return Preference.from_row(row), created

    def delete(self, namespace: str, user_id: str, key: str, *, agent_id: str) -> None:
        check_user(user_id)
        check_key(key)
        with self.db.write() as conn:
            old = store.get(conn, namespace, user_id, key)
            if old is None:
                raise PreferenceNotFound(f"no preference {key!r} for user {user_id!r}")
            refused = self._refusal(namespace, agent_id, user_id, key, old)
            events.record(
                conn, _event(namespace, agent_id, user_id, key, "delete", old, None, refused), utc_now()
            )
            if refused is None:
                store.delete(conn, namespace, user_id, key)
                bump_scope(conn, namespace)
        if refused is not None:
            raise refused

    def history(
        self, namespace: str, user_id: str, key: str, *, before_id: int | None = None, limit: int = 100
    ) -> builtins.list[TypedStoreEvent]:
        """Every recorded write of this key, newest first (also after it was deleted)."""
        return TypedStoreAudit(self.db).events(
            namespace,
            store="preference",
            user_id=check_user(user_id),
            key=check_key(key),
            before_id=before_id,
            limit=limit,
        )

    def _refusal(
        self, namespace: str, agent_id: str, user_id: str, key: str, old: Any
    ) -> WriteRefused | None:
        return self.policy.check(
            "preference",
            namespace,
            agent_id,
            f"preference {key!r} of user {user_id!r}",
            exists=old is not None,
            created_by=None if old is None else old["created_by"],
        )


def _event(
    namespace: str,
    agent_id: str,
    user_id: str,
    key: str,
    action: str,
    old: Any,
    new_text: str | None,
    refused: WriteRefused | None,
) -> events.TypedStoreChange:
    return events.TypedStoreChange(
        namespace,
        "preference",
        action,
        agent_id,
        key,
        user_id=user_id,
        old_hash=None if old is None else value_hash(old["value"]),
        new_hash=None if new_text is None else value_hash(new_text),
        policy=None if refused is None else refused.policy,
    )
