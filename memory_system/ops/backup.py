"""Verified online backups: a consistent copy, checked, hashed, described by a manifest.

The copy is checked, not the source: a backup is only worth what its own
``integrity_check`` says. The manifest records the sha256 of exactly the bytes that
passed, so a later ``verify_backup`` that finds the same hash knows they still pass, and
the database identity, so that rollback and restore can refuse a backup of another
database. Backups are written as ``<name>.partial`` and renamed only once verified, so a
file without the suffix is never half a backup. A destination that cannot hold the copy (too
little free space, or a file-size limit on the process) is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import StoreError
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory, migrations
from memory_system.store.connection import open_connection

MANIFEST_FORMAT = 1
MANIFEST_SUFFIX = ".manifest.json"
_REQUIRED = (
    "format",
    "source",
    "database_id",
    "created_at",
    "schema_version",
    "row_counts",
    "sha256",
    "integrity_check",
)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is "copy" (pages), "verify" (0 then 1) or "checksum" (bytes)."""


class BackupError(StoreError):
    """A backup could not be made, or a backup file cannot be trusted."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]

    @property
    def manifest_path(self) -> Path:
        return manifest_path_for(self.path)

    @property
    def created_at(self) -> datetime:
        return parse_utc(str(self.manifest["created_at"]))

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "manifest_path": str(self.manifest_path), **self.manifest}


def manifest_path_for(backup_path: Path) -> Path:
    return backup_path.with_name(backup_path.name + MANIFEST_SUFFIX)


def default_dest(db_path: Path) -> Path:
    return db_path.resolve().parent / "backups"


def parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress("checksum", done, total)
    return digest.hexdigest()


def _prepare_dest(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"cannot create backup directory {dest}: {exc.strerror}; choose another --dest"
        ) from exc
    if not os.access(dest, os.W_OK):
        raise BackupError(f"backup directory {dest} is not writable; choose another --dest")


# Beyond the pages: the copy's rollback journal and the manifest.
ROOM_MARGIN_BYTES = 1 << 20


def _require_room(dest: Path, needed: int) -> None:
    """Refuse before the first byte is written when ``dest`` cannot hold ``needed`` bytes.

    A copy that fills the disk half way would fail anyway, and meanwhile take the space the
    live database (often on the same filesystem) needs for its next write."""
    free = shutil.disk_usage(dest).free
    if free < needed:
        raise BackupError(
            f"backup directory {dest} has {free / 1e6:.1f} MB free and the backup needs about "
            f"{needed / 1e6:.1f} MB; nothing was written; free space there or choose another --dest"
        )
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and limit < needed:
        raise BackupError(
            f"this process may write files of at most {limit / 1e6:.1f} MB (ulimit -f) and the backup "
            f"needs about {needed / 1e6:.1f} MB; nothing was written; raise the limit"
        )


def _describe_copy(path: Path) -> dict[str, Any]:
    conn = maintenance.open_read_only(path)
    try:
        problems = maintenance.integrity_problems(conn)
        return {
            "integrity_problems": problems,
            "database_id": maintenance.database_id(conn),
            "schema_version": migrations.current_version(conn),
            "row_counts": inventory.row_counts(conn),
        }
    finally:
        conn.close()


def create_backup(
    db_path: Path,
    dest_dir: Path | None = None,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    pages_per_step: int = maintenance.PAGES_PER_STEP,
) -> Backup:
    """Copy the live database into ``dest_dir`` (default ``backups/`` beside it) and verify it."""
    started = time.monotonic()
    maintenance.require_memory_database(db_path)
    dest = dest_dir if dest_dir is not None else default_dest(db_path)
    _prepare_dest(dest)
    moment = now or datetime.now(UTC)
    final = dest / f"{db_path.stem}-{moment.strftime('%Y%m%dT%H%M%S.%fZ')}.db"
    partial = final.with_name(final.name + ".partial")

    source = open_connection(db_path, create=False)
    try:
        identity = maintenance.database_id(source)
        if identity is None:
            raise BackupError(
                f"{db_path} has no database identity (schema version {migrations.current_version(source)}); "
                "run 'memory-system db migrate' first"
            )
        _require_room(dest, maintenance.size_bytes(source) + ROOM_MARGIN_BYTES)
        copy_progress = None if progress is None else (lambda d, t: progress("copy", d, t))
        try:
            maintenance.copy_online(source, partial, copy_progress, pages_per_step)
            copied = time.monotonic()
        except Exception:
            partial.unlink(missing_ok=True)
            raise
    finally:
        source.close()

    try:
        if progress is not None:
            progress("verify", 0, 1)
        described = _describe_copy(partial)
        if progress is not None:
            progress("verify", 1, 1)
        checked = time.monotonic()
        if described["integrity_problems"]:
            raise BackupError(f"the backup copy failed integrity_check: {described['integrity_problems'][0]}")
        if described["database_id"] != identity:
            raise BackupError("the backup copy does not carry the database identity; nothing was kept")
        checksum = sha256_file(partial, progress)
        hashed = time.monotonic()
        maintenance.fsync_path(partial)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "backup_file": final.name,
        "source": str(db_path.resolve()),
        "database_id": identity,
        "created_at": format_utc(moment),
        "schema_version": described["schema_version"],
        "row_counts": described["row_counts"],
        "size_bytes": final.stat().st_size,
        "sha256": checksum,
        "integrity_check": "ok",
        "duration_s": round(time.monotonic() - started, 3),
        "timings_s": {
            "copy": round(copied - started, 3),
            "integrity_check_and_counts": round(checked - copied, 3),
            "sha256": round(hashed - checked, 3),
        },
    }
    manifest_path = manifest_path_for(final)
    tmp = manifest_path.with_name(manifest_path.name + ".partial")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    maintenance.fsync_path(tmp)
    os.replace(tmp, manifest_path)
    maintenance.fsync_path(dest)
    return Backup(final, manifest)


def read_manifest(backup_path: Path) -> dict[str, Any]:
    if not backup_path.exists():
        raise BackupError(f"backup file {backup_path} does not exist")
    if not backup_path.is_file():
        raise BackupError(f"backup path {backup_path} is not a file")
    path = manifest_path_for(backup_path)
    if not path.exists():
        raise BackupError(
            f"backup {backup_path} has no manifest {path.name} next to it; "
            "use a backup made by 'memory-system db backup'"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"manifest {path} is not readable JSON: {exc}") from exc
    missing = [key for key in _REQUIRED if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise BackupError(f"manifest {path} lacks {', '.join(missing)}; it was not written by 'db backup'")
    if manifest["format"] != MANIFEST_FORMAT:
        raise BackupError(
            f"manifest {path} has format {manifest['format']}, this code reads {MANIFEST_FORMAT}"
        )
    return dict(manifest)


def verify_backup(
    backup_path: Path, *, full_integrity: bool = True, progress: Progress | None = None
) -> Backup:
    """Trust a backup only if its bytes hash to the manifest's sha256 and pass integrity_check.

    With ``full_integrity=False`` the integrity result recorded in the manifest is relied
    on: the matching sha256 proves these are the very bytes that were checked.
    """
    manifest = read_manifest(backup_path)
    maintenance.require_sqlite_file(backup_path, "backup")
    if manifest["integrity_check"] != "ok":
        raise BackupError(f"backup {backup_path} failed integrity_check when it was made; do not use it")
    actual = sha256_file(backup_path, progress)
    if actual != manifest["sha256"]:
        raise BackupError(
            f"backup {backup_path} does not match its manifest checksum (sha256 {actual[:12]}..., "
            f"manifest says {str(manifest['sha256'])[:12]}...): the file changed or is corrupt"
        )
    if full_integrity:
        if progress is not None:
            progress("verify", 0, 1)
        conn = maintenance.open_read_only(backup_path)
        try:
            problems = maintenance.integrity_problems(conn)
            inner_id = maintenance.database_id(conn)
        finally:
            conn.close()
        if progress is not None:
            progress("verify", 1, 1)
        if problems:
            raise BackupError(f"backup {backup_path} fails integrity_check: {problems[0]}")
        if inner_id != manifest["database_id"]:
            raise BackupError(
                f"backup {backup_path} holds database {inner_id}, its manifest says "
                f"{manifest['database_id']}; the files do not belong together"
            )
    return Backup(backup_path, manifest)


def require_fresh(backup: Backup, max_age: timedelta, now: datetime | None = None) -> None:
    """Refuse a backup older than ``max_age`` (or dated in the future beyond clock skew)."""
    now = now or datetime.now(UTC)
    age = now - backup.created_at
    if age > max_age:
        minutes = int(age.total_seconds() // 60)
        raise BackupError(
            f"backup {backup.path} is {minutes} minutes old (made {backup.manifest['created_at']}); "
            "take a fresh one with 'memory-system db backup' "
            f"(limit {int(max_age.total_seconds() // 60)} minutes)"
        )
    if age < -timedelta(minutes=5):
        raise BackupError(
            f"backup {backup.path} is dated in the future ({backup.manifest['created_at']}); "
            "check the clock and take a fresh backup"
        )
