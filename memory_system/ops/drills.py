"""Rollback drills (runbook section 7): rehearse option A, B or C on a scratch copy.

A drill never touches the real database or service beyond its one ``drills`` row:

1. an online, verified backup of the real database, copied into a scratch folder;
2. a scratch ``memory-system serve`` on a free loopback port with a random admin token, its
   own start record and releases folder next to the scratch database, and an empty config
   file (so no notification channel: no webhook, no SMTP; the environment's
   ``MEMORY_SYSTEM_*`` and ``USE_*`` variables are not passed on, except the embedder);
3. the rollback, by the real commands (``rollback a|b|c ... --json``) against the scratch;
4. the re-enable: A, the gradual rollout of the three flags; B, ``rollback b`` back to the
   original release; C, ``db migrate`` + ``serve --migrate``, then the rollout as for A;
5. a report (markdown + JSON) with each step's start, duration and outcome, every check the
   commands printed, every failure; and the row in the real database (``drill_report``).

Drill B needs a release to roll back to. Without ``--to`` it takes the newest release
installed before the one in use; when there is none (or no release is installed at all, as
in a checkout) it rehearses a restart into the running release itself through ``current``,
and the report says so: that proves the stop, drain, start, ready and verify path and
measures the downtime, not that an older build runs on this schema.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_system.core.build import build_info
from memory_system.core.clock import utc_now
from memory_system.flags.names import FLAG_NAMES
from memory_system.ops import backup, releases, service_control, service_record
from memory_system.ops.drill_report import DrillReport, DrillStep, default_report_dir, record, write_report

OPTIONS = ("a", "b", "c")
ROLLOUT_STEPS = "0.01,0.1,0.5,1"
ROLLOUT_HOLD = "1s"
POLL_S = 0.5
KEPT_ENV = ("MEMORY_SYSTEM_EMBEDDER",)  # start-up cost only; no notification or flag setting


class DrillError(Exception):
    """The drill cannot start (bad option, no database); nothing was changed."""


class _Stopped(Exception):
    """A step failed; the drill stops there (cleanup still runs)."""


@dataclass
class DrillRequest:
    option: str
    db_path: Path
    report_dir: Path | None = None
    keep: bool = False
    to: str | None = None  # drill b: the release to roll back to
    releases_dir: Path | None = None  # drill b: where the real releases are installed
    ready_timeout_s: float = 60.0
    rollout_timeout_s: float = 60.0
    command_timeout_s: float = 240.0
    program: Sequence[str] = field(default_factory=lambda: (sys.executable, "-m", "memory_system"))


@dataclass
class DrillResult:
    report: DrillReport
    markdown_path: Path | None
    json_path: Path | None
    drill_id: int | None

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "report": None if self.markdown_path is None else str(self.markdown_path),
            "report_json": None if self.json_path is None else str(self.json_path),
            "drill_id": self.drill_id,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class _Drill:
    def __init__(self, request: DrillRequest, scratch: Path) -> None:
        self.request = request
        self.scratch = scratch
        self.db = scratch / "memory.db"
        self.log_file = scratch / "app.log"
        self.config = scratch / "config.json"
        self.releases = scratch / "releases"
        self.admin_token = secrets.token_hex(24)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.report = DrillReport(request.option, str(request.db_path), utc_now())
        self.report.scratch = {"dir": str(scratch), "db": str(self.db), "url": self.url, "kept": request.keep}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMORY_SYSTEM_", "USE_"))}
        env.update({k: os.environ[k] for k in KEPT_ENV if k in os.environ})
        env.update(
            {
                "MEMORY_SYSTEM_CONFIG": str(self.config),
                "MEMORY_SYSTEM_ADMIN_TOKEN": self.admin_token,
                "MEMORY_SYSTEM_ROLLOUT_CHECK_INTERVAL_S": "0.2",
                "MEMORY_SYSTEM_RELEASES_DIR": str(self.releases),
            }
        )
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    # -- steps ---------------------------------------------------------------------------
    @contextmanager
    def step(self, name: str) -> Iterator[DrillStep]:
        began = time.monotonic()
        current = DrillStep(name, utc_now(), 0.0, True)
        try:
            yield current
        except Exception as exc:  # noqa: BLE001 - every failure is a failed step in the report
            current.ok = False
            why = str(exc) or type(exc).__name__
            current.detail = f"{current.detail}; {why}" if current.detail else why
        current.seconds = round(time.monotonic() - began, 3)
        if any(not c["ok"] for c in current.checks):
            current.ok = False
        self.report.steps.append(current)
        if not current.ok:
            raise _Stopped(name)

    def cli(self, *args: str, timeout: float | None = None) -> tuple[int, Any, str]:
        """``memory-system ARGS`` in the scratch environment: (exit code, parsed JSON or None, stderr)."""
        done = subprocess.run(
            [*self.request.program, *args],
            env=self.env,
            cwd=self.scratch,
            capture_output=True,
            text=True,
            timeout=timeout or self.request.command_timeout_s,
            check=False,
        )
        try:
            parsed = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            parsed = None
        return done.returncode, parsed, done.stderr

    def command(self, current: DrillStep, *args: str) -> Any:
        """Run a ``--json`` command; its checks become the step's; a non-zero exit fails it."""
        current.detail = "memory-system " + " ".join(args)
        code, answer, stderr = self.cli(*args)
        if isinstance(answer, dict):
            for check in answer.get("checks") or []:
                current.checks.append(
                    {
                        "name": str(check.get("name")),
                        "ok": bool(check.get("ok")),
                        "detail": str(check.get("detail", "")),
                    }
                )
            failed = [s for s in answer.get("steps") or [] if not s.get("ok")]
            if failed:
                current.detail += f" (stopped at {failed[0].get('name')}: {failed[0].get('detail')})"
        if code != 0:
            raise RuntimeError(f"exited {code}: {_tail(stderr) or 'see its JSON'}")
        return answer

    # -- the scratch -----------------------------------------------------------------------
    def copy_database(self) -> None:
        with self.step("backup of the real database, verified, copied to the scratch") as current:
            made = backup.create_backup(self.request.db_path, self.scratch / "drill-backup")
            checked = backup.verify_backup(made.path)
            shutil.copyfile(checked.path, self.db)
            self.config.write_text("{}\n")  # no notifications section: no webhook, no SMTP
            current.checks.append(
                {"name": "backup verified (sha256, integrity_check)", "ok": True, "detail": str(made.path)}
            )
            current.detail = (
                f"{checked.manifest['size_bytes']} bytes, schema {checked.manifest['schema_version']}"
            )

    def start_service(self, program: Sequence[str] | None = None) -> None:
        with self.step("start the scratch service") as current:
            argv = [
                *(program or self.request.program),
                "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--db", str(self.db), "--log-file", str(self.log_file),
            ]  # fmt: skip
            console = service_record.console_log_path(self.db)
            with open(console, "ab") as out:
                proc = subprocess.Popen(
                    argv,
                    cwd=self.scratch,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.proc = proc
            ready = service_control.wait_ready(self.url, self.request.ready_timeout_s, proc, console)
            current.detail = f"pid {proc.pid} at {self.url}, version {ready.get('version')}"
            found = self._start_record(proc.pid, argv, ready)
            current.checks.append(
                {
                    "name": "the scratch database's start record names the scratch service",
                    "ok": found.pid == proc.pid and service_record.service_url(found) == self.url,
                    "detail": f"{service_record.record_path(self.db)}: pid {found.pid}, port {found.port}",
                }
            )

    def _start_record(self, pid: int, argv: list[str], ready: dict[str, Any]) -> service_record.StartRecord:
        """The record ``serve`` wrote; a release older than the start record writes none, so
        one is written here the way ``serve`` would (``rollback b`` and ``c`` read it)."""
        try:
            return service_record.read_start(self.db)
        except service_record.ServiceControlError:
            pass
        made = service_record.StartRecord(
            pid=pid,
            program=argv[: argv.index("serve")],
            args=argv[argv.index("serve") :],
            cwd=str(self.scratch),
            env={
                k: v
                for k, v in self.env.items()
                if k.startswith(service_record.RECORDED_PREFIXES) or k in service_record.RECORDED_NAMES
            },
            host="127.0.0.1",
            port=self.port,
            db_path=str(self.db),
            log_file=str(self.log_file),
            started_at=utc_now(),
            version=str(ready.get("version", "unknown")),
            commit=str(ready.get("commit", "unknown")),
        )
        service_record.write_record(service_record.record_path(self.db), made)
        return made

    def rollout_flags(self) -> None:
        with self.step("re-enable: start the gradual rollout of the flags") as current:
            for flag in FLAG_NAMES:
                answer = self.command(
                    current, "rollout", "start", flag, "--steps", ROLLOUT_STEPS, "--hold", ROLLOUT_HOLD,
                    "--db", str(self.db), "--url", self.url, "--actor", "drill", "--json",
                )  # fmt: skip
                reached = bool(isinstance(answer, dict) and answer.get("service", {}).get("reachable"))
                current.checks.append(
                    {
                        "name": f"{flag} rollout started by the scratch service",
                        "ok": reached,
                        "detail": self.url,
                    }
                )
            current.detail = f"steps {ROLLOUT_STEPS}, hold {ROLLOUT_HOLD}, for {', '.join(FLAG_NAMES)}"
        with self.step("re-enable: wait for the rollouts to complete") as current:
            deadline = time.monotonic() + self.request.rollout_timeout_s
            states: dict[str, Any] = {}
            while True:
                _, answer, _ = self.cli(
                    "rollout", "status", "--db", str(self.db), "--url", self.url, "--json"
                )
                rows = answer.get("rollouts", []) if isinstance(answer, dict) else []
                states = {r["flag"]: r for r in rows if r.get("flag") in FLAG_NAMES}
                done = all(states.get(f, {}).get("state") in ("completed", "aborted") for f in FLAG_NAMES)
                if done or time.monotonic() >= deadline:
                    break
                time.sleep(POLL_S)
            for flag in FLAG_NAMES:
                seen = states.get(flag, {})
                ok = seen.get("state") == "completed" and seen.get("effective") == 1
                current.checks.append(
                    {
                        "name": f"{flag} rollout completed, flag on for every session",
                        "ok": ok,
                        "detail": f"state {seen.get('state')}, value {seen.get('value')}, "
                        f"effective {seen.get('effective')} {seen.get('reason') or ''}".strip(),
                    }
                )
            current.detail = f"bounded by {self.request.rollout_timeout_s} s"

    def stop_service(self) -> None:
        """Whatever scratch service runs (the drill's own, or one a rollback restarted)."""
        try:
            service_control.stop_service(self.db, timeout_s=15)
        except Exception as exc:  # noqa: BLE001 - cleanup: recorded, never raised
            self.report.notes.append(f"the scratch service did not stop cleanly: {exc}")
        if self.proc is not None and self.proc.poll() is None:  # started, lock not yet taken
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    # -- the options -----------------------------------------------------------------------
    def drill_a(self) -> None:
        self.start_service()
        with self.step("rollback a (flags off, verify A)") as current:
            self.command(
                current, "rollback", "a", "--url", self.url, "--db", str(self.db),
                "--log-file", str(self.log_file), "--reason", "drill", "--json",
            )  # fmt: skip
        self.rollout_flags()

    def drill_b(self) -> None:
        original, target = self._scratch_releases()
        program = [str(self.releases / releases.CURRENT / "bin" / "memory-system")]
        self.start_service(program)
        with self.step(f"rollback b to {target}") as current:
            self.command(current, *self._rollback_b(target))
        with self.step(f"re-enable: rollback b back to {original}") as current:
            self.command(current, *self._rollback_b(original))

    def _rollback_b(self, to: str) -> list[str]:
        return [
            "rollback", "b", "--to", to, "--db", str(self.db), "--dir", str(self.releases),
            "--yes", "--reason", "drill", "--json",
        ]  # fmt: skip

    def _scratch_releases(self) -> tuple[str, str]:
        """The real releases mirrored in the scratch folder (each ``release.json`` copied, its
        ``bin`` linked), so that ``rollback b`` switches the scratch ``current``, never the real
        one; ``(original, target)``."""
        with self.step("scratch releases folder") as current:
            self.releases.mkdir()
            real_dir = releases.releases_dir(self.request.releases_dir)
            installed = releases.list_releases(real_dir)
            for release in installed:
                mirror = self.releases / release.name
                mirror.mkdir()
                shutil.copyfile(Path(release.path) / releases.RELEASE_FILE, mirror / releases.RELEASE_FILE)
                (mirror / "bin").symlink_to(Path(release.path) / "bin", target_is_directory=True)
            if not installed:
                original = self._running_release()
                self.report.notes.append(
                    f"no release is installed in {real_dir}: the drill ran the code of this command "
                    f"({original}) as a release"
                )
            else:
                now = releases.current_name(real_dir)
                original = now if now is not None else installed[-1].name
            releases.use(self.releases, original)
            target = self._target(installed, original)
            if target == original:
                self.report.notes.append(
                    f"no earlier release than {original} is installed: drill B rehearsed a restart into the "
                    "same release through 'current'; it proves the stop, drain, start, ready and verify "
                    "path and measures the downtime, not that an older build runs on this schema"
                )
            current.detail = (
                f"{len(installed)} release(s) from {real_dir}; original {original}, target {target}"
            )
        return original, target

    def _target(self, installed: list[releases.Release], original: str) -> str:
        if self.request.to is not None:
            return releases.find(self.releases, self.request.to).name
        names = [r.name for r in installed]
        if original in names and names.index(original) > 0:
            return names[names.index(original) - 1]
        return original

    def _running_release(self) -> str:
        """This code as a release in the scratch folder: ``bin/memory-system`` runs it."""
        from memory_system.store import migrations

        info = build_info()
        known = migrations.load_migrations()
        name = f"{info.version}-{info.short_commit}"
        mirror = self.releases / name
        (mirror / "bin").mkdir(parents=True)
        data = {
            "version": info.version,
            "commit": info.commit,
            "ref": "running",
            "source": "directory",
            "python": platform.python_version(),
            "installed_at": utc_now(),
            "expected_schema": len(known),
            "extras": [],
            "migrations": {str(m.version): m.checksum for m in known},
        }
        (mirror / releases.RELEASE_FILE).write_text(json.dumps(data, indent=2) + "\n")
        script = mirror / "bin" / "memory-system"
        script.write_text(f'#!/bin/sh\nexec {" ".join(self.request.program)} "$@"\n')
        script.chmod(0o755)
        return name

    def drill_c(self) -> None:
        self.start_service()
        with self.step("approvals: a throwaway manager and DBA approve a request") as current:
            approval_args = approvals_for_rollback_c(self.db)
            current.detail = " ".join(approval_args)
        with self.step("rollback c (005 and 004 rolled back, legacy mode, verify C)") as current:
            self.command(
                current, "rollback", "c", "--db", str(self.db), *approval_args,
                "--backup-dir", str(self.scratch / "rollback-backups"),
                "--second-copy", str(self.scratch / "second-copy"),
                "--log-file", str(self.log_file), "--yes", "--json",
            )  # fmt: skip
        with self.step("re-enable: stop, db migrate, serve --migrate") as current:
            service_control.stop_service(self.db, timeout_s=15)
            self.command(current, "db", "migrate", "--db", str(self.db))
            started = service_control.start_service(
                self.db,
                extra_args=("--migrate",),
                drop_args=("--no-migrate",),
                wait_ready_s=self.request.ready_timeout_s,
            )
            schema_state = str(started.ready.get("schema"))
            current.checks.append(
                {
                    "name": "the service runs the full schema again",
                    "ok": schema_state in ("current", "ahead"),
                    "detail": f"schema {schema_state} ({started.ready.get('schema_version')})",
                }
            )
            current.detail = f"started pid {started.pid} at {started.url}"
        self.rollout_flags()


def approvals_for_rollback_c(db: Path) -> list[str]:
    """Two throwaway approvers (a manager and a DBA) in the SCRATCH database approve a request
    for option C; the options ``rollback c`` then needs. One place, so that a change in what
    option C asks for is one change here."""
    from memory_system.auth.approvers import ApproverService
    from memory_system.ops.approvals import ROLLBACK_C, ApprovalService
    from memory_system.store.connection import Database

    with Database(db, create=False) as scratch:
        people = ApproverService(scratch)
        manager, dba = people.create("drill manager", "manager"), people.create("drill dba", "dba")
        service = ApprovalService(scratch, people)
        view = service.request(action=ROLLBACK_C, reason="rollback drill", requested_by="drill")
        service.approve(view.record.id, manager.token)
        service.approve(view.record.id, dba.token)
    return ["--request", str(view.record.id)]


def run_drill(request: DrillRequest) -> DrillResult:
    """Run one drill; its report written and its row recorded in the real database."""
    if request.option not in OPTIONS:
        raise DrillError(f"unknown drill option {request.option!r}: use a, b or c")
    if not request.db_path.is_file():
        raise DrillError(
            f"database file {request.db_path} does not exist; give --db PATH of the real database"
        )
    began = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f"memory-system-drill-{request.option}-"))
    drill = _Drill(request, scratch)
    try:
        try:
            drill.copy_database()
            {"a": drill.drill_a, "b": drill.drill_b, "c": drill.drill_c}[request.option]()
        except _Stopped:
            pass
    finally:
        drill.stop_service()
        if not request.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    report = drill.report
    report.ended_at = utc_now()
    report.seconds = round(time.monotonic() - began, 3)
    md, js = write_report(report, request.report_dir or default_report_dir(request.db_path))
    drill_id = record(request.db_path, report, md)
    return DrillResult(report, md, js, drill_id)
