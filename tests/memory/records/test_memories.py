"""MemoryService against a real migrated SQLite file: CRUD, batches, reinforcement, pagination, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.records.models import (
    MAX_BATCH,
    MemoryConflict,
    MemoryFilter,
    MemoryForbidden,
    MemoryNotFound,
    MemoryValidationError,
)
from memory_system.store.connection import Database
from memory_system.store.scope_versions import scope_version

NS = "proj"


class Recorder:
    def __init__(self, events: MemoryEvents) -> None:
        self.written: list[list[int]] = []
        self.deleted: list[list[int]] = []
        events.on_written(lambda ids: self.written.append(list(ids)))
        events.on_deleted(lambda ids: self.deleted.append(list(ids)))


@pytest.fixture
def service(db: Database, events: MemoryEvents) -> MemoryService:
    return MemoryService(db, events)


def count(db: Database, sql: str = "SELECT count(*) FROM memories", *args: Any) -> int:
    return int(db.reader().execute(sql, args).fetchone()[0])


def create(service: MemoryService, content: str, agent: str = "a1", **fields: Any) -> Any:
    return service.create(namespace=NS, agent_id=agent, item={"content": content, **fields})


def test_create_fills_defaults_and_returns_metadata_as_given(service: MemoryService, db: Database) -> None:
    metadata = {"turn": "D1:3", "nested": {"z": [1, 2.5, None], "a": True}}
    result = create(
        service, "The deploy runs on Fridays", metadata=metadata, occurred_at="2023-05-08T13:56:00+02:00"
    )
    memory = result.memory
    assert result.reinforced is False
    assert memory.metadata == metadata and list(memory.metadata["nested"]) == ["z", "a"]
    assert memory.tier == "short_term" and memory.kind == "note" and memory.visibility == "private"
    assert memory.occurred_at == "2023-05-08T11:56:00.000Z"
    assert memory.importance == 0.5 and memory.access_count == 0
    assert memory.created_at.endswith("Z") and memory.created_at == memory.updated_at
    assert create(service, "in a session", session_id="s1").memory.tier == "working"
    assert scope_version(db.reader(), NS) == 2


def test_create_rejects_bad_input_and_writes_nothing(service: MemoryService, db: Database) -> None:
    bad = [
        ({"content": "  "}, "content"),
        ({"content": "x" * (32 * 1024 + 1)}, "content"),
        ({"content": "x", "importance": 1.5}, "importance"),
        ({"content": "x", "kind": "Not A Kind"}, "kind"),
        ({"content": "x", "tier": "forever"}, "tier"),
        ({"content": "x", "tier": "working"}, "tier"),
        ({"content": "x", "metadata": [1, 2]}, "metadata"),
        ({"content": "x", "occurred_at": "yesterday"}, "occurred_at"),
        ({"content": "x", "visibility": "public"}, "visibility"),
        ({"content": "x", "colour": "red"}, "colour"),
    ]
    for item, field in bad:
        with pytest.raises(MemoryValidationError) as info:
            service.create(namespace=NS, agent_id="a1", item=item)
        assert info.value.field == field, item
    assert count(db) == 0
    assert scope_version(db.reader(), NS) == 0


def test_near_identical_content_reinforces_instead_of_copying(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    seen = Recorder(events)
    first = create(service, "User prefers tabs over spaces.", importance=0.4)
    again = create(service, "  user PREFERS tabs   over spaces ", importance=0.9)
    assert again.reinforced is True
    assert again.memory.id == first.memory.id
    assert again.memory.reinforcement_count == 1 and again.memory.importance == 0.9
    assert again.memory.content == "User prefers tabs over spaces."
    lower = create(service, "- user prefers tabs over spaces!", importance=0.1)
    assert lower.memory.reinforcement_count == 2 and lower.memory.importance == 0.9
    assert count(db) == 1
    assert seen.written == [[first.memory.id]]  # content never changed after the first write
    # Other agent, other namespace, or different meaning: separate memories.
    assert create(service, "User prefers tabs over spaces.", agent="a2").reinforced is False
    assert (
        service.create(
            namespace="other", agent_id="a1", item={"content": "User prefers tabs over spaces."}
        ).reinforced
        is False
    )
    assert create(service, "User prefers spaces over tabs.").reinforced is False
    assert create(service, "Use C++").memory.id != create(service, "Use C").memory.id
    assert count(db) == 6


def test_batch_writes_all_with_in_batch_and_stored_duplicates(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    seen = Recorder(events)
    existing = create(service, "already here")
    items: list[dict[str, Any]] = [
        {
            "content": f"fact {i}",
            "kind": "fact",
            "metadata": {"i": i, "f": 0.1 * i},
            "user_id": "u",
            "session_id": "s" if i % 2 else None,
            "occurred_at": "2020-02-29T23:59:59.5+05:30",
            "importance": 0.3,
        }
        for i in range(5)
    ]
    items += [{"content": "Fact 2."}, {"content": "already here"}]
    results = service.create_batch(namespace=NS, agent_id="a1", items=items)
    assert [r.reinforced for r in results] == [False] * 5 + [True, True]
    assert results[5].memory.id == results[2].memory.id
    assert results[5].memory.reinforcement_count == 1
    assert results[6].memory.id == existing.memory.id
    assert count(db) == 6
    assert seen.written[-1] == [r.memory.id for r in results[:5]]
    for result in results:  # what a write returns is what a read returns
        stored = service.get(result.memory.id, namespace=NS, agent_id="a1", sharing_enabled=False)
        if result.memory.id != results[2].memory.id:
            assert result.memory == stored
    assert results[5].memory == service.get(
        results[2].memory.id, namespace=NS, agent_id="a1", sharing_enabled=False
    )


def test_batch_is_all_or_nothing_and_names_the_bad_item(service: MemoryService, db: Database) -> None:
    items: list[Any] = [{"content": f"ok {i}"} for i in range(10)]
    items[7] = {"content": "bad", "importance": -1}
    with pytest.raises(MemoryValidationError) as info:
        service.create_batch(namespace=NS, agent_id="a1", items=items)
    assert (info.value.index, info.value.field) == (7, "importance")
    assert "items[7].importance" in str(info.value)
    assert count(db) == 0


def test_batch_limit(service: MemoryService, db: Database) -> None:
    with pytest.raises(MemoryValidationError, match=f"limit is {MAX_BATCH}"):
        service.create_batch(
            namespace=NS, agent_id="a1", items=[{"content": f"m{i}"} for i in range(MAX_BATCH + 1)]
        )
    with pytest.raises(MemoryValidationError, match="at least one"):
        service.create_batch(namespace=NS, agent_id="a1", items=[])
    assert count(db) == 0
    done = service.create_batch(
        namespace=NS, agent_id="a1", items=[{"content": f"m{i}"} for i in range(MAX_BATCH)]
    )
    assert len(done) == MAX_BATCH and count(db) == MAX_BATCH


def test_list_pages_newest_first_with_filters(service: MemoryService) -> None:
    service.create_batch(
        namespace=NS,
        agent_id="a1",
        items=[
            {"content": f"note {i}", "kind": "fact" if i % 2 else "note", "user_id": "u1" if i < 4 else None}
            for i in range(9)
        ],
    )
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = service.list(
            namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True, cursor=cursor, limit=4
        )
        seen.extend(m.id for m in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 9
    facts = service.list(
        namespace=NS,
        agent_id="a1",
        sharing_enabled=False,
        tiers_enabled=True,
        filters=MemoryFilter(kind="fact", user_id="u1"),
    )
    assert sorted(m.content for m in facts.items) == ["note 1", "note 3"]
    assert (
        service.list(
            namespace=NS,
            agent_id="a1",
            sharing_enabled=False,
            tiers_enabled=True,
            filters=MemoryFilter(created_after="2999-01-01"),
        ).items
        == []
    )
    with pytest.raises(MemoryValidationError, match="cursor"):
        service.list(namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True, cursor="abc")
    with pytest.raises(MemoryValidationError, match="limit"):
        service.list(namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True, limit=501)


def test_tier_filter_applies_only_with_tiers_on(service: MemoryService) -> None:
    create(service, "working one", session_id="s1")
    create(service, "short one")
    on = service.list(
        namespace=NS,
        agent_id="a1",
        sharing_enabled=False,
        tiers_enabled=True,
        filters=MemoryFilter(tier="working"),
    )
    off = service.list(
        namespace=NS,
        agent_id="a1",
        sharing_enabled=False,
        tiers_enabled=False,
        filters=MemoryFilter(tier="working"),
    )
    assert [m.content for m in on.items] == ["working one"]
    assert sorted(m.content for m in off.items) == ["short one", "working one"]
    assert off.tiers_enabled is False


def test_other_agents_private_memories_are_invisible_and_untouchable(service: MemoryService) -> None:
    mine = create(service, "a1's secret").memory
    for sharing in (False, True):
        kwargs = {"namespace": NS, "agent_id": "a2", "sharing_enabled": sharing}
        with pytest.raises(MemoryNotFound):
            service.get(mine.id, **kwargs)
        with pytest.raises(MemoryNotFound):
            service.update(mine.id, {"content": "hijacked"}, **kwargs)
        with pytest.raises(MemoryNotFound):
            service.delete(mine.id, **kwargs)
        assert service.list(tiers_enabled=True, **kwargs).items == []
    with pytest.raises(MemoryNotFound):  # same agent name, other namespace
        service.get(mine.id, namespace="elsewhere", agent_id="a1", sharing_enabled=True)
    assert service.get(mine.id, namespace=NS, agent_id="a1", sharing_enabled=False).content == "a1's secret"


def test_namespace_visible_memory_is_readable_but_only_the_owner_changes_it(service: MemoryService) -> None:
    public = create(service, "team convention", visibility="namespace").memory
    assert service.get(public.id, namespace=NS, agent_id="a2", sharing_enabled=True).id == public.id
    with pytest.raises(MemoryNotFound):  # sharing off: each agent sees only its own
        service.get(public.id, namespace=NS, agent_id="a2", sharing_enabled=False)
    with pytest.raises(MemoryForbidden):
        service.update(public.id, {"importance": 1}, namespace=NS, agent_id="a2", sharing_enabled=True)
    with pytest.raises(MemoryForbidden):
        service.delete(public.id, namespace=NS, agent_id="a2", sharing_enabled=True)


def test_update_changes_fields_and_reindexes_content(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    memory = create(service, "the cat sat").memory
    seen = Recorder(events)
    version = scope_version(db.reader(), NS)
    updated = service.update(
        memory.id,
        {
            "content": "the dog ran",
            "importance": 0.8,
            "metadata": {"k": 1},
            "expires_at": "2999-01-01T00:00:00Z",
        },
        namespace=NS,
        agent_id="a1",
        sharing_enabled=False,
    )
    assert (updated.content, updated.importance, updated.metadata) == ("the dog ran", 0.8, {"k": 1})
    assert updated.expires_at == "2999-01-01T00:00:00.000Z" and updated.updated_at >= memory.updated_at
    assert seen.written == [[memory.id]]
    assert scope_version(db.reader(), NS) == version + 1
    fts = "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?"
    assert count(db, fts, "dog") == 1 and count(db, fts, "cat") == 0
    cleared = service.update(
        memory.id, {"expires_at": None}, namespace=NS, agent_id="a1", sharing_enabled=False
    )
    assert cleared.expires_at is None


def test_update_refuses_bad_changes_and_near_duplicates(service: MemoryService) -> None:
    one = create(service, "first").memory
    create(service, "second")
    kwargs = {"namespace": NS, "agent_id": "a1", "sharing_enabled": False}
    with pytest.raises(MemoryConflict) as info:
        service.update(one.id, {"content": "Second."}, **kwargs)
    assert info.value.existing_id != one.id
    for patch, field in (
        ({"id": 5}, "id"),
        ({"importance": "high"}, "importance"),
        ({}, "body"),
        ({"tier": "working"}, "tier"),
    ):
        with pytest.raises(MemoryValidationError) as bad:
            service.update(one.id, patch, **kwargs)
        assert bad.value.field == field
    assert service.get(one.id, **kwargs) == one


def test_delete_removes_row_fts_and_embedding(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    seen = Recorder(events)
    memory = create(service, "ephemeral zebra fact").memory
    with db.write() as conn:
        conn.execute(
            "INSERT INTO memory_embeddings (memory_id, namespace, model, dim, vector) "
            "VALUES (?, ?, 'm', 1, x'00')",
            (memory.id, NS),
        )
    service.delete(memory.id, namespace=NS, agent_id="a1", sharing_enabled=False)
    assert count(db, "SELECT count(*) FROM memories WHERE id = ?", memory.id) == 0
    assert count(db, "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'zebra'") == 0
    assert count(db, "SELECT count(*) FROM memory_embeddings WHERE memory_id = ?", memory.id) == 0
    assert seen.deleted == [[memory.id]]
    with pytest.raises(MemoryNotFound):
        service.delete(memory.id, namespace=NS, agent_id="a1", sharing_enabled=False)


def test_reinforce_counts_accesses_without_bumping_the_scope(service: MemoryService, db: Database) -> None:
    memory = create(service, "often used").memory
    version = scope_version(db.reader(), NS)
    assert service.reinforce([memory.id, memory.id, 999]) == 1
    service.reinforce([memory.id])
    again = service.get(memory.id, namespace=NS, agent_id="a1", sharing_enabled=False)
    assert again.access_count == 2 and again.last_accessed_at is not None
    assert scope_version(db.reader(), NS) == version
    assert service.reinforce([]) == 0


def test_expired_memories_are_hidden(service: MemoryService) -> None:
    gone = create(service, "old news", expires_at="2000-01-01T00:00:00Z").memory
    with pytest.raises(MemoryNotFound):
        service.get(gone.id, namespace=NS, agent_id="a1", sharing_enabled=False)
    revived = create(service, "Old news.")  # restating it clears the past expiry
    assert revived.reinforced and revived.memory.expires_at is None
