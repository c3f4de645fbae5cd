"""The periodic integrity check of a serving process: damage is found by the service, not by
the next operator who happens to run ``db check``.

One daemon thread runs SQLite's ``quick_check`` on a fresh connection (``store/database_ops``
says why not on the service's long-lived one) every ``interval_s`` seconds (the
``integrityCheckIntervalS`` setting, default an hour: ``quick_check`` reads every page, O(N)).
A damaged page is logged as ``integrity_check_failed`` at CRITICAL (the runbook's "failed
integrity check" alert) and sets ``memory_integrity_ok`` to 0 until a later check passes; the
fix is ``db check`` and ``db restore``. ``stop`` wakes the thread at once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from memory_system.core import metrics
from memory_system.core.logging import log_event
from memory_system.core.periodic import PeriodicThread
from memory_system.store import database_ops

__all__ = ["IntegrityWatch"]

_log = logging.getLogger(__name__)


class IntegrityWatch(PeriodicThread):
    def __init__(self, db_path: Path, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"integrity check interval must be positive, got {interval_s}")
        self.db_path = db_path
        self.interval_s = interval_s
        self.checks = 0
        self.problems: list[str] = []
        super().__init__(
            "integrity-watch", self.check_once, interval_s, failed_event="integrity_check_error", logger=_log
        )

    def check_once(self) -> list[str]:
        """One ``quick_check``: its problems (none: the file is sound), logged and exported."""
        problems = database_ops.file_integrity_problems(self.db_path, quick=True)
        self.checks += 1
        self.problems = problems
        metrics.INTEGRITY_OK.set(0 if problems else 1)
        metrics.INTEGRITY_LAST_CHECK.set(time.time())
        if problems:
            log_event(
                _log,
                "integrity_check_failed",
                logging.CRITICAL,
                db=str(self.db_path),
                problems=problems[:5],
                action="run 'memory-system db check', then 'memory-system db restore' the latest backup",
            )
        return problems
