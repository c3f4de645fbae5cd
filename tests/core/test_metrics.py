"""core/metrics helpers: retrieval timeouts of shadow runs are not counted (they would fire
the rag_timeouts alert on traffic no user waited for)."""

from __future__ import annotations

import threading

from memory_system.core import metrics


def _timeouts() -> float:
    return metrics.REGISTRY.get_sample_value("memory_rag_timeouts_total", {"reason": "timeout"}) or 0.0


def test_a_shadow_threads_timeouts_are_not_counted_and_other_threads_are() -> None:
    before = _timeouts()

    def shadow() -> None:
        metrics.mark_shadow_thread()
        metrics.count_rag_timeout("timeout")

    thread = threading.Thread(target=shadow)
    thread.start()
    thread.join()
    assert _timeouts() == before
    metrics.count_rag_timeout("timeout")
    assert _timeouts() == before + 1
