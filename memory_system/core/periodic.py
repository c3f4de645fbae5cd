"""One daemon thread that does a piece of work every few seconds, for the service's
background duties (alert evaluation, the integrity check, tier maintenance).

A failing round is logged (``failed_event`` at ERROR) and the next one runs on schedule: a
background duty must never take the service down. ``stop`` wakes the thread at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from memory_system.core.logging import log_event

__all__ = ["PeriodicThread"]


class PeriodicThread:
    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        interval_s: float | Callable[[], float],
        *,
        failed_event: str,
        logger: logging.Logger,
        run_at_start: bool = False,
    ) -> None:
        """``interval_s`` may be a callable, read before each wait; ``run_at_start`` does the
        first round at once rather than one interval after ``start``."""
        self._work = work
        self._interval = interval_s if callable(interval_s) else (lambda: interval_s)
        self._failed_event, self._log = failed_event, logger
        self._run_at_start = run_at_start
        self.passes = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _round(self) -> None:
        try:
            self._work()
            self.passes += 1
        except Exception:  # noqa: BLE001 - the next round retries; the service keeps serving
            self.failures += 1
            log_event(self._log, self._failed_event, logging.ERROR, exc_info=True)

    def _loop(self) -> None:
        if self._run_at_start:
            self._round()
        while not self._stop.wait(self._interval()):
            self._round()
