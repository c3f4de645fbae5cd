"""How many live sessions each flag reaches now, for the flags dashboard and on-call.

A session is active while it is not ended and was seen within the window (30 minutes by
default). Whether a flag is on for it is evaluated now, with the current effective value,
exactly as its next request would be: so after a flag goes to false its count is 0 at
once, with nothing to wait for or to reset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.flags.bucketing import in_rollout
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.values import FlagError
from memory_system.store import flags as store
from memory_system.store.connection import Database

__all__ = ["flag_stats"]


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def flag_stats(
    db: Database, value: Callable[[str], float], *, window_s: float, now: datetime | None = None
) -> dict[str, Any]:
    """``value``: a flag's effective value now (``FlagService.value``), handed in so that stats
    need only the database and not the service that owns them."""
    if not 0 < window_s <= 30 * 24 * 3600:
        raise FlagError(f"active-session window must be between 1 second and 30 days, got {window_s} s")
    now = now or datetime.now(UTC)
    conn = db.reader()
    session_ids = store.active_session_ids(conn, since=format_utc(now - timedelta(seconds=window_s)))
    last = store.last_changes(conn)
    active = len(session_ids)
    flags: dict[str, Any] = {}
    for name in FLAG_NAMES:
        effective = value(name)
        if effective >= 1.0 or effective <= 0.0:
            enabled = active if effective >= 1.0 else 0
        else:
            enabled = sum(1 for sid in session_ids if in_rollout(effective, name, sid))
        changed_at = last.get(name)
        flags[name] = {
            "effective": effective,
            "active_sessions": active,
            "enabled_sessions": enabled,
            "percent_enabled": round(100.0 * enabled / active, 2) if active else 0.0,
            "last_changed_at": changed_at,
            "seconds_since_last_change": (
                round((now - _parse(changed_at)).total_seconds(), 3) if changed_at else None
            ),
        }
    return {"window_s": window_s, "active_sessions": active, "as_of": format_utc(now), "flags": flags}
