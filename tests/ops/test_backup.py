"""Online backups: consistent while another process writes, verified, described by a manifest."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory_system.core.errors import StoreError
from memory_system.ops import backup as backups
from memory_system.ops import schema
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory
from memory_system.store.connection import open_connection


def _counts(path: Path) -> dict[str, int]:
    conn = open_connection(path, create=False)
    try:
        return inventory.row_counts(conn)
    finally:
        conn.close()


def _tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_backup_writes_a_verified_copy_and_its_manifest(migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    made = backups.create_backup(migrated_db)

    assert made.path.parent == migrated_db.parent / "backups"
    assert made.path.exists() and made.manifest_path.exists()
    assert not list(made.path.parent.glob("*.partial"))
    manifest = json.loads(made.manifest_path.read_text())
    assert manifest == made.manifest
    assert manifest["source"] == str(migrated_db.resolve())
    assert manifest["sha256"] == hashlib.sha256(made.path.read_bytes()).hexdigest()
    assert manifest["integrity_check"] == "ok"
    assert manifest["schema_version"] == schema.expected_version()
    assert manifest["row_counts"] == _counts(migrated_db)
    assert manifest["row_counts"]["memories"] == 5
    conn = open_connection(migrated_db, create=False)
    assert manifest["database_id"] == maintenance.database_id(conn)
    conn.close()
    assert backups.parse_utc(manifest["created_at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert backups.verify_backup(made.path).manifest == manifest


def test_backup_is_consistent_while_another_process_keeps_writing(
    migrated_db: Path, acked_writer, tmp_path: Path
) -> None:
    writer = acked_writer(migrated_db)
    writer.wait_for(1500)  # enough pages for many small copy steps
    at_start = len(writer.acked)
    written_during_copy: list[int] = []

    def during_copy(stage: str, done: int, total: int) -> None:
        # The copy holds its snapshot between steps; the writer must still get through.
        if stage == "copy" and len(written_during_copy) < 3:
            before = len(writer.acked)
            writer.wait_for(before + 20, timeout=30)
            written_during_copy.append(len(writer.acked) - before)

    made = backups.create_backup(migrated_db, tmp_path / "out", progress=during_copy, pages_per_step=8)
    final = writer.kill()

    assert len(written_during_copy) == 3 and all(n >= 20 for n in written_during_copy)
    conn = maintenance.open_read_only(made.path)
    try:
        assert maintenance.integrity_problems(conn) == []
        assert maintenance.foreign_key_problems(conn) == []
        entities = conn.execute("SELECT COUNT(*) FROM entities").fetchone()[0]
        observations = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    finally:
        conn.close()
    # One snapshot: every entity with its observation, taken after the load started and
    # before the writes made while the copy ran.
    assert entities == observations
    assert at_start <= entities < len(final)
    assert made.manifest["row_counts"]["entities"] == entities


def test_backup_dest_that_cannot_be_a_directory_is_refused_and_nothing_is_written(
    migrated_db: Path, tmp_path: Path
) -> None:
    # Root ignores permission bits, so "read-only" is made with a parent that is a regular
    # file: no user, root included, can create a directory under it (ENOTDIR).
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    before = _tree(tmp_path)
    with pytest.raises(StoreError, match="cannot create backup directory .*Not a directory"):
        backups.create_backup(migrated_db, blocker / "backups")
    assert _tree(tmp_path) == before


def test_backup_of_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("just some notes, definitely not a database\n" * 20)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="is not a SQLite database"):
        backups.create_backup(text)
    assert text.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["notes.db"]


def test_backup_of_a_missing_database_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        backups.create_backup(tmp_path / "missing.db")
    assert os.listdir(tmp_path) == []


def test_backup_of_a_database_without_identity_is_refused(db_file: Path) -> None:
    schema.migrate(db_file, to=2)
    with pytest.raises(StoreError, match="no database identity .*db migrate"):
        backups.create_backup(db_file)
    assert not (db_file.parent / "backups").exists() or not list((db_file.parent / "backups").iterdir())


@pytest.fixture
def made(migrated_db: Path, fill_phase_data) -> backups.Backup:
    fill_phase_data(migrated_db)
    return backups.create_backup(migrated_db)


def test_verify_catches_a_changed_byte_by_its_checksum(made: backups.Backup) -> None:
    data = bytearray(made.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    made.path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="does not match its manifest checksum"):
        backups.verify_backup(made.path)


def test_verify_catches_a_manifest_with_the_wrong_checksum(made: backups.Backup) -> None:
    manifest = json.loads(made.manifest_path.read_text())
    manifest["sha256"] = "0" * 64
    made.manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(
        StoreError, match=r"does not match its manifest checksum \(sha256 .*manifest says 000000000000"
    ):
        backups.verify_backup(made.path)


def test_verify_runs_integrity_check_even_when_the_checksum_matches(
    made: backups.Backup, corrupt_index
) -> None:
    corrupt_index(made.path)
    manifest = json.loads(made.manifest_path.read_text())
    manifest["sha256"] = hashlib.sha256(made.path.read_bytes()).hexdigest()
    made.manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="fails integrity_check: row .* missing from index"):
        backups.verify_backup(made.path)
    # Without the full check the manifest's recorded result is trusted (rollback's fast path).
    assert backups.verify_backup(made.path, full_integrity=False).path == made.path


def test_verify_refuses_a_backup_without_manifest_or_file(made: backups.Backup, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        backups.verify_backup(tmp_path / "nope.db")
    made.manifest_path.rename(tmp_path / "elsewhere.json")
    with pytest.raises(StoreError, match="has no manifest"):
        backups.verify_backup(made.path)


def test_verify_refuses_a_manifest_that_is_not_ours(made: backups.Backup) -> None:
    made.manifest_path.write_text("{not json")
    with pytest.raises(StoreError, match="not readable JSON"):
        backups.verify_backup(made.path)
    made.manifest_path.write_text(json.dumps({"format": 1, "sha256": "x"}))
    with pytest.raises(StoreError, match="lacks source, database_id"):
        backups.verify_backup(made.path)


def test_verify_refuses_a_file_that_is_not_sqlite(made: backups.Backup) -> None:
    made.path.write_text("garbage")
    with pytest.raises(StoreError, match="is not a SQLite database"):
        backups.verify_backup(made.path)


def test_freshness_limit(made: backups.Backup) -> None:
    backups.require_fresh(made, timedelta(hours=1))
    later = datetime.now(UTC) + timedelta(hours=1, minutes=5)
    with pytest.raises(StoreError, match="minutes old .*take a fresh one"):
        backups.require_fresh(made, timedelta(hours=1), now=later)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(StoreError, match="dated in the future"):
        backups.require_fresh(made, timedelta(hours=1), now=earlier)
