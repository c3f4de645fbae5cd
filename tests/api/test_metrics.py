from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx


def _sample(body: str, prefix: str) -> float:
    lines = [line for line in body.splitlines() if line.startswith(prefix)]
    assert lines, f"{prefix} not exported"
    return float(lines[0].rsplit(" ", 1)[1])


def test_metrics_exposes_process_memory_and_request_counts(live_server: Callable[..., str]) -> None:
    url = live_server()
    httpx.get(url + "/health/live", timeout=10)
    response = httpx.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for family in (
        "memory_injection_latency_seconds",
        "memory_rag_timeouts_total",
        "memory_injection_cache_hits_total",
        "memory_sharing_errors_total",
    ):
        assert f"# TYPE {family}" in body
    assert _sample(body, "memory_process_resident_bytes ") > 10_000_000
    assert _sample(body, 'memory_requests_total{kind="/health/live",status="2xx"}') >= 1


def test_active_sessions_gauge_follows_the_flag_at_once(live_server: Callable[..., str]) -> None:
    url = live_server(admin_token="metrics-admin-token-0123456789")
    admin = {"Authorization": "Bearer metrics-admin-token-0123456789"}
    for _ in range(3):
        assert httpx.post(url + "/v1/sessions", json={}, timeout=10).status_code in (200, 201)
    gauge = 'memory_active_sessions{flag="USE_ENHANCED_INJECTION"}'
    assert _sample(httpx.get(url + "/metrics", timeout=10).text, gauge) == 3
    set_off = httpx.post(
        url + "/admin/feature-flags", json={"USE_ENHANCED_INJECTION": False}, headers=admin, timeout=10
    )
    assert set_off.status_code == 200, set_off.text
    assert _sample(httpx.get(url + "/metrics", timeout=10).text, gauge) == 0


def test_flags_build_schema_and_the_memory_limit_are_exported(live_server: Callable[..., str]) -> None:
    """What the alerts and the dashboards read: every flag's effective value and when it last
    changed, all active sessions, the build, the schema, and the configured memory limit."""
    token = "metrics-admin-token-0123456789"
    url = live_server(admin_token=token, memory_limit_mb=512.0)
    assert httpx.post(url + "/v1/sessions", json={}, timeout=10).status_code in (200, 201)
    before = httpx.get(url + "/metrics", timeout=10).text
    flag = 'memory_feature_flag_{}{{flag="USE_CROSS_AGENT_SHARING"}} '
    assert _sample(before, flag.format("value")) == 1.0
    assert _sample(before, flag.format("last_change_timestamp_seconds")) == 0
    assert _sample(before, "memory_sessions_active ") == 1
    assert _sample(before, "memory_process_memory_limit_bytes ") == 512 * 2**20
    assert (
        _sample(before, "memory_schema_version ") == _sample(before, "memory_schema_expected_version ") >= 5
    )
    from memory_system.core.build import build_info

    build = build_info()
    assert f'memory_build_info{{commit="{build.commit}",version="{build.version}"}} 1.0' in before

    headers = {"Authorization": f"Bearer {token}"}
    changed = httpx.post(
        url + "/admin/feature-flags", json={"USE_CROSS_AGENT_SHARING": 0.25}, headers=headers, timeout=10
    )
    assert changed.status_code == 200, changed.text
    after = httpx.get(url + "/metrics", timeout=10).text
    assert _sample(after, flag.format("value")) == 0.25
    assert _sample(after, flag.format("last_change_timestamp_seconds")) > 1.7e9


def test_a_health_check_answering_503_is_a_report_not_an_error(
    live_server: Callable[..., str], tmp_path: Path
) -> None:
    url = live_server()
    (tmp_path / "server0.db").rename(tmp_path / "moved-away.db")  # readiness: database unreachable
    assert httpx.get(url + "/health/ready", timeout=10).status_code == 503
    (tmp_path / "moved-away.db").rename(tmp_path / "server0.db")  # /metrics reads the database
    body = httpx.get(url + "/metrics", timeout=10).text
    assert _sample(body, 'memory_requests_total{kind="/health/ready",status="5xx"}') >= 1
    counted = [line for line in body.splitlines() if line.startswith('memory_errors_total{kind="/health')]
    assert all(float(line.rsplit(" ", 1)[1]) == 0 for line in counted), counted
