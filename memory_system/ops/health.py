"""Service health, as Kubernetes reads it.

- live: the process answers; no I/O, so a slow disk never gets a healthy process killed.
- ready: send traffic here? The database file is the one we opened and it answers, the
  schema is at the version this code expects (a newer one, left by a later release, is fine
  and said so; an older one is not), the config is loaded, and we are not draining.
- deep: every dependency by name, ``"ok"`` or what failed; for people and dashboards, not
  probes (it writes a row and runs ``PRAGMA quick_check``, which is O(size of database)).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from memory_system.core.build import build_info
from memory_system.core.clock import utc_now
from memory_system.core.errors import StoreError
from memory_system.flags.service import FlagService
from memory_system.ops import drill_report
from memory_system.ops import schema as _schema
from memory_system.store import database_ops as maintenance
from memory_system.store import health as probes
from memory_system.store import migrations
from memory_system.store.connection import Database, open_connection

OK = "ok"
NOT_CONFIGURED = "not configured"
NOT_STARTED = "not started"
MIN_HEADROOM_BYTES = 64 * 1024 * 1024
MIN_HEADROOM_FRACTION = 0.05


class Reporting(Protocol):
    """A service that reports on itself (the retrieval service)."""

    def status(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class HealthSources:
    """What the checks look at, handed in by the runtime (``Runtime.health_sources``).

    ``retrieval`` answers None until something has built the retrieval service: building it
    inside a health check would load the embedding model there.
    """

    db_path: Path
    config_path: Path
    embedder: str
    db: Database
    flags: FlagService
    retrieval: Callable[[], Reporting | None]
    injection_cache: Callable[[], object]


@dataclass
class ServiceState:
    """What readiness needs to know that the database cannot tell it (set by server/lifecycle)."""

    started_at: str = field(default_factory=utc_now)
    draining: bool = False
    config_loaded_at: str | None = field(default_factory=utc_now)
    config_error: str | None = None  # the last refused reload; the previous config is in force
    db_identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened at start


def file_identity(path: os.PathLike[str] | str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@dataclass
class SchemaProbe:
    reachable: bool
    error: str | None = None
    findings: _schema.SchemaFindings | None = None
    expected: int = field(default_factory=migrations.expected_version)

    @property
    def current(self) -> int | None:
        return None if self.findings is None else self.findings.current

    @property
    def state(self) -> str:
        return "unknown" if self.findings is None else self.findings.state


def probe_database(path: Path, identity: tuple[int, int] | None) -> SchemaProbe:
    """Open the file afresh (the service's own connections would keep a deleted file alive),
    read its version, checksums and ``sqlite_master`` (``ops/schema.examine``: the tables,
    not only the number)."""
    if identity is not None:
        now = file_identity(path)
        if now is None:
            return SchemaProbe(
                False,
                f"database file {path} is gone (moved or deleted while the service "
                "runs); put it back or restart the service",
            )
        if now != identity:
            return SchemaProbe(
                False,
                f"database file {path} was replaced while the service runs; "
                "the service still writes to the old file: restart it",
            )
    try:
        conn = open_connection(path, create=False)
    except StoreError as exc:
        return SchemaProbe(False, str(exc))
    try:
        return SchemaProbe(True, findings=_schema.examine(conn))
    except StoreError as exc:
        return SchemaProbe(False, f"database {path} does not answer: {exc}")
    finally:
        conn.close()


def legacy_note(db_path: Path) -> str:
    return (
        f"{_schema.LEGACY_MODE}: the Phase 2-4 tables were rolled back (migration 004); Phase 1 "
        "(entities, relations, observations, sessions) serves, Phase 2-4 routes answer 409 "
        f"rolled_back; '{_schema.restore_command(db_path)}' restores them"
    )


def readiness(sources: HealthSources, state: ServiceState) -> tuple[bool, dict[str, Any]]:
    build = build_info()
    schema = probe_database(sources.db_path, state.db_identity)
    reasons: list[str] = []
    if state.draining:
        reasons.append("draining: the service is shutting down and takes no new work")
    if not schema.reachable:
        reasons.append(f"database unreachable: {schema.error}")
    elif schema.findings is not None and (why := _schema.not_ready_reason(schema.findings, sources.db_path)):
        reasons.append(why)
    if state.config_loaded_at is None:
        reasons.append("configuration not loaded")
    body: dict[str, Any] = {
        "status": "not_ready" if reasons else "ready",
        "version": build.version,
        "commit": build.commit,
        "schema_version": schema.current,
        "expected_schema_version": schema.expected,
        "schema": schema.state,
        "mode": schema.findings.mode if schema.findings is not None else "unknown",
        "database": OK if schema.reachable else schema.error,
        "config": {"loaded_at": state.config_loaded_at, "last_reload_error": state.config_error},
        "draining": state.draining,
    }
    if schema.state == "ahead":
        body["schema_note"] = (
            f"the database is at schema {schema.current}, newer than the {schema.expected} "
            "this release expects (a later release migrated it); this release ignores "
            "what it does not know and keeps working"
        )
    elif schema.state == "legacy":
        body["schema_note"] = legacy_note(sources.db_path)
    if schema.findings is not None and schema.findings.problems:
        body["problems"] = schema.findings.problems
    retrieval = sources.retrieval()
    if retrieval is not None:  # vectors of another model: still ready (full text answers), but say so
        rag = retrieval.status()
        body["vectors"] = (
            "stale: stored vectors come from another model; run 'memory-system embed --reembed'"
            if rag.get("stale")
            else ("current" if rag.get("semantic") else "none (full-text only)")
        )
    if reasons:
        body["reasons"] = reasons
    return not reasons, body


def memory_headroom() -> tuple[str, dict[str, Any]]:
    """Process RSS against what the machine (or the cgroup) still has available."""
    meminfo = _read_kv("/proc/meminfo")
    status = _read_kv("/proc/self/status")
    rss = status.get("VmRSS", 0) * 1024
    total = meminfo.get("MemTotal", 0) * 1024
    available = meminfo.get("MemAvailable", 0) * 1024
    limit = _cgroup_limit()
    if limit is not None:
        used = _read_int("/sys/fs/cgroup/memory.current") or rss
        available = min(available, max(0, limit - used)) if available else max(0, limit - used)
        total = min(total, limit) if total else limit
    details = {
        "rss_bytes": rss,
        "available_bytes": available,
        "total_bytes": total,
        "cgroup_limit_bytes": limit,
    }
    if not total:
        return "cannot read /proc/meminfo", details
    floor = max(MIN_HEADROOM_BYTES, int(MIN_HEADROOM_FRACTION * total))
    if available < floor:
        return (
            f"low memory: {available // 2**20} MiB available (process uses {rss // 2**20} MiB), "
            f"below the {floor // 2**20} MiB floor"
        ), details
    return OK, details


def memory_limit_bytes(configured_mb: float | None) -> int:
    """What "memory use against the limit" means: ``memoryLimitMb`` when set (a unit file's
    MemoryMax, say), else the cgroup's limit, else the machine's RAM; 0 if none can be read."""
    if configured_mb is not None:
        return int(configured_mb * 2**20)
    limit = _cgroup_limit()
    if limit is not None:
        return limit
    return _read_kv("/proc/meminfo").get("MemTotal", 0) * 1024


def _read_kv(path: str) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    values[key] = int(parts[0])
    except OSError:
        pass
    return values


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_limit() -> int | None:
    return _read_int("/sys/fs/cgroup/memory.max")  # "max" (no limit) reads as None


def _interpret(result: object, method: str) -> tuple[str, dict[str, Any]]:
    if isinstance(result, str):
        return (OK if result in (OK, "pass") else result), {}
    if isinstance(result, dict):
        if "ok" in result:
            return (OK if result["ok"] else str(result.get("reason") or "not ok")), result
        verdict = result.get("status", OK)
        ok = verdict in (OK, "pass", "ready", "degraded", "warn") or method == "stats"
        return (OK if ok else str(result.get("error") or verdict)), result
    return OK, {"result": str(result)}


def _probe(service: object) -> tuple[str, dict[str, Any]]:
    for method in ("status", "check", "stats"):
        fn = getattr(service, method, None)
        if callable(fn):
            return _interpret(fn(), method)
    return OK, {}


def _rag(sources: HealthSources) -> tuple[str, dict[str, Any]]:
    """The retrieval service, once something has built it."""
    retrieval = sources.retrieval()
    if retrieval is None:
        # serve builds it at start when there is a model; building it here would load one
        # inside a health check. Until a first search there is no RAG service to fail.
        return NOT_STARTED, {"embedder": sources.embedder}
    return _probe(retrieval)


def _cache(sources: HealthSources) -> tuple[str, dict[str, Any]]:
    """The injection cache: answers its own stats (a dead lock or a broken cache raises)."""
    return _probe(sources.injection_cache())


def _flags(sources: HealthSources) -> tuple[str, dict[str, Any]]:
    return sources.flags.check(), {"effective": sources.flags.values()}


def _drills(sources: HealthSources) -> dict[str, Any]:
    """Each option's last passed drill; ``warning`` when one is missing or over 90 days old."""
    try:
        return drill_report.freshness(sources.db.reader())
    except Exception as exc:  # noqa: BLE001 - drill history must never fail the deep check
        return {"error": f"{type(exc).__name__}: {exc}"}


def deep(sources: HealthSources, state: ServiceState) -> tuple[bool, dict[str, Any]]:
    def database() -> tuple[str, dict[str, Any]]:
        schema = probe_database(sources.db_path, state.db_identity)
        if not schema.reachable:
            return str(schema.error), {}
        findings = schema.findings
        why = None if findings is None else _schema.not_ready_reason(findings, sources.db_path)
        return (OK if why is None else f"schema {schema.state}: {why}"), {
            "schema_version": schema.current,
            "expected_schema_version": schema.expected,
            "schema": schema.state,
            "mode": "unknown" if findings is None else findings.mode,
        }

    def database_read() -> tuple[str, dict[str, Any]]:
        return OK, {"migrations": probes.read_probe(sources.db.reader())}

    def database_write() -> tuple[str, dict[str, Any]]:
        with sources.db.write() as conn:
            return OK, {"table": "health_probe", "written_at": probes.write_probe(conn)}

    def integrity() -> tuple[str, dict[str, Any]]:
        # A fresh connection: a long-lived reader can report FTS5 corruption that is not there.
        problems = maintenance.file_integrity_problems(sources.db_path, quick=True)
        return (OK if not problems else "quick_check: " + "; ".join(problems[:5])), {"pragma": "quick_check"}

    def config() -> tuple[str, dict[str, Any]]:
        detail = {"path": str(sources.config_path), "loaded_at": state.config_loaded_at}
        if state.config_error:
            return f"last reload refused, previous config in force: {state.config_error}", detail
        return OK, detail

    legacy = probe_database(sources.db_path, state.db_identity).state == "legacy"

    def rolled_back(
        check: Callable[[], tuple[str, dict[str, Any]]],
    ) -> Callable[[], tuple[str, dict[str, Any]]]:
        if not legacy:
            return check
        return lambda: (
            NOT_STARTED,
            {"reason": f"{_schema.LEGACY_MODE}: the Phase 2-4 tables were rolled back"},
        )

    checks: dict[str, Callable[[], tuple[str, dict[str, Any]]]] = {
        "database": database,
        "database_read": database_read,
        "database_write": database_write,
        "integrity": integrity,
        "rag": rolled_back(lambda: _rag(sources)),
        "cache": rolled_back(lambda: _cache(sources)),
        "memory_headroom": memory_headroom,
        "flags": lambda: _flags(sources),
        "config": config,
    }
    results: dict[str, str] = {}
    details: dict[str, Any] = {}
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            verdict, detail = check()
        except Exception as exc:  # noqa: BLE001 - a check that blows up is a failed check, never a 500
            verdict, detail = f"{type(exc).__name__}: {exc}", {}
        results[name] = verdict
        details[name] = {**detail, "duration_ms": round((time.perf_counter() - started) * 1000, 2)}
    healthy = all(v in (OK, NOT_CONFIGURED, NOT_STARTED) for v in results.values())
    details["drills"] = _drills(sources)  # a warning for people, never a failed check
    build = build_info()
    return healthy, {
        "status": "pass" if healthy else "fail",
        "version": build.version,
        "commit": build.commit,
        "checks": results,
        "details": details,
        "draining": state.draining,
    }
