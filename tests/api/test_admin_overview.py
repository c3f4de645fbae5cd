"""``GET /admin/overview`` on a real ``memory-system serve``: admin only, and its numbers are
the alert engine's (the same evaluation ``/admin/alerts`` reports) after real injections."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

ADMIN = "overview-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
# Windows long enough that every injection of the test is in both the minute and the p95 window.
CONFIG = {"memoryLimitMb": 1, "alerts": {"evaluateEverySeconds": 0.2, "guard": False}}


def _same_evaluation(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overview and the alert report of one evaluation (they are two calls; retry until
    no evaluation fell between them)."""
    for _ in range(100):
        overview = httpx.get(url + "/admin/overview", headers=HEADERS, timeout=30).json()
        report = httpx.get(url + "/admin/alerts", headers=HEADERS, timeout=30).json()
        if overview["evaluated_at"] == report["evaluated_at"] is not None:
            return overview, report
        time.sleep(0.02)
    raise AssertionError("no overview and alert report of the same evaluation in 100 tries")


def test_the_overview_needs_the_admin_token(serve_process: Callable[..., Any]) -> None:
    url = serve_process(config=CONFIG, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}).url
    assert httpx.get(url + "/admin/overview", timeout=30).status_code == 401
    wrong = httpx.get(url + "/admin/overview", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert (wrong.status_code, wrong.json()["message"]) == (401, "wrong admin token")


def test_the_overview_moves_with_injections_and_agrees_with_the_alerts(
    serve_process: Callable[..., Any],
) -> None:
    url = serve_process(config=CONFIG, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}, dev=True).url
    before, _ = _same_evaluation(url)
    assert before["injection_p95_ms"] is None and before["injections_total"] == 0
    assert before["embedding_backlog"] == 0  # full-text only: nothing waits for a vector

    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("/v1/memories", json={"content": "staging runs Postgres 16", "kind": "fact"})
        for i in range(6):  # two questions, three times each: 2 cache misses, 4 hits
            asked = client.post("/v1/inject", json={"query": f"what runs on staging {i % 2}?"})
            assert asked.status_code == 200, asked.text

    deadline = time.monotonic() + 30
    while True:
        overview, report = _same_evaluation(url)
        if overview["injections_total"] == 6:
            break
        assert time.monotonic() < deadline, overview
        time.sleep(0.1)
    rules = {r["rule"]: r for r in report["rules"]}
    assert overview["injection_p95_ms"] == rules["injection_latency_p95"]["value"] > 0
    assert 0 < overview["injection_p50_ms"] <= overview["injection_p95_ms"]
    assert overview["injections_per_min"] > 0
    assert overview["cache_lookups"] == 6 and overview["cache_hit_rate"] == round(4 / 6, 4)
    fraction = round(overview["resident_bytes"] / overview["memory_limit_bytes"], 4)
    assert fraction == rules["memory_critical"]["value"] > 0.9
    assert overview["memory_limit_bytes"] == 1024 * 1024
    assert {a["rule"] for a in overview["firing"]} == set(report["firing"]) >= {"memory_critical"}
