"""Approval requests for a database rollback: the runbook's template, filled in, and two people.

Runbook option C drops data, so it asks the Engineering Manager and the DBA. The flow:

1. ``rollback c --request-approval --reason TEXT`` (or ``db rollback --migration N
   --request-approval``) writes a pending request whose ``details`` is the runbook's approval
   template with real values: reason, impact (rows lost per table), backup (path, sha256,
   age), estimated downtime, who asks, and the expiry (4 h).
2. Each approver runs ``approve --request ID`` with their own token (``tokens create
   --approver NAME --role manager|dba``), or calls ``POST /admin/approvals/{id}``.
3. ``rollback c --request ID`` (or ``db rollback --request ID``) proceeds only when the
   request is pending, unexpired, for this database and these migrations, and holds one
   approval per role from two different people whose approvers are not revoked. Starting
   the rollback uses the request up: one request, one rollback.

The request lives in the database it is about (migration 006, which every rollback leaves
applied), so its record survives the rollback it approved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.auth.approvers import ROLES, ApproverService, person_key
from memory_system.core.clock import format_utc
from memory_system.core.errors import ServiceError, StoreConstraint, StoreError
from memory_system.ops import backup as backups
from memory_system.ops.impact import impact_of
from memory_system.store import approval_requests as request_store
from memory_system.store import database_ops as maintenance
from memory_system.store import migrations as migration_store
from memory_system.store.approval_requests import ApprovalRecord, RequestRecord
from memory_system.store.connection import Connection, Database, transaction

REQUEST_TTL = timedelta(hours=4)
ROLLBACK_C = "rollback_c"
DB_ROLLBACK = "db_rollback"
ACTIONS = (ROLLBACK_C, DB_ROLLBACK)
# Downtime estimate from BENCHMARKS.md: option C took 39.1 s end to end on a 497 MB file
# (backup + verify 18 s, rollbacks 9.5 s, restart and verify 10.6 s): ~5 s plus ~0.07 s a MB.
DOWNTIME_FIXED_S = 5.0
DOWNTIME_S_PER_MB = 0.07

__all__ = [
    "ACTIONS",
    "DB_ROLLBACK",
    "REQUEST_TTL",
    "ROLLBACK_C",
    "ApprovalGrant",
    "ApprovalRefused",
    "ApprovalService",
    "ApproverNotAuthorised",
    "RequestNotFound",
    "RequestView",
    "check_grant",
    "consume",
    "render_template",
]


class ApprovalRefused(ServiceError, ValueError):
    """An approval, or a rollback on a request, that cannot go ahead; the message says what to do."""


class RequestNotFound(ApprovalRefused):
    """No approval request has that id in this database."""


class ApproverNotAuthorised(ApprovalRefused):
    """The approver token is unknown or revoked."""


@dataclass(frozen=True)
class ApprovalGrant:
    """A request checked to approve a rollback: who approved, for which database and migrations."""

    request_id: int
    database_id: str
    migrations: tuple[int, ...]
    approvers: tuple[tuple[str, str], ...]  # (name, role)

    def names(self) -> list[str]:
        return [f"{name} ({role})" for name, role in self.approvers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "migrations": list(self.migrations),
            "approvers": [{"name": n, "role": r} for n, r in self.approvers],
        }


@dataclass(frozen=True)
class RequestView:
    """A request with its approvals, as ``approve --list`` and ``GET /admin/approvals`` show it."""

    record: RequestRecord
    approvals: list[ApprovalRecord]

    def missing_roles(self) -> list[str]:
        counted = {a.role for a in self.approvals if a.approver_revoked_at is None}
        return [role for role in ROLES if role not in counted]

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": r.id,
            "action": r.action,
            "state": r.state,
            "reason": r.reason,
            "requested_by": r.requested_by,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "used_at": r.used_at,
            "template": r.details,
            "approvals": [
                {
                    "name": a.name,
                    "role": a.role,
                    "approved_at": a.created_at,
                    "counts": a.approver_revoked_at is None,
                }
                for a in self.approvals
            ],
            "missing_roles": self.missing_roles(),
            "approve_command": approve_command(r.id),
        }


def approve_command(request_id: int) -> str:
    return f"MEMORY_SYSTEM_APPROVER_TOKEN=<token> memory-system approve --request {request_id}"


def request_command(record: RequestRecord) -> str:
    """The command that asks for a request like ``record`` again."""
    if record.action == DB_ROLLBACK:
        migration = int((record.details.get("migrations") or [0])[0])
        return f"memory-system db rollback --migration {migration:03d} --request-approval --reason TEXT"
    return "memory-system rollback c --request-approval --reason TEXT"


def _now(now: datetime | None) -> str:
    return format_utc(now or datetime.now(UTC))


def render_template(view: RequestView) -> str:
    """The template as text: what ``approve --list`` prints and a notice can carry."""
    details = view.record.details
    impact = details.get("impact", {})
    rows = ", ".join(f"{table} {n}" for table, n in impact.get("rows_lost", {}).items()) or "none"
    backup = details.get("backup") or {}
    if backup.get("path"):
        backup_text = (
            f"{backup['path']} (sha256 {str(backup.get('sha256', ''))[:16]}..., "
            f"{backup.get('age_minutes')} min old)"
        )
    else:
        backup_text = "none yet"
    if backup.get("note"):
        backup_text += f"; {backup['note']}"
    migrations = ", ".join(f"{v:03d}" for v in details.get("migrations", []))
    return "\n".join(
        [
            f"DATABASE ROLLBACK APPROVAL REQUEST #{view.record.id} "
            f"({view.record.action}, {view.record.state})",
            f"Database: {details.get('database')} (id {details.get('database_id')})",
            f"Migrations rolled back: {migrations}",
            f"Reason: {details.get('reason')}",
            f"Impact: {impact.get('total_rows', 0)} rows lost ({rows})",
            f"Backup: {backup_text}",
            f"Estimated downtime: {details.get('estimated_downtime_s')} s",
            f"Requested by: {details.get('requested_by')} at {details.get('requested_at')}",
            f"Expires: {details.get('expires_at')}",
            f"Approvals needed: {' and '.join(details.get('approvals_needed', ROLES))}, two different people",
        ]
    )


def _backup_facts(
    db_path: Path, database_id: str, backup_path: Path | None, action: str, now: datetime
) -> dict[str, Any]:
    """The backup the template names: the one given (sha256 checked), else the newest on file."""
    note = (
        "rollback c takes a fresh verified backup before it changes anything" if action == ROLLBACK_C else ""
    )
    if backup_path is not None:
        found = backups.verify_backup(backup_path, full_integrity=False)
        if found.manifest["database_id"] != database_id:
            raise ApprovalRefused(
                f"backup {backup_path} is of another database (id {found.manifest['database_id']}); "
                f"back up {db_path} itself"
            )
        verified = True
    else:
        newest = _newest_backup(db_path, database_id)
        verified = False
        if newest is None:
            return {"path": None, "note": note or "no backup yet: make one with 'memory-system db backup'"}
        found = newest
    age = now - found.created_at
    return {
        "path": str(found.path.resolve()),
        "sha256": found.manifest["sha256"],
        "created_at": found.manifest["created_at"],
        "age_minutes": int(age.total_seconds() // 60),
        "sha256_checked": verified,
        "note": note,
    }


def _newest_backup(db_path: Path, database_id: str) -> backups.Backup | None:
    folder = backups.default_dest(db_path)
    if not folder.is_dir():
        return None
    found: list[backups.Backup] = []
    for manifest in folder.glob(f"*{backups.MANIFEST_SUFFIX}"):
        path = manifest.with_name(manifest.name[: -len(backups.MANIFEST_SUFFIX)])
        try:
            candidate = backups.Backup(path, backups.read_manifest(path))
        except StoreError:
            continue
        if candidate.manifest.get("database_id") == database_id:
            found.append(candidate)
    return max(found, key=lambda b: b.created_at, default=None)


def _file_mb(db_path: Path) -> float:
    total = 0
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        if path.exists():
            total += path.stat().st_size
    return total / 1e6


def _template(
    conn: Connection,
    db_path: Path,
    *,
    action: str,
    migrations: list[int],
    reason: str,
    requested_by: str,
    backup_path: Path | None,
    now: datetime,
    ttl: timedelta,
) -> dict[str, Any]:
    database_id = maintenance.database_id(conn)
    if database_id is None:
        raise ApprovalRefused(f"{db_path} has no database identity; run 'memory-system db migrate' first")
    impacts = [impact_of(conn, v) for v in migrations]
    rows_lost: dict[str, int] = {}
    for found in impacts:
        rows_lost.update(found.rows_lost())
    return {
        "title": "Database rollback approval request (runbook option C)",
        "action": action,
        "database": str(db_path.resolve()),
        "database_id": database_id,
        "migrations": migrations,
        "reason": reason,
        "impact": {
            "rows_lost": rows_lost,
            "total_rows": sum(rows_lost.values()),
            "by_migration": [i.to_dict() for i in impacts],
        },
        "backup": _backup_facts(db_path, database_id, backup_path, action, now),
        "estimated_downtime_s": round(DOWNTIME_FIXED_S + DOWNTIME_S_PER_MB * _file_mb(db_path), 1),
        "requested_by": requested_by,
        "requested_at": format_utc(now),
        "expires_at": format_utc(now + ttl),
        "approvals_needed": list(ROLES),
    }


def _refusal_for_state(record: RequestRecord, now: str) -> str | None:
    again = f"create a new one with '{request_command(record)}'"
    if record.state == "used":
        return f"approval request {record.id} was already used at {record.used_at}; {again}"
    if record.state == "cancelled":
        return f"approval request {record.id} was cancelled; {again}"
    if record.state == "expired" or record.expires_at <= now:
        return f"approval request {record.id} expired at {record.expires_at}; {again}"
    return None


def _get(conn: Connection, request_id: int) -> RequestRecord:
    record = request_store.get_request(conn, request_id)
    if record is None:
        raise RequestNotFound(
            f"no approval request {request_id} in this database; see 'memory-system approve --list'"
        )
    return record


def check_grant(
    conn: Connection,
    request_id: int,
    *,
    database_id: str,
    migrations: Iterable[int],
    now: datetime | None = None,
) -> ApprovalGrant:
    """The grant that request ``request_id`` gives to roll back ``migrations`` of this database.

    Raises ``ApprovalRefused`` naming the first unmet condition: the request pending and
    unexpired, of this database, covering these migrations, with one counted approval per
    role (an approver revoked since does not count) from two different people.
    """
    if not request_store.table_exists(conn):
        raise ApprovalRefused(
            "this database has no approval tables (migration 006 is not applied): "
            "run 'memory-system db migrate' first, or use --emergency"
        )
    record = _get(conn, request_id)
    if refusal := _refusal_for_state(record, _now(now)):
        raise ApprovalRefused(refusal)
    if record.details.get("database_id") != database_id:
        raise ApprovalRefused(
            f"approval request {request_id} is for database {record.details.get('database')} "
            f"(id {record.details.get('database_id')}), not this one ({database_id})"
        )
    wanted = sorted(set(migrations), reverse=True)
    covered = set(record.details.get("migrations", []))
    if not set(wanted) <= covered:
        missing = ", ".join(f"{v:03d}" for v in wanted if v not in covered)
        raise ApprovalRefused(
            f"approval request {request_id} approves rolling back "
            f"{', '.join(f'{v:03d}' for v in sorted(covered, reverse=True)) or 'nothing'}, not {missing}"
        )
    approvals = request_store.approvals_for(conn, request_id)
    revoked = [a for a in approvals if a.approver_revoked_at is not None]
    counted = {a.role: a for a in approvals if a.approver_revoked_at is None}
    missing_roles = [role for role in ROLES if role not in counted]
    if missing_roles:
        notes = "".join(f"; {a.name}'s {a.role} approval does not count: approver revoked" for a in revoked)
        have = ", ".join(f"{a.name} ({a.role})" for a in counted.values()) or "none"
        raise ApprovalRefused(
            f"approval request {request_id} lacks the {' and '.join(missing_roles)} approval "
            f"(approved so far: {have}{notes}); each approver runs '{approve_command(request_id)}'"
            + ("; a revoked approver's role needs a new request" if revoked else "")
        )
    manager, dba = counted["manager"], counted["dba"]
    if person_key(manager.name) == person_key(dba.name):
        raise ApprovalRefused(
            f"approval request {request_id} is approved twice by one person ({manager.name} as manager "
            f"and as dba); option C needs two different people"
        )
    return ApprovalGrant(
        request_id=request_id,
        database_id=database_id,
        migrations=tuple(sorted(covered, reverse=True)),
        approvers=((manager.name, "manager"), (dba.name, "dba")),
    )


def consume(conn: Connection, grant: ApprovalGrant, now: datetime | None = None) -> None:
    """Check the grant again and mark its request used, in one write transaction; a request
    used meanwhile (another rollback on it) raises ``ApprovalRefused``."""
    with transaction(conn):
        check_grant(
            conn, grant.request_id, database_id=grant.database_id, migrations=grant.migrations, now=now
        )
        if not request_store.mark_used(conn, grant.request_id, _now(now)):
            raise ApprovalRefused(f"approval request {grant.request_id} was used meanwhile; create a new one")


class ApprovalService:
    """Requests and approvals on one database, for the CLI and the admin API."""

    def __init__(self, db: Database, approvers: ApproverService) -> None:
        self._db = db
        self._approvers = approvers

    def ready(self) -> bool:
        """Whether the database has the approval tables (migration 006)."""
        return request_store.table_exists(self._db.reader())

    def request(
        self,
        *,
        action: str,
        reason: str,
        requested_by: str,
        migration: int | None = None,
        backup_path: Path | None = None,
        ttl: timedelta = REQUEST_TTL,
        now: datetime | None = None,
    ) -> RequestView:
        """A pending request with the template filled in. ``rollback_c`` covers every applied
        Phase 2-4 migration; ``db_rollback`` the one ``migration``."""
        if action not in ACTIONS:
            raise ApprovalRefused(f"action {action!r} is not valid: use one of {', '.join(ACTIONS)}")
        reason, requested_by = " ".join(reason.split()), " ".join(requested_by.split())
        if not reason:
            raise ApprovalRefused("an approval request needs --reason TEXT: why the rollback is needed")
        if not requested_by:
            raise ApprovalRefused("an approval request needs --requested-by NAME")
        if ttl <= timedelta(0):
            raise ApprovalRefused("the expiry must be in the future: give a positive number of minutes")
        moment = now or datetime.now(UTC)
        conn = self._db.reader()
        applied = migration_store.applied_versions(conn) & migration_store.FEATURE_MIGRATIONS
        if action == ROLLBACK_C:
            migrations = sorted(applied, reverse=True)
            if not migrations:
                raise ApprovalRefused(
                    f"{self._db.path} has no Phase 2-4 migration applied: nothing to roll back"
                )
        else:
            if migration not in migration_store.FEATURE_MIGRATIONS:
                undoes = ", ".join(f"{v:03d}" for v in sorted(migration_store.FEATURE_MIGRATIONS))
                raise ApprovalRefused(f"--migration must be one of the Phase 2-4 migrations: {undoes}")
            if migration not in applied:
                raise ApprovalRefused(f"migration {migration:03d} is not applied to {self._db.path}")
            migrations = [migration]
        details = _template(
            conn,
            self._db.path,
            action=action,
            migrations=migrations,
            reason=reason,
            requested_by=requested_by,
            backup_path=backup_path,
            now=moment,
            ttl=ttl,
        )
        with self._db.write() as wconn:
            record = request_store.insert_request(
                wconn,
                action=action,
                reason=reason,
                requested_by=requested_by,
                details=details,
                expires_at=details["expires_at"],
            )
        return RequestView(record, [])

    def approve(self, request_id: int, token: str, now: datetime | None = None) -> RequestView:
        """Record the approval of the approver whose token this is against a pending request."""
        approver = self._approvers.authenticate(token)
        if approver is None:
            raise ApproverNotAuthorised(
                "unknown or revoked approver token; an operator issues one with "
                "'memory-system tokens create --approver NAME --role manager|dba'"
            )
        with self._db.write() as conn:
            record = _get(conn, request_id)
            if refusal := _refusal_for_state(record, _now(now)):
                raise ApprovalRefused(refusal)
            for given in request_store.approvals_for(conn, request_id):
                if given.approver_id == approver.id:
                    raise ApprovalRefused(f"{approver.name} already approved request {request_id}")
                if person_key(given.name) == person_key(approver.name):
                    raise ApprovalRefused(
                        f"{given.name} already approved request {request_id} as {given.role}; "
                        f"the {approver.role} approval must come from another person"
                    )
                if given.role == approver.role:
                    raise ApprovalRefused(
                        f"request {request_id} already has the {given.role} approval (by {given.name}); "
                        "it needs the other role"
                    )
            try:
                request_store.insert_approval(conn, request_id, approver.id, approver.role)
            except StoreConstraint as exc:  # a concurrent approval took the slot
                raise ApprovalRefused(f"request {request_id} was approved meanwhile: {exc}") from exc
        return self.show(request_id)

    def show(self, request_id: int) -> RequestView:
        conn = self._db.reader()
        return RequestView(_get(conn, request_id), request_store.approvals_for(conn, request_id))

    def list(self, *, pending_only: bool = True, now: datetime | None = None) -> list[RequestView]:
        """Requests with their approvals; pending ones past their expiry are marked expired first."""
        with self._db.write() as conn:
            request_store.expire_pending(conn, _now(now))
        conn = self._db.reader()
        records = request_store.list_requests(conn, ("pending",) if pending_only else None)
        return [RequestView(r, request_store.approvals_for(conn, r.id)) for r in records]
