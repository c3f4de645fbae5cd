"""Checklist items every option shares, each measured on the running service (never on the
CLI's own environment): the build it runs, its alerts, ``/health/deep``, and its log since
it started.

``ServiceView`` reads each endpoint once (one try, no waiting) and the items are made from
what it read, so the verdicts describe one moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

INJECTION_P95_LIMIT_MS = 100.0
ERRORS_PER_MIN_LIMIT = 1.0
ERROR_RULES = ("injection_errors", "database_failures", "sharing_errors")
ERROR_LEVELS = ("ERROR", "CRITICAL")
START_EVENT = "service_starting"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    state: str = ""  # "ok", "fail" or "manual" (the product cannot measure it: a person checks)

    def __post_init__(self) -> None:
        if not self.state:
            self.state = "ok" if self.ok else "fail"


def manual(name: str, detail: str) -> Check:
    return Check(name, True, detail, "manual")


class ServiceView:
    """GETs against one service with an optional admin token; an error is kept, not raised."""

    def __init__(self, url: str, admin_token: str | None, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        """(status, body); status 0 when the service does not answer (body says why)."""
        try:
            response = self._http.get(path)
        except httpx.TransportError as exc:
            return 0, {"error": type(exc).__name__}
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}


def ready_check(status: int, body: dict[str, Any]) -> Check:
    detail = (
        f"HTTP {status}, version {body.get('version')}, schema {body.get('schema_version')} "
        f"({body.get('schema')}), expected {body.get('expected_schema_version')}"
    )
    return Check("service ready", status == 200 and body.get("status") == "ready", detail)


def version_check(body: dict[str, Any], expect_version: str, expect_commit: str | None) -> Check:
    running, commit = body.get("version"), body.get("commit")
    ok = running == expect_version
    seen = f"running {running}" + (f" (commit {str(commit)[:12]})" if commit else "")
    wanted = f"expected {expect_version}"
    if expect_commit and commit and commit != "unknown" and expect_commit != "unknown":
        ok = ok and commit == expect_commit
        wanted += f" (commit {expect_commit[:12]})"
    return Check("the expected version is running", ok, f"{seen}, {wanted}")


def deep_health_check(status: int, body: dict[str, Any]) -> Check:
    checks = body.get("checks") or {}
    bad = {k: v for k, v in checks.items() if v not in ("ok", "not configured", "not started")}
    seen = ", ".join(f"{k}: {v}" for k, v in bad.items()) or f"{len(checks)} checks ok"
    return Check("/health/deep ok", status == 200 and body.get("status") == "pass", f"HTTP {status}, {seen}")


def alert_checks(status: int, body: dict[str, Any]) -> list[Check]:
    """Injection p95, errors per minute, memory growth and CRITICAL alerts, from /admin/alerts."""
    names = (
        f"injection p95 < {INJECTION_P95_LIMIT_MS:g} ms",
        f"errors < {ERRORS_PER_MIN_LIMIT:g}/min",
        "memory not growing",
        "no CRITICAL alert firing",
    )
    if status == 404:  # a release from before the in-process alerts (0.1.0): nothing to ask
        return [
            manual(name, "this release has no GET /admin/alerts (added in 0.2.0); read your monitoring")
            for name in names
        ]
    if status != 200:
        why = f"GET /admin/alerts -> HTTP {status} {body.get('error', '')}".rstrip()
        return [Check(name, False, f"{why} (needs MEMORY_SYSTEM_ADMIN_TOKEN)") for name in names]
    if not body.get("enabled", True):
        return [
            manual(name, "alert evaluation is switched off in config; read your monitoring") for name in names
        ]
    rules = {r["rule"]: r for r in body.get("rules", [])}

    def value(rule: str) -> float | None:
        found = rules.get(rule, {}).get("value")
        return None if found is None else float(found)

    p95 = value("injection_latency_p95")
    errors = [v for v in (value(r) for r in ERROR_RULES) if v is not None]
    growth = rules.get("memory_growth", {})
    critical = [r["rule"] for r in rules.values() if r["severity"] == "CRITICAL" and r["state"] == "firing"]
    window = body.get("evaluate_every_seconds")
    return [
        Check(
            names[0],
            p95 is None or p95 < INJECTION_P95_LIMIT_MS,
            "no injections in the window" if p95 is None else f"p95 = {p95:g} ms",
        ),
        Check(
            names[1],
            sum(errors) < ERRORS_PER_MIN_LIMIT,
            f"{sum(errors):g} errors/min ({' + '.join(ERROR_RULES)})",
        ),
        Check(
            names[2],
            growth.get("state") != "firing",
            "no data yet (less history than the growth window)"
            if growth.get("value") is None
            else f"growth {float(growth['value']):.1%} over the window, state {growth.get('state')}",
        ),
        Check(
            names[3],
            not critical,
            f"firing: {', '.join(critical)}" if critical else f"none firing (evaluated every {window} s)",
        ),
    ]


def startup_log_check(log_file: Path | None, source: str) -> Check:
    """ERROR/CRITICAL lines since the service's last start (its ``service_starting`` line)."""
    name = "no startup errors in the log"
    if log_file is None:
        return manual(name, "no log file known (--log-file, or the service's start record via --db): read it")
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError as exc:
        return Check(name, False, f"cannot read {log_file} ({source}): {exc.strerror}")
    events = [e for e in (_json(line) for line in lines) if e is not None]
    starts = [i for i, e in enumerate(events) if e.get("event") == START_EVENT]
    since = events[starts[-1] :] if starts else events
    errors = [e for e in since if e.get("level") in ERROR_LEVELS]
    when = since[0].get("timestamp") if starts and since else "the file's start"
    detail = f"{len(errors)} ERROR/CRITICAL line(s) since {when} in {log_file} ({source})"
    if errors:
        detail += f"; first: {errors[0].get('event')} {_short(errors[0])}"
    return Check(name, not errors, detail)


def _json(line: str) -> dict[str, Any] | None:
    try:
        found = json.loads(line)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _short(event: dict[str, Any]) -> str:
    rest = {k: v for k, v in event.items() if k not in ("timestamp", "level", "event", "logger")}
    return json.dumps(rest, default=str)[:200]
