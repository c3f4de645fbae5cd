"""Runbook option C at scale: ``db backup`` and ``db rollback --migration 004`` on 1,000,000 memories.

Builds a database with N memories (default 1,000,000; FTS5 triggers fire on every insert,
as in production) plus a small Phase 1 graph, then runs the real CLI as an operator
would, each command a subprocess timed by wall clock:

    memory-system db backup --json
    memory-system db rollback --migration 004 --backup PATH --emergency --approved-by benchmark --yes --json
    memory-system db check
    memory-system db restore PATH --yes --json     (the way back, for the runbook's budget)

Usage: ``python benchmarks/db_ops.py [--memories N] [--workdir DIR] [--no-write]``.
The section between ``<!-- db_ops:start -->`` and ``<!-- db_ops:end -->`` of BENCHMARKS.md
is replaced with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, write_section

from memory_system.ops import schema
from memory_system.store._sqlite import sqlite3
from memory_system.store.connection import open_connection, transaction

WORDS = [
    "deploy",
    "review",
    "cache",
    "token",
    "latency",
    "schema",
    "rollback",
    "python",
    "sqlite",
    "index",
    "agent",
    "memory",
    "session",
    "user",
    "prefers",
    "concise",
    "answers",
    "tests",
    "flaky",
    "retry",
    "timeout",
    "budget",
    "release",
    "branch",
    "merge",
    "config",
    "vector",
    "search",
    "embedding",
    "tier",
    "promote",
    "decay",
    "share",
    "handoff",
    "namespace",
    "project",
    "incident",
    "alert",
    "metric",
    "dashboard",
    "runbook",
    "backup",
    "restore",
    "migration",
    "approve",
    "emergency",
    "verify",
    "integrity",
]
BATCH = 50_000


def _rows(count: int, seed: int = 7) -> Iterator[tuple[str, str, str, str, str]]:
    rng = random.Random(seed)
    tiers = ("working", "short_term", "long_term")
    for i in range(count):
        text = f"memory {i}: " + " ".join(rng.choices(WORDS, k=12))
        yield (f"ns{i % 20}", f"agent{i % 50}", tiers[i % 3], text, f"{i:016x}")


def build(path: Path, memories: int) -> float:
    started = time.monotonic()
    schema.migrate(path)
    conn = open_connection(path, create=False)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO entities (name, entity_type) VALUES (?, 'thing')",
            [(f"entity {i}",) for i in range(1000)],
        )
        conn.executemany(
            "INSERT INTO relations (from_id, to_id, relation_type) VALUES (?, ?, 'rel')",
            [(i, i + 1) for i in range(1, 1000)],
        )
        conn.executemany(
            "INSERT INTO observations (entity_id, content) VALUES (?, ?)",
            [(i % 1000 + 1, f"observation {i}") for i in range(3000)],
        )
    rows = _rows(memories)
    done = 0
    while done < memories:
        chunk = [next(rows) for _ in range(min(BATCH, memories - done))]
        with transaction(conn):
            conn.executemany(
                "INSERT INTO memories (namespace, agent_id, tier, content, content_hash) "
                "VALUES (?, ?, ?, ?, ?)",
                chunk,
            )
        done += len(chunk)
        print(f"\r  built {done:,}/{memories:,} memories", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.monotonic() - started


def run_cli(*args: str, input: str | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "memory_system", *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=3600,
        check=False,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"memory-system {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=1_000_000)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to build (default: a temp dir, removed)"
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-db-ops-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "memory.db"
    for stale in workdir.glob("memory.db*"):
        stale.unlink()
    shutil.rmtree(workdir / "backups", ignore_errors=True)
    try:
        print(f"building {args.memories:,} memories in {db}", file=sys.stderr)
        build_s = build(db, args.memories)
        size_mb = db.stat().st_size / 1e6
        load = os.getloadavg()[0]

        backup_s, proc = run_cli("db", "backup", "--db", str(db), "--json")
        backup = json.loads(proc.stdout)
        impact_s, _ = run_cli("db", "impact", "--db", str(db), "--migration", "004", "--json")
        rollback_s, proc = run_cli(
            "db",
            "rollback",
            "--db",
            str(db),
            "--migration",
            "004",
            "--backup",
            backup["path"],
            "--emergency",  # approvals are not what is timed (benchmarks/rollback.py makes real ones)
            "--approved-by",
            "benchmark",
            "--yes",
            "--json",
        )
        rolled = json.loads(proc.stdout)
        assert rolled["verified"] and rolled["rows_lost"]["memories"] == args.memories
        check_s, _ = run_cli("db", "check", "--db", str(db))
        restore_s, proc = run_cli("db", "restore", backup["path"], "--db", str(db), "--yes", "--json")
        restored = json.loads(proc.stdout)
        assert restored["row_counts"]["memories"] == args.memories
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    end_to_end = backup_s + impact_s + rollback_s
    body = f"""## Database operations: backup and rollback of migration 004 at {args.memories:,} memories

Command: `python benchmarks/db_ops.py --memories {args.memories}` (revision {git_revision()}).
Machine: {machine()}; `nproc` = {os.cpu_count()}; SQLite {sqlite3.sqlite_version}.
Conditions: measured while other work ran on the machine (1-min load average {load:.1f} at the start).
Each figure is one run of the real CLI as a subprocess (`python -m memory_system ...`), wall clock,
Python start-up included; the database file was {size_mb:,.0f} MB (memories with their FTS5 index,
five indexes on `memories`, 1,000 entities, 999 relations, 3,000 observations).

| step | command | seconds |
|---|---|---|
| build (not timed for the goal) | bulk insert, {BATCH:,} rows per transaction, FTS triggers on \
| {build_s:.1f} |
| backup | `db backup --json` (online copy, integrity_check of the copy, sha256, manifest) | {backup_s:.1f} |
| impact | `db impact --migration 004 --json` | {impact_s:.1f} |
| rollback | `db rollback --migration 004 --backup ... --emergency --approved-by benchmark --yes --json` \
| {rollback_s:.1f} |
| **backup + impact + rollback** | option C end to end (goal < 60 s; runbook budget 5-15 min) \
| **{end_to_end:.1f}** |
| check | `db check` after the rollback | {check_s:.1f} |
| restore | `db restore BACKUP --yes --json` (checksum + integrity_check of the backup, copy, swap) \
| {restore_s:.1f} |

The backup's own timing (from its manifest, without Python start-up): {backup["duration_s"]:.1f} s, of which
copy {backup["timings_s"]["copy"]:.1f} s, integrity_check and row counts of the copy
{backup["timings_s"]["integrity_check_and_counts"]:.1f} s, sha256 {backup["timings_s"]["sha256"]:.1f} s.
The rollback verified integrity, foreign keys and the Phase 1 counts ({rolled["phase_1_after"]}) and
recorded {rolled["rows_lost"]["memories"]:,} memories lost; its own timing: {rolled["duration_s"]:.1f} s.
"""
    print(body)
    if not args.no_write:
        write_section("db_ops", body)


if __name__ == "__main__":
    main()
