"""``db restore``: verify first, keep the current file aside, swap atomically, respect the service."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.ops import backup as backups
from memory_system.ops import schema
from memory_system.ops.db_rollback import execute_rollback, plan_rollback
from memory_system.ops.restore import execute_restore, plan_restore
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory
from memory_system.store.connection import open_connection


def _bytes(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(path: Path) -> dict[str, int]:
    conn = open_connection(path, create=False)
    try:
        return inventory.row_counts(conn)
    finally:
        conn.close()


@pytest.fixture
def ready(db_file: Path, fill_phase_data) -> tuple[Path, backups.Backup]:
    """A database at 004 (so that 004 is the migration a rollback undoes), with rows in every table.

    At 004 there are no approval tables (006), so the rollbacks here are emergencies; what is
    tested is the restore after them (tests/ops/test_approvals.py tests the approvals)."""
    schema.migrate(db_file, to=4)
    fill_phase_data(db_file)
    return db_file, backups.create_backup(db_file)


def test_restore_after_a_rollback_brings_phase_2_back_and_keeps_the_record(ready) -> None:
    db, made = ready
    execute_rollback(plan_rollback(db, 4, backup_path=made.path, emergency=True))
    rolled_back = _counts(db)
    assert "memories" not in rolled_back

    result = execute_restore(plan_restore(db, made.path))

    restored = _counts(db)
    assert restored["memories"] == 5 and result.schema_version == 4
    trail = ("rollback_records", "feature_flag_events")  # the audit trail is kept, not rewound
    assert {k: v for k, v in restored.items() if k not in trail} == {
        k: v for k, v in made.manifest["row_counts"].items() if k not in trail
    }
    assert result.kept_aside is not None and result.kept_aside.name.startswith("memory.db.before-restore-")
    assert _counts(result.kept_aside) == rolled_back  # the replaced file, whole
    conn = open_connection(db, create=False)
    [record] = maintenance.rollback_records(conn)  # carried over from the replaced file
    assert maintenance.integrity_problems(conn) == [] and maintenance.foreign_key_problems(conn) == []
    conn.close()
    assert record["migration"] == 4 and record["details"]["carried_from"] == str(result.kept_aside)
    assert not list(db.parent.glob(".*.partial"))


def test_restore_folds_a_crashed_writers_wal_into_the_file_kept_aside(ready, acked_writer) -> None:
    db, made = ready
    writer = acked_writer(db)
    writer.wait_for(200)
    acked = writer.kill()  # leaves committed transactions in memory.db-wal
    assert Path(str(db) + "-wal").exists()

    result = execute_restore(plan_restore(db, made.path))

    assert _counts(db)["entities"] == made.manifest["row_counts"]["entities"]  # not polluted by the WAL
    assert result.kept_aside is not None
    assert _counts(result.kept_aside)["entities"] >= 3 + len(acked)


def test_restore_refuses_while_the_service_holds_the_database(ready, hold_service_lock) -> None:
    db, made = ready
    hold_service_lock(db)
    before = _bytes(db)
    with pytest.raises(StoreError, match="held by a running service .*--force"):
        plan_restore(db, made.path)
    assert _bytes(db) == before
    plan = plan_restore(db, made.path, force=True)
    assert plan.service_running
    assert execute_restore(plan).kept_aside is not None


def test_restore_of_a_corrupted_backup_changes_nothing(ready, corrupt_index) -> None:
    db, made = ready
    corrupt_index(made.path)  # checksum no longer matches
    before = sorted(os.listdir(db.parent)), _bytes(db)
    with pytest.raises(StoreError, match="does not match its manifest checksum"):
        plan_restore(db, made.path)
    assert (sorted(os.listdir(db.parent)), _bytes(db)) == before


def test_restore_of_a_backup_of_another_database_is_refused(ready, tmp_path: Path) -> None:
    db, _ = ready
    other = tmp_path / "other" / "memory.db"
    schema.migrate(other)
    foreign = backups.create_backup(other)
    before = _bytes(db)
    with pytest.raises(StoreError, match="is of another database"):
        plan_restore(db, foreign.path)
    assert _bytes(db) == before


def test_restore_over_a_file_that_is_not_sqlite_is_refused(ready, tmp_path: Path) -> None:
    _, made = ready
    text = tmp_path / "important.txt"
    text.write_text("not a database")
    with pytest.raises(StoreError, match="is not a SQLite database .*refusing to replace it"):
        plan_restore(text, made.path)
    assert text.read_text() == "not a database"


def test_restore_into_a_directory_that_cannot_exist_is_refused(ready, tmp_path: Path) -> None:
    # Root ignores permission bits: a parent that is a regular file is read-only for everyone.
    _, made = ready
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="is not a directory"):
        plan_restore(blocker / "memory.db", made.path)
    assert blocker.read_text() == "x"


def test_restore_of_a_missing_backup_is_refused(migrated_db: Path, tmp_path: Path) -> None:
    before = _bytes(migrated_db)
    with pytest.raises(StoreError, match="backup file .* does not exist"):
        plan_restore(migrated_db, tmp_path / "nope.db")
    assert _bytes(migrated_db) == before


def test_restore_onto_a_lost_database_recreates_it(ready) -> None:
    db, made = ready
    db.unlink()
    result = execute_restore(plan_restore(db, made.path))
    assert result.kept_aside is None and _counts(db)["memories"] == 5


def test_restore_over_another_applications_database_is_refused(ready, tmp_path: Path) -> None:
    from memory_system.store._sqlite import sqlite3

    _, made = ready
    other = tmp_path / "other.db"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    before = _bytes(other)
    with pytest.raises(StoreError, match="not a memory-system one"):
        plan_restore(other, made.path)
    assert _bytes(other) == before


def test_restore_over_a_damaged_database_is_what_it_is_for(ready, corrupt_index) -> None:
    db, made = ready
    corrupt_index(db)
    result = execute_restore(plan_restore(db, made.path))
    conn = open_connection(db, create=False)
    assert maintenance.integrity_problems(conn) == []
    conn.close()
    assert result.kept_aside is not None


def test_a_service_started_after_the_checks_is_still_refused(ready, hold_service_lock) -> None:
    db, made = ready
    plan = plan_restore(db, made.path)
    hold_service_lock(db)
    before = sorted(os.listdir(db.parent)), _bytes(db)
    with pytest.raises(StoreError, match="now held by a running service"):
        execute_restore(plan)
    assert (sorted(os.listdir(db.parent)), _bytes(db)) == before


def _flag_trail(path: Path) -> list[tuple[object, ...]]:
    from memory_system.store import flags as flag_store

    conn = open_connection(path, create=False)
    try:
        return [(e.flag, e.old_value, e.new_value, e.source, e.actor) for e in flag_store.all_events(conn)]
    finally:
        conn.close()


def test_restore_shows_the_flag_layer_it_brings_back_and_keeps_the_audit_trail(ready) -> None:
    from memory_system.flags.names import FLAG_NAMES
    from memory_system.flags.service import FlagService
    from memory_system.store import flags as flag_store
    from memory_system.store.connection import Database

    db, made = ready  # the backup: no flag set in the database
    database = Database(db)
    try:
        flags = FlagService(database, {}, None)
        flags.set("USE_ENHANCED_INJECTION", 0.25, actor="alice", source="api")
        flags.rollback_all(actor="oncall", source="cli")
    finally:
        database.close()
    execute_rollback(plan_rollback(db, 4, backup_path=made.path, emergency=True))
    live_trail = _flag_trail(db)
    assert len(live_trail) == 4

    plan = plan_restore(db, made.path)
    assert plan.flags_now == dict.fromkeys(plan.flag_changes(), 0.0) and plan.flags_after is not None
    assert plan.flag_changes() == {
        "USE_HIERARCHICAL_TIERS": (0.0, None),
        "USE_CROSS_AGENT_SHARING": (0.0, None),
        "USE_ENHANCED_INJECTION": (0.0, None),
    }
    result = execute_restore(plan, actor="carol")

    assert result.flag_events_carried == 4 and result.rollback_records_carried == 1
    trail = _flag_trail(db)
    assert trail[:4] == live_trail  # carried, in order
    assert trail[4:] == [(name, 0.0, None, "restore", "carol") for name in FLAG_NAMES]
    conn = open_connection(db, create=False)
    try:
        assert flag_store.read_state(conn) == {}  # the values are the backup's: that is what restore means
        assert len(maintenance.rollback_records(conn)) == 1
    finally:
        conn.close()

    # Restoring the same backup again carries the trail once more into the fresh copy, never twice.
    again = execute_restore(plan_restore(db, made.path), actor="carol")
    assert again.flag_events_carried == 7 and again.rollback_records_carried == 1
    assert _flag_trail(db)[:7] == trail and len(_flag_trail(db)) == 10
    conn = open_connection(db, create=False)
    try:
        assert len(maintenance.rollback_records(conn)) == 1
    finally:
        conn.close()


def test_the_cli_shows_the_flag_layer_it_would_bring_back_and_asks(ready, cli) -> None:
    db, made = ready
    down = "http://127.0.0.1:1"  # no service: flags rollback writes the database alone
    cli("flags", "rollback", "--db", str(db), "--url", down, "--actor", "oncall", check=True)
    before = _bytes(db)

    refused = cli("db", "restore", str(made.path), "--db", str(db), input="n\n")
    assert refused.returncode == 1 and "not confirmed; nothing changed" in refused.stderr
    assert "changing 3 flag value(s) as shown" in refused.stderr
    (row,) = [line for line in refused.stdout.splitlines() if "USE_ENHANCED_INJECTION" in line]
    assert "0 (off)" in row and "- (not set: on)" in row and "(changes)" in row
    assert _bytes(db) == before

    done = cli("db", "restore", str(made.path), "--db", str(db), "--actor", "carol", input="y\n", check=True)
    assert "audit trail kept: 3 flag event(s)" in done.stdout
    events = json.loads(cli("flags", "events", "--db", str(db), "--json", check=True).stdout)
    assert [(e["source"], e["actor"], e["new_value"]) for e in events][:3] == [("restore", "carol", None)] * 3
    assert [(e["source"], e["actor"], e["new_value"]) for e in events][3:] == [("cli", "oncall", 0.0)] * 3
