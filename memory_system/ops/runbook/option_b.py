"""Runbook option B: roll the code back (or forward) to an installed release, verified.

Steps, each timed: find the target release; check it runs on this database's schema;
switch ``current``; restart (SIGTERM + drain by the lock's pid, start the target with the
recorded arguments; under systemd ``systemctl restart``); wait for ready; verify B.
Downtime runs from the stop sent to the first ready 200.

A release runs on a database at its own schema or a newer one (it ignores tables it does
not know, and ``/health/ready`` says ``schema: ahead``). It cannot run on an older one,
nor on one whose applied migrations differ from the ones it ships (it refuses to start:
a crash loop under systemd). Both are refused here, before anything is touched, naming
option C / ``db migrate`` as the way. A restart that fails after the switch puts the
previous release back and starts it, and says so.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from memory_system.core.errors import StoreError
from memory_system.ops import releases, schema, service_control, service_record, verify
from memory_system.ops.runbook.service_checks import Check
from memory_system.ops.runbook.steps import Procedure, Reporter, StepFailed

ADMIN_TOKEN_ENV = "MEMORY_SYSTEM_ADMIN_TOKEN"  # the service's own, from its start record
PRECONDITION_STEP = "check it runs on this schema"  # refused here, nothing was touched


@dataclass
class OptionBResult:
    procedure: Procedure
    target: str | None = None
    downtime_s: float | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.procedure.ok and bool(self.procedure.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.procedure.to_dict(),
            "ok": self.ok,
            "target": self.target,
            "downtime_s": self.downtime_s,
            "checks": self.checks,
        }


def schema_fit(release: releases.Release, db_path: Path) -> str:
    """Why ``release`` cannot run on this database (raises StepFailed), else what it will say."""
    try:
        status = schema.status(db_path)
    except StoreError as exc:
        raise StepFailed(f"cannot read the schema of {db_path}: {exc}") from exc
    current, expects = status.current_version, release.expected_schema
    have = status.applied_versions
    lacking = schema.pending_versions(have, expects)
    if set(lacking) & schema.FEATURE_MIGRATIONS and status.state == "legacy":
        raise StepFailed(
            f"the database is in legacy mode (Phase 2-4 tables rolled back) and {release.name} "
            f"needs them (schema {expects}); run 'memory-system db migrate --db {db_path}' first "
            "(or stay on option C)"
        )
    if lacking:
        raise StepFailed(
            f"the database lacks migration(s) {', '.join(f'{v:03d}' for v in lacking)} that {release.name} "
            f"expects (schema {expects}); option B cannot bring it forward: run "
            f"'memory-system db migrate --db {db_path}' (option C's way)"
        )
    applied = {str(m["version"]): m.get("checksum") for m in status.applied}
    differ = sorted(v for v, c in release.migrations.items() if v in applied and applied[v] != c)
    if differ:
        raise StepFailed(
            f"{release.name} ships migration(s) {', '.join(differ)} different from the ones applied to "
            f"this database: it would refuse to start; choose another release, or option C"
        )
    state = schema.schema_state(have, expects)
    return f"database at schema {current}, {release.name} expects {expects}: schema {state}"


def _expect_version_kw() -> bool:
    return "expect_version" in inspect.signature(verify.Target).parameters


def _verify(
    url: str, release: releases.Release, db_path: Path, ready: dict[str, Any], admin_token: str | None
) -> list[Check]:
    """verify B against the target's version; the version is checked here too, so a verify
    that knows no expected version cannot pass the wrong build."""
    version_ok = ready.get("version") == release.version
    own = Check(
        f"version {release.version} is running", version_ok, f"version {ready.get('version')} is running"
    )
    target_args: dict[str, Any] = {"url": url, "db_path": db_path, "admin_token": admin_token}
    if _expect_version_kw():
        target_args["expect_version"] = release.version
    checks = verify.verify_option_b(verify.Target(**target_args))
    return [own, *checks]


def run(
    db_path: Path,
    to: str,
    *,
    directory: Path,
    report: Reporter = lambda step: None,
    stop_timeout_s: float = 30.0,
    wait_ready_s: float = 120.0,
) -> OptionBResult:
    """Roll the service on ``db_path`` to release ``to``; stops at the first failed step."""
    result = OptionBResult(Procedure("b", report=report))
    proc = result.procedure
    try:
        with proc.step("find the target release") as note:
            target = releases.find(directory, to)
            previous = releases.current_name(directory)
            result.target = target.name
            note.detail = (
                f"{target.name} (commit {target.short_commit}, expects schema {target.expected_schema})"
            )
        with proc.step(PRECONDITION_STEP) as note:
            note.detail = schema_fit(target, db_path)
        with proc.step("read how the service was started") as note:
            record = service_record.read_start(db_path)
            url = service_record.service_url(record)
            note.detail = f"{url}, {' '.join(record.args)}" + (
                f" (systemd unit {record.systemd_unit})" if record.systemd_unit else ""
            )
        with proc.step("switch current") as note:
            releases.use(directory, target.name)
            note.detail = f"current -> {target.name} (was {previous or 'none'})"
        try:
            with proc.step("restart") as note:
                restarted = service_control.restart_service(
                    db_path,
                    executable=directory / releases.CURRENT / "bin" / "memory-system",
                    stop_timeout_s=stop_timeout_s,
                    wait_ready_s=wait_ready_s,
                )
                result.downtime_s = restarted.downtime_s
                stop, start = restarted.stop, restarted.start
                note.detail = (
                    f"{stop.detail or stop.method}; started {start.pid or start.method} at {start.url}"
                )
        except Exception:
            _back_out(proc, db_path, directory, previous, wait_ready_s)
            raise
        with proc.step("wait for ready") as note:
            ready = service_control.wait_ready(url, wait_ready_s)
            note.detail = (
                f"ready: version {ready.get('version')}, schema {ready.get('schema')} "
                f"({ready.get('schema_version')}, the release expects {ready.get('expected_schema_version')})"
            )
        with proc.step("verify B") as note:
            token = record.env.get(ADMIN_TOKEN_ENV) or os.environ.get(ADMIN_TOKEN_ENV)
            checks = _verify(url, target, db_path, ready, token)
            result.checks = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]
            failed = [c for c in checks if not c.ok]
            if failed:
                raise StepFailed("; ".join(f"{c.name}: {c.detail}" for c in failed))
            note.detail = f"{len(checks)} checks passed"
        with proc.step("downtime") as note:
            note.detail = f"{result.downtime_s} s from the stop sent to the first ready 200"
    except (StepFailed, releases.ReleaseError, service_record.ServiceControlError, httpx.HTTPError, OSError):
        pass  # the failed step is recorded with its reason; the procedure stops there
    return result


def _back_out(proc: Procedure, db_path: Path, directory: Path, previous: str | None, wait_s: float) -> None:
    """The target did not come up: the previous release back, and running."""
    try:
        with proc.step("back out: previous release") as note:
            executable = None  # not started from a release: as recorded
            if previous is not None:
                releases.use(directory, previous)
                executable = directory / releases.CURRENT / "bin" / "memory-system"
            started = service_control.start_service(db_path, executable=executable, wait_ready_s=wait_s)
            note.detail = (
                f"current -> {previous or 'as before'}; started pid {started.pid}, ready at {started.url}"
            )
    except Exception:  # noqa: BLE001 - the back-out is best effort; its failure is recorded as a step
        pass
