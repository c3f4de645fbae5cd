"""Runbook option C as one procedure: the Phase 2-4 migrations rolled back, the service in legacy mode.

In order, each step timed: an approval request approved by a manager and a DBA, two
different people (``ops/approvals``; or ``--emergency`` with free-text names, logged at
CRITICAL); stop the service; the request used up (one request, one rollback; the backup
taken next holds it as used, so restoring that backup cannot replay it); a verified
backup, copied to a second place; the impact, confirmed; roll back every migration after
003, newest first, each verified; start the service as it was started, less ``--migrate``
(it must not re-apply 004: a default start on a database whose 004 was rolled back on
purpose runs in legacy mode); verify C.

Once the database has changed, any failed check restores the backup (runbook 5.5), starts
the service again as it was, and says so: the procedure never leaves a half-rolled-back
database behind it without saying so.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.ops import approvals, db_rollback, restore, schema, service_control, service_record, verify
from memory_system.ops import backup as backups
from memory_system.ops.impact import Impact, impact
from memory_system.ops.runbook.steps import Procedure, StepFailed
from memory_system.ops.verify import Check, Target
from memory_system.store import database_ops as maintenance
from memory_system.store.connection import open_connection
from memory_system.store.lockfile import held_by_other

logger = logging.getLogger("memory_system.ops.runbook.option_c")

Confirm = Callable[[list[Impact]], bool]
COPY_TIMEOUT_S = 600.0


@dataclass
class OptionCOutcome:
    procedure: Procedure
    db_path: Path
    service_was_running: bool = False
    url: str | None = None
    backup: str | None = None
    second_copy: str | None = None
    impacts: list[dict[str, Any]] = field(default_factory=list)
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    database_changed: bool = False
    restored: bool = False
    restore_detail: str | None = None
    error: str | None = None
    dropped_args: tuple[str, ...] = ()  # what the legacy start left out of the recorded start
    emergency: bool = False  # the hook for the leadership notice: approvals were waived
    grant: approvals.ApprovalGrant | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.procedure.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.procedure.to_dict(),
            "ok": self.ok,
            "error": self.error,
            "database": str(self.db_path),
            "service_was_running": self.service_was_running,
            "url": self.url,
            "backup": self.backup,
            "second_copy": self.second_copy,
            "impacts": self.impacts,
            "rollbacks": self.rollbacks,
            "checks": verify.as_dicts(self.checks),
            "database_changed": self.database_changed,
            "restored": self.restored,
            "restore_detail": self.restore_detail,
            "emergency": self.emergency,
            "approval_request": None if self.grant is None else self.grant.to_dict(),
        }


@dataclass(frozen=True)
class OptionCRequest:
    db_path: Path
    approved_by: Sequence[str] = ()  # free-text names: only with emergency
    approval_request: int | None = None
    emergency: bool = False
    backup_dir: Path | None = None
    second_copy: str | None = None
    admin_token: str | None = None
    agent_token: str | None = None
    log_file: Path | None = None
    stop_timeout_s: float = 30.0
    wait_ready_s: float = 60.0


def rollback_c(request: OptionCRequest, procedure: Procedure, confirm: Confirm) -> OptionCOutcome:
    """Run the procedure; the first failed step stops it (``outcome.error`` says why)."""
    outcome = OptionCOutcome(procedure, request.db_path, emergency=request.emergency)
    try:
        _run(request, outcome, confirm)
    except (StepFailed, StoreError, service_record.ServiceControlError, ConnectionError) as exc:
        outcome.error = str(exc)
        if outcome.database_changed:
            _restore(request, outcome)
        elif outcome.service_was_running and not _running(request.db_path):
            _start_as_it_was(request, outcome)
    if outcome.ok:
        log_event(
            logger,
            "rollback_c_completed",
            logging.WARNING,
            database=str(request.db_path),
            seconds=procedure.seconds,
            emergency=request.emergency,
        )
    return outcome


def _running(db_path: Path) -> bool:
    return held_by_other(db_path)


def _run(request: OptionCRequest, outcome: OptionCOutcome, confirm: Confirm) -> None:
    proc, db = outcome.procedure, request.db_path
    with proc.step("approvals") as note:
        names = db_rollback.distinct_approvers(list(request.approved_by))
        if names and not request.emergency:
            raise StepFailed(
                "free-text --approved-by names are accepted only with --emergency; ask for approval: "
                "'memory-system rollback c --request-approval --reason TEXT', each approver runs "
                "'memory-system approve --request ID', then 'memory-system rollback c --request ID'"
            )
        if request.approval_request is None and not request.emergency:
            raise StepFailed(
                "option C needs --request ID: an approval request approved by a manager and a DBA "
                "(create one with 'memory-system rollback c --request-approval --reason TEXT'), "
                "or --emergency"
            )
        if request.second_copy is None and not request.emergency:
            raise StepFailed(
                "option C needs --second-copy DIR or host:path: a backup on the same disk is no way "
                "back from losing that disk (--emergency skips it)"
            )
        found = schema.status(db)
        features = sorted(found.applied_versions & schema.FEATURE_MIGRATIONS, reverse=True)
        if not features:
            raise StepFailed(f"{db} has no Phase 2-4 migration applied ({found.state}): nothing to roll back")
        if request.approval_request is not None:
            outcome.grant = _check_request(db, request.approval_request, features)
            note.detail = f"request {outcome.grant.request_id} approved by {', '.join(outcome.grant.names())}"
        else:
            note.detail = f"free-text names {', '.join(names)}" if names else "approvals waived"
        if request.emergency:
            note.detail = f"EMERGENCY: {note.detail} (logged at CRITICAL and recorded)"
            log_event(
                logger,
                "rollback_c_emergency",
                logging.CRITICAL,
                database=str(db),
                approved_by=names,
                approval_request=request.approval_request,
                second_copy=request.second_copy,
            )

    with proc.step("stop the service") as note:
        try:
            record = service_record.read_start(db)
            outcome.url = service_record.service_url(record)
        except service_record.ServiceControlError:
            record = None
        stopped = service_control.stop_service(db, request.stop_timeout_s)
        outcome.service_was_running = stopped.was_running
        note.detail = stopped.detail if stopped.was_running else f"none running ({stopped.detail}); going on"
    outcome.dropped_args = tuple(a for a in (record.args if record else []) if a == "--migrate")

    if outcome.grant is not None:
        with proc.step("approval request used") as note:
            _use_request(db, outcome.grant)
            note.detail = f"request {outcome.grant.request_id} is now used: one request, one rollback"

    with proc.step("backup, verified, second copy") as note:
        taken = backups.create_backup(db, request.backup_dir)
        checked = backups.verify_backup(taken.path, full_integrity=True)
        outcome.backup = str(checked.path)
        copied = _second_copy(checked, request.second_copy) if request.second_copy else None
        outcome.second_copy = copied
        size_mb = checked.manifest["size_bytes"] / 1e6
        note.detail = f"{checked.path} ({size_mb:.1f} MB, sha256 and integrity_check ok)" + (
            f"; copied to {copied}" if copied else "; no second copy (emergency)"
        )

    with proc.step("impact, confirmed") as note:
        impacts = [impact(db, v) for v in features]
        outcome.impacts = [i.to_dict() for i in impacts]
        note.detail = "; ".join(f"{i.migration:03d} {i.name}: {i.total_rows} rows lost" for i in impacts)
        if not confirm(impacts):
            raise StepFailed("not confirmed: the database is unchanged (pass --yes to skip the question)")

    for version in features:
        with proc.step(f"roll back {version:03d}") as note:
            plan = db_rollback.plan_rollback(
                db,
                version,
                backup_path=checked.path,
                approved_by=() if outcome.grant is not None else list(request.approved_by),
                grant=outcome.grant,
                emergency=request.emergency,
            )
            outcome.database_changed = True
            result = db_rollback.execute_rollback(plan)
            outcome.rollbacks.append(result.to_dict())
            if not result.verified:
                raise StepFailed(
                    f"migration {version:03d} rolled back but not verified: {'; '.join(result.problems())}"
                )
            note.detail = (
                f"{sum(result.rows_lost.values())} rows dropped, verified, record {result.record_id}"
            )

    with proc.step("start in legacy mode") as note:
        if not outcome.service_was_running:
            note.detail = (
                f"no service was running: start it with 'memory-system serve --db {db}' (legacy mode)"
            )
        else:
            started = service_control.start_service(
                db, drop_args=("--migrate",), wait_ready_s=request.wait_ready_s
            )
            outcome.url = started.url
            state = started.ready.get("schema")
            if state != "legacy":
                raise StepFailed(f"the service started but reports schema {state!r}, not 'legacy'")
            note.detail = f"pid {started.pid} ready at {started.url} in {started.seconds} s, schema legacy"

    with proc.step("verify C") as note:
        target = Target(
            url=outcome.url if outcome.service_was_running else None,
            admin_token=request.admin_token,
            agent_token=request.agent_token,
            db_path=db,
            log_file=request.log_file,
        )
        outcome.checks = verify.verify_option_c(target, db)
        failed = [c for c in outcome.checks if not c.ok]
        measured = [c for c in outcome.checks if c.state != "manual"]
        note.detail = f"{len(measured) - len(failed)}/{len(measured)} checks passed"
        if failed:
            raise StepFailed(f"{note.detail}; failed: {'; '.join(f'{c.name}: {c.detail}' for c in failed)}")


def _check_request(db: Path, request_id: int, features: list[int]) -> approvals.ApprovalGrant:
    conn = open_connection(db, create=False)
    try:
        identity = maintenance.database_id(conn)
        if identity is None:
            raise StepFailed(f"{db} has no database identity; run 'memory-system db migrate' first")
        return approvals.check_grant(conn, request_id, database_id=identity, migrations=features)
    except approvals.ApprovalRefused as exc:
        raise StepFailed(str(exc)) from exc
    finally:
        conn.close()


def _use_request(db: Path, grant: approvals.ApprovalGrant) -> None:
    conn = open_connection(db, create=False)
    try:
        approvals.consume(conn, grant)
    except approvals.ApprovalRefused as exc:
        raise StepFailed(str(exc)) from exc
    finally:
        conn.close()


def _second_copy(backup: backups.Backup, target: str) -> str:
    """Copy the backup and its manifest to a directory (checked by sha256) or, for a
    ``host:path`` target, with rsync (scp when rsync is not installed)."""
    files = [backup.path, backup.manifest_path]
    if _is_remote(target):
        tool = ["rsync", "-a"] if shutil.which("rsync") else ["scp", "-q"]
        try:
            done = subprocess.run(
                [*tool, *map(str, files), target],
                capture_output=True,
                text=True,
                timeout=COPY_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StepFailed(f"{tool[0]} to {target} failed: {exc}") from exc
        if done.returncode != 0:
            raise StepFailed(f"{tool[0]} to {target} exited {done.returncode}: {done.stderr.strip()[:300]}")
        return f"{target} ({tool[0]})"
    dest = Path(target)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copy2(path, dest / path.name)
    except OSError as exc:
        raise StepFailed(f"cannot copy the backup to {dest}: {exc.strerror or exc}") from exc
    copy = dest / backup.path.name
    if backups.sha256_file(copy) != backup.manifest["sha256"]:
        raise StepFailed(f"the copy at {copy} does not match the backup's sha256: check that disk")
    return str(copy)


def _is_remote(target: str) -> bool:
    """``host:path`` (or ``user@host:path``), as rsync and scp read it; a local path with a
    colon is written with a slash before it (``./a:b``)."""
    head = target.split("/", 1)[0]
    return ":" in head and not Path(target).exists()


def _restore(request: OptionCRequest, outcome: OptionCOutcome) -> None:
    proc, db = outcome.procedure, request.db_path
    assert outcome.backup is not None
    try:
        with proc.step("RESTORE the backup (runbook 5.5)") as note:
            if _running(db):
                service_control.stop_service(db, request.stop_timeout_s)
            plan = restore.plan_restore(db, Path(outcome.backup))
            result = restore.execute_restore(plan)
            outcome.restored = True
            note.detail = (
                f"{outcome.backup} put back: schema {result.schema_version}; "
                f"the rolled-back file kept at {result.kept_aside}"
            )
            outcome.restore_detail = note.detail
    except (StoreError, service_record.ServiceControlError) as exc:
        outcome.restore_detail = (
            f"the automatic restore FAILED: {exc}; restore by hand: "
            f"memory-system db restore --db {db} --backup {outcome.backup}"
        )
    log_event(
        logger,
        "rollback_c_restored" if outcome.restored else "rollback_c_restore_failed",
        logging.CRITICAL,
        database=str(db),
        backup=outcome.backup,
        reason=outcome.error,
        detail=outcome.restore_detail,
    )
    if outcome.restored and outcome.service_was_running:
        _start_as_it_was(request, outcome)


def _start_as_it_was(request: OptionCRequest, outcome: OptionCOutcome) -> None:
    try:
        with outcome.procedure.step("start the service again as it was") as note:
            started = service_control.start_service(
                request.db_path, extra_args=outcome.dropped_args, wait_ready_s=request.wait_ready_s
            )
            note.detail = f"pid {started.pid} ready at {started.url}, schema {started.ready.get('schema')}"
    except (StoreError, service_record.ServiceControlError):
        pass  # recorded as a failed step; the error above says what went wrong first


def downtime_s(procedure: Procedure) -> float | None:
    """Seconds without a serving service: from the stop to the end of the legacy start (or of
    the restore that undid a failed rollback); None when the procedure never stopped it."""
    names = [s.name for s in procedure.steps]
    if "stop the service" not in names:
        return None
    first = names.index("stop the service")
    ends = [
        i for i, n in enumerate(names) if n in ("start in legacy mode", "RESTORE the backup (runbook 5.5)")
    ]
    last = ends[-1] if ends else len(names) - 1
    return round(sum(s.seconds for s in procedure.steps[first : last + 1]), 2)
