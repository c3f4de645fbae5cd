"""uvicorn under our signals: drain on SIGTERM and exit 0, reload the config on SIGHUP, ignore SIGXFSZ.

uvicorn's own signal handling re-raises SIGTERM after shutdown, which ends the process with
"killed by signal" instead of exit 0, and it knows nothing of SIGHUP; so ``ManagedServer``
installs its own handlers for the time it serves (``server/lifecycle.py`` says what each
signal does to the service).

Signal handlers only set flags; the work happens on the server's 0.1 s tick, off the
signal frame (logging and SQLite are not safe to enter from inside a handler).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from memory_system.core.logging import log_event
from memory_system.ops.health import ServiceState

__all__ = ["ManagedServer"]

logger = logging.getLogger("memory_system.lifecycle")


class ManagedServer(uvicorn.Server):
    """uvicorn with our signals: drain on SIGTERM and exit 0, reload the config on SIGHUP."""

    def __init__(
        self,
        config: uvicorn.Config,
        state: ServiceState,
        on_reload: Callable[[], object],
        shutdown_delay_s: float = 0.0,
    ) -> None:
        super().__init__(config)
        self.state = state
        self._on_reload = on_reload
        self._shutdown_delay_s = shutdown_delay_s
        self._stop_signal: int | None = None
        self._exit_at: float | None = None
        self._reload_requested = False
        self._stop_logged = False

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        handled: dict[signal.Signals, Callable[[int, FrameType | None], None] | signal.Handlers] = {
            signal.SIGTERM: self._on_stop,
            signal.SIGINT: self._on_stop,
            signal.SIGHUP: self._on_hup,
            # A file-size limit (ulimit -f, systemd LimitFSIZE=) kills with SIGXFSZ by default, in
            # the middle of a transaction; ignored, the one write fails (EFBIG) and is answered.
            signal.SIGXFSZ: signal.SIG_IGN,
        }
        original = {sig: signal.signal(sig, handler) for sig, handler in handled.items()}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def _on_stop(self, sig: int, frame: FrameType | None) -> None:
        if self._stop_signal is not None:
            if sig == signal.SIGINT:
                self.force_exit = True
            return
        self._stop_signal = sig
        self.state.draining = True
        self._exit_at = time.monotonic() + self._shutdown_delay_s

    def _on_hup(self, sig: int, frame: FrameType | None) -> None:
        self._reload_requested = True

    async def on_tick(self, counter: int) -> bool:
        if self._reload_requested:
            self._reload_requested = False
            try:
                await asyncio.to_thread(self._on_reload)
            except Exception:  # noqa: BLE001 - a reload must never take the serving loop down with it
                log_event(
                    logger,
                    "config_reload_failed",
                    logging.ERROR,
                    exc_info=True,
                    outcome="refused; the previous configuration stays in force",
                )
        if self._exit_at is not None and not self.should_exit:
            if not self._stop_logged:
                self._stop_logged = True
                log_event(
                    logger,
                    "shutdown_started",
                    signal=signal.Signals(self._stop_signal or 15).name,
                    ready=False,
                    delay_s=self._shutdown_delay_s,
                    drain_timeout_s=self.config.timeout_graceful_shutdown,
                )
            if self._exit_at <= time.monotonic():
                self.should_exit = True
        return await super().on_tick(counter)
