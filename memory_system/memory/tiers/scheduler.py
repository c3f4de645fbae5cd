"""The periodic tier-maintenance task of a serving process.

One daemon thread runs ``Runtime.run_tier_maintenance`` every ``interval_s`` seconds (the
``tiers.intervalSeconds`` setting, default an hour). A failing pass is logged and retried at
the next tick, never fatal; ``stop`` wakes the thread at once, so shutdown does not wait
for the interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from memory_system.core.logging import log_event

__all__ = ["TierMaintenanceThread"]

_log = logging.getLogger(__name__)


class TierMaintenanceThread:
    def __init__(self, run_once: Callable[[], Any], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"maintenance interval must be positive, got {interval_s}")
        self.interval_s = interval_s
        self.passes = 0
        self.failures = 0
        self._run_once = run_once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tier-maintenance", daemon=True)

    def start(self) -> None:
        log_event(_log, "tiers_maintenance_started", interval_s=self.interval_s)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._run_once()
                self.passes += 1
            except Exception:  # noqa: BLE001 - the next tick retries; the service keeps serving
                self.failures += 1
                log_event(_log, "tiers_maintenance_failed", level=logging.ERROR, exc_info=True)
