"""``/admin/rollouts`` and ``/admin/alerts/history`` in a real ``memory-system serve``: a rollout
on a 1 s hold climbs step by step to 1.0, one that a real CRITICAL alert (a slow embedder)
interrupts is aborted by the guard with the flag off, a restarted service continues, and bad
input is refused with nothing changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from typing import Any

import httpx

from memory_system.flags.bucketing import in_rollout

ADMIN = "rollouts-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}", "X-Actor": "alice"}
ENV = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}
FAST = {"evaluateEverySeconds": 0.2, "latencyWindowSeconds": 20, "rateWindowSeconds": 20}
CONFIG = {"alerts": FAST, "rolloutCheckIntervalS": 0.2}
FLAG = "USE_ENHANCED_INJECTION"


def _rollout(url: str, flag: str = FLAG) -> dict[str, Any]:
    answer = httpx.get(url + "/admin/rollouts", params={"flag": flag}, headers=HEADERS, timeout=30)
    assert answer.status_code == 200, answer.text
    (rollout,) = answer.json()["rollouts"]
    return dict(rollout)


def _until(url: str, state: str, within_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        rollout = _rollout(url)
        if rollout["state"] == state:
            return rollout
        time.sleep(0.1)
    raise AssertionError(f"the rollout did not become {state} within {within_s} s: {_rollout(url)}")


def _effective(url: str) -> dict[str, float]:
    body = httpx.get(url + "/admin/feature-flags", headers=HEADERS, timeout=30).json()
    return {name: row["effective"] for name, row in body["flags"].items()}


def test_a_rollout_on_a_short_hold_climbs_step_by_step_to_one(serve_process: Callable[..., Any]) -> None:
    served = serve_process(config=CONFIG, env=ENV)
    started = httpx.post(
        served.url + "/admin/rollouts",
        json={"flag": FLAG, "steps": [0.01, 0.1, 0.5, 1], "hold": "1s"},
        headers=HEADERS,
        timeout=30,
    )
    assert started.status_code == 201, started.text
    assert started.json()["value"] == 0.01 and _effective(served.url)[FLAG] == 0.01

    done = _until(served.url, "completed")

    assert [(e["event"], e["value"]) for e in done["events"]] == [
        ("started", 0.01),
        ("advanced", 0.1),
        ("advanced", 0.5),
        ("advanced", 1.0),
        ("completed", 1.0),
    ]
    assert done["events"][0]["actor"] == "alice" and done["events"][1]["actor"] == "rollout"
    times = [datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in done["events"][:4]]
    assert all((b - a).total_seconds() >= 1.0 for a, b in pairwise(times))  # each step held 1 s
    assert _effective(served.url)[FLAG] == 1.0
    audit = httpx.get(
        served.url + "/admin/feature-flags/events", params={"flag": FLAG}, headers=HEADERS, timeout=30
    ).json()["events"]
    assert [(e["new_value"], e["source"]) for e in audit] == [
        (1.0, "rollout"),
        (0.5, "rollout"),
        (0.1, "rollout"),
        (0.01, "rollout"),
    ]
    logged = [e for e in served.log_events() if e.get("event") == "feature_flag_changed"]
    assert [e["source"] for e in logged] == ["rollout"] * 4
    assert [e["rollout_event"] for e in served.log_events() if e.get("event") == "rollout_event"] == [
        "started",
        "advanced",
        "advanced",
        "advanced",
        "completed",
    ]


def test_a_critical_alert_during_the_hold_aborts_the_rollout_and_the_flag_is_off(
    serve_process: Callable[..., Any],
) -> None:
    config = {**CONFIG, "ragTimeoutMs": 3000}
    served = serve_process(config=config, env={**ENV, "MEMORY_SYSTEM_EMBEDDER": "slow:700"}, dev=True)
    started = httpx.post(
        served.url + "/admin/rollouts",
        json={"flag": FLAG, "steps": [0.5, 1], "hold": 600},
        headers=HEADERS,
        timeout=30,
    )
    assert started.status_code == 201, started.text
    agent = next(a for a in (f"agent-{i}" for i in range(40)) if in_rollout(0.5, FLAG, f"agent:{a}"))
    for i in range(3):  # an agent in the 50%: the enhanced path, and its slow model
        answer = httpx.post(
            served.url + "/v1/inject",
            json={"query": f"question {i}"},
            headers={"X-Agent-Id": agent, "X-Namespace": "n"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text

    aborted = _until(served.url, "aborted")

    assert "injection_latency_p95" in aborted["reason"] and aborted["reason"].startswith("auto_guard")
    assert aborted["events"][-1]["event"] == "aborted" and aborted["events"][-1]["actor"] == "auto_guard"
    assert _effective(served.url) == {
        "USE_HIERARCHICAL_TIERS": 1.0,
        "USE_CROSS_AGENT_SHARING": 1.0,
        "USE_ENHANCED_INJECTION": 0.0,
    }
    history = httpx.get(served.url + "/admin/alerts/history", headers=HEADERS, timeout=30)
    assert history.status_code == 200, history.text
    fired = [e for e in history.json()["events"] if e["rule"] == "injection_latency_p95"]
    assert fired and fired[-1]["event"] == "fired" and fired[-1]["severity"] == "CRITICAL"
    assert fired[-1]["value"] > 500 and fired[-1]["flags"] == [FLAG] and fired[-1]["instance"]
    (tripped,) = [e for e in served.log_events() if e.get("event") == "auto_guard_tripped"]
    assert tripped["rollouts_aborted"] == [FLAG]


def test_a_restarted_service_continues_the_rollout_from_the_database(
    serve_process: Callable[..., Any],
) -> None:
    first = serve_process(config={**CONFIG, "rolloutCheckIntervalS": 60}, env=ENV)
    started = httpx.post(
        first.url + "/admin/rollouts",
        json={"flag": FLAG, "steps": [0.1, 1], "hold": "1s"},
        headers=HEADERS,
        timeout=30,
    )
    assert started.status_code == 201, started.text
    assert first.stop() == 0

    second = serve_process(config=CONFIG, env=ENV, db=first.db)

    done = _until(second.url, "completed")
    assert done["id"] == started.json()["id"] and _effective(second.url)[FLAG] == 1.0


def test_bad_rollout_requests_are_refused_and_change_nothing(serve_process: Callable[..., Any]) -> None:
    served = serve_process(config=CONFIG, env=ENV)
    url = served.url + "/admin/rollouts"
    assert httpx.post(url, json={"flag": FLAG}, timeout=30).status_code == 401
    for body, field in (
        ({"flag": "USE_NOTHING"}, "flag"),
        ({"flag": FLAG, "steps": [0.5, 0.1]}, "steps"),
        ({"flag": FLAG, "steps": [0, 1]}, "steps"),
        ({"flag": FLAG, "steps": [0.5, 2]}, "steps"),
        ({"flag": FLAG, "steps": []}, "steps"),
        ({"flag": FLAG, "hold": "soon"}, "hold"),
        ({"flag": FLAG, "hold": -1}, "hold"),
        ({"flag": FLAG, "extra": 1}, "extra"),
    ):
        refused = httpx.post(url, json=body, headers=HEADERS, timeout=30)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json().get("field", "") + refused.text, (body, refused.text)
    for action in ("pause", "resume", "abort"):
        none = httpx.post(f"{url}/{FLAG}/{action}", headers=HEADERS, timeout=30)
        assert none.status_code == 404 and none.json()["detail"]["error"] == "rollout_not_found", none.text
    assert httpx.post(f"{url}/USE_NOTHING/pause", headers=HEADERS, timeout=30).status_code == 422
    assert httpx.get(url, headers=HEADERS, timeout=30).json() == {"rollouts": []}
    assert set(_effective(served.url).values()) == {1.0}

    assert httpx.post(url, json={"flag": FLAG, "hold": "1h"}, headers=HEADERS, timeout=30).status_code == 201
    second = httpx.post(url, json={"flag": FLAG, "steps": [0.2, 1]}, headers=HEADERS, timeout=30)
    assert second.status_code == 409 and second.json()["detail"]["error"] == "rollout_conflict"
    assert httpx.post(f"{url}/{FLAG}/resume", headers=HEADERS, timeout=30).status_code == 409
    paused = httpx.post(f"{url}/{FLAG}/pause", json={"reason": "lunch"}, headers=HEADERS, timeout=30)
    assert paused.status_code == 200 and paused.json()["reason"] == "lunch"
    assert _effective(served.url)[FLAG] == 0.01
    history = httpx.get(
        served.url + "/admin/alerts/history", params={"since": "soon"}, headers=HEADERS, timeout=30
    )
    assert history.status_code == 422 and history.json()["field"] == "since"
