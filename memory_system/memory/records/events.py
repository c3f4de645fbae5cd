"""In-process notifications about memory writes, so that services stay decoupled.

The memory service publishes; the embedding worker (embed new content) and the vector
index (drop deleted ids) subscribe. Subscribers run synchronously after the commit and
must be quick (enqueue, not work).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from memory_system.core.logging import log_event

Listener = Callable[[Sequence[int]], None]
_log = logging.getLogger(__name__)


class MemoryEvents:
    def __init__(self) -> None:
        self._written: list[Listener] = []
        self._deleted: list[Listener] = []

    def on_written(self, listener: Listener) -> None:
        """Called with ids of memories created or whose content changed."""
        self._written.append(listener)

    def on_deleted(self, listener: Listener) -> None:
        self._deleted.append(listener)

    def written(self, ids: Sequence[int]) -> None:
        self._publish(self._written, ids)

    def deleted(self, ids: Sequence[int]) -> None:
        self._publish(self._deleted, ids)

    @staticmethod
    def _publish(listeners: list[Listener], ids: Sequence[int]) -> None:
        if not ids:
            return
        for listener in listeners:
            try:
                listener(ids)
            except Exception:  # noqa: BLE001 - a failing subscriber must not fail the acknowledged write
                log_event(
                    _log, "memory_event_listener_failed", level=logging.ERROR, ids=len(ids), exc_info=True
                )
