"""Sessions over HTTP (real ``memory-system serve`` subprocess, --dev identities)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import httpx

from memory_system.store.connection import open_connection

# Generous timeouts: the test machine is shared and loaded; these are not speed checks.
http_get = partial(httpx.get, timeout=30)
http_post = partial(httpx.post, timeout=30)
http_request = partial(httpx.request, timeout=30)

A = {"X-Agent-Id": "agent-a", "X-Namespace": "p"}
B = {"X-Agent-Id": "agent-b", "X-Namespace": "p"}


def _last_active(db: Any, session_id: str) -> str:
    conn = open_connection(db, create=False)
    try:
        return str(
            conn.execute("SELECT last_active_at FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]
        )
    finally:
        conn.close()


def test_start_returns_an_id_and_the_flags_evaluated_for_it(serve_process: Any) -> None:
    served = serve_process(dev=True)
    started = http_post(served.url + "/v1/sessions", headers=A)
    assert started.status_code == 201
    body = started.json()
    assert body["agent_id"] == "agent-a" and body["namespace"] == "p" and body["ended_at"] is None
    assert body["flags"] == {
        "USE_HIERARCHICAL_TIERS": True,
        "USE_CROSS_AGENT_SHARING": True,
        "USE_ENHANCED_INJECTION": True,
    }  # no source sets a flag: every phase on
    again = http_get(f"{served.url}/v1/sessions/{body['session_id']}", headers=A).json()
    assert again["session_id"] == body["session_id"] and again["created_at"] == body["created_at"]


def test_a_session_belongs_to_its_agent(serve_process: Any) -> None:
    served = serve_process(dev=True)
    sid = http_post(served.url + "/v1/sessions", headers=A).json()["session_id"]
    for method, path in (("GET", f"/v1/sessions/{sid}"), ("POST", f"/v1/sessions/{sid}/end")):
        response = http_request(method, served.url + path, headers=B)
        assert response.status_code == 404, (method, path, response.text)
    assert http_request("GET", f"{served.url}/v1/sessions/unknown-id", headers=A).status_code == 404
    assert http_get(f"{served.url}/v1/sessions/{sid}", headers=A).json()["ended_at"] is None


def test_end_is_recorded_once(serve_process: Any) -> None:
    served = serve_process(dev=True)
    sid = http_post(served.url + "/v1/sessions", headers=A).json()["session_id"]
    ended = http_post(f"{served.url}/v1/sessions/{sid}/end", headers=A)
    assert ended.status_code == 200 and ended.json()["ended_at"]
    twice = http_post(f"{served.url}/v1/sessions/{sid}/end", headers=A)
    assert twice.json()["ended_at"] == ended.json()["ended_at"]


def test_requests_carrying_a_session_id_update_its_last_activity(serve_process: Any) -> None:
    served = serve_process(dev=True)
    created = http_post(served.url + "/v1/sessions", headers=A).json()
    sid = created["session_id"]
    time.sleep(0.01)  # timestamps have millisecond resolution
    # another agent naming the session touches nothing
    http_get(served.url + "/v1/graph", headers={**B, "X-Session-Id": sid})
    assert _last_active(served.db, sid) == created["last_active_at"]
    # the owner, on any route, by header
    assert http_get(served.url + "/v1/graph", headers={**A, "X-Session-Id": sid}).status_code == 200
    assert _last_active(served.db, sid) > created["last_active_at"]
