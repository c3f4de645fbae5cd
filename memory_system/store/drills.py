"""SQL of ``drills`` (migration 006): one row per rollback drill (runbook section 7).

The drill itself runs against a scratch copy; this row, in the real database, is all a drill
ever writes there. ``summary`` is JSON (steps with times, checks, failures).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

__all__ = ["DrillRow", "insert", "last_passed", "recent"]

_COLS = "id, option, outcome, started_at, ended_at, duration_seconds, report_path, summary, created_at"


@dataclass(frozen=True)
class DrillRow:
    id: int
    option: str  # a, b, c
    outcome: str  # passed, failed
    started_at: str
    ended_at: str
    duration_seconds: float
    report_path: str | None
    summary: dict[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(r: Any) -> DrillRow:
    try:
        summary = json.loads(r["summary"])
    except ValueError:
        summary = {}
    return DrillRow(
        int(r["id"]),
        r["option"],
        r["outcome"],
        r["started_at"],
        r["ended_at"],
        float(r["duration_seconds"]),
        r["report_path"],
        summary if isinstance(summary, dict) else {},
        r["created_at"],
    )


def insert(
    conn: Connection,
    *,
    option: str,
    outcome: str,
    started_at: str,
    ended_at: str,
    duration_seconds: float,
    report_path: str | None,
    summary: dict[str, Any],
) -> int:
    cur = conn.execute(
        "INSERT INTO drills (option, outcome, started_at, ended_at, duration_seconds, report_path, summary)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            option,
            outcome,
            started_at,
            ended_at,
            duration_seconds,
            report_path,
            json.dumps(summary, default=str),
        ),
    )
    return int(cur.lastrowid)


def recent(conn: Connection, option: str | None = None, limit: int = 50) -> list[DrillRow]:
    """The newest drills first (of one option, or all)."""
    where, params = ("WHERE option = ?", (option,)) if option else ("", ())
    rows = conn.execute(
        f"SELECT {_COLS} FROM drills {where} ORDER BY started_at DESC, id DESC LIMIT ?", (*params, limit)
    ).fetchall()
    return [_row(r) for r in rows]


def last_passed(conn: Connection) -> dict[str, str]:
    """Each option's latest passed drill start (UTC ISO), for the options that have one."""
    rows = conn.execute(
        "SELECT option, MAX(started_at) AS last FROM drills WHERE outcome = 'passed' GROUP BY option"
    ).fetchall()
    return {r["option"]: r["last"] for r in rows}
