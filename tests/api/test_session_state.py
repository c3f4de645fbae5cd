"""Session state and hand-off over real HTTP, as two agents in dev mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.store.connection import open_connection

NS = "proj"
ADMIN = "admin-secret"
FLAG = "USE_CROSS_AGENT_SHARING"


def agent(url: str, name: str, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, headers={"X-Agent-Id": name, "X-Namespace": NS, **headers})


def start_session(client: httpx.Client) -> str:
    r = client.post("/v1/sessions")
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


def snapshot(db: Path) -> list[list[tuple[Any, ...]]]:
    conn = open_connection(db, create=False)
    try:
        # A session's last activity moves with every request that names it; that is no change.
        sessions = [
            tuple(r)
            for r in conn.execute("SELECT id, namespace, agent_id, ended_at FROM sessions ORDER BY 1")
        ]
        return [sessions] + [
            [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
            for table in ("session_state", "memories", "session_handoffs", "share_events")
        ]
    finally:
        conn.close()


@pytest.fixture
def server(live_server: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    return live_server(admin_token=ADMIN, embedder="none"), tmp_path / "server0.db"


def test_state_round_trip_with_versions_in_body_and_if_match(server: tuple[str, Path]) -> None:
    url, _ = server
    alice = agent(url, "alice")
    sid = start_session(alice)
    r = alice.get(f"/v1/sessions/{sid}/state")
    assert r.status_code == 200 and (r.json()["state"], r.json()["version"]) == ({}, 0)
    assert r.headers["etag"] == '"0"'

    r = alice.put(f"/v1/sessions/{sid}/state", json={"state": {"step": 1}, "version": 0})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.headers["etag"] == '"1"'
    r = alice.put(f"/v1/sessions/{sid}/state", json={"state": {"step": 2}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert alice.get(f"/v1/sessions/{sid}/state").json()["state"] == {"step": 2}


def test_a_stale_write_gets_409_with_the_current_version_and_changes_nothing(
    server: tuple[str, Path],
) -> None:
    url, db = server
    alice = agent(url, "alice")
    sid = start_session(alice)
    alice.put(f"/v1/sessions/{sid}/state", json={"state": {"who": "first"}, "version": 0})
    alice.put(f"/v1/sessions/{sid}/state", json={"state": {"who": "second"}, "version": 1})
    before = snapshot(db)
    r = alice.put(f"/v1/sessions/{sid}/state", json={"state": {"who": "late"}, "version": 1})
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert (detail["error"], detail["current_version"], detail["field"]) == ("stale_version", 2, "version")
    assert r.headers["etag"] == '"2"'
    r = alice.put(f"/v1/sessions/{sid}/state", json={"state": {"who": "late"}}, headers={"If-Match": "1"})
    assert r.status_code == 409 and r.json()["detail"]["current_version"] == 2
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ({"state": {"a": 1}}, {}, 428, "version"),
        ({"state": {"a": 1}, "version": 0}, {"If-Match": '"3"'}, 422, "version"),
        ({"state": {"a": 1}}, {"If-Match": "*"}, 422, "If-Match"),
        ({"state": [1, 2], "version": 0}, {}, 422, "state"),
        ({"state": {"a": 1}, "version": -1}, {}, 422, "version"),
        ({"state": {"a": 1}, "version": 0, "extra": 1}, {}, 422, "extra"),
    ],
)
def test_bad_writes_name_the_field_and_change_nothing(
    server: tuple[str, Path], body: dict[str, Any], headers: dict[str, str], status: int, field: str
) -> None:
    url, db = server
    alice = agent(url, "alice")
    sid = start_session(alice)
    before = snapshot(db)
    r = alice.put(f"/v1/sessions/{sid}/state", json=body, headers=headers)
    assert r.status_code == status, r.text
    assert field in r.text
    assert snapshot(db) == before


def test_only_the_sessions_agent_reads_or_writes_its_state(server: tuple[str, Path]) -> None:
    url, db = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    sid = start_session(alice)
    alice.put(f"/v1/sessions/{sid}/state", json={"state": {"secret": True}, "version": 0})
    before = snapshot(db)
    assert bob.get(f"/v1/sessions/{sid}/state").status_code == 404
    assert bob.put(f"/v1/sessions/{sid}/state", json={"state": {}, "version": 1}).status_code == 404
    assert agent(url, "alice", **{"X-Namespace": "other"}).get(f"/v1/sessions/{sid}/state").status_code == 404
    assert alice.get("/v1/sessions/not-a-session/state").status_code == 404
    assert snapshot(db) == before


def test_handoff_gives_the_receiver_the_state_and_the_working_memories(server: tuple[str, Path]) -> None:
    url, _db = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    sid = start_session(alice)
    alice.put(
        f"/v1/sessions/{sid}/state", json={"state": {"plan": ["fix", "test"], "done": ["fix"]}, "version": 0}
    )
    in_session = agent(url, "alice", **{"X-Session-Id": sid})
    working = in_session.post("/v1/memories", json={"content": "the flaky test waits on port 5432"}).json()
    assert working["tier"] == "working" and working["session_id"] == sid
    kept = alice.post("/v1/memories", json={"content": "alice keeps this"}).json()["id"]
    assert bob.get(f"/v1/memories/{working['id']}").status_code == 404

    r = alice.post(f"/v1/sessions/{sid}/handoff", json={"to_agent_id": "bob"})
    assert r.status_code == 201, r.text
    result = r.json()
    new_sid = result["new_session_id"]
    assert (result["memories_moved"], result["to_agent_id"], result["state_version"]) == (1, "bob", 1)

    state = bob.get(f"/v1/sessions/{new_sid}/state").json()
    assert (state["state"], state["version"]) == ({"plan": ["fix", "test"], "done": ["fix"]}, 1)
    assert (
        bob.put(
            f"/v1/sessions/{new_sid}/state", json={"state": {"done": ["fix", "test"]}, "version": 1}
        ).status_code
        == 200
    )
    moved = bob.get(f"/v1/memories/{working['id']}").json()
    assert (moved["agent_id"], moved["session_id"], moved["tier"]) == ("bob", new_sid, "working")
    assert alice.get(f"/v1/memories/{working['id']}").status_code == 404
    assert alice.get(f"/v1/memories/{kept}").status_code == 200
    assert bob.get(f"/v1/memories/{kept}").status_code == 404

    assert alice.get(f"/v1/sessions/{sid}").json()["ended_at"] is not None
    assert alice.put(f"/v1/sessions/{sid}/state", json={"state": {}, "version": 1}).status_code == 409
    again = alice.post(f"/v1/sessions/{sid}/handoff", json={"to_agent_id": "carol"})
    assert again.status_code == 409
    trail = bob.get("/v1/shares/events").json()["events"]
    assert [(e["action"], e["memory_id"], e["session_id"]) for e in trail] == [
        ("handoff", None, sid),
        ("handoff", working["id"], sid),
    ]


def test_handoff_refusals_change_nothing(server: tuple[str, Path]) -> None:
    url, db = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    sid = start_session(alice)
    before = snapshot(db)
    for client, body, status in (
        (bob, {"to_agent_id": "carol"}, 404),
        (alice, {"to_agent_id": "alice"}, 422),
        (alice, {"to_agent_id": ""}, 422),
        (alice, {}, 422),
    ):
        r = client.post(f"/v1/sessions/{sid}/handoff", json=body)
        assert r.status_code == status, r.text
    assert snapshot(db) == before


def test_handoff_is_refused_while_sharing_is_off(server: tuple[str, Path]) -> None:
    url, db = server
    alice = agent(url, "alice")
    sid = start_session(alice)
    r = httpx.post(
        url + "/admin/feature-flags",
        json={FLAG: False},
        timeout=30,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 200, r.text
    before = snapshot(db)
    r = alice.post(f"/v1/sessions/{sid}/handoff", json={"to_agent_id": "bob"})
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["error"] == "feature_disabled" and r.json()["detail"]["flag"] == FLAG
    assert snapshot(db) == before
    assert alice.put(f"/v1/sessions/{sid}/state", json={"state": {"a": 1}, "version": 0}).status_code == 200
