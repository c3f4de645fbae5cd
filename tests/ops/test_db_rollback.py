"""``db rollback`` at the library level: every refusal changes nothing; a rollback is verified
and recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.ops import backup as backups
from memory_system.ops import schema
from memory_system.ops.approvals import DB_ROLLBACK
from memory_system.ops.db_rollback import distinct_approvers, execute_rollback, plan_rollback
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory
from memory_system.store.connection import open_connection
from tests.ops._approvals import approved_request

APPROVERS = ["Alice Manager (manager)", "Bob DBA (dba)"]  # as a rollback records its approvals
REQUEST = 1  # the approved request ``ready`` makes


def _bytes(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ready(db_file: Path, fill_phase_data) -> tuple[Path, backups.Backup]:
    """A database at 004 (the rollback these tests are about), with rows in every table, and
    request 1 to roll 004 back, approved by a manager and a DBA (006 holds the approvals)."""
    schema.migrate(db_file, skip=frozenset({5}))
    fill_phase_data(db_file)
    assert approved_request(db_file, action=DB_ROLLBACK, migration=4).request_id == REQUEST
    return db_file, backups.create_backup(db_file)


def test_distinct_approvers_ignore_case_and_spacing() -> None:
    assert distinct_approvers(["Alice", " alice ", "", "Bob  Smith", "bob smith", "carol"]) == [
        "Alice",
        "Bob Smith",
        "carol",
    ]


def test_rollback_drops_phase_2_keeps_phase_1_and_records_the_loss(ready) -> None:
    db, made = ready
    plan = plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    assert plan.impact.rows_lost()["memories"] == 5 and not plan.waived
    result = execute_rollback(plan)

    assert result.verified, result.problems()
    assert result.phase_1_before == result.phase_1_after == {"entities": 3, "relations": 2, "observations": 4}
    conn = open_connection(db, create=False)
    assert not set(inventory.tables_created_by(4)) & set(inventory.user_tables(conn))
    [record] = maintenance.rollback_records(conn)
    conn.close()
    assert record["migration"] == 4 and record["approved_by"] == APPROVERS and not record["emergency"]
    assert record["rows_lost"]["memories"] == 5 and record["rows_lost"]["user_preferences"] == 1
    assert record["backup_path"] == str(made.path.resolve())
    assert record["details"]["backup_sha256"] == made.manifest["sha256"] and record["details"]["verified"]


@pytest.mark.parametrize(
    ("approvers", "message"),
    [
        ([], "needs an approval request approved by a manager and a DBA"),
        (["alice"], "names are accepted only with --emergency"),
        (["alice", "bob"], "names are accepted only with --emergency"),
    ],
)
def test_missing_approvals_or_free_text_names_are_refused(ready, approvers: list[str], message: str) -> None:
    """Approvals themselves (roles, people, revocation, expiry) are in tests/ops/test_approvals.py."""
    db, made = ready
    before = _bytes(db)
    with pytest.raises(StoreError, match=message):
        plan_rollback(db, 4, backup_path=made.path, approved_by=approvers)
    assert _bytes(db) == before


def test_no_backup_is_refused(ready) -> None:
    db, _ = ready
    before = _bytes(db)
    with pytest.raises(StoreError, match="needs --backup PATH"):
        plan_rollback(db, 4, backup_path=None, request_id=REQUEST)
    assert _bytes(db) == before


def test_a_backup_older_than_an_hour_is_refused(ready) -> None:
    db, made = ready
    before = _bytes(db)
    with pytest.raises(StoreError, match="minutes old"):
        plan_rollback(
            db, 4, backup_path=made.path, request_id=REQUEST, now=datetime.now(UTC) + timedelta(minutes=61)
        )
    assert _bytes(db) == before


def test_a_backup_of_another_database_is_refused_even_in_an_emergency(ready, tmp_path: Path) -> None:
    db, _ = ready
    other = tmp_path / "other" / "memory.db"
    schema.migrate(other)
    foreign = backups.create_backup(other)
    before = _bytes(db)
    for emergency in (False, True):
        with pytest.raises(StoreError, match="is of another database"):
            plan_rollback(db, 4, backup_path=foreign.path, request_id=REQUEST, emergency=emergency)
    assert _bytes(db) == before


def test_a_backup_taken_before_the_migration_is_refused(db_file: Path) -> None:
    schema.migrate(db_file, to=3)
    early = backups.create_backup(db_file)
    schema.migrate(db_file, to=4)
    with pytest.raises(StoreError, match="taken at schema version 3, before migration 004"):
        plan_rollback(db_file, 4, backup_path=early.path, emergency=True)  # refused even so


def test_a_backup_whose_bytes_changed_is_refused(ready) -> None:
    db, made = ready
    data = bytearray(made.path.read_bytes())
    data[-100] ^= 0x55
    made.path.write_bytes(bytes(data))
    before = _bytes(db)
    with pytest.raises(StoreError, match="does not match its manifest checksum"):
        plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    assert _bytes(db) == before


def test_a_migration_that_is_not_applied_or_not_the_newest_is_refused(ready) -> None:
    db, made = ready
    before = _bytes(db)
    with pytest.raises(StoreError, match="survive every rollback"):
        plan_rollback(db, 3, backup_path=made.path, request_id=REQUEST)
    with pytest.raises(StoreError, match="migration 005 is not applied|no migration 005"):
        plan_rollback(db, 5, backup_path=made.path, request_id=REQUEST)
    assert _bytes(db) == before


def test_emergency_waives_backup_and_approvals_loudly(ready, caplog: pytest.LogCaptureFixture) -> None:
    db, _ = ready
    plan = plan_rollback(db, 4, backup_path=None, approved_by=["alice"], emergency=True)
    assert len(plan.waived) == 2
    with caplog.at_level(logging.INFO, logger="memory_system.ops.db_rollback"):
        result = execute_rollback(plan)
    assert result.verified
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert [r.getMessage() for r in critical] == ["db_rollback_emergency"]
    assert critical[0].waived == plan.waived  # type: ignore[attr-defined]
    conn = open_connection(db, create=False)
    [record] = maintenance.rollback_records(conn)
    conn.close()
    assert record["emergency"] and record["backup_path"] is None
    assert json.dumps(record["details"]["waived"]).count("needs") == 2


def test_a_database_changed_into_another_between_plan_and_execute_is_refused(ready) -> None:
    db, made = ready
    plan = plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    conn = open_connection(db, create=False)
    conn.execute("UPDATE database_info SET value = 'someone-else' WHERE key = 'database_id'")
    conn.close()
    with pytest.raises(StoreError, match="changed identity"):
        execute_rollback(plan)
    conn = open_connection(db, create=False)
    assert "memories" in inventory.user_tables(conn)
    conn.close()


def test_a_running_service_is_refused_unless_forced(ready, hold_service_lock) -> None:
    db, made = ready
    hold_service_lock(db)
    before = _bytes(db)
    with pytest.raises(StoreError, match="held by a running service .*stop it first, or pass --force"):
        plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    assert _bytes(db) == before
    plan = plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST, force=True)
    assert plan.service_running and execute_rollback(plan).verified


def test_dangling_foreign_keys_before_the_rollback_are_refused(ready) -> None:
    db, made = ready
    conn = open_connection(db, create=False)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("INSERT INTO observations (entity_id, content) VALUES (42, 'orphan')")
    conn.close()
    before = _bytes(db)
    with pytest.raises(StoreError, match="already has 1 foreign key problem.*table observations row 5"):
        plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    assert _bytes(db) == before


def test_a_rollback_whose_checks_fail_says_so(ready) -> None:
    db, made = ready
    result = execute_rollback(plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST))
    assert result.verified and result.problems() == []
    result.phase_1_after = {**result.phase_1_after, "entities": 2}
    result.tables_left = ["memories"]
    assert not result.verified
    assert result.problems() == [
        (
            "Phase 1 counts changed: before {'entities': 3, 'relations': 2, 'observations': 4}, "
            "after {'entities': 2, 'relations': 2, 'observations': 4}"
        ),
        "tables of migration 004 still present: ['memories']",
    ]


def test_a_service_started_after_the_checks_is_still_refused(ready, hold_service_lock) -> None:
    db, made = ready
    plan = plan_rollback(db, 4, backup_path=made.path, request_id=REQUEST)
    hold_service_lock(db)
    before = _bytes(db)
    with pytest.raises(StoreError, match="now held by a running service"):
        execute_rollback(plan)
    assert _bytes(db) == before


def test_the_newest_goes_first_then_004_from_the_same_backup(migrated_db: Path, fill_phase_data) -> None:
    """The runbook's option C on a current database: 005 (the typed-store audit trail), then 004."""
    fill_phase_data(migrated_db)
    requests = {v: approved_request(migrated_db, action=DB_ROLLBACK, migration=v).request_id for v in (5, 4)}
    made = backups.create_backup(migrated_db)
    refused = "migration 004 is not the newest applied Phase 2-4 .*roll back 005 first"
    with pytest.raises(StoreError, match=refused):
        plan_rollback(migrated_db, 4, backup_path=made.path, request_id=requests[4])
    with pytest.raises(StoreError, match="migration 006 holds Phase 1 or operational tables"):
        plan_rollback(migrated_db, 6, backup_path=made.path, request_id=requests[4])
    for version in (5, 4):  # 006 (operational) stays applied
        result = execute_rollback(
            plan_rollback(migrated_db, version, backup_path=made.path, request_id=requests[version])
        )
        assert result.verified, result.problems()
    conn = open_connection(migrated_db, create=False)
    records = maintenance.rollback_records(conn)
    conn.close()
    assert [r["migration"] for r in records] == [5, 4]
    assert schema.status(migrated_db).state == "legacy"
    assert records[0]["rows_lost"] == {"typed_store_events": 0}
