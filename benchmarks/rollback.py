"""The runbook's three rollbacks as one command each, timed end to end against a live service.

- **A** (flags): a service on a small database; ``memory-system rollback a`` turns the three
  flags off, waits until the service reports them off, and runs verify A. Reported: effective
  in (write to the service reporting off) and the whole command (goal: < 1 s and < 10 s).
- **B** (code): two releases installed into their own virtualenvs under a releases directory
  (``release install``: this checkout and the tagged ``v0.1.0``), the current one serving;
  ``rollback b --to 0.1.0`` and back. Reported: downtime (stop sent to ready), goal seconds.
- **C** (database): a database of N memories (default 1,000,000, built as
  ``benchmarks/db_ops.py`` builds it) under a live service; ``rollback c`` stops it, backs up
  and verifies, copies the backup to a second place, rolls back 005 and 004, starts the
  service in legacy mode and runs verify C. Goal: < 60 s end to end.

Each command is the real CLI as a subprocess; the figures are its own step timings (``--json``)
and the wall clock around it. Usage::

    python benchmarks/rollback.py [--memories N] [--skip-b] [--workdir DIR] [--no-write]

B needs the git history (the ``v0.1.0`` tag) and PyPI for the release virtualenvs. The
section between ``<!-- rollback:start -->`` and ``<!-- rollback:end -->`` of BENCHMARKS.md is
replaced with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, write_section
from db_ops import build

from memory_system.store.lockfile import held_by_other, holder_pid

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "memory_system"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str, executable: list[str] | None = None, timeout: float = 3600
) -> tuple[float, dict[str, Any]]:
    """One CLI command with ``--json``: wall seconds and its answer; a failure stops the benchmark."""
    started = time.monotonic()
    proc = subprocess.run(
        [*(executable or CLI), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def start_service(
    db: Path, port: int, log: Path, executable: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """``serve --dev`` detached in its own session (``rollback b|c`` stop it by the pid it records)."""
    proc = subprocess.Popen(
        [
            *(executable or CLI),
            "serve",
            "--dev",
            "--db",
            str(db),
            "--port",
            str(port),
            "--log-file",
            str(log),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "MEMORY_SYSTEM_EMBEDDER": os.environ.get("MEMORY_SYSTEM_EMBEDDER", "none")},
    )
    wait_ready(port, 600)
    return proc


def wait_ready(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"service on port {port} not ready within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes] | None, db: Path) -> None:
    """Whatever serves the database now (a rollback restarts it under another pid) gets SIGTERM."""
    holder = holder_pid(db) if held_by_other(db) else None
    for target in {holder, None if proc is None else str(proc.pid)} - {None, "unknown"}:
        try:
            os.kill(int(str(target)), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass


def steps_table(answer: dict[str, Any]) -> str:
    rows = [f"| {s['name']} | {'ok' if s['ok'] else 'FAIL'} | {s['seconds']:.2f} |" for s in answer["steps"]]
    return "| step | result | seconds |\n|---|---|---|\n" + "\n".join(rows)


def option_a(workdir: Path) -> tuple[float, dict[str, Any]]:
    db = workdir / "a.db"
    build(db, 10_000)
    port = free_port()
    proc = start_service(db, port, workdir / "a.log")
    try:
        return run_cli("rollback", "a", "--db", str(db), "--url", f"http://127.0.0.1:{port}", "--json")
    finally:
        stop(proc, db)


def option_b(workdir: Path) -> tuple[float, dict[str, Any], float, dict[str, Any]]:
    releases = workdir / "releases"
    run_cli(
        "release", "install", "v0.1.0", "--dir", str(releases), "--repo", str(REPO), "--json", timeout=900
    )
    run_cli("release", "install", "HEAD", "--dir", str(releases), "--repo", str(REPO), "--json", timeout=900)
    from memory_system import __version__

    run_cli("release", "use", __version__, "--dir", str(releases), "--json")
    db = workdir / "b.db"
    build(db, 10_000)
    port = free_port()
    current = [str(releases / "current" / "bin" / "memory-system")]
    proc = start_service(db, port, workdir / "b.log", executable=current)
    try:
        back = run_cli(
            "rollback", "b", "--to", "0.1.0", "--dir", str(releases), "--db", str(db), "--yes", "--json"
        )
        forward = run_cli(
            "rollback", "b", "--to", __version__, "--dir", str(releases), "--db", str(db), "--yes", "--json"
        )
    finally:
        stop(proc, db)
    return back[0], back[1], forward[0], forward[1]


def approved_request(db: Path, workdir: Path) -> str:
    """A rollback c request approved by a manager and a DBA, through the CLI (not timed)."""
    _, request = run_cli(
        "rollback", "c", "--db", str(db), "--request-approval", "--reason", "benchmark", "--json"
    )
    for name, role in (("Bench Manager", "manager"), ("Bench DBA", "dba")):
        _, made = run_cli("tokens", "create", "--approver", name, "--role", role, "--db", str(db), "--json")
        token_file = workdir / f"{role}.token"
        token_file.write_text(made["token"])
        run_cli(
            "approve",
            "--request",
            str(request["id"]),
            "--token-file",
            str(token_file),
            "--db",
            str(db),
            "--json",
        )
    return str(request["id"])


def option_c(workdir: Path, memories: int) -> tuple[float, dict[str, Any], float, float]:
    db = workdir / "c.db"
    print(f"building {memories:,} memories in {db}", file=sys.stderr)
    build(db, memories)
    size_mb = db.stat().st_size / 1e6
    port = free_port()
    started = time.monotonic()
    proc = start_service(db, port, workdir / "c.log")
    start_s = time.monotonic() - started
    request = approved_request(db, workdir)
    try:
        wall, answer = run_cli(
            "rollback",
            "c",
            "--db",
            str(db),
            "--request",
            request,
            "--backup-dir",
            str(workdir / "backups"),
            "--second-copy",
            str(workdir / "offsite"),
            "--yes",
            "--json",
        )
    finally:
        stop(proc, db)
    return wall, answer, size_mb, start_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=1_000_000, help="option C's database size")
    parser.add_argument(
        "--skip-b", action="store_true", help="no release virtualenvs (no git history or PyPI)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to build (default: a temp dir, removed)"
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    args = parser.parse_args()
    # The service and every CLI command share one admin token (rollback a and verify need it).
    os.environ["MEMORY_SYSTEM_ADMIN_TOKEN"] = "benchmark-admin-" + os.urandom(8).hex()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-rollback-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    try:
        a_wall, a = option_a(workdir)
        b = None if args.skip_b else option_b(workdir)
        c_wall, c, size_mb, start_s = option_c(workdir, args.memories)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    command = f"python benchmarks/rollback.py --memories {args.memories}" + (
        " --skip-b" if args.skip_b else ""
    )
    body = f"""## Rollback a|b|c, one command each, against a live service

Command: `{command}` (revision {git_revision()}).
Machine: {machine()}; `nproc` = {os.cpu_count()}; 1-min load average {load:.1f} at the start.
Wall seconds include the CLI's Python start-up; step seconds are the command's own (`--json`).
The services run with `MEMORY_SYSTEM_EMBEDDER=none` (no embedding worker competing for the two
cores; the rollbacks do not touch vectors beyond dropping their table).

**A** (10,000 memories, three flags off): effective in **{a.get("effective_in_s") or float("nan"):.2f} s**
(goal < 1 s), verified and done in **{a_wall:.1f} s** wall (goal < 10 s; runbook 5 min), ok = {a["ok"]}.

{steps_table(a)}
"""
    if b is not None:
        back_wall, back, fwd_wall, fwd = b
        body += f"""
**B** (0.2.0 -> 0.1.0 and back, each release in its own virtualenv): downtime
**{back.get("downtime_s", float("nan")):.1f} s** back and
**{fwd.get("downtime_s", float("nan")):.1f} s** forward (runbook 2-5 min);
whole command {back_wall:.1f} s and {fwd_wall:.1f} s wall, ok = {back["ok"]} / {fwd["ok"]}.

{steps_table(back)}
"""
    body += f"""
**C** ({args.memories:,} memories, a {size_mb:,.0f} MB file, service live before it; it took {start_s:.1f} s
to start on that file): end to end **{c_wall:.1f} s** wall (goal < 60 s; runbook 5-15 min), ok = {c["ok"]}.

{steps_table(c)}
"""
    print(body)
    if not args.no_write:
        write_section("rollback", body)


if __name__ == "__main__":
    main()
