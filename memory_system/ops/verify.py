"""Runbook verification: after a rollback, prove against the live service that it took.

Every item of the runbook's checklist that the product can measure is one ``Check`` with
ok/FAIL and the measured value; the rest print as ``manual`` (a person checks them). What a
service does is asked of the service (``/admin/feature-flags``, ``/admin/alerts``, the
health probes), never read from this CLI's environment, which may differ from the service's.

- Option A (flags): each flag false in every source and 0 in effect, 0% of active sessions
  with it, a new session evaluated with it off, and the phase behaving as "off" (legacy
  injection, sharing refused with 409, flat tiers); then the shared items below.
- Option B (code): the shared items.
- Option C (database): integrity and foreign keys, the schema version the rollback left,
  the Phase 2-4 tables gone, the Phase 1 counts as recorded before the rollback, a backup
  that verifies; with a URL, the service in legacy mode and the shared items.
- Shared: ready, the expected version, injection p95, errors per minute, memory growth,
  no CRITICAL alert, ``/health/deep``, no startup errors in the log, a sample session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.client import MemoryClient, MemoryServiceError, RetryPolicy
from memory_system.core.build import build_info
from memory_system.core.errors import StoreError
from memory_system.flags.names import (
    FLAG_NAMES,
    USE_CROSS_AGENT_SHARING,
    USE_ENHANCED_INJECTION,
    USE_HIERARCHICAL_TIERS,
)
from memory_system.ops import backup as backups
from memory_system.ops import integrity, schema, service_record
from memory_system.ops.runbook import probe
from memory_system.ops.runbook import service_checks as shared
from memory_system.ops.runbook.service_checks import Check, ServiceView, manual
from memory_system.store import database_ops, inventory
from memory_system.store.connection import open_connection

__all__ = ["Check", "Target", "as_dicts", "verify_option_a", "verify_option_b", "verify_option_c"]

PROBE_MEMORY_ID = 2**62  # a share attempt on an id that cannot exist: refused before any lookup
MANUAL_ITEMS = (
    ("team notified via Slack", "tell the team in the incident channel (not sent by the product)"),
)


@dataclass(frozen=True)
class Target:
    """The service to verify and what is known about it."""

    url: str | None
    admin_token: str | None = None
    agent_token: str | None = None
    db_path: Path | None = None  # given: a probe token is minted there, the start record read
    log_file: Path | None = None  # default: the one in the service's start record
    expect_version: str | None = None  # default: this CLI's version (and commit)


class Verifier:
    """One verification run against one service: reads once, probes as an agent, cleans up."""

    def __init__(self, target: Target, probe_token: str | None) -> None:
        assert target.url
        self.target, self.url = target, target.url.rstrip("/")
        self.view = ServiceView(self.url, target.admin_token)
        once = RetryPolicy(attempts=1)
        self._admin = MemoryClient(self.url, admin_token=target.admin_token, timeout_s=10.0, retry=once)
        self._token = probe_token

    def close(self) -> None:
        self.view.close()
        self._admin.close()

    def ready(self) -> tuple[Check, dict[str, Any]]:
        status, body = self.view.get("/health/ready")
        if status == 0:
            raise ConnectionError(f"no answer from {self.url}/health/ready ({body.get('error')})")
        return shared.ready_check(status, body), body

    def service_items(self, ready_body: dict[str, Any], *, legacy: bool) -> list[Check]:
        expected = self.target.expect_version
        info = build_info()
        checks = [
            shared.version_check(ready_body, expected or info.version, None if expected else info.commit)
        ]
        checks.extend(shared.alert_checks(*self.view.get("/admin/alerts")))
        checks.append(shared.deep_health_check(*self.view.get("/health/deep")))
        checks.append(shared.startup_log_check(*self._log_file()))
        outcome = probe.run_probe(self.url, self._token, legacy=legacy)
        checks.append(Check("sample session test", outcome.ok, outcome.detail))
        checks.extend(manual(name, what) for name, what in MANUAL_ITEMS)
        return checks

    def _log_file(self) -> tuple[Path | None, str]:
        if self.target.log_file is not None:
            return self.target.log_file, "--log-file"
        if self.target.db_path is None:
            return None, ""
        try:
            recorded = service_record.read_start(self.target.db_path).log_file
        except service_record.ServiceControlError:
            return None, ""
        return (Path(recorded), "the service's start record") if recorded else (None, "")

    def flag_items(self, flags: Sequence[str]) -> list[Check]:
        snapshot = _answer(self._admin.feature_flags)
        stats = _answer(self._admin.feature_flag_stats)
        checks: list[Check] = []
        for flag in flags:
            entry = snapshot.get("flags", {}).get(flag, {})
            sources = entry.get("sources") if isinstance(entry, dict) else None
            on = {k: v for k, v in (sources or {}).items() if v is not None and v > 0}
            shown = ", ".join(f"{k} {_fmt(v)}" for k, v in (sources or {}).items()) or "not reported"
            checks.append(Check(f"{flag} false in every source", sources is not None and not on, shown))
            effective = _effective(snapshot, flag)
            checks.append(Check(f"{flag} effective value is 0", effective == 0, f"effective = {effective}"))
            rollout = stats.get("flags", {}).get(flag, {})
            percent, enabled = rollout.get("percent_enabled"), rollout.get("enabled_sessions")
            checks.append(Check(f"{flag}: 0% enabled", percent == 0, f"{percent}% of active sessions"))
            checks.append(
                Check(
                    f"{flag}: no active session has it",
                    enabled == 0,
                    f"active sessions with it enabled = {enabled} of {rollout.get('active_sessions')}",
                )
            )
        return checks

    def off_behaviour(self, flags: Sequence[str]) -> list[Check]:
        """A new session has the flags off and each phase behaves as off; the session is ended."""
        checks: list[Check] = []
        agent = probe.probe_client(self.url, self._token)
        session_id: str | None = None
        try:
            try:
                session = agent.start_session()
                session_id, evaluated, seen = session.session_id, dict(session.flags), "HTTP 201"
            except MemoryServiceError as error:
                evaluated, seen = {}, _seen(error)
            for flag in flags:
                checks.append(
                    Check(
                        f"{flag} is off for a new session",
                        evaluated.get(flag) is False,
                        f"POST /v1/sessions -> {seen}, {flag} = {evaluated.get(flag)}",
                    )
                )
            behaviours: dict[str, Callable[[MemoryClient, str | None], Check]] = {
                USE_ENHANCED_INJECTION: _legacy_injection,
                USE_CROSS_AGENT_SHARING: _sharing_refused,
                USE_HIERARCHICAL_TIERS: _flat_tiers,
            }
            with probe.probe_client(self.url, self._token, session_id=session_id) as inside:
                checks.extend(behaviours[flag](inside, session_id) for flag in flags)
        finally:
            if session_id is not None:
                try:
                    agent.end_session(session_id)
                except MemoryServiceError:
                    pass  # the session expires by itself; the checks above already say what failed
            agent.close()
        return checks


def _legacy_injection(client: MemoryClient, session_id: str | None) -> Check:
    try:
        mode, seen = client.inject("rollback verification", session_id=session_id).mode, "HTTP 200"
    except MemoryServiceError as error:
        mode, seen = None, _seen(error)
    return Check(
        "injection uses the legacy path", mode == "legacy", f"POST /v1/inject -> {seen}, mode = {mode}"
    )


def _sharing_refused(client: MemoryClient, session_id: str | None) -> Check:
    try:
        client.share(PROBE_MEMORY_ID, namespace=True)
        status, error = 200, None
    except MemoryServiceError as refused:
        status, error = refused.status, refused.code
    return Check(
        "sharing calls are refused as disabled",
        status == 409 and error == "feature_disabled",
        f"POST /v1/memories/{{id}}/shares -> HTTP {status}, error = {error}",
    )


def _flat_tiers(client: MemoryClient, session_id: str | None) -> Check:
    try:
        tiers, seen = client.list_memories(limit=1).tiers, "HTTP 200"
    except MemoryServiceError as error:
        tiers, seen = None, _seen(error)
    return Check(
        "memories are read as one flat tier", tiers == "flat", f"GET /v1/memories -> {seen}, tiers = {tiers}"
    )


def _with_service(target: Target, run: Callable[[Verifier], list[Check]]) -> list[Check]:
    with probe.probe_token(target.db_path) as minted:
        verifier = Verifier(target, minted or target.agent_token)
        try:
            return run(verifier)
        finally:
            verifier.close()


def verify_option_a(target: Target, flags: Sequence[str] | None = None) -> list[Check]:
    unknown = [f for f in flags or () if f not in FLAG_NAMES]
    if unknown:
        raise ValueError(f"unknown flag {unknown[0]!r}; known: {', '.join(FLAG_NAMES)}")
    chosen = list(flags or FLAG_NAMES)

    def run(verifier: Verifier) -> list[Check]:
        ready, body = verifier.ready()
        checks = [ready, *verifier.flag_items(chosen), *verifier.off_behaviour(chosen)]
        return checks + verifier.service_items(body, legacy=False)

    return _with_service(target, run)


def verify_option_b(target: Target) -> list[Check]:
    def run(verifier: Verifier) -> list[Check]:
        ready, body = verifier.ready()
        return [ready, *verifier.service_items(body, legacy=body.get("schema") == "legacy")]

    return _with_service(target, run)


def verify_option_c(target: Target, db_path: Path, *, expect_schema: int | None = None) -> list[Check]:
    checks = database_items(db_path, expect_schema)
    if not target.url:
        checks.append(
            manual("service in legacy mode", "no --url: start it with 'memory-system serve' and verify again")
        )
        return checks

    def run(verifier: Verifier) -> list[Check]:
        ready, body = verifier.ready()
        legacy = body.get("schema") == "legacy"
        mode = Check("service in legacy mode", legacy, f"/health/ready schema = {body.get('schema')}")
        return [ready, mode, *verifier.service_items(body, legacy=legacy)]

    return checks + _with_service(Target(**{**asdict(target), "db_path": db_path}), run)


def database_items(db_path: Path, expect_schema: int | None) -> list[Check]:
    """What option C promises of the file itself, read from the file."""
    report = integrity.check(db_path)
    checks = [Check("integrity and foreign keys", report.ok, "; ".join(report.problems()) or "ok")]
    status = schema.status(db_path)
    checks.append(
        Check(
            "schema in legacy mode (every base migration, no Phase 2-4 one)",
            status.state == "legacy",
            f"schema {status.state}, applied {schema.versions_text(status.applied_versions)}",
        )
    )
    if expect_schema is not None:
        checks.append(
            Check(
                f"schema version is {expect_schema}",
                status.current_version == expect_schema,
                f"schema version {status.current_version}",
            )
        )
    conn = open_connection(db_path, create=False)
    try:
        rolled_back = [t for v in sorted(schema.FEATURE_MIGRATIONS) for t in inventory.tables_created_by(v)]
        left = inventory.existing(conn, rolled_back)
        counts = inventory.phase_1_counts(conn)
        records = database_ops.rollback_records(conn)
    finally:
        conn.close()
    checks.append(
        Check(
            "Phase 2-4 tables gone",
            not left,
            f"still present: {', '.join(left)}" if left else f"{len(rolled_back)} tables of 004-005 absent",
        )
    )
    newest = records[-1] if records else None
    before = (newest or {}).get("details", {}).get("phase_1_before")
    checks.append(
        Check(
            "Phase 1 counts as recorded before the rollback",
            before is not None and before == counts,
            f"now {counts}, recorded {before}"
            + (f" (rollback record {newest['id']})" if newest else " (no rollback record)"),
        )
    )
    checks.append(_backup_item(newest))
    return checks


def _backup_item(record: dict[str, Any] | None) -> Check:
    name = "a backup that verifies"
    path = (record or {}).get("backup_path")
    if not path:
        return Check(name, False, "the newest rollback record names no backup")
    try:
        verified = backups.verify_backup(Path(path), full_integrity=True)
    except StoreError as exc:
        return Check(name, False, str(exc))
    return Check(name, True, f"{path}: sha256 and integrity_check ok, made {verified.manifest['created_at']}")


def as_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]


def _answer(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except MemoryServiceError:
        return {}


def _seen(error: MemoryServiceError) -> str:
    return f"HTTP {error.status} {error.code}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _effective(snapshot: dict[str, Any], flag: str) -> Any:
    entry = snapshot.get("flags", {}).get(flag, snapshot.get(flag))
    return entry.get("effective") if isinstance(entry, dict) else entry
