"""``db rollback``: undo the newest migration, only with a way back and two people agreeing.

The runbook's option C drops data, so the code asks for what a careful team would: a
verified backup of this very database taken within the hour (so that ``db restore`` can
undo the rollback), an approval request approved by the Engineering Manager and the DBA
(``--request ID``, see ``ops/approvals``; starting the rollback uses it up), and a graph
without dangling foreign keys (else the checks after the rollback could not tell its
damage from what was there). ``--emergency`` waives those (never the checks that a named
backup is sound and of this database) and is logged at CRITICAL (``db_rollback_emergency``)
and recorded; free-text ``--approved-by`` names are accepted only with it. A running
service must be stopped first (``--force`` overrides): the rollback drops tables it reads. The rollback script
runs in one transaction; afterwards integrity, foreign keys and the Phase 1 counts are
verified, and what was lost is written to ``rollback_records``.

The backup is trusted by its sha256 against the manifest: those are the bytes whose
``integrity_check`` passed when the backup was made, at most an hour ago, so the
expensive check is not repeated here (``db restore`` repeats it before using the file).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core.errors import MigrationError, StoreError
from memory_system.core.logging import log_event
from memory_system.ops import approvals
from memory_system.ops import backup as backups
from memory_system.ops.approvals import ApprovalGrant, ApprovalRefused
from memory_system.ops.impact import Impact, impact_of
from memory_system.ops.integrity import CheckResult, check_connection
from memory_system.store import database_ops as maintenance
from memory_system.store import inventory, migrations
from memory_system.store.connection import open_connection, transaction
from memory_system.store.lockfile import held_by_other, holder_pid

BACKUP_MAX_AGE = timedelta(hours=1)
REQUIRED_APPROVERS = 2

logger = logging.getLogger("memory_system.ops.db_rollback")


class RollbackRefused(StoreError):
    """A precondition of a rollback is not met; nothing was changed."""


@dataclass
class RollbackPlan:
    """Everything checked before asking for confirmation; nothing has changed yet."""

    db_path: Path
    migration: int
    database_id: str
    impact: Impact
    backup: backups.Backup | None
    approvers: list[str]
    emergency: bool
    waived: list[str] = field(default_factory=list)
    service_running: bool = False
    grant: ApprovalGrant | None = None
    grant_used: bool = False  # option C used the request up before its backup

    @property
    def free_text_approvers(self) -> bool:
        """Names typed with --emergency, not approvals: the record and the log say so."""
        return self.grant is None and bool(self.approvers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": str(self.db_path),
            "migration": self.migration,
            "database_id": self.database_id,
            "impact": self.impact.to_dict(),
            "backup": None if self.backup is None else str(self.backup.path),
            "approved_by": self.approvers,
            "approval_request": None if self.grant is None else self.grant.to_dict(),
            "emergency": self.emergency,
            "waived": self.waived,
            "service_running": self.service_running,
        }


@dataclass
class RollbackResult:
    plan: RollbackPlan
    rows_lost: dict[str, int]
    phase_1_before: dict[str, int]
    phase_1_after: dict[str, int]
    check: CheckResult
    tables_left: list[str]
    record_id: int | None
    duration_s: float

    @property
    def verified(self) -> bool:
        return self.check.ok and self.phase_1_before == self.phase_1_after and not self.tables_left

    def problems(self) -> list[str]:
        found = self.check.problems()
        if self.phase_1_before != self.phase_1_after:
            found.append(f"Phase 1 counts changed: before {self.phase_1_before}, after {self.phase_1_after}")
        if self.tables_left:
            found.append(f"tables of migration {self.plan.migration:03d} still present: {self.tables_left}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "rows_lost": self.rows_lost,
            "phase_1_before": self.phase_1_before,
            "phase_1_after": self.phase_1_after,
            "check": self.check.to_dict(),
            "verified": self.verified,
            "problems": self.problems(),
            "record_id": self.record_id,
            "duration_s": self.duration_s,
        }


def distinct_approvers(names: list[str]) -> list[str]:
    """Names as given, blanks dropped, repeats (ignoring case and spaces) counted once."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        cleaned = " ".join(name.split())
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            kept.append(cleaned)
    return kept


def plan_rollback(
    db_path: Path,
    migration: int,
    *,
    backup_path: Path | None,
    approved_by: Sequence[str] = (),
    request_id: int | None = None,
    grant: ApprovalGrant | None = None,
    emergency: bool = False,
    force: bool = False,
    now: datetime | None = None,
) -> RollbackPlan:
    """Check every precondition; raises RollbackRefused/StoreError naming what is unmet.

    Approvals: ``request_id`` is checked here (and used up by ``execute_rollback``);
    ``grant`` is one option C checked and used up already. Free-text ``approved_by`` names
    count only with ``emergency``.
    """
    names = distinct_approvers(list(approved_by))
    if names and not emergency:
        raise RollbackRefused(
            "free-text --approved-by names are accepted only with --emergency (logged at CRITICAL); "
            "otherwise ask for approval: 'memory-system db rollback --migration N --request-approval "
            "--reason TEXT', then each approver runs 'memory-system approve --request ID', then "
            "'db rollback --request ID'"
        )
    if names and (grant is not None or request_id is not None):
        raise RollbackRefused("give --request ID or --emergency with --approved-by names, not both")
    if migration not in migrations.FEATURE_MIGRATIONS:
        undoes = ", ".join(f"{v:03d}" for v in sorted(migrations.FEATURE_MIGRATIONS))
        raise RollbackRefused(
            f"migration {migration:03d} holds Phase 1 or operational tables (the graph, flags, incidents, "
            f"approvals, the rollback records), which survive every rollback; 'db rollback' undoes "
            f"the Phase 2-4 migrations: {undoes}"
        )
    maintenance.require_memory_database(db_path)
    conn = open_connection(db_path, create=False)
    try:
        identity = maintenance.database_id(conn)
        if identity is None:
            raise RollbackRefused(f"{db_path} has no database identity; run 'memory-system db migrate' first")
        impact = impact_of(conn, migration)
        refusal = migrations.rollback_refusal(migrations.applied_versions(conn), migration)
        dangling = maintenance.foreign_key_problems(conn)
        if grant is None and request_id is not None:
            try:
                grant = approvals.check_grant(
                    conn, request_id, database_id=identity, migrations=[migration], now=now
                )
            except ApprovalRefused as exc:
                raise RollbackRefused(str(exc)) from exc
    finally:
        conn.close()
    if refusal:
        raise MigrationError(refusal)

    running = held_by_other(db_path)
    if running and not force:
        raise RollbackRefused(
            f"{db_path} is held by a running service (pid {holder_pid(db_path)}): "
            "the rollback drops tables it reads, and its writes would race the Phase 1 verification; "
            "stop it first, or pass --force"
        )
    unmet: list[str] = []
    if dangling:
        unmet.append(
            f"the database already has {len(dangling)} foreign key problem(s) (first: {dangling[0]}); "
            "run 'memory-system db check' and restore or repair first"
        )
    if grant is not None and (grant.database_id != identity or migration not in grant.migrations):
        raise RollbackRefused(
            f"approval request {grant.request_id} does not approve rolling back "
            f"{migration:03d} of this database"
        )
    if grant is None:
        unmet.append(
            "a rollback needs an approval request approved by a manager and a DBA (--request ID; "
            "create one with --request-approval --reason TEXT)"
        )
    approvers = grant.names() if grant is not None else names
    verified: backups.Backup | None = None
    if backup_path is None:
        unmet.append(
            "a rollback needs --backup PATH: a verified backup of this database from the last hour "
            "(make one with 'memory-system db backup')"
        )
    else:
        verified = backups.verify_backup(backup_path, full_integrity=False)
        if verified.manifest["database_id"] != identity:
            raise RollbackRefused(
                f"backup {backup_path} is of another database (id {verified.manifest['database_id']}, "
                f"this one is {identity}); back up {db_path} itself"
            )
        if int(verified.manifest["schema_version"]) < migration:
            raise RollbackRefused(
                f"backup {backup_path} was taken at schema version {verified.manifest['schema_version']}, "
                f"before migration {migration:03d}: it cannot bring back what the rollback drops"
            )
        try:
            backups.require_fresh(verified, BACKUP_MAX_AGE, now)
        except backups.BackupError as exc:
            unmet.append(str(exc))
    if unmet and not emergency:
        raise RollbackRefused("; ".join(unmet))
    return RollbackPlan(
        db_path=db_path,
        migration=migration,
        database_id=identity,
        impact=impact,
        backup=verified,
        approvers=approvers,
        emergency=emergency,
        waived=unmet if emergency else [],
        service_running=running,
        grant=grant,
        grant_used=grant is not None and request_id is None,
    )


def execute_rollback(plan: RollbackPlan) -> RollbackResult:
    """Run the rollback script in one transaction, then verify and record it."""
    started = time.monotonic()
    if not plan.service_running and held_by_other(plan.db_path):  # started while we asked for confirmation
        raise RollbackRefused(
            f"{plan.db_path} is now held by a running service (pid {holder_pid(plan.db_path)}); "
            "stop it first, or pass --force"
        )
    if plan.emergency:
        log_event(
            logger,
            "db_rollback_emergency",
            logging.CRITICAL,
            database=str(plan.db_path),
            migration=plan.migration,
            waived=plan.waived,
            approved_by=plan.approvers,
            free_text_approvers=plan.free_text_approvers,
            backup=None if plan.backup is None else str(plan.backup.path),
        )
    conn = open_connection(plan.db_path, create=False)
    try:
        if maintenance.database_id(conn) != plan.database_id:
            raise RollbackRefused(f"{plan.db_path} changed identity since the checks; start again")
        if plan.grant is not None and not plan.grant_used:
            try:
                approvals.consume(conn, plan.grant)
            except ApprovalRefused as exc:
                raise RollbackRefused(str(exc)) from exc
            plan.grant_used = True
        phase_1_before = inventory.phase_1_counts(conn)
        lost = impact_of(conn, plan.migration).rows_lost()  # recounted: writes may have landed meanwhile
        log_event(
            logger,
            "db_rollback_started",
            logging.WARNING,
            database=str(plan.db_path),
            migration=plan.migration,
            rows_lost=lost,
            emergency=plan.emergency,
        )
        migrations.rollback(conn, plan.migration)
        check = check_connection(conn, str(plan.db_path))
        phase_1_after = inventory.phase_1_counts(conn)
        tables_left = inventory.existing(conn, list(inventory.tables_created_by(plan.migration)))
        result = RollbackResult(plan, lost, phase_1_before, phase_1_after, check, tables_left, None, 0.0)
        details = {
            "backup_sha256": None if plan.backup is None else plan.backup.manifest["sha256"],
            "waived": plan.waived,
            "approval_request": None if plan.grant is None else plan.grant.to_dict(),
            "free_text_approvers": plan.free_text_approvers,
            "phase_1_before": phase_1_before,
            "phase_1_after": phase_1_after,
            "verified": result.verified,
            "problems": result.problems(),
        }
        with transaction(conn):
            result.record_id = maintenance.record_rollback(
                conn,
                migration=plan.migration,
                backup_path=None if plan.backup is None else str(plan.backup.path.resolve()),
                approved_by=plan.approvers,
                emergency=plan.emergency,
                rows_lost=lost,
                details=details,
            )
    finally:
        conn.close()
    result.duration_s = round(time.monotonic() - started, 3)
    if result.verified:
        log_event(
            logger,
            "db_rollback_completed",
            logging.WARNING,
            database=str(plan.db_path),
            migration=plan.migration,
            rows_lost=lost,
            record_id=result.record_id,
            duration_s=result.duration_s,
        )
    else:
        log_event(
            logger,
            "db_rollback_verification_failed",
            logging.CRITICAL,
            database=str(plan.db_path),
            migration=plan.migration,
            problems=result.problems(),
        )
    return result
