"""Every runbook rollback is an incident: opened before the first step, filled in with the
outcome after the last, and announced at both ends (the notification outbox: a webhook and
email, with leadership told of option C and of emergency overrides).

Why here and not in each command: the three options record the same things (severity, reason,
flags, checklist, downtime, data lost, backup) and must never fail because of the record. A
database that cannot take the row (missing, read-only, a release before migration 006) costs
the rollback nothing: the command says "no incident recorded" and why, and goes on. Notices
are only written to the outbox here; ``deliver`` sends them in the background within a small
budget and leaves the rest to the service's delivery worker, so a dead webhook never slows a
rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.config import ConfigError
from memory_system.core.errors import ServiceError, StoreError
from memory_system.core.logging import log_event
from memory_system.core.settings import Settings
from memory_system.core.settings_loader import load_settings
from memory_system.ops import incidents, service_record
from memory_system.ops.notify import delivery, outbox
from memory_system.ops.notify.templates import TEMPLATES, TemplateError
from memory_system.ops.runbook.service_checks import Check
from memory_system.ops.runbook.steps import Procedure, Reporter, Step

_log = logging.getLogger(__name__)
DELIVERY_BUDGET_S = 0.5  # what a rollback waits, at its end, for its notices to go out
ACTIVE_WINDOW = timedelta(minutes=30)  # a session active this recently is affected

SEVERITY = {"a": "SEV2", "b": "SEV2", "c": "SEV1"}  # C loses data: the runbook's highest
WHAT = {"a": "flags off", "b": "code to an earlier release", "c": "database: Phase 2-4 rolled back"}


@dataclass
class RollbackIncident:
    """The incident of one rollback; ``incident_id`` None when none could be recorded (``note``)."""

    db_path: Path
    option: str
    incident_id: int | None = None
    note: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # what the notices fill in
    settings: Settings | None = None  # None: no notices (the config did not load)
    notices: list[int] = field(default_factory=list)  # outbox rows written
    passes: list[delivery.BackgroundDelivery] = field(default_factory=list)

    @property
    def line(self) -> str:
        if self.incident_id is None:
            return f"no incident recorded: {self.note}"
        shown = f"memory-system incident show {self.incident_id}"
        return f"incident #{self.incident_id} opened ({self.values['severity']}): '{shown}'"


def open_rollback_incident(
    db_path: Path,
    option: str,
    *,
    reason: str,
    flags: Iterable[str] = (),
    actor: str,
    severity: str | None = None,
) -> RollbackIncident:
    """Open the incident before the rollback's first step; never raises."""
    severity = severity or SEVERITY[option]
    title = f"Rollback option {option.upper()} ({WHAT[option]}): {reason}"
    record = RollbackIncident(db_path, option)
    started = datetime.now(UTC)
    record.values = {
        "option": option.upper(),
        "severity": severity,
        "reason": reason,
        "flags": list(flags),
        "commander": actor,
        "title": title,
        "started_at": format_utc(started),
    }
    if not db_path.exists():
        record.note = f"{db_path} does not exist (pass --db)"
        return record
    try:
        record.settings = load_settings({"db_path": db_path})
    except ConfigError as exc:
        log_event(_log, "incident_not_recorded", logging.WARNING, option=option, error=f"no notices: {exc}")
    record.values["sessions_affected"] = _open_sessions(db_path, started)
    try:
        record.incident_id = incidents.open_incident(
            db_path,
            incident_type=f"rollback_{option}",
            severity=severity,
            title=title[:200],
            reason=reason,
            flags=record.values["flags"],
            opened_by=actor,
            details={"option": option},
        )
    except (StoreError, ServiceError, ValueError) as exc:
        record.note = str(exc)
        log_event(
            _log, "incident_not_recorded", logging.WARNING, option=option, db=str(db_path), error=str(exc)
        )
        return record
    _announce(record, "incident_start", {**record.values, "incident_id": record.incident_id})
    _send_soon(record)  # in the background while the rollback runs
    return record


def _open_sessions(db_path: Path, now: datetime) -> int | None:
    try:
        return incidents.open_sessions(db_path, format_utc(now - ACTIVE_WINDOW))
    except (StoreError, ServiceError):
        return None


def _announce(record: RollbackIncident, template: str, values: Mapping[str, Any]) -> None:
    """Write one notice to the outbox; a notice that cannot be written is logged, never raised."""
    if record.settings is None:
        return
    spec = TEMPLATES[template]  # a template refuses values it does not know: pass only its own
    known = {k: v for k, v in values.items() if k in spec.required or k in spec.optional}
    try:
        record.notices += outbox.enqueue(
            record.db_path, template, known, settings=record.settings, incident_id=record.incident_id
        )
    except (TemplateError, StoreError, ServiceError, ValueError) as exc:
        log_event(
            _log,
            "notification_not_queued",
            logging.WARNING,
            template=template,
            option=record.option,
            error=str(exc),
        )


def announce_emergency(record: RollbackIncident, approved_by: Sequence[str]) -> None:
    """Leadership hears of every emergency override (approvals waived), at once."""
    if record.incident_id is None:
        return
    values = {**record.values, "incident_id": record.incident_id, "emergency": True}
    _announce(record, "leadership_notice", {**values, "approved_by": list(approved_by) or ["nobody"]})
    _send_soon(record)


def _send_soon(record: RollbackIncident) -> None:
    """A delivery pass on a background thread; ``record_outcome`` waits for it, within budget."""
    if record.settings is not None and record.notices:
        record.passes.append(
            delivery.deliver_now(record.db_path, record.settings, budget_s=DELIVERY_BUDGET_S)
        )


def _finish_delivery(record: RollbackIncident) -> None:
    """At the rollback's end: wait at most ``DELIVERY_BUDGET_S`` for the passes started, and
    as long again for one that sends the end's notice; what is left goes out with the service's
    delivery worker."""
    for started in record.passes:
        started.finish()
    if record.settings is not None and record.notices:
        delivery.deliver_now(record.db_path, record.settings, budget_s=DELIVERY_BUDGET_S).finish()


class DeferredIncident:
    """A step reporter that opens the rollback's incident once its preconditions passed (the
    step named ``after``): a rollback refused before it changed anything (no approvals, a
    release that cannot run here) is a typo to fix, not an incident to page leadership about.
    ``after=None`` opens it before the first step."""

    def __init__(
        self,
        opener: Callable[[], RollbackIncident],
        report: Reporter,
        say: Callable[[str], None],
        after: str | None,
    ) -> None:
        self._opener, self._report, self._say, self._after = opener, report, say, after
        self.record: RollbackIncident | None = None
        if after is None:
            self._open()

    def _open(self) -> None:
        self.record = self._opener()
        self._say(self.record.line)

    def __call__(self, step: Step) -> None:
        self._report(step)
        if self.record is None and step.name == self._after and step.ok:
            self._open()

    def finish(self, procedure: Procedure, checks: Sequence[CheckLike], **outcome: Any) -> int | None:
        """``record_outcome`` when an incident was opened; its id."""
        if self.record is None:
            return None
        record_outcome(self.record, procedure, checks, **outcome)
        return self.record.incident_id


def _status_page(db_path: Path) -> str:
    try:
        return service_record.service_url(service_record.read_start(db_path)) + "/status"
    except service_record.ServiceControlError:
        return "not known (no service start record next to the database)"


CheckLike = Check | Mapping[str, Any]  # option B keeps its checks as dicts (name, ok, detail)


def checklist(checks: Sequence[CheckLike]) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        if isinstance(c, Check):
            rows.append({"check": c.name, "ok": c.ok, "detail": c.detail})
        else:
            rows.append({"check": str(c["name"]), "ok": bool(c["ok"]), "detail": str(c.get("detail", ""))})
    return rows


def data_lost(rollbacks: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Rows dropped per table, summed over the migrations a rollback undid."""
    lost: dict[str, int] = {}
    for done in rollbacks:
        for table, rows in (done.get("rows_lost") or {}).items():
            lost[table] = lost.get(table, 0) + int(rows)
    return lost


def record_outcome(
    record: RollbackIncident,
    procedure: Procedure,
    checks: Sequence[CheckLike],
    *,
    downtime_s: float | None = None,
    sessions_affected: int | None = None,
    data_loss: Mapping[str, int] | None = None,
    backup: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Fill the incident in after the last step (it stays open: a person closes it, with the
    postmortem); never raises."""
    if sessions_affected is None:
        sessions_affected = record.values.get("sessions_affected")
    record.values.update(
        ok=procedure.ok,
        seconds=round(procedure.seconds, 2),
        downtime_s=downtime_s,
        sessions_affected=sessions_affected,
        data_loss=dict(data_loss or {}),
        backup=backup,
        checks_passed=sum(1 for c in checklist(checks) if c["ok"]),
        checks_total=len(checks),
    )
    if record.incident_id is None:
        return
    lost = dict(data_loss or {})
    _announce(
        record,
        "rollback_complete",
        {
            "option": record.option.upper(),
            "incident_id": record.incident_id,
            "duration_s": round(procedure.seconds, 2),
            "downtime_s": downtime_s or 0.0,
            "sessions_affected": sessions_affected if sessions_affected is not None else 0,
            "data_lost": ", ".join(f"{t} {n}" for t, n in lost.items() if n) or "none",
            "backup": backup or "none taken",
            "checks_passed": record.values["checks_passed"],
            "checks_total": record.values["checks_total"],
            "status_page": _status_page(record.db_path),
        },
    )
    _finish_delivery(record)
    fields: dict[str, Any] = {
        "checklist": checklist(checks),
        "details": {
            "option": record.option,
            "ok": procedure.ok,
            "seconds": round(procedure.seconds, 2),
            "steps": [
                {"name": s.name, "ok": s.ok, "seconds": s.seconds, "detail": s.detail}
                for s in procedure.steps
            ],
            **(details or {}),
        },
    }
    if downtime_s is not None:
        fields["downtime_seconds"] = downtime_s
    if sessions_affected is not None:
        fields["sessions_affected"] = sessions_affected
    if data_loss is not None:
        fields["data_loss"] = dict(data_loss)
    if backup:
        fields["backup_location"] = backup
    try:
        incidents.update_incident(record.db_path, record.incident_id, **fields)
    except (StoreError, ServiceError, ValueError) as exc:
        log_event(
            _log,
            "incident_not_recorded",
            logging.WARNING,
            option=record.option,
            db=str(record.db_path),
            incident_id=record.incident_id,
            error=str(exc),
        )
