"""Stop and start the running service the way it was started (runbook options B and C): the record
of how is ``service_record``.

A code rollback (option B) must restart the service with the same arguments and
environment it has now, only from another release's executable; option C stops it for the
database work and starts it again. So ``serve`` records, right after it takes the service
lock, how it was started: ``<db>.service.json`` next to the database (mode 0600: the
environment may hold the admin token, which is never logged or printed).

API::

    record_start(settings, sys.argv, os.environ)   # in serve, once the lock is held
    record = read_start(db_path); service_url(record)
    stop_service(db_path, timeout_s=30)             # SIGTERM + drain, bounded; SIGKILL after it
    start_service(db_path, executable=..., extra_args=("--no-migrate",))  # waits for ready 200
    restart_service(db_path, ...)                   # both, with the downtime measured

Who runs is told by the lock (``store/lockfile.py``), not by the record: a process killed
with SIGKILL leaves its record behind, but its lock goes with it. Under systemd
(``INVOCATION_ID`` in the recorded environment, or ``MEMORY_SYSTEM_SYSTEMD_UNIT``) the
unit is stopped and started with ``systemctl``; signalling its process would make systemd
restart it behind our back (``Restart=on-failure``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from memory_system.core.clock import utc_now
from memory_system.ops.service_record import (
    ENV_SYSTEMD_UNIT,
    RECORDED_PREFIXES,
    ServiceControlError,
    StartRecord,
    console_log_path,
    read_start,
    record_path,
    service_url,
    write_record,
)
from memory_system.store.lockfile import held_by_other, holder_pid

logger = logging.getLogger("memory_system.service_control")

POLL_S = 0.05


@dataclass
class StopResult:
    was_running: bool
    pid: int | None
    method: str  # "not running", "SIGTERM", "SIGKILL" (drain did not end in time), "systemctl"
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StartResult:
    pid: int | None
    url: str
    ready: dict[str, Any]
    seconds: float
    method: str  # "spawn" or "systemctl"
    argv: list[str] = field(default_factory=list)
    console_log: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestartResult:
    stop: StopResult
    start: StartResult
    downtime_s: float  # from the stop sent to the first ready 200

    def to_dict(self) -> dict[str, Any]:
        return {"stop": self.stop.to_dict(), "start": self.start.to_dict(), "downtime_s": self.downtime_s}


def _systemctl(verb: str, unit: str, timeout_s: float) -> None:
    try:
        done = subprocess.run(
            ["systemctl", verb, unit], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceControlError(f"systemctl {verb} {unit} failed: {exc}") from exc
    if done.returncode != 0:
        raise ServiceControlError(
            f"systemctl {verb} {unit} exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}"
        )


def _unit_of(db_path: str | Path) -> str | None:
    try:
        return read_start(db_path).systemd_unit
    except ServiceControlError:
        return os.environ.get(ENV_SYSTEMD_UNIT) or None


def _wait_lock_free(db_path: str | Path, deadline: float) -> bool:
    while held_by_other(db_path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def stop_service(db_path: str | Path, timeout_s: float = 30.0) -> StopResult:
    """SIGTERM the lock holder and wait (bounded) for the lock to be free: the service drains
    its in-flight requests and closes the database first. SIGKILL after ``timeout_s``."""
    began = time.monotonic()
    unit = _unit_of(db_path)
    if unit:
        _systemctl("stop", unit, timeout_s + 10)
        if not _wait_lock_free(db_path, time.monotonic() + timeout_s):
            raise ServiceControlError(f"systemctl stop {unit} returned but {db_path} is still held")
        return StopResult(
            True, None, "systemctl", round(time.monotonic() - began, 3), f"systemctl stop {unit}"
        )
    if not held_by_other(db_path):
        return StopResult(False, None, "not running", 0.0, f"no service holds {db_path}")
    raw = holder_pid(db_path)
    try:
        pid = int(raw)
    except ValueError:
        raise ServiceControlError(
            f"{db_path} is held but its lock file names no pid ({raw!r}); stop the service by hand"
        ) from None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it exited between the two looks; the lock goes with it
    except PermissionError as exc:
        raise ServiceControlError(f"not allowed to signal pid {pid} (run as its user or root)") from exc
    if _wait_lock_free(db_path, began + timeout_s):
        seconds = round(time.monotonic() - began, 3)
        return StopResult(True, pid, "SIGTERM", seconds, f"pid {pid} drained and exited in {seconds} s")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if not _wait_lock_free(db_path, time.monotonic() + 10):
        raise ServiceControlError(f"pid {pid} still holds {db_path} after SIGKILL; look at it by hand")
    return StopResult(
        True,
        pid,
        "SIGKILL",
        round(time.monotonic() - began, 3),
        f"pid {pid} did not drain within {timeout_s} s: killed (SIGKILL); in-flight requests were cut",
    )


def _args_for(record: StartRecord, extra_args: Sequence[str], drop_args: Sequence[str]) -> list[str]:
    args = [a for a in record.args if a not in drop_args]
    return [*args, *(a for a in extra_args if a not in args)]


def _child_env(record: StartRecord) -> dict[str, str]:
    """This shell's environment without its flags and settings, then the recorded ones: the
    operator's ``export USE_...`` must not change what the restarted service evaluates."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(RECORDED_PREFIXES) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    return {**base, **record.env}


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(
    url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None, console: Path | None = None
) -> dict[str, Any]:
    """Poll ``/health/ready`` until 200 (bounded); fails early when the process exits."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc is not None and proc.poll() is not None:
                tail = _tail(console) if console else ""
                raise ServiceControlError(f"the service exited with {proc.returncode} before ready:\n{tail}")
            try:
                answer = client.get(url + "/health/ready")
                if answer.status_code == 200:
                    body: dict[str, Any] = answer.json()
                    return body
                last = f"{answer.status_code} {answer.text[:300]}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                raise ServiceControlError(f"{url}/health/ready not 200 within {timeout_s} s (last: {last})")
            time.sleep(POLL_S)


def start_service(
    db_path: str | Path,
    *,
    executable: str | Path | None = None,
    extra_args: Sequence[str] = (),
    drop_args: Sequence[str] = (),
    wait_ready_s: float = 60.0,
) -> StartResult:
    """Start ``serve`` again as recorded (optionally another release's ``bin/memory-system``),
    detached in its own session, console output appended to ``<db>.service.log``."""
    began = time.monotonic()
    record = read_start(db_path)
    url = service_url(record)
    if record.systemd_unit:
        _systemctl("start", record.systemd_unit, wait_ready_s)
        ready = wait_ready(url, wait_ready_s)
        return StartResult(None, url, ready, round(time.monotonic() - began, 3), "systemctl")
    if held_by_other(db_path):
        raise ServiceControlError(
            f"a service already holds {db_path} (pid {holder_pid(db_path)}); stop it first"
        )
    program = [str(executable)] if executable else record.program
    args = _args_for(record, extra_args, drop_args)
    console = console_log_path(db_path)
    with open(console, "ab") as out:
        proc = subprocess.Popen(
            [*program, *args],
            cwd=record.cwd,
            env=_child_env(record),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ready = wait_ready(url, wait_ready_s, proc, console)
    _refresh_record(db_path, record, proc.pid, program, args, ready)
    return StartResult(
        proc.pid, url, ready, round(time.monotonic() - began, 3), "spawn", [*program, *args], str(console)
    )


def _refresh_record(
    db_path: str | Path,
    old: StartRecord,
    pid: int,
    program: list[str],
    args: list[str],
    ready: dict[str, Any],
) -> None:
    """A release older than the start record writes none: keep it true for the next restart."""
    try:
        if read_start(db_path).pid == pid:
            return
    except ServiceControlError:
        pass
    fresh = StartRecord(
        **{
            **asdict(old),
            "pid": pid,
            "program": program,
            "args": args,
            "started_at": utc_now(),
            "version": str(ready.get("version", "unknown")),
            "commit": str(ready.get("commit", "unknown")),
        }
    )
    try:
        write_record(record_path(db_path), fresh)
    except OSError:
        pass  # the service runs; the next restart reads the older record, whose args are the same


def restart_service(
    db_path: str | Path,
    *,
    executable: str | Path | None = None,
    extra_args: Sequence[str] = (),
    drop_args: Sequence[str] = (),
    stop_timeout_s: float = 30.0,
    wait_ready_s: float = 60.0,
) -> RestartResult:
    """Stop, then start; ``downtime_s`` runs from the stop sent to the first ready 200."""
    began = time.monotonic()
    record = read_start(db_path)
    if record.systemd_unit:
        _systemctl("restart", record.systemd_unit, stop_timeout_s + wait_ready_s)
        url = service_url(record)
        ready = wait_ready(url, wait_ready_s)
        seconds = round(time.monotonic() - began, 3)
        stop = StopResult(True, record.pid, "systemctl", seconds, f"systemctl restart {record.systemd_unit}")
        return RestartResult(stop, StartResult(None, url, ready, seconds, "systemctl"), seconds)
    stop = stop_service(db_path, stop_timeout_s)
    start = start_service(
        db_path, executable=executable, extra_args=extra_args, drop_args=drop_args, wait_ready_s=wait_ready_s
    )
    return RestartResult(stop, start, round(time.monotonic() - began, 3))
