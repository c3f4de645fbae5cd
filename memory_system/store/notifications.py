"""SQL for the notification outbox (migration 006): one row per notice and channel.

A row is ``pending`` until it is sent (``sent``) or has used up its attempts (``failed``).
A sender first *claims* a due row by moving its ``next_attempt_at`` past the time a send can
take (``claim``): the service's worker and a CLI command's background try never send the same
row twice, and a row whose sender died is due again once the claim runs out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

STATES = ("pending", "sent", "failed")


@dataclass(frozen=True)
class NotificationRecord:
    id: int
    channel: str
    template: str
    recipients: list[str]
    subject: str
    body: str
    incident_id: int | None
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: str
    created_at: str
    sent_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "id, channel, template, recipients, subject, body, incident_id, state, attempts, last_error, "
    "next_attempt_at, created_at, sent_at"
)


def _record(row: Any) -> NotificationRecord:
    values = list(row)
    values[3] = json.loads(values[3] or "[]")
    return NotificationRecord(*values)


def insert(
    conn: Connection,
    *,
    channel: str,
    template: str,
    recipients: list[str],
    subject: str,
    body: str,
    incident_id: int | None,
    next_attempt_at: str,
) -> int:
    cursor = conn.execute(
        "INSERT INTO notifications (channel, template, recipients, subject, body, incident_id, "
        "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (channel, template, json.dumps(recipients), subject, body, incident_id, next_attempt_at),
    )
    return int(cursor.lastrowid)


def get(conn: Connection, notification_id: int) -> NotificationRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (notification_id,)).fetchone()
    return None if row is None else _record(row)


def claim_next_due(conn: Connection, now: str, claim_until: str) -> NotificationRecord | None:
    """The oldest due pending row, claimed until ``claim_until``; None when nothing is due.
    Run it inside a write transaction."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE state = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT 1",
        (now,),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE notifications SET next_attempt_at = ? WHERE id = ?", (claim_until, row[0]))
    return _record(row)


def mark_sent(conn: Connection, notification_id: int, *, attempts: int, sent_at: str) -> None:
    conn.execute(
        "UPDATE notifications SET state = 'sent', attempts = ?, sent_at = ?, last_error = NULL WHERE id = ?",
        (attempts, sent_at, notification_id),
    )


def mark_failed(
    conn: Connection, notification_id: int, *, attempts: int, error: str, next_attempt_at: str, gave_up: bool
) -> None:
    """One more failed attempt: retried at ``next_attempt_at``, or ``failed`` for good."""
    conn.execute(
        "UPDATE notifications SET state = ?, attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
        ("failed" if gave_up else "pending", attempts, error, next_attempt_at, notification_id),
    )


def listing(conn: Connection, *, state: str | None = None, limit: int = 50) -> list[NotificationRecord]:
    """Newest first."""
    if state is None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM notifications ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
        ).fetchall()
    return [_record(row) for row in rows]
