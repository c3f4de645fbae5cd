"""Memories: create (one or a batch), read within an agent's view, change, delete, reinforce.

Every write is one transaction that also bumps the namespace's scope version (so the
injection cache never hides it) and, after the commit, tells ``MemoryEvents`` which ids
changed (the embedding worker and vector index listen). Embedding never happens here: a
write is acknowledged as soon as SQLite has it.

A memory's ``session_id`` is free text, but one that names another agent's session is refused
before anything is written (and as a list filter): ``session_check`` (the session registry's
``check_usable``, wired by the runtime) raises; without one, any id is taken as given.

Usage::

    service = MemoryService(db, events)
    result = service.create(namespace="default", agent_id="a1", item={"content": "User likes tea"})
    service.get(result.memory.id, namespace="default", agent_id="a1", sharing_enabled=False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.validation import INT64_MAX
from memory_system.memory.records import dedupe
from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.metadata_filter import check_metadata_filter
from memory_system.memory.records.models import (
    MAX_BATCH,
    MAX_LIST_LIMIT,
    BatchTooLarge,
    Memory,
    MemoryConflict,
    MemoryFilter,
    MemoryForbidden,
    MemoryNotFound,
    MemoryPage,
    MemoryPatch,
    MemoryValidationError,
    NewMemory,
    ValidMemory,
    WriteResult,
)
from memory_system.store import memories as store
from memory_system.store.connection import Connection, Database
from memory_system.store.scope import Visibility
from memory_system.store.scope_versions import bump_scope

__all__ = ["MemoryInput", "MemoryService", "SessionCheck", "validate_batch"]

MemoryInput = NewMemory | Mapping[str, Any]
# (session_id, agent_id, namespace) -> None, or raises: the caller may not use this session.
SessionCheck = Callable[[str | None, str, str], None]


def _as_new(item: MemoryInput) -> NewMemory:
    return item if isinstance(item, NewMemory) else NewMemory.from_dict(dict(item))


def validate_batch(items: Sequence[MemoryInput]) -> list[ValidMemory]:
    """Every item checked before anything is written; the first bad one names its index."""
    if len(items) == 0:
        raise MemoryValidationError("items", "must hold at least one memory")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(
            "items", f"holds {len(items)} memories; the limit is {MAX_BATCH} per batch, split it"
        )
    valid: list[ValidMemory] = []
    for index, item in enumerate(items):
        try:
            valid.append(_as_new(item).validated())
        except MemoryValidationError as exc:
            raise exc.at(index) from None
    return valid


def _as_stored(valid: ValidMemory, memory_id: int, namespace: str, agent_id: str, now: str) -> Memory:
    """A just-inserted memory as ``get`` would return it, without reading it back."""
    return Memory(
        id=memory_id,
        namespace=namespace,
        agent_id=agent_id,
        session_id=valid.session_id,
        user_id=valid.user_id,
        kind=valid.kind,
        tier=valid.tier,
        content=valid.content,
        importance=valid.importance,
        metadata=json.loads(valid.metadata_json),
        visibility=valid.visibility,
        occurred_at=valid.occurred_at or now,
        created_at=now,
        updated_at=now,
        last_accessed_at=None,
        access_count=0,
        reinforcement_count=0,
        expires_at=valid.expires_at,
    )


class MemoryService:
    def __init__(
        self, db: Database, events: MemoryEvents, *, session_check: SessionCheck | None = None
    ) -> None:
        self.db = db
        self.events = events
        self._session_check = session_check

    def _check_sessions(self, session_ids: set[str | None], namespace: str, agent_id: str) -> None:
        if self._session_check is not None:
            for session_id in sorted(s for s in session_ids if s):
                self._session_check(session_id, agent_id, namespace)

    # --- writes ---------------------------------------------------------------------------

    def create(self, *, namespace: str, agent_id: str, item: MemoryInput) -> WriteResult:
        """One memory; near-identical content in the same scope reinforces the existing one."""
        valid = _as_new(item).validated()
        return self._write(namespace, agent_id, [valid])[0]

    def create_batch(
        self, *, namespace: str, agent_id: str, items: Sequence[MemoryInput]
    ) -> list[WriteResult]:
        """Up to ``MAX_BATCH`` memories in one transaction: all written, or none (bad input)."""
        return self._write(namespace, agent_id, validate_batch(items))

    def _write(self, namespace: str, agent_id: str, items: list[ValidMemory]) -> list[WriteResult]:
        # Before the transaction: a session's owner never changes, so no write can race it.
        self._check_sessions({v.session_id for v in items}, namespace, agent_id)
        now = utc_now()
        hashes = [dedupe.content_hash(v.content) for v in items]
        first_new: dict[str, int] = {}
        with self.db.write() as conn:
            existing = store.ids_by_hash(conn, namespace, agent_id, hashes)
            rows: list[tuple[Any, ...]] = []
            bumps: dict[str, tuple[int, float, str | None]] = {}
            for index, (valid, digest) in enumerate(zip(items, hashes, strict=True)):
                if digest in existing or digest in first_new:
                    times, importance, expires = bumps.get(digest, (0, 0.0, valid.expires_at))
                    longer = (
                        None
                        if expires is None or valid.expires_at is None
                        else max(expires, valid.expires_at)
                    )
                    bumps[digest] = (times + 1, max(importance, valid.importance), longer)
                    continue
                first_new[digest] = index
                rows.append(
                    (
                        namespace,
                        agent_id,
                        valid.session_id,
                        valid.user_id,
                        valid.kind,
                        valid.tier,
                        valid.content,
                        digest,
                        valid.importance,
                        valid.metadata_json,
                        valid.visibility,
                        valid.occurred_at or now,
                        now,
                        now,
                        valid.expires_at,
                    )
                )
            new_ids = store.insert_many(conn, rows)
            ids = dict(zip(first_new, new_ids, strict=True))
            if bumps:
                store.reinforce_by_hash(
                    conn,
                    namespace,
                    agent_id,
                    [
                        (times, importance, expires, digest)
                        for digest, (times, importance, expires) in bumps.items()
                    ],
                    now,
                )
                ids.update(existing)
            # Rows written as given are built from the input; only reinforced ones are read back.
            changed = store.fetch(conn, [ids[digest] for digest in bumps])
            bump_scope(conn, namespace)
        self.events.written(new_ids)
        results: list[WriteResult] = []
        for index, digest in enumerate(hashes):
            memory_id = ids[digest]
            if memory_id in changed:
                memory = Memory.from_row(changed[memory_id])
            else:
                memory = _as_stored(items[index], memory_id, namespace, agent_id, now)
            results.append(WriteResult(memory, reinforced=first_new.get(digest) != index))
        return results

    def update(
        self,
        memory_id: int,
        patch: MemoryPatch | Mapping[str, Any],
        *,
        namespace: str,
        agent_id: str,
        sharing_enabled: bool,
    ) -> Memory:
        """Only the owner changes a memory; others who can see it (shared) get ``MemoryForbidden``."""
        if not isinstance(patch, MemoryPatch):
            patch = MemoryPatch.from_dict(dict(patch))
        changes = dict(patch.changes)
        if "content" in changes:
            changes["content_hash"] = dedupe.content_hash(changes["content"])
        with self.db.write() as conn:
            current = self._owned(conn, memory_id, namespace, agent_id, sharing_enabled)
            if changes.get("tier") == "working" and not current.session_id:
                raise MemoryValidationError("tier", "working memories belong to a session; this one has none")
            if "content_hash" in changes:
                clash = store.ids_by_hash(conn, namespace, agent_id, [changes["content_hash"]])
                other = clash.get(changes["content_hash"])
                if other is not None and other != memory_id:
                    raise MemoryConflict(
                        f"memory {other} already holds near-identical content; change or delete that one",
                        other,
                    )
            now = utc_now()
            store.update_fields(conn, memory_id, changes, now)
            updated = Memory.from_row(store.fetch(conn, [memory_id])[memory_id])
            bump_scope(conn, namespace)
        # Metadata strings are indexed too (full text) and its speaker is part of what is embedded.
        if updated.content != current.content or updated.metadata != current.metadata:
            self.events.written([memory_id])
        return updated

    def delete(self, memory_id: int, *, namespace: str, agent_id: str, sharing_enabled: bool) -> None:
        """Gone: the row, its full-text entry (trigger) and its vector (foreign-key cascade)."""
        with self.db.write() as conn:
            self._owned(conn, memory_id, namespace, agent_id, sharing_enabled)
            store.delete(conn, [memory_id])
            bump_scope(conn, namespace)
        self.events.deleted([memory_id])

    def reinforce(self, ids: Sequence[int]) -> int:
        """Count one access (retrieved or injected) of each id; feeds tier promotion.

        Does not bump the scope version: an access changes no content, and bumping on every
        injection would empty the injection cache on every call.
        """
        if not ids:
            return 0
        with self.db.write() as conn:
            return store.touch(conn, ids, utc_now())

    # --- reads ----------------------------------------------------------------------------

    def get(self, memory_id: int, *, namespace: str, agent_id: str, sharing_enabled: bool) -> Memory:
        return self._visible(self.db.reader(), memory_id, namespace, agent_id, sharing_enabled)

    def list(
        self,
        *,
        namespace: str,
        agent_id: str,
        sharing_enabled: bool,
        tiers_enabled: bool,
        filters: MemoryFilter | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> MemoryPage:
        """Newest first. With tiers off every memory is in one flat tier: a tier filter is ignored."""
        filters = (filters or MemoryFilter()).validated()
        metadata = check_metadata_filter(dict(filters.metadata), "metadata")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
            raise MemoryValidationError("limit", f"must be a whole number from 1 to {MAX_LIST_LIMIT}")
        before_id = None
        if cursor is not None:
            if not cursor.isascii() or not cursor.isdigit() or int(cursor) > INT64_MAX:
                raise MemoryValidationError(
                    "cursor", "is not a cursor this service returned; omit it to start over"
                )
            before_id = int(cursor)
        self._check_sessions({filters.session_id}, namespace, agent_id)
        visibility = Visibility(agent_id=agent_id, namespace=namespace, sharing_enabled=sharing_enabled)
        rows = store.list_visible(
            self.db.reader(),
            visibility,
            kind=filters.kind,
            tier=filters.tier if tiers_enabled else None,
            session_id=filters.session_id,
            user_id=filters.user_id,
            created_after=filters.created_after,
            created_before=filters.created_before,
            metadata=metadata,
            before_id=before_id,
            limit=limit + 1,
        )
        items = [Memory.from_row(row) for row in rows[:limit]]
        next_cursor = str(items[-1].id) if len(rows) > limit else None
        return MemoryPage(items=items, next_cursor=next_cursor, tiers_enabled=tiers_enabled)

    @staticmethod
    def _visible(
        conn: Connection, memory_id: int, namespace: str, agent_id: str, sharing_enabled: bool
    ) -> Memory:
        visibility = Visibility(agent_id=agent_id, namespace=namespace, sharing_enabled=sharing_enabled)
        row = store.get_visible(conn, memory_id, visibility)
        if row is None:
            raise MemoryNotFound(f"memory {memory_id} not found")
        return Memory.from_row(row)

    def _owned(
        self, conn: Connection, memory_id: int, namespace: str, agent_id: str, sharing_enabled: bool
    ) -> Memory:
        memory = self._visible(conn, memory_id, namespace, agent_id, sharing_enabled)
        if memory.agent_id != agent_id:
            raise MemoryForbidden(
                f"memory {memory_id} belongs to agent {memory.agent_id!r}; "
                "only its owner can change or delete it"
            )
        return memory
