"""``db restore``: put a verified backup in place of the database, keeping the old file.

Nothing is touched until the backup passes its checksum and a full ``integrity_check``.
The current file is first checkpointed (its WAL folded in, so the file kept aside is
whole), then hard-linked to ``<db>.before-restore-<time>``; the backup is copied next to
the database, its checksum checked again, and moved over the database with one
``os.replace``, so the path always names a whole database, old or new. Leftover
``-wal``/``-shm``/``-journal`` files are moved aside with the old file: a WAL or hot
journal left next to the restored file would be replayed into it.

A running service keeps the old inode open and would go on writing into a WAL that no
longer matches the file, so restore refuses while the service lock is held, unless
``--force`` (then the service keeps writing into the file kept aside until restarted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.ops import backup as backups
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory, migrations
from memory_system.store.connection import Connection, open_connection, transaction
from memory_system.store.lockfile import held_by_other, holder_pid

logger = logging.getLogger("memory_system.ops.restore")


class RestoreRefused(StoreError):
    """Restoring would be unsafe or is not what was meant; nothing was changed."""


@dataclass
class RestorePlan:
    db_path: Path
    backup: backups.Backup
    current_exists: bool
    current_id: str | None
    service_running: bool
    force: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": str(self.db_path),
            "backup": str(self.backup.path),
            "backup_created_at": self.backup.manifest["created_at"],
            "database_id": self.backup.manifest["database_id"],
            "current_exists": self.current_exists,
            "service_running": self.service_running,
            "force": self.force,
        }


@dataclass
class RestoreResult:
    plan: RestorePlan
    kept_aside: Path | None
    schema_version: int
    row_counts: dict[str, int]
    duration_s: float
    rollback_records_carried: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "kept_aside": None if self.kept_aside is None else str(self.kept_aside),
            "schema_version": self.schema_version,
            "row_counts": self.row_counts,
            "duration_s": self.duration_s,
            "rollback_records_carried": self.rollback_records_carried,
        }


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _current_identity(db_path: Path) -> str | None:
    """The identity of the file we would replace; None if it cannot be read (corrupt)."""
    try:
        conn = open_connection(db_path, create=False)
    except StoreError:
        return None
    try:
        return maintenance.database_id(conn)
    except StoreError:
        return None
    finally:
        conn.close()


def _carry_rollback_records(previous: Path, restored: Connection, since: str) -> int:
    """Copy rollbacks recorded after the backup from the replaced file into the restored one.

    A restore usually undoes a rollback; the record of what that rollback dropped (and who
    approved it) must not vanish with it. A replaced file that cannot be read is skipped.
    """
    try:
        old = open_connection(previous, create=False)
    except StoreError:
        return 0
    try:
        records = maintenance.rollback_records(old, since)
    except StoreError:
        return 0
    finally:
        old.close()
    with transaction(restored):
        for r in records:
            maintenance.record_rollback(
                restored,
                migration=r["migration"],
                backup_path=r["backup_path"],
                approved_by=r["approved_by"],
                emergency=r["emergency"],
                rows_lost=r["rows_lost"],
                details={**r["details"], "carried_from": str(previous)},
                created_at=r["created_at"],
            )
    return len(records)


def plan_restore(
    db_path: Path, backup_path: Path, *, force: bool = False, progress: backups.Progress | None = None
) -> RestorePlan:
    """Verify the backup and the target; raises naming the first problem; changes nothing."""
    backup = backups.verify_backup(backup_path, full_integrity=True, progress=progress)
    parent = db_path.parent
    if parent.exists() and not parent.is_dir():
        raise RestoreRefused(f"cannot restore to {db_path}: {parent} is not a directory")
    if not parent.exists():
        raise RestoreRefused(f"cannot restore to {db_path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise RestoreRefused(f"cannot restore to {db_path}: directory {parent} is not writable")
    exists = db_path.exists()
    current_id = None
    if exists:
        try:
            maintenance.require_sqlite_file(db_path)
        except StoreError as exc:
            raise RestoreRefused(f"{exc}; refusing to replace it: move it away first") from exc
        try:
            foreign = not maintenance.has_schema_table(db_path)
        except StoreError:
            foreign = False  # unreadable: the damaged database a restore is for
        if foreign:
            raise RestoreRefused(
                f"{db_path} is a SQLite database but not a memory-system one; "
                "refusing to replace it: check --db, or move it away first"
            )
        current_id = _current_identity(db_path)
        if current_id is not None and current_id != backup.manifest["database_id"]:
            raise RestoreRefused(
                f"backup {backup_path} is of another database (id {backup.manifest['database_id']}, "
                f"{db_path} is {current_id}); to restore it anyway, move {db_path} away first"
            )
    running = held_by_other(db_path)
    if running and not force:
        raise RestoreRefused(
            f"{db_path} is held by a running service (pid {holder_pid(db_path)}); "
            "stop it first, or pass --force and restart it right after"
        )
    return RestorePlan(db_path, backup, exists, current_id, running, force)


def execute_restore(plan: RestorePlan, *, progress: backups.Progress | None = None) -> RestoreResult:
    started = time.monotonic()
    db_path = plan.db_path
    if not plan.force and held_by_other(db_path):  # started while we asked for confirmation
        raise RestoreRefused(
            f"{db_path} is now held by a running service (pid {holder_pid(db_path)}); "
            "stop it first, or pass --force"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    staged = db_path.with_name(f".{db_path.name}.restore-{stamp}.partial")
    try:
        shutil.copyfile(plan.backup.path, staged)
        maintenance.fsync_path(staged)
        if backups.sha256_file(staged, progress) != plan.backup.manifest["sha256"]:
            raise StoreError(
                f"the copy of {plan.backup.path} at {staged} does not match its checksum; "
                "nothing was changed (check the disk)"
            )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise

    kept_aside: Path | None = None
    if db_path.exists():
        # An unreadable file is kept aside as it is, with its WAL beside it.
        with contextlib.suppress(StoreError):
            conn = open_connection(db_path, create=False)
            try:
                maintenance.checkpoint(conn)
            finally:
                conn.close()
        kept_aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
        try:
            os.link(db_path, kept_aside)
        except OSError:
            shutil.copy2(db_path, kept_aside)
        for suffix in ("-wal", "-shm", "-journal"):  # any of them would be replayed into the new file
            if _side(db_path, suffix).exists():
                os.replace(_side(db_path, suffix), _side(kept_aside, suffix))
    os.replace(staged, db_path)
    maintenance.fsync_path(db_path.parent)

    conn = open_connection(db_path, create=False)
    try:
        carried = (
            0
            if kept_aside is None
            else _carry_rollback_records(kept_aside, conn, since=str(plan.backup.manifest["created_at"]))
        )
        version = migrations.current_version(conn)
        counts = inventory.row_counts(conn)
    finally:
        conn.close()
    result = RestoreResult(plan, kept_aside, version, counts, round(time.monotonic() - started, 3), carried)
    log_event(
        logger,
        "db_restored",
        logging.WARNING,
        database=str(db_path),
        backup=str(plan.backup.path),
        kept_aside=None if kept_aside is None else str(kept_aside),
        forced=plan.force,
        service_running=plan.service_running,
        schema_version=version,
    )
    return result
