"""``db restore``: put a verified backup in place of the database, keeping the old file.

Nothing is touched until the backup passes its checksum and a full ``integrity_check``.
The current file is first checkpointed (its WAL folded in, so the file kept aside is
whole), then hard-linked to ``<db>.before-restore-<time>``; the backup is copied next to
the database, its checksum checked again, and moved over the database with one
``os.replace``, so the path always names a whole database, old or new. Leftover
``-wal``/``-shm``/``-journal`` files are moved aside with the old file: a WAL or hot
journal left next to the restored file would be replayed into it.

A restore brings back the backup's flag *values* (that is what restore means; ``plan_restore``
reads both database flag layers so the CLI can show the operator what comes back, and asks).
It does not take the audit trail back in time: the feature-flag events and
``rollback_records`` rows of the replaced file that the backup lacks are carried into the copy
before it is swapped in (compared by content, so a row is never carried twice), with one
``source="restore"`` event per flag recording what the restore did to its database value.

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

from memory_system.core.clock import utc_now
from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.flags.names import FLAG_NAMES
from memory_system.memory.retrieval import index_files
from memory_system.ops import backup as backups
from memory_system.store import database_ops as maintenance
from memory_system.store import flags as flag_store
from memory_system.store import inventory, migrations
from memory_system.store.connection import Connection, open_connection, transaction
from memory_system.store.lockfile import held_by_other, holder_pid

FlagLayer = dict[str, float | None]  # a database's feature_flag_state; None = the layer sets nothing

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
    flags_now: FlagLayer | None = None  # None: the current file's flag layer cannot be read
    flags_after: FlagLayer | None = None  # None: the backup has no flag tables (before 003)

    def flag_changes(self) -> dict[str, tuple[float | None, float | None]]:
        """The flags whose database value the restore changes: name -> (now, after restore)."""
        now, after = self.flags_now or {}, self.flags_after or {}
        return {n: (now.get(n), after.get(n)) for n in FLAG_NAMES if now.get(n) != after.get(n)}

    def to_dict(self) -> dict[str, Any]:
        now, after = self.flags_now or {}, self.flags_after or {}
        return {
            "database": str(self.db_path),
            "backup": str(self.backup.path),
            "backup_created_at": self.backup.manifest["created_at"],
            "database_id": self.backup.manifest["database_id"],
            "current_exists": self.current_exists,
            "service_running": self.service_running,
            "force": self.force,
            "flags": {name: {"now": now.get(name), "after_restore": after.get(name)} for name in FLAG_NAMES},
            "flags_now_readable": self.flags_now is not None,
            "flags_changed": sorted(self.flag_changes()),
        }


@dataclass
class RestoreResult:
    plan: RestorePlan
    kept_aside: Path | None
    schema_version: int
    row_counts: dict[str, int]
    duration_s: float
    rollback_records_carried: int = 0
    flag_events_carried: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "kept_aside": None if self.kept_aside is None else str(self.kept_aside),
            "schema_version": self.schema_version,
            "row_counts": self.row_counts,
            "duration_s": self.duration_s,
            "rollback_records_carried": self.rollback_records_carried,
            "flag_events_carried": self.flag_events_carried,
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


def _flag_layer(conn: Connection) -> FlagLayer:
    state = flag_store.read_state(conn)
    return {name: state[name].value if name in state else None for name in FLAG_NAMES}


def _read_flag_layer(path: Path, *, read_only: bool) -> FlagLayer | None:
    """A file's database flag layer; None when it cannot be read (damaged, or before 003)."""
    try:
        conn = maintenance.open_read_only(path) if read_only else open_connection(path, create=False)
    except StoreError:
        return None
    try:
        return _flag_layer(conn)
    except StoreError:
        return None
    finally:
        conn.close()


@dataclass
class _Trail:
    events: list[flag_store.FlagEvent]
    records: list[dict[str, Any]]


def _read_trail(previous: Path) -> _Trail:
    """The replaced file's audit trail; what cannot be read (a damaged file) is empty."""
    trail = _Trail([], [])
    try:
        conn = open_connection(previous, create=False)
    except StoreError:
        return trail
    try:
        with contextlib.suppress(StoreError):
            trail.events = flag_store.all_events(conn)
        with contextlib.suppress(StoreError):
            trail.records = maintenance.rollback_records(conn)
    finally:
        conn.close()
    return trail


def _event_key(e: flag_store.FlagEvent) -> tuple[object, ...]:
    return (e.created_at, e.flag, e.old_value, e.new_value, e.source, e.actor)


def _record_key(r: dict[str, Any]) -> tuple[object, ...]:
    return (r["created_at"], r["migration"], r["backup_path"])


def _carry_trail(
    trail: _Trail, staged: Path, kept_as: Path, flags_now: FlagLayer | None, actor: str
) -> tuple[int, int]:
    """Write into the staged copy (before it is swapped in) the events and rollback records it
    lacks, and one ``restore`` event per flag; (events carried, records carried).

    A restore usually undoes a rollback: the record of what that rollback dropped, who approved
    it, and the flag changes around it must not vanish with it. A backup from before migration
    003 has nowhere to keep them; it is restored as it is.
    """
    conn = open_connection(staged, create=False)
    try:
        try:
            flags_after = _flag_layer(conn)
        except StoreError:
            return 0, 0
        with transaction(conn):
            have_events = {_event_key(e) for e in flag_store.all_events(conn)}
            events = [e for e in trail.events if _event_key(e) not in have_events]
            for e in events:
                flag_store.insert_event(
                    conn,
                    flag=e.flag,
                    old_value=e.old_value,
                    new_value=e.new_value,
                    source=e.source,
                    actor=e.actor,
                    now=e.created_at,
                )
            have_records = {_record_key(r) for r in maintenance.rollback_records(conn)}
            records = [r for r in trail.records if _record_key(r) not in have_records]
            for r in records:
                maintenance.record_rollback(
                    conn,
                    migration=r["migration"],
                    backup_path=r["backup_path"],
                    approved_by=r["approved_by"],
                    emergency=r["emergency"],
                    rows_lost=r["rows_lost"],
                    details={**r["details"], "carried_from": str(kept_as)},
                    created_at=r["created_at"],
                )
            now = utc_now()
            for name in FLAG_NAMES:  # the restore itself, in the trail it keeps
                flag_store.insert_event(
                    conn,
                    flag=name,
                    old_value=None if flags_now is None else flags_now[name],
                    new_value=flags_after[name],
                    source="restore",
                    actor=actor,
                    now=now,
                )
        maintenance.checkpoint(conn)
    finally:
        conn.close()
    return len(events), len(records)


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
    flags_now = _read_flag_layer(db_path, read_only=False) if exists else None
    flags_after = _read_flag_layer(backup.path, read_only=True)
    return RestorePlan(db_path, backup, exists, current_id, running, force, flags_now, flags_after)


def execute_restore(
    plan: RestorePlan, *, actor: str = "restore", progress: backups.Progress | None = None
) -> RestoreResult:
    """Swap the backup in; ``actor`` (who restores) is recorded in the flag audit trail."""
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

    kept_as = db_path.with_name(f"{db_path.name}.before-restore-{stamp}")
    carried = (0, 0)
    if db_path.exists():
        try:
            carried = _carry_trail(_read_trail(db_path), staged, kept_as, plan.flags_now, actor)
        except BaseException:
            staged.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm", "-journal"):
                _side(staged, suffix).unlink(missing_ok=True)
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
        kept_aside = kept_as
        try:
            os.link(db_path, kept_aside)
        except OSError:
            shutil.copy2(db_path, kept_aside)
        for suffix in ("-wal", "-shm", "-journal"):  # any of them would be replayed into the new file
            if _side(db_path, suffix).exists():
                os.replace(_side(db_path, suffix), _side(kept_aside, suffix))
    os.replace(staged, db_path)
    maintenance.fsync_path(db_path.parent)
    index_files.invalidate(db_path)  # saved HNSW graphs describe the replaced file's vectors

    conn = open_connection(db_path, create=False)
    try:
        version = migrations.current_version(conn)
        counts = inventory.row_counts(conn)
    finally:
        conn.close()
    result = RestoreResult(
        plan, kept_aside, version, counts, round(time.monotonic() - started, 3), carried[1], carried[0]
    )
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
        flags_changed=sorted(plan.flag_changes()),
        flag_events_carried=carried[0],
        rollback_records_carried=carried[1],
    )
    return result
