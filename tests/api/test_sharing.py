"""Cross-agent sharing over real HTTP: grants, revokes, the trail, the flag, isolation by every route."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.store.connection import open_connection

NS = "proj"
ADMIN = "admin-secret"
FLAG = "USE_CROSS_AGENT_SHARING"


def agent(url: str, name: str, namespace: str = NS, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, timeout=30, headers={"X-Agent-Id": name, "X-Namespace": namespace, **headers}
    )


def remember(client: httpx.Client, content: str, **fields: Any) -> int:
    r = client.post("/v1/memories", json={"content": content, **fields})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def set_flag(url: str, value: object) -> None:
    r = httpx.post(
        url + "/admin/feature-flags",
        json={FLAG: value},
        timeout=30,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert r.status_code == 200, r.text


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = open_connection(db, create=False)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def sharing_errors(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=30).text
    match = re.search(r"^memory_sharing_errors_total (\S+)$", text, re.MULTILINE)
    assert match, "memory_sharing_errors_total is not exported"
    return float(match.group(1))


def in_seconds(seconds: float) -> str:
    return (
        (datetime.now(UTC) + timedelta(seconds=seconds))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def routes_seeing(client: httpx.Client, memory_id: int, content: str) -> set[str]:
    """Every read route through which ``client`` gets the memory back."""
    seen = set()
    if client.get(f"/v1/memories/{memory_id}").status_code == 200:
        seen.add("get")
    listed = client.get("/v1/memories", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    if memory_id in [m["id"] for m in listed.json()["memories"]]:
        seen.add("list")
    found = client.post("/v1/memories/search", json={"query": content, "k": 20})
    assert found.status_code == 200, found.text
    if memory_id in [h["memory"]["id"] for h in found.json()["hits"]]:
        seen.add("search")
    injected = client.post("/v1/inject", json={"query": content, "token_budget": 2000, "format": "json"})
    assert injected.status_code == 200, injected.text
    if memory_id in [m["id"] for m in injected.json()["manifest"]["memories"]]:
        seen.add("inject")
    return seen


ALL_ROUTES = {"get", "list", "search", "inject"}


@pytest.fixture
def server(live_server: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    url = live_server(admin_token=ADMIN, embedder="none")
    return url, tmp_path / "server0.db"


def test_share_list_and_revoke_between_two_agents(server: tuple[str, Path]) -> None:
    url, _ = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    mid = remember(alice, "the build cache lives in /var/cache/ci")
    assert bob.get(f"/v1/memories/{mid}").status_code == 404

    r = alice.post(
        f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"], "expires_at": "2099-01-01T00:00:00Z"}
    )
    assert r.status_code == 201, r.text
    assert [(s["agent_id"], s["expires_at"], s["active"]) for s in r.json()["shares"]] == [
        ("bob", "2099-01-01T00:00:00.000Z", True)
    ]
    assert bob.get(f"/v1/memories/{mid}").json()["content"] == "the build cache lives in /var/cache/ci"
    assert alice.get(f"/v1/memories/{mid}").json()["visibility"] == "shared"

    again = alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"], "namespace": True})
    assert [(s["agent_id"], s["namespace"], s["expires_at"]) for s in again.json()["shares"]] == [
        (None, True, None),
        ("bob", False, None),
    ]
    assert alice.get(f"/v1/memories/{mid}/shares").json() == again.json()
    assert bob.get(f"/v1/memories/{mid}/shares").status_code == 404  # grants are the owner's business

    r = alice.request("DELETE", f"/v1/memories/{mid}/shares", params={"namespace": "true"})
    assert r.status_code == 200, r.text
    assert [s["agent_id"] for s in r.json()["shares"]] == ["bob"]
    r = alice.request("DELETE", f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]})
    assert r.status_code == 200 and r.json()["shares"] == []
    assert bob.get(f"/v1/memories/{mid}").status_code == 404

    trail = bob.get("/v1/shares/events", params={"memory_id": mid}).json()["events"]
    assert [(e["action"], e["agent_id"]) for e in trail] == [
        ("revoke", "bob"),
        ("revoke", None),
        ("grant", None),
        ("grant", "bob"),
        ("grant", "bob"),
    ]


def test_refused_calls_name_the_problem_change_nothing_and_count_as_sharing_errors(
    server: tuple[str, Path],
) -> None:
    url, db = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    mid = remember(alice, "only alice may share this")
    alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["carol"]})
    before = rows(db, "SELECT * FROM memory_shares") + rows(db, "SELECT * FROM share_events")
    errors = sharing_errors(url)

    cases = [
        (bob.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["dave"]}), 404, "memory_id"),
        (alice.post("/v1/memories/999999/shares", json={"agent_ids": ["dave"]}), 404, "memory_id"),
        (
            alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["dave"], "expires_at": "yesterday"}),
            422,
            "expires_at",
        ),
        (
            alice.post(
                f"/v1/memories/{mid}/shares",
                json={"agent_ids": ["dave"], "expires_at": "2001-01-01T00:00:00Z"},
            ),
            422,
            "expires_at",
        ),
        (alice.post(f"/v1/memories/{mid}/shares", json={}), 422, "agent_ids"),
        (alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["alice"]}), 422, "agent_ids[0]"),
        (
            alice.request("DELETE", f"/v1/memories/{mid}/shares", params={"agent_id": "dave"}),
            404,
            "agent_ids",
        ),
        (bob.request("DELETE", f"/v1/memories/{mid}/shares", params={"agent_id": "carol"}), 404, "memory_id"),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert detail["field"] == field and detail["message"]
    assert sharing_errors(url) == errors + len(cases)
    typo = alice.post(f"/v1/memories/{mid}/shares", json={"agent_id": ["dave"]})
    assert typo.status_code == 422  # a misspelt field is an error, not a silent no-op
    assert rows(db, "SELECT * FROM memory_shares") + rows(db, "SELECT * FROM share_events") == before


def test_flag_off_refuses_share_and_revoke_keeps_grants_and_hides_them_until_back_on(
    server: tuple[str, Path],
) -> None:
    url, db = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    mid = remember(alice, "the release branch is cut on Tuesdays")
    nsmid = remember(alice, "namespace-visible from the start", visibility="namespace")
    assert alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]}).status_code == 201
    assert routes_seeing(bob, mid, "release branch Tuesdays") >= {"get", "list", "inject"}
    stored = rows(db, "SELECT * FROM memory_shares")
    errors = sharing_errors(url)

    set_flag(url, False)
    for response in (
        alice.post(f"/v1/memories/{mid}/shares", json={"namespace": True}),
        alice.request("DELETE", f"/v1/memories/{mid}/shares", params={"agent_id": "bob"}),
    ):
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        assert detail["error"] == "feature_disabled" and detail["flag"] == FLAG and FLAG in detail["message"]
    assert rows(db, "SELECT * FROM memory_shares") == stored
    assert routes_seeing(bob, mid, "release branch Tuesdays") == set()
    assert routes_seeing(bob, nsmid, "namespace-visible from the start") == set()
    assert "get" in routes_seeing(alice, mid, "release branch Tuesdays")
    assert alice.get(f"/v1/memories/{mid}/shares").json()["shares"][0]["agent_id"] == "bob"
    assert sharing_errors(url) == errors  # the rollback working is not an error

    set_flag(url, True)
    assert routes_seeing(bob, mid, "release branch Tuesdays") >= {"get", "list", "inject"}
    assert "get" in routes_seeing(bob, nsmid, "namespace-visible from the start")


def test_an_agent_never_sees_another_agents_private_memory_by_any_route(server: tuple[str, Path]) -> None:
    """Private, shared, revoked, shared until a moment that then passes: B sees it only while shared."""
    url, _ = server
    alice, bob = agent(url, "alice"), agent(url, "bob")
    content = "the staging database password rotates every ninety days"
    query = "staging database password rotates"
    mid = remember(alice, content)
    routes = ALL_ROUTES
    assert routes_seeing(alice, mid, query) == routes

    assert routes_seeing(bob, mid, query) == set()
    assert alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]}).status_code == 201
    assert routes_seeing(bob, mid, query) == routes
    assert routes_seeing(agent(url, "carol"), mid, query) == set()
    assert routes_seeing(agent(url, "bob", "elsewhere"), mid, query) == set()

    assert (
        alice.request("DELETE", f"/v1/memories/{mid}/shares", params={"agent_id": "bob"}).status_code == 200
    )
    assert routes_seeing(bob, mid, query) == set()

    expires = in_seconds(1.5)
    r = alice.post(f"/v1/memories/{mid}/shares", json={"namespace": True, "expires_at": expires})
    assert r.status_code == 201, r.text
    assert routes_seeing(bob, mid, query) == routes
    deadline = time.monotonic() + 15
    while datetime.now(UTC).isoformat() <= expires.replace("Z", "+00:00") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert routes_seeing(bob, mid, query) == set()
    assert routes_seeing(alice, mid, query) == routes


def test_agents_with_real_tokens_share_and_cannot_pose_as_each_other(
    live_server: Callable[..., str], tmp_path: Path
) -> None:
    from memory_system.auth.agent_tokens import TokenService
    from memory_system.store.connection import Database

    url = live_server(dev=False, admin_token=ADMIN, embedder="none")
    db = Database(tmp_path / "server0.db")
    try:
        tokens = {name: TokenService(db).create(name, NS).token for name in ("alice", "bob")}
    finally:
        db.close()

    def as_(name: str) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {tokens[name]}"})

    alice, bob = as_("alice"), as_("bob")
    mid = remember(alice, "tokens pin the agent")
    assert bob.get(f"/v1/memories/{mid}").status_code == 404
    posing = bob.post(
        f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]}, headers={"X-Agent-Id": "alice"}
    )
    assert posing.status_code == 403
    assert bob.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]}).status_code == 404
    r = alice.post(f"/v1/memories/{mid}/shares", json={"namespace": True})
    assert r.status_code == 201, r.text
    assert bob.get(f"/v1/memories/{mid}").json()["agent_id"] == "alice"
    assert httpx.get(url + "/v1/shares/events", timeout=30).status_code == 401


def test_dense_search_with_the_real_model_respects_grants_too(live_server: Callable[..., str]) -> None:
    """Vector candidates come from a per-namespace index; each must still pass the visibility check."""
    url = live_server(admin_token=ADMIN)
    alice, bob = agent(url, "alice"), agent(url, "bob")
    mid = remember(alice, "our production servers are patched every second Tuesday of the month")
    paraphrase = {"query": "when do prod machines get their security updates", "k": 5, "sources": ["dense"]}

    def dense_ids(client: httpx.Client) -> list[int]:
        r = client.post("/v1/memories/search", json=paraphrase)
        assert r.status_code == 200, r.text
        return [h["memory"]["id"] for h in r.json()["hits"]]

    deadline = time.monotonic() + 120
    while mid not in dense_ids(alice) and time.monotonic() < deadline:  # embedded in the background
        time.sleep(0.2)
    assert mid in dense_ids(alice)
    assert mid not in dense_ids(bob)
    alice.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["bob"]})
    assert mid in dense_ids(bob)
    set_flag(url, False)
    assert mid not in dense_ids(bob)
    set_flag(url, True)
    alice.request("DELETE", f"/v1/memories/{mid}/shares", params={"agent_id": "bob"})
    assert mid not in dense_ids(bob)
