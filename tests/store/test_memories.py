"""store/memories.py details the service tests cannot reach: ids when the sequence is unusual."""

from __future__ import annotations

from pathlib import Path

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.store.connection import Database


def test_batch_ids_are_right_even_when_the_autoincrement_sequence_was_reset(migrated_db: Path) -> None:
    with Database(migrated_db) as db:
        service = MemoryService(db, MemoryEvents())
        service.create_batch(namespace="p", agent_id="a", items=[{"content": f"old {i}"} for i in range(5)])
        with db.write() as conn:  # as after a manual repair: SQLite falls back to max(rowid) + 1
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'memories'")
        results = service.create_batch(
            namespace="p", agent_id="a", items=[{"content": f"new {i}"} for i in range(3)]
        )
        stored = dict(
            db.reader().execute("SELECT id, content FROM memories WHERE content LIKE 'new %'").fetchall()
        )
    assert {r.memory.id: r.memory.content for r in results} == stored
    assert sorted(stored) == [6, 7, 8]
