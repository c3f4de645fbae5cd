from __future__ import annotations

from collections.abc import Callable

import httpx


def test_metrics_exposes_the_documented_families(live_server: Callable[..., str]) -> None:
    url = live_server()
    response = httpx.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for family in ("memory_injection_latency_seconds_bucket", "memory_rag_timeouts_total",
                   "memory_injection_cache_hits_total", "memory_process_resident_bytes"):
        assert family in body or family.replace("_bucket", "") in body
    resident = [line for line in body.splitlines() if line.startswith("memory_process_resident_bytes ")]
    assert resident and float(resident[0].split()[1]) > 10_000_000
