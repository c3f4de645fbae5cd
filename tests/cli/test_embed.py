"""``memory-system embed``: backfill what is missing, re-embed stale vectors, refuse bad use."""

from __future__ import annotations

import json
from pathlib import Path

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.store import embeddings as store
from memory_system.store.connection import Database, open_connection


def vectors(db: Path) -> dict[int, str]:
    conn = open_connection(db, create=False)
    try:
        return {r[0]: r[1] for r in conn.execute("SELECT memory_id, model FROM memory_embeddings")}
    finally:
        conn.close()


def test_backfill_then_reembed_after_a_model_change(cli, migrated_db: Path) -> None:  # type: ignore[no-untyped-def]
    database = Database(migrated_db)
    ids = [
        r.memory.id
        for r in MemoryService(database, MemoryEvents()).create_batch(
            namespace="p", agent_id="a", items=[{"content": f"note {i} about tea"} for i in range(3)]
        )
    ]
    database.close()

    done = cli("embed", "--backfill", "--db", str(migrated_db), "--json", check=True)
    result = json.loads(done.stdout)
    assert result["action"] == "backfill" and result["embedded"] == 3 and result["stale"] is False
    assert sorted(vectors(migrated_db)) == ids

    conn = open_connection(migrated_db, create=False)
    conn.execute("UPDATE memory_embeddings SET model = 'old-model'")
    store.record_model(conn, "old-model", 384)
    conn.close()
    rebuilt = cli("embed", "--reembed", "--db", str(migrated_db), check=True)
    assert "reembed: embedded 3 memories" in rebuilt.stdout and "current" in rebuilt.stdout
    assert set(vectors(migrated_db).values()) == {"all-MiniLM-L6-v2"}


def test_bad_use_is_one_line_and_changes_nothing(cli, migrated_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    neither = cli("embed", "--db", str(migrated_db))
    assert neither.returncode == 1 and "--backfill" in neither.stderr and "--reembed" in neither.stderr
    both = cli("embed", "--backfill", "--reembed", "--db", str(migrated_db))
    assert both.returncode == 1
    missing = cli("embed", "--backfill", "--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
    no_model = cli("embed", "--backfill", "--db", str(migrated_db), env={"MEMORY_SYSTEM_EMBEDDER": "none"})
    assert no_model.returncode == 1 and "semantic" in no_model.stderr
    assert vectors(migrated_db) == {}
