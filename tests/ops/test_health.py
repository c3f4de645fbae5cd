"""The deep health check's integrity verdict: never corruption that is not there, always the real one."""

from __future__ import annotations

from pathlib import Path

from memory_system.core.settings import Settings
from memory_system.ops import health
from memory_system.runtime import Runtime
from memory_system.store import database_ops
from tests.faults._corrupt import damage_page_type


def _write_heavy(runtime: Runtime, rounds: int = 50) -> None:
    """Small write transactions (each one an FTS5 segment, merged as they pile up), deletes, and
    full-text reads on the service's own reader connection now and then, as a busy service does."""
    reader = runtime.db.reader()
    for n in range(rounds):
        items = [{"content": f"note {n} {i} word{i % 7} staging database moved"} for i in range(20)]
        runtime.memories.create_batch(namespace="ns", agent_id="a", items=items)
        if n % 3 == 0:
            reader.execute(
                "SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'staging' LIMIT 5"
            ).fetchall()
        if n % 5 == 0:
            page = runtime.memories.list(
                namespace="ns", agent_id="a", sharing_enabled=False, tiers_enabled=True, limit=15
            )
            for memory in page.items:
                runtime.memories.delete(memory.id, namespace="ns", agent_id="a", sharing_enabled=False)


def _integrity(runtime: Runtime) -> str:
    _ok, body = health.deep(runtime.health_sources(), health.ServiceState())
    return str(body["checks"]["integrity"])


def test_a_write_heavy_period_is_not_reported_as_corruption(migrated_db: Path) -> None:
    runtime = Runtime(Settings(db_path=migrated_db, embedder="none"))
    false_alarms = 0
    try:
        for _ in range(6):
            _write_heavy(runtime)
            assert _integrity(runtime) == health.OK
            assert database_ops.file_integrity_problems(migrated_db, quick=False) == []
            # What the check used to run: the long-lived reader, which cries corruption here.
            false_alarms += bool(database_ops.integrity_problems(runtime.db.reader(), quick=True))
        assert false_alarms > 0, "this load no longer makes a stale reader report FTS5 corruption"
    finally:
        runtime.close()


def test_a_damaged_page_is_still_reported(migrated_db: Path) -> None:
    # A damaged page type, which quick_check finds (it does not compare index contents).
    damage_page_type(migrated_db)
    runtime = Runtime(Settings(db_path=migrated_db, embedder="none"))
    try:
        verdict = _integrity(runtime)
        assert verdict.startswith("quick_check: "), verdict
    finally:
        runtime.close()
