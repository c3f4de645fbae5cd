"""The alert matrix in a real ``memory-system serve``: real causes, short windows from the
config, and ``GET /admin/alerts`` (plus the JSON log and /metrics) saying what fires."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.faults._lock import LockHolder

ADMIN = "alerts-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
FAST = {"evaluateEverySeconds": 0.2, "latencyWindowSeconds": 20, "rateWindowSeconds": 20}


def _report(url: str) -> dict[str, Any]:
    response = httpx.get(url + "/admin/alerts", headers=HEADERS, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _flags(url: str) -> dict[str, float]:
    body = httpx.get(url + "/admin/feature-flags", headers=HEADERS, timeout=30).json()
    return {name: row["effective"] for name, row in body["flags"].items()}


def _until_firing(url: str, rule: str, within_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        rows = {r["rule"]: r for r in _report(url)["rules"]}
        if rows[rule]["state"] == "firing":
            return rows[rule]
        time.sleep(0.2)
    raise AssertionError(f"{rule} did not fire within {within_s} s: {_report(url)}")


def test_alerts_need_the_admin_token_and_list_the_whole_matrix(serve_process: Callable[..., Any]) -> None:
    served = serve_process(config={"alerts": FAST}, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    assert httpx.get(served.url + "/admin/alerts", timeout=30).status_code == 401
    report = _report(served.url)
    assert report["firing"] == [] and report["evaluate_every_seconds"] == 0.2
    assert {r["rule"] for r in report["rules"]} == {
        "injection_latency_p95",
        "injection_errors",
        "injection_errors_critical",
        "database_failures",
        "memory_critical",
        "memory_warning",
        "memory_growth",
        "rag_timeouts",
        "cache_hit_rate",
        "sharing_errors",
        "integrity_check",
    }


def test_a_slow_embedder_fires_the_injection_latency_alert(
    serve_process: Callable[..., Any], cli: Callable[..., Any]
) -> None:
    config = {"alerts": FAST, "ragTimeoutMs": 3000}
    env = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN, "MEMORY_SYSTEM_EMBEDDER": "slow:700"}
    served = serve_process(config=config, env=env, dev=True)
    agent = {"X-Agent-Id": "a", "X-Namespace": "n"}
    for i in range(3):  # distinct questions: no cache hit hides the slow model
        answer = httpx.post(
            served.url + "/v1/inject", json={"query": f"question {i}"}, headers=agent, timeout=60
        )
        assert answer.status_code == 200, answer.text

    row = _until_firing(served.url, "injection_latency_p95")

    assert row["severity"] == "CRITICAL" and row["value"] > 500 and row["flags"] == ["USE_ENHANCED_INJECTION"]
    assert row["firing_since"] is not None
    fired = [e for e in served.log_events() if e.get("event") == "alert_fired" and e["level"] == "CRITICAL"]
    assert [e["rule"] for e in fired] == ["injection_latency_p95"]
    exported = httpx.get(served.url + "/metrics", timeout=30).text
    assert 'memory_alert_firing{rule="injection_latency_p95",severity="CRITICAL"} 1.0' in exported
    # the guard: enhanced injection off, the other two untouched
    assert _flags(served.url) == {
        "USE_HIERARCHICAL_TIERS": 1.0,
        "USE_CROSS_AGENT_SHARING": 1.0,
        "USE_ENHANCED_INJECTION": 0.0,
    }
    (tripped,) = [e for e in served.log_events() if e.get("event") == "auto_guard_tripped"]
    assert tripped["flags_turned_off"] == ["USE_ENHANCED_INJECTION"]
    # and the guard's flag-off is an incident, open, with the rule that caused it
    listed = json.loads(cli("incident", "list", "--db", str(served.db), "--json", check=True).stdout)
    (incident,) = [i for i in listed if i["incident_type"] == "auto_guard"]
    assert incident["status"] == "open" and incident["flags"] == ["USE_ENHANCED_INJECTION"]
    assert "injection_latency_p95" in incident["title"]


def test_failing_sharing_calls_fire_the_sharing_alert_and_nothing_else_critical(
    serve_process: Callable[..., Any],
) -> None:
    served = serve_process(config={"alerts": FAST}, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}, dev=True)
    agent = {"X-Agent-Id": "a", "X-Namespace": "n"}
    for missing in range(1, 13):  # shares of memories that do not exist: failures in the window
        failed = httpx.post(
            f"{served.url}/v1/memories/{10_000 + missing}/shares",
            json={"agent_ids": ["b"]},
            headers=agent,
            timeout=30,
        )
        # 404 until the guard turns sharing off (409 after: the alert fires within the loop)
        assert failed.status_code in (404, 409), failed.text

    row = _until_firing(served.url, "sharing_errors")

    assert row["value"] > 10 and row["flags"] == ["USE_CROSS_AGENT_SHARING"]
    assert _flags(served.url) == {
        "USE_HIERARCHICAL_TIERS": 1.0,
        "USE_CROSS_AGENT_SHARING": 0.0,
        "USE_ENHANCED_INJECTION": 1.0,
    }
    assert [
        r["rule"]
        for r in _report(served.url)["rules"]
        if r["state"] == "firing" and r["severity"] == "CRITICAL"
    ] == ["sharing_errors"]


def test_a_low_memory_limit_turns_every_flag_off_unless_the_guard_is_switched_off(
    serve_process: Callable[..., Any],
) -> None:
    env = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}
    guarded = serve_process(config={"alerts": FAST, "memoryLimitMb": 20}, env=env)
    unguarded = serve_process(config={"alerts": {**FAST, "guard": False}, "memoryLimitMb": 20}, env=env)

    for served in (guarded, unguarded):
        row = _until_firing(served.url, "memory_critical")
        assert row["value"] > 0.9 and len(row["flags"]) == 3

    assert set(_flags(guarded.url).values()) == {0.0}
    assert set(_flags(unguarded.url).values()) == {1.0}
    events = httpx.get(guarded.url + "/admin/feature-flags/events", headers=HEADERS, timeout=30).json()[
        "events"
    ]
    assert {(e["flag"], e["source"]) for e in events} == {
        ("USE_HIERARCHICAL_TIERS", "auto_guard"),
        ("USE_CROSS_AGENT_SHARING", "auto_guard"),
        ("USE_ENHANCED_INJECTION", "auto_guard"),
    }


def test_enabled_false_evaluates_nothing_and_says_so(serve_process: Callable[..., Any]) -> None:
    config = {"alerts": {**FAST, "enabled": False}, "memoryLimitMb": 20}
    served = serve_process(config=config, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    time.sleep(1)  # five evaluation periods of FAST
    report = _report(served.url)
    assert report["enabled"] is False and report["evaluated_at"] is None and report["firing"] == []
    assert set(_flags(served.url).values()) == {1.0}


def test_a_write_lock_held_by_another_process_fires_database_failures_and_the_guard_leaves_flags(
    serve_process: Callable[..., Any],
) -> None:
    """The runbook's "database connection or write failures" from a real cause: another
    process holds SQLite's write lock past the busy timeout. The rule is tied to no flag."""
    served = serve_process(config={"alerts": FAST}, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}, dev=True)
    agent = {"X-Agent-Id": "a", "X-Namespace": "n"}
    holder = LockHolder(served.db)
    try:
        refused = httpx.post(
            served.url + "/v1/memories", json={"content": "blocked"}, headers=agent, timeout=60
        )
        assert refused.status_code == 503, refused.text
        row = _until_firing(served.url, "database_failures")
    finally:
        holder.release()

    assert row["severity"] == "CRITICAL" and row["value"] > 0 and row["flags"] == []
    assert set(_flags(served.url).values()) == {1.0}
    assert not [e for e in served.log_events() if e.get("event") == "auto_guard_tripped"]
