"""SQL of ``rollouts`` and ``rollout_events`` (migration 006): progressive rollouts of a flag.

At most one rollout per flag is running or paused (the partial unique index
``rollouts_one_active``): a second ``insert_rollout`` for the same flag raises
``StoreConstraint``. ``update`` is a compare-and-set on the state and step the caller read, so
two processes driving the same rollout never both advance it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

__all__ = [
    "ACTIVE",
    "RolloutEventRow",
    "RolloutRow",
    "active",
    "get",
    "insert_event",
    "insert_rollout",
    "latest",
    "list_events",
    "update",
]

ACTIVE = ("running", "paused")
_COLS = (
    "id, flag, steps, hold_seconds, step_index, state, started_by, reason, step_started_at,"
    " started_at, ended_at, updated_at"
)
_UPDATABLE = {"step_index", "state", "reason", "step_started_at", "ended_at"}


@dataclass(frozen=True)
class RolloutRow:
    id: int
    flag: str
    steps: list[float]
    hold_seconds: float
    step_index: int
    state: str  # running, paused, completed, aborted
    started_by: str
    reason: str
    step_started_at: str
    started_at: str
    ended_at: str | None
    updated_at: str


@dataclass(frozen=True)
class RolloutEventRow:
    id: int
    rollout_id: int
    event: str  # started, advanced, paused, resumed, completed, aborted
    step_index: int
    value: float
    actor: str
    reason: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rollout(r: Any) -> RolloutRow:
    return RolloutRow(
        r["id"],
        r["flag"],
        [float(v) for v in json.loads(r["steps"])],
        float(r["hold_seconds"]),
        int(r["step_index"]),
        r["state"],
        r["started_by"],
        r["reason"],
        r["step_started_at"],
        r["started_at"],
        r["ended_at"],
        r["updated_at"],
    )


def insert_rollout(
    conn: Connection, *, flag: str, steps: list[float], hold_seconds: float, started_by: str, now: str
) -> int:
    cur = conn.execute(
        "INSERT INTO rollouts (flag, steps, hold_seconds, step_index, state, started_by,"
        " step_started_at, started_at, updated_at) VALUES (?, ?, ?, 0, 'running', ?, ?, ?, ?)",
        (flag, json.dumps(steps), hold_seconds, started_by, now, now, now),
    )
    return int(cur.lastrowid)


def get(conn: Connection, rollout_id: int) -> RolloutRow | None:
    row = conn.execute(f"SELECT {_COLS} FROM rollouts WHERE id = ?", (rollout_id,)).fetchone()
    return None if row is None else _rollout(row)


def active(conn: Connection, flag: str | None = None) -> list[RolloutRow]:
    """Running and paused rollouts (one per flag at most), oldest first."""
    where, params = ("AND flag = ?", (flag,)) if flag else ("", ())
    rows = conn.execute(
        f"SELECT {_COLS} FROM rollouts WHERE state IN ('running', 'paused') {where} ORDER BY id",
        params,
    ).fetchall()
    return [_rollout(r) for r in rows]


def latest(conn: Connection, flag: str | None = None) -> list[RolloutRow]:
    """Each flag's newest rollout, whatever its state, by flag name."""
    where, params = ("WHERE flag = ?", (flag,)) if flag else ("", ())
    rows = conn.execute(
        f"SELECT {_COLS} FROM rollouts WHERE id IN (SELECT MAX(id) FROM rollouts {where} GROUP BY flag)"
        " ORDER BY flag",
        params,
    ).fetchall()
    return [_rollout(r) for r in rows]


def update(
    conn: Connection,
    rollout_id: int,
    *,
    expect_states: Collection[str],
    expect_step: int,
    now: str,
    **changes: object,
) -> bool:
    """Change the row only if it is still in one of ``expect_states`` at ``expect_step``;
    False when another writer got there first (nothing changed)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"rollouts has no updatable column {sorted(unknown)}")
    states = list(expect_states)
    assignments = ", ".join(f"{column} = ?" for column in changes)
    cur = conn.execute(
        f"UPDATE rollouts SET {assignments}, updated_at = ? WHERE id = ? AND step_index = ?"
        f" AND state IN ({', '.join('?' for _ in states)})",
        (*changes.values(), now, rollout_id, expect_step, *states),
    )
    return cur.rowcount == 1


def insert_event(
    conn: Connection,
    *,
    rollout_id: int,
    event: str,
    step_index: int,
    value: float,
    actor: str,
    reason: str,
    now: str,
) -> int:
    cur = conn.execute(
        "INSERT INTO rollout_events (rollout_id, event, step_index, value, actor, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (rollout_id, event, step_index, value, actor, reason, now),
    )
    return int(cur.lastrowid)


def list_events(conn: Connection, rollout_id: int) -> list[RolloutEventRow]:
    """Oldest first."""
    rows = conn.execute(
        "SELECT id, rollout_id, event, step_index, value, actor, reason, created_at FROM rollout_events"
        " WHERE rollout_id = ? ORDER BY id",
        (rollout_id,),
    ).fetchall()
    return [
        RolloutEventRow(
            r["id"],
            r["rollout_id"],
            r["event"],
            int(r["step_index"]),
            float(r["value"]),
            r["actor"],
            r["reason"],
            r["created_at"],
        )
        for r in rows
    ]
