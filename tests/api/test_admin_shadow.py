"""Shadow mode against a real ``memory-system serve``: legacy answers byte for byte the same
with shadow on and off, the runs on ``GET /admin/shadow`` and ``/metrics``, admin auth."""

from __future__ import annotations

import re
import time
from functools import partial
from typing import Any

import httpx

from memory_system.api.responses.shadow import ShadowReport

http_get = partial(httpx.get, timeout=30)
http_post = partial(httpx.post, timeout=30)

ADMIN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
ENV = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN, "USE_ENHANCED_INJECTION": "false"}
DEV = {"X-Agent-Id": "a1", "X-Namespace": "proj"}
TARGET = "The billing service deploys through the staging cluster before production."
# Asked twice: a legacy answer is never cached, so each is built, and shadowed, anew.
QUERIES = ["how does billing deploy to staging?"] * 2
KEYS = {
    "sample_rate",
    "runs",
    "dropped",
    "enhanced_p50_ms",
    "enhanced_p95_ms",
    "legacy_p50_ms",
    "legacy_p95_ms",
    "mean_overlap",
}


def _shadow(served: Any) -> dict[str, Any]:
    response = http_get(served.url + "/admin/shadow", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == KEYS
    ShadowReport.model_validate(body)  # the schema /openapi.json documents for it
    return body


def _inject(served: Any, query: str) -> tuple[bytes, dict[str, Any]]:
    """The body less ``took_ms`` (a timing, never the same twice), and the parsed answer."""
    response = http_post(served.url + "/v1/inject", json={"query": query, "token_budget": 200}, headers=DEV)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    without_timing = re.sub(rb'"took_ms":[0-9.e+-]+,?', b"", response.content)
    return without_timing, body


def _metric(served: Any, sample: str) -> float:
    text = http_get(served.url + "/metrics").text
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_shadow_mode_measures_without_changing_the_answer(serve_process: Any) -> None:
    served = serve_process(dev=True, config={"injection": {"shadow_sample": 1}}, env=ENV)
    assert http_get(served.url + "/admin/shadow").status_code == 401
    assert _shadow(served) == {
        "sample_rate": 1.0,
        "runs": 0,
        "dropped": 0,
        "enhanced_p50_ms": None,
        "enhanced_p95_ms": None,
        "legacy_p50_ms": None,
        "legacy_p95_ms": None,
        "mean_overlap": None,
    }
    # The target first (the oldest), then fillers: the legacy block (most recent first) has
    # no room for it; the enhanced one finds only it.
    items = [{"content": TARGET}] + [
        {"content": f"Filler note {i}: the team reviewed lunch menus and weekend rota {i}."}
        for i in range(40)
    ]
    created = http_post(served.url + "/v1/memories/batch", json={"items": items}, headers=DEV)
    assert created.status_code in (200, 201), created.text

    with_shadow = []
    for query in QUERIES:
        raw, body = _inject(served, query)
        assert body["mode"] == "legacy"
        assert TARGET not in body["block"]
        with_shadow.append(raw)

    deadline = time.monotonic() + 60
    while _shadow(served)["runs"] < len(QUERIES) and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = _shadow(served)
    assert stats["runs"] == len(QUERIES) and stats["dropped"] == 0
    assert stats["mean_overlap"] == 0.0
    assert stats["enhanced_p50_ms"] is not None and stats["legacy_p95_ms"] is not None
    assert _metric(served, 'memory_shadow_injection_latency_seconds_count{path="enhanced"}') == len(QUERIES)
    assert _metric(served, 'memory_shadow_injection_latency_seconds_count{path="legacy"}') == len(QUERIES)
    assert _metric(served, "memory_shadow_overlap_count") == len(QUERIES)
    assert _metric(served, "memory_shadow_dropped_total") == 0
    # Nothing of the shadow runs reached the injection histogram the alerts read.
    assert _metric(served, 'memory_injection_latency_seconds_count{cache="miss",mode="enhanced"}') == 0
    assert served.stop() == 0

    # The same database served with shadow off: the same answers, byte for byte.
    plain = serve_process(dev=True, config={}, env=ENV, db=served.db)
    assert [_inject(plain, q)[0] for q in QUERIES] == with_shadow
    assert _shadow(plain)["runs"] == 0 and _shadow(plain)["sample_rate"] == 0.0
