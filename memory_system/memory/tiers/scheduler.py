"""The periodic tier-maintenance task of a serving process.

One daemon thread runs ``Runtime.run_tier_maintenance`` every ``interval_s`` seconds (the
``tiers.intervalSeconds`` setting, default an hour). A failing pass is logged and retried at
the next tick, never fatal; ``stop`` wakes the thread at once, so shutdown does not wait
for the interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from memory_system.core.logging import log_event
from memory_system.core.periodic import PeriodicThread

__all__ = ["TierMaintenanceThread"]

_log = logging.getLogger(__name__)


class TierMaintenanceThread(PeriodicThread):
    def __init__(self, run_once: Callable[[], Any], interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError(f"maintenance interval must be positive, got {interval_s}")
        self.interval_s = interval_s
        super().__init__(
            "tier-maintenance", run_once, interval_s, failed_event="tiers_maintenance_failed", logger=_log
        )

    def start(self) -> None:
        log_event(_log, "tiers_maintenance_started", interval_s=self.interval_s)
        super().start()
