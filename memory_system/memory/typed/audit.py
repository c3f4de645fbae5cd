"""The audit trail of the typed stores: who created, changed, deleted, or tried to, and when.

Each preference and code-pattern write records one event in the transaction of the change,
so the trail cannot miss a change nor record one that was rolled back. A write the policy
refuses (``memory/typed/policy``) is recorded too, with ``outcome: refused``: an agent that
keeps trying to overwrite another's keys shows up. Values are kept as sha256 hashes of what
was stored: enough to tell versions apart, with no copy of a deleted value.

Every agent of the namespace may read the trail (the stores themselves are namespace-wide);
no other namespace sees any of it.

Usage::

    audit = TypedStoreAudit(db)
    audit.events("proj", store="preference", user_id="u1", key="tone")  # newest first
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from memory_system.memory.records.models import MemoryValidationError
from memory_system.store import typed_store_events as sql
from memory_system.store.connection import Database

__all__ = ["MAX_EVENTS_PAGE", "STORES", "TypedStoreAudit", "TypedStoreEvent", "value_hash"]

MAX_EVENTS_PAGE = 1_000
STORES = ("preference", "code_pattern")


def value_hash(text: str) -> str:
    """sha256 of a stored value, as the trail shows it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TypedStoreEvent:
    id: int
    store: str
    action: str  # create, update, delete
    outcome: str  # applied, refused
    agent_id: str
    user_id: str | None
    key: str
    language: str | None
    pattern_id: int | None
    old_hash: str | None
    new_hash: str | None
    policy: str | None
    created_at: str

    @classmethod
    def from_row(cls, row: Any) -> TypedStoreEvent:
        return cls(
            row["id"],
            row["store"],
            row["action"],
            row["outcome"],
            row["agent_id"],
            row["user_id"],
            row["key"],
            row["language"],
            row["pattern_id"],
            row["old_hash"],
            row["new_hash"],
            row["policy"],
            row["created_at"],
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "store": self.store,
            "action": self.action,
            "outcome": self.outcome,
            "agent_id": self.agent_id,
        }
        if self.store == "preference":
            out |= {"user_id": self.user_id, "key": self.key}
        else:
            out |= {"pattern_id": self.pattern_id, "language": self.language, "name": self.key}
        return out | {
            "old_hash": self.old_hash,
            "new_hash": self.new_hash,
            "policy": self.policy,
            "created_at": self.created_at,
        }


class TypedStoreAudit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def events(
        self,
        namespace: str,
        *,
        store: str | None = None,
        agent_id: str | None = None,
        user_id: str | None = None,
        key: str | None = None,
        pattern_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[TypedStoreEvent]:
        """The namespace's trail, newest first, narrowed by any filter given; page with ``before_id``."""
        if store is not None and store not in STORES:
            raise MemoryValidationError("store", f"must be one of {', '.join(STORES)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EVENTS_PAGE:
            raise MemoryValidationError("limit", f"must be a whole number from 1 to {MAX_EVENTS_PAGE}")
        rows = sql.list_events(
            self.db.reader(),
            namespace,
            store=store,
            agent_id=agent_id,
            user_id=user_id,
            key=key,
            pattern_id=pattern_id,
            before_id=before_id,
            limit=limit,
        )
        return [TypedStoreEvent.from_row(r) for r in rows]
