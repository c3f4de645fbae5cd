"""Who runs the outbox: the service's worker, and a CLI command's bounded background try.

``DeliveryWorker`` sends what is due every few seconds in ``serve``. ``deliver_now`` is for a
command (``rollback a|b|c``, ``approve``): it starts one delivery pass on a daemon thread and
returns at once; ``finish()`` at the end of the command waits at most ``budget_s`` for it and
then leaves whatever is still in flight, or failed, to the service's worker. A dead webhook
or relay costs the command at most the budget, and never raises into it.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from memory_system.core.logging import log_event
from memory_system.core.periodic import PeriodicThread
from memory_system.core.settings import NotificationSettings, Settings
from memory_system.ops.notify.outbox import DatabaseHandle, DeliveryReport, deliver_due
from memory_system.store.connection import Database

__all__ = ["DEFAULT_BUDGET_S", "BackgroundDelivery", "DeliveryWorker", "deliver_now"]

_log = logging.getLogger("memory_system.ops.notify")

DEFAULT_BUDGET_S = 2.0
WORKER_INTERVAL_S = 5.0


class DeliveryWorker(PeriodicThread):
    """``deliver_due`` every ``interval_s`` on the service's database; ``stop`` at close."""

    def __init__(
        self,
        db: Database,
        settings: Settings | NotificationSettings,
        interval_s: float = WORKER_INTERVAL_S,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"notification delivery interval must be positive, got {interval_s}")
        self.reports: list[DeliveryReport] = []
        self._db, self._settings = db, settings
        super().__init__(
            "notification-delivery",
            self.deliver_once,
            interval_s,
            failed_event="notification_delivery_error",
            logger=_log,
            run_at_start=True,
        )

    def deliver_once(self) -> DeliveryReport:
        report = deliver_due(self._db, self._settings)
        if report.attempted:
            self.reports.append(report)
            del self.reports[:-100]
        return report


class BackgroundDelivery:
    """One delivery pass on a daemon thread; use ``finish()`` (or ``with``) at the command's end."""

    def __init__(
        self, db: DatabaseHandle, settings: Settings | NotificationSettings, budget_s: float
    ) -> None:
        self.budget_s = max(0.0, budget_s)
        self.report: DeliveryReport | None = None
        self.error: str | None = None
        self._db, self._settings = db, settings
        self._thread = threading.Thread(target=self._run, name="notification-now", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.report = deliver_due(self._db, self._settings)
        except Exception as exc:  # noqa: BLE001 - never into the command; the worker retries
            self.error = f"{type(exc).__name__}: {exc}"
            log_event(_log, "notification_delivery_error", logging.ERROR, error=self.error)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def finish(self) -> DeliveryReport | None:
        """Wait at most ``budget_s``; the report when the pass ended, else None (it goes on in
        the background, and the service's worker picks up what it leaves)."""
        self._thread.join(self.budget_s)
        return self.report if self.done else None

    def __enter__(self) -> BackgroundDelivery:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()


def deliver_now(
    db: DatabaseHandle, settings: Settings | NotificationSettings, budget_s: float = DEFAULT_BUDGET_S
) -> BackgroundDelivery:
    """Start sending what is due now, in the background; ``.finish()`` waits at most ``budget_s``."""
    return BackgroundDelivery(db, settings, budget_s)
