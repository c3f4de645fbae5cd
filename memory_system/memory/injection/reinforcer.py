"""Reinforcing memories off the request path, in batches.

Injection counts one access for each memory it put in a block (tier promotion feeds on it).
A write per request would queue every injection behind the single writer; instead ids are
gathered for a moment and written in one transaction on a background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from memory_system.core.logging import log_event

__all__ = ["BatchReinforcer"]

_log = logging.getLogger(__name__)


class BatchReinforcer:
    """Reinforces injected memories in batches on one background thread: a write per
    request would queue every injection behind the single writer."""

    def __init__(self, reinforce: Any, interval_s: float = 0.5) -> None:
        self._reinforce = reinforce
        self._interval_s = interval_s
        self._pending: list[int] = []
        self._lock = threading.Lock()  # guards _pending
        self._apply_lock = threading.Lock()  # one batch applied at a time
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="injection-reinforcer", daemon=True)
        self._thread.start()

    def submit(self, ids: list[int]) -> None:
        if ids:
            with self._lock:
                self._pending.extend(ids)  # one access per injection: duplicates count
            self._wake.set()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            if not self._stop:
                time.sleep(self._interval_s)  # gather what the next requests inject
            self.flush()

    def flush(self) -> None:
        """Apply everything submitted so far before returning (tests, shutdown)."""
        with self._apply_lock:
            with self._lock:
                ids, self._pending = self._pending, []
            if not ids:
                return
            try:
                self._reinforce(ids)
            except Exception:  # noqa: BLE001 - best effort: a failed batch must not kill the thread
                log_event(
                    _log, "injection_reinforce_failed", level=logging.WARNING, ids=len(ids), exc_info=True
                )

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()
