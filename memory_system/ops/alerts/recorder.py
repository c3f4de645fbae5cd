"""Every fire and resolve of an alert rule as an ``alert_events`` row (migration 006).

An ``AlertEngine`` listener, registered before the guard so that the row of the fire that
trips it is there first. The rows are the history behind ``GET /admin/alerts/history`` and
what the rollout driver of any process reads to hold a step back. A database that refuses
the row (busy, full, read-only: often the very cause of the alert) is logged as
``alert_event_record_failed`` and never stops the evaluation.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.ops.alerts.engine import AlertTransition
from memory_system.store import alert_events as store
from memory_system.store.connection import Database

__all__ = ["AlertRecorder", "HistoryError"]

_log = logging.getLogger(__name__)
MAX_LIMIT = 10_000


class HistoryError(ValueError):
    """A bad ``limit`` or ``since``; the message names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def this_instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class AlertRecorder:
    """``engine.on_transition(AlertRecorder(db))``; ``history`` reads the rows back."""

    def __init__(self, db: Database, *, instance: str | None = None) -> None:
        self.db = db
        self.instance = instance or this_instance()
        self.written = 0
        self.failed = 0

    def __call__(self, change: AlertTransition) -> None:
        rule = change.rule
        try:
            with self.db.write() as conn:
                store.insert(
                    conn,
                    rule=rule.name,
                    severity=rule.severity,
                    event="fired" if change.firing else "resolved",
                    value=change.value,
                    threshold=rule.threshold,
                    flags=list(rule.flags),
                    message=rule.summary,
                    instance=self.instance,
                    now=format_utc(datetime.fromtimestamp(change.at, UTC)),
                )
            self.written += 1
        except StoreError as exc:
            self.failed += 1
            log_event(
                _log,
                "alert_event_record_failed",
                logging.ERROR,
                rule=rule.name,
                firing=change.firing,
                error=str(exc),
            )

    def history(self, limit: int = 100, since: str | None = None) -> list[dict[str, Any]]:
        """Rows newest first; ``since`` is an ISO 8601 time (a ``Z`` or offset: UTC is assumed)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise HistoryError(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}", field="limit")
        since_text = None if since is None else _utc_text(since)
        return [e.to_dict() for e in store.list_events(self.db.reader(), limit=limit, since=since_text)]


def _utc_text(raw: str) -> str:
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_utc(moment)
    except (ValueError, OverflowError):  # not a time, or one that leaves the calendar in UTC
        raise HistoryError(
            f"since {raw!r} is not an ISO 8601 time; write one like 2026-12-01T09:00:00Z", field="since"
        ) from None
