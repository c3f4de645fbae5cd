"""Shadow mode: what raising ``USE_ENHANCED_INJECTION`` would cost, measured before raising it.

For a sample of the requests answered on the legacy path (sessions outside the rollout), the
enhanced block is built too, on one background thread, and thrown away: only its latency,
the legacy latency of the same request and the overlap of the two answers (Jaccard of the
memory ids in the two manifests) are kept, for ``GET /admin/shadow`` and Prometheus.

Why it cannot change or slow the answer: the sample is decided and queued after the legacy
answer is built, with ``put_nowait`` on a small bounded queue; when the queue is full the
sample is dropped and counted (``memory_shadow_dropped_total``), never waited for. The
shadow build is the injector's cache-miss build alone: it never reads or fills the cache,
never reinforces (that is ``Injector._finish``, which shadow runs skip) and writes nothing.
What it does share with real requests: the process's CPU, and retrieval's one dense-search
thread (a shadow query embedded there delays a real one behind it by one embedding). Shadow
runs go one at a time, so at most one shadow step is ever in front of a real one. Measured
(1,000 memories, full text, one client in a loop, 2 shared cores, 2026-12-03): legacy p50
1.03 -> 1.05 ms at a sample of 0.1; at 1, 1.0 -> 2.1 ms, the shadow thread holding the GIL
while the next request runs. So sample a fraction, not every request, on a busy service.
"""

from __future__ import annotations

import logging
import math
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from memory_system.core.logging import log_event
from memory_system.core.metrics import (
    SHADOW_DROPPED,
    SHADOW_FAILURES,
    SHADOW_LATENCY,
    SHADOW_OVERLAP,
    mark_shadow_thread,
)

__all__ = ["KEEP_RUNS", "QUEUE_SIZE", "SHADOW_KEYS", "ShadowRunner", "overlap"]

_log = logging.getLogger(__name__)

# The ``injection`` config key of this module: (kind, low, high), checked by load_injection_config.
SHADOW_KEYS: dict[str, tuple[type, float, float]] = {"shadow_sample": (float, 0.0, 1.0)}
# Samples waiting for the thread. Each is an enhanced cache-miss build (tens of ms); more in
# line than this means the thread is behind, and an older sample says no more than a newer one.
QUEUE_SIZE = 8
KEEP_RUNS = 1000  # the runs GET /admin/shadow summarises (a ring: the newest replace the oldest)

BuildManifest = Callable[[], Mapping[str, Any]]


def overlap(legacy: Mapping[str, Any], enhanced: Mapping[str, Any]) -> float:
    """Jaccard of the memory ids of two manifests: 1.0 the same memories, 0.0 none in common.
    Two answers without memories agree (1.0): raising the flag would change nothing there."""
    a = {m["id"] for m in legacy.get("memories", [])}
    b = {m["id"] for m in enhanced.get("memories", [])}
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


@dataclass(frozen=True)
class _Run:
    enhanced_ms: float
    legacy_ms: float
    overlap: float


@dataclass(frozen=True)
class _Sample:
    build: BuildManifest
    legacy_manifest: Mapping[str, Any]
    legacy_ms: float


class ShadowRunner:
    """``runtime.shadow``; the injector offers it every legacy answer. Usage::

    runner = ShadowRunner(sample_rate=0.05)
    runner.offer(lambda: enhanced_manifest(), legacy_manifest=result.manifest, legacy_ms=result.took_ms)
    runner.stats()  # {"sample_rate", "runs", "dropped", "enhanced_p50_ms", ...}

    At ``sample_rate`` 0 no thread is started and ``offer`` returns at once.
    """

    def __init__(
        self,
        sample_rate: float,
        *,
        queue_size: int = QUEUE_SIZE,
        keep: int = KEEP_RUNS,
        chance: Callable[[], float] = random.random,
    ) -> None:
        """``chance``: a draw in [0, 1) per offer; a sample runs when it is below the rate."""
        if isinstance(sample_rate, bool) or not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate={sample_rate!r}: use a fraction from 0 to 1")
        if queue_size < 1 or keep < 1:
            raise ValueError("queue_size and keep must be at least 1")
        self.sample_rate = float(sample_rate)
        self._chance = chance
        self._queue: queue.Queue[_Sample | None] = queue.Queue(maxsize=queue_size)
        self._recent: deque[_Run] = deque(maxlen=keep)
        self._lock = threading.Lock()  # guards _recent and the counts
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # queued or running
        self.runs = 0
        self.dropped = 0
        self.failed = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        if self.sample_rate > 0:
            self._thread = threading.Thread(target=self._run, name="injection-shadow", daemon=True)
            self._thread.start()

    def offer(self, build: BuildManifest, *, legacy_manifest: Mapping[str, Any], legacy_ms: float) -> bool:
        """Queue ``build`` (the enhanced manifest of the request) if the request is sampled.
        True when queued; a full queue drops the sample and counts it. Never blocks."""
        if self._thread is None or self._closed or self._chance() >= self.sample_rate:
            return False
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait(_Sample(build, legacy_manifest, legacy_ms))
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self.dropped += 1
            SHADOW_DROPPED.inc()
            return False
        return True

    def _run(self) -> None:
        mark_shadow_thread()  # its retrieval timeouts must not fire the rag_timeouts alert
        while True:
            sample = self._queue.get()
            if sample is None:
                return
            try:
                if not self._closed:
                    self._measure(sample)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._idle.notify_all()

    def _measure(self, sample: _Sample) -> None:
        started = time.perf_counter()
        try:
            enhanced = sample.build()
        except Exception as exc:  # noqa: BLE001 - a shadow run must never reach the service; counted
            with self._lock:
                self.failed += 1
            SHADOW_FAILURES.inc()
            log_event(_log, "injection_shadow_failed", level=logging.WARNING, error=type(exc).__name__)
            return
        enhanced_ms = (time.perf_counter() - started) * 1000
        run = _Run(round(enhanced_ms, 3), sample.legacy_ms, overlap(sample.legacy_manifest, enhanced))
        with self._lock:
            self._recent.append(run)
            self.runs += 1
        SHADOW_LATENCY.labels(path="enhanced").observe(enhanced_ms / 1000)
        SHADOW_LATENCY.labels(path="legacy").observe(sample.legacy_ms / 1000)
        SHADOW_OVERLAP.observe(run.overlap)

    def wait_idle(self, timeout: float) -> bool:
        """Until every queued sample has run (tests, benchmarks); False if still busy at ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stats(self) -> dict[str, Any]:
        """``GET /admin/shadow``: counts since start; percentiles and mean over the kept runs."""
        with self._lock:
            recent = list(self._recent)
            runs, dropped = self.runs, self.dropped
        enhanced = sorted(r.enhanced_ms for r in recent)
        legacy = sorted(r.legacy_ms for r in recent)
        return {
            "sample_rate": self.sample_rate,
            "runs": runs,
            "dropped": dropped,
            "enhanced_p50_ms": _quantile(enhanced, 0.5),
            "enhanced_p95_ms": _quantile(enhanced, 0.95),
            "legacy_p50_ms": _quantile(legacy, 0.5),
            "legacy_p95_ms": _quantile(legacy, 0.95),
            "mean_overlap": round(sum(r.overlap for r in recent) / len(recent), 4) if recent else None,
        }

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread: queued samples are skipped (uncounted), a running one finishes, so
        no shadow read outlives the database, which the runtime closes after this."""
        self._closed = True
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)  # behind the queued ones, which are skipped
        except queue.Full:  # a build ran past the timeout: the daemon thread goes with the process
            return
        self._thread.join(timeout)


def _quantile(ordered: list[float], q: float) -> float | None:
    """Nearest rank: a value that was measured, never an interpolation between two."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
