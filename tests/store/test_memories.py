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


def test_another_agents_rows_under_a_session_id_do_not_keep_the_owners_session_alive(
    migrated_db: Path,
) -> None:
    """Rows written before foreign session ids were refused: bob's fresh working memory under
    alice's idle session must not make alice's session look active."""
    from memory_system.store.memories import working_of_ended_sessions

    with Database(migrated_db) as db:
        with db.write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, agent_id, namespace, last_active_at) "
                "VALUES ('s1', 'alice', 'p', '2020-01-01T00:00:00.000Z')"
            )
            for agent, at in (("alice", "2020-01-01T00:00:00.000Z"), ("bob", "2030-01-01T00:00:00.000Z")):
                conn.execute(
                    "INSERT INTO memories (namespace, agent_id, session_id, kind, tier, content, "
                    "content_hash, occurred_at, created_at, updated_at) "
                    "VALUES ('p', ?, 's1', 'note', 'working', ?, ?, ?, ?, ?)",
                    (agent, f"{agent} wrote this", agent, at, at, at),
                )
        ended = working_of_ended_sessions(
            db.reader(), now="2031-01-01T00:00:00.000Z", idle_before="2021-01-01T00:00:00.000Z"
        )
    assert [(row["agent_id"], row["ended_at"]) for row in ended] == [("alice", "2020-01-01T00:00:00.000Z")]
