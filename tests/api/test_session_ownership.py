"""Another agent's session is a 404 wherever a session comes in, and a refusal writes nothing.

A second agent of the same namespace (B) and an agent of another namespace (C) name agent A's
session in a body ``session_id``, the ``X-Session-Id`` header, batch items, the inject body,
list and search filters, and the session routes. A itself, and an id that names no session
(a client's own grouping), still work. End to end against ``memory-system serve`` with real
agent tokens; case by case on the app in-process (--dev identities).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.runtime import Runtime
from memory_system.store.connection import open_connection

# Generous timeouts: the test machine is shared and loaded; these are not speed checks.
http_request = partial(httpx.request, timeout=30)

A = {"X-Agent-Id": "alice", "X-Namespace": "p1"}
B = {"X-Agent-Id": "bob", "X-Namespace": "p1"}
C = {"X-Agent-Id": "carol", "X-Namespace": "p2"}
OTHERS = pytest.mark.parametrize("other", [B, C], ids=["same-namespace", "other-namespace"])

_TABLES = ("memories", "sessions", "session_state", "session_handoffs", "share_events")


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row a write could touch, ``last_active_at`` of each session included."""
    conn = open_connection(db, create=False)
    try:
        rows = {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in _TABLES}
        rows["scope_versions"] = [
            tuple(r)
            for r in conn.execute("SELECT * FROM memory_metadata WHERE key LIKE 'scope_version:%' ORDER BY 1")
        ]
        return rows
    finally:
        conn.close()


def _attempts(sid: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request arguments) of every way to name session ``sid``."""
    header = {"X-Session-Id": sid}
    return [
        ("POST", "/v1/memories", {"json": {"content": "into the body's session", "session_id": sid}}),
        ("POST", "/v1/memories", {"json": {"content": "into the header's session"}, "headers": header}),
        (
            "POST",
            "/v1/memories/batch",
            {"json": {"items": [{"content": "fine"}, {"content": "sneaky", "session_id": sid}]}},
        ),
        ("POST", "/v1/memories/batch", {"json": {"items": [{"content": "x"}]}, "headers": header}),
        ("POST", "/v1/inject", {"json": {"query": "deploys", "session_id": sid}}),
        ("POST", "/v1/inject", {"json": {"query": "deploys"}, "headers": header}),
        ("GET", "/v1/memories", {"params": {"session_id": sid}}),
        ("GET", "/v1/memories", {"headers": header}),
        ("POST", "/v1/memories/search", {"json": {"query": "deploys", "filters": {"session_id": sid}}}),
        ("GET", f"/v1/sessions/{sid}", {}),
        ("POST", f"/v1/sessions/{sid}/end", {}),
        ("GET", f"/v1/sessions/{sid}/state", {}),
        ("PUT", f"/v1/sessions/{sid}/state", {"json": {"state": {"mine": True}, "version": 1}}),
        ("POST", f"/v1/sessions/{sid}/handoff", {"json": {"to_agent_id": "dave"}}),
        ("POST", "/v1/sessions", {"headers": header}),
    ]


def _attempt_name(attempt: tuple[str, str, dict[str, Any]]) -> str:
    method, path, kwargs = attempt
    where = next((w for w, k in (("header", "headers"), ("query", "params")) if k in kwargs), "body")
    where = "path" if "SID" in path else where
    return f"{method} {path.replace('SID', '{id}')} ({where})"


ATTEMPTS = pytest.mark.parametrize(
    "attempt", range(len(_attempts("SID"))), ids=[_attempt_name(a) for a in _attempts("SID")]
)


def _unknown(path: str, sid: str) -> str:
    """The same request about a session that does not exist."""
    return path.replace(sid, "no-such-session")


def _detail(response: Any, sid: str) -> object:
    """``detail`` with the session id taken out, to compare with an unknown id's."""
    return repr(response.json()["detail"]).replace(sid, "<id>").replace("no-such-session", "<id>")


# --- end to end: `memory-system serve` with real agent tokens --------------------------------


def _issue(cli: Any, db: Path, agent: str, namespace: str) -> dict[str, str]:
    out = cli("tokens", "create", "--agent", agent, "--namespace", namespace, "--db", str(db), check=True)
    return {"Authorization": f"Bearer {out.stdout.strip()}"}


def test_tokens_of_another_agent_or_namespace_cannot_use_a_session(
    serve_process: Any, cli: Any, tmp_path: Path
) -> None:
    db = tmp_path / "ownership" / "memory.db"
    schema.migrate(db)
    alice, bob, carol = (_issue(cli, db, a, n) for a, n in (("alice", "p1"), ("bob", "p1"), ("carol", "p2")))
    url = serve_process(db=db).url

    sid = http_request("POST", url + "/v1/sessions", headers=alice).json()["session_id"]
    put = http_request(
        "PUT", f"{url}/v1/sessions/{sid}/state", headers=alice, json={"state": {"step": 1}, "version": 0}
    )
    assert put.status_code == 200, put.text
    mine = http_request(
        "POST", url + "/v1/memories", headers=alice, json={"content": "deploys on Friday", "session_id": sid}
    )
    assert mine.status_code == 201 and mine.json()["tier"] == "working"
    before = _snapshot(db)

    for caller in (bob, carol):
        for method, path, kwargs in _attempts(sid):
            headers = {**caller, **kwargs.pop("headers", {})}
            refused = http_request(method, url + path, headers=headers, **kwargs)
            assert refused.status_code == 404, (method, path, refused.text)
    assert _snapshot(db) == before

    # the owner still works, and another agent may use an id that names no session
    assert (
        http_request("GET", url + "/v1/memories", headers={**alice, "X-Session-Id": sid}).status_code == 200
    )
    own = http_request(
        "POST", url + "/v1/memories", headers={**bob, "X-Session-Id": "bob-run"}, json={"content": "x"}
    )
    assert own.status_code == 201 and own.json()["session_id"] == "bob-run"


# --- case by case: the app in-process, --dev identities --------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    db = tmp_path / "ownership.db"
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, dev=True, config_path=tmp_path / "none.json", embedder="none"))
    with TestClient(create_app(runtime)) as client:
        yield client, db
    runtime.close()


@pytest.fixture
def session(served: tuple[TestClient, Path]) -> str:
    """Alice's session, with a state document and a working memory in it."""
    client, _ = served
    sid = str(client.post("/v1/sessions", headers=A).json()["session_id"])
    assert client.put(
        f"/v1/sessions/{sid}/state", headers=A, json={"state": {"s": 1}, "version": 0}
    ).is_success
    assert client.post("/v1/memories", headers=A, json={"content": "deploys", "session_id": sid}).is_success
    return sid


@OTHERS
@ATTEMPTS
def test_naming_another_agents_session_is_a_404_like_an_unknown_one_and_changes_nothing(
    served: tuple[TestClient, Path], session: str, other: dict[str, str], attempt: int
) -> None:
    client, db = served
    method, path, kwargs = _attempts(session)[attempt]
    headers = {**other, **kwargs.pop("headers", {})}
    before = _snapshot(db)
    refused = client.request(method, path, headers=headers, **kwargs)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"] == "not_found"
    assert _snapshot(db) == before
    # as for a session that does not exist, where the route is about a session
    if session in path:
        unknown = client.request(method, _unknown(path, session), headers=headers, **kwargs)
        assert unknown.status_code == 404
        assert _detail(refused, session) == _detail(unknown, session)
    else:
        assert refused.json()["detail"] == f"no session {session!r} for agent {other['X-Agent-Id']!r}"
        unknown = client.get("/v1/sessions/no-such-session", headers=other)
        assert _detail(refused, session) == _detail(unknown, session)


@ATTEMPTS
def test_the_owner_uses_its_session_everywhere(
    served: tuple[TestClient, Path], session: str, attempt: int
) -> None:
    client, _ = served
    method, path, kwargs = _attempts(session)[attempt]
    headers = {**A, **kwargs.pop("headers", {})}
    answered = client.request(method, path, headers=headers, **kwargs)
    assert answered.is_success, (method, path, answered.text)


@OTHERS
def test_an_id_that_names_no_session_is_the_callers_own_grouping(
    served: tuple[TestClient, Path], session: str, other: dict[str, str]
) -> None:
    client, _ = served
    own = {**other, "X-Session-Id": "my-run-1"}
    created = client.post("/v1/memories", headers=own, json={"content": "from my run"})
    assert created.status_code == 201 and created.json()["session_id"] == "my-run-1"
    batch = client.post(
        "/v1/memories/batch", headers=other, json={"items": [{"content": "b", "session_id": "r2"}]}
    )
    assert batch.status_code == 201 and batch.json()["items"][0]["tier"] == "working"
    listed = client.get("/v1/memories", headers=other, params={"session_id": "my-run-1"}).json()["memories"]
    assert [m["content"] for m in listed] == ["from my run"]
    assert (
        client.post("/v1/inject", headers=own, json={"query": "run", "session_id": "r2"}).status_code == 200
    )
    found = client.post(
        "/v1/memories/search", headers=other, json={"query": "run", "filters": {"session_id": "my-run-1"}}
    )
    assert found.status_code == 200


@OTHERS
def test_a_refused_write_is_no_activity_of_the_victims_session(
    served: tuple[TestClient, Path], session: str, other: dict[str, str]
) -> None:
    """Tier maintenance reads a session's activity from its row and its memories: neither moves."""
    client, db = served

    def activity() -> tuple[object, ...]:
        conn = open_connection(db, create=False)
        try:
            return tuple(
                conn.execute(
                    "SELECT s.last_active_at, "
                    "(SELECT max(updated_at) FROM memories WHERE session_id = s.id), "
                    "(SELECT count(*) FROM memories WHERE session_id = s.id) "
                    "FROM sessions s WHERE s.id = ?",
                    (session,),
                ).fetchone()
            )
        finally:
            conn.close()

    before = activity()
    for body in ({"content": "later", "session_id": session}, {"content": "later", "tier": "working"}):
        refused = client.post("/v1/memories", headers={**other, "X-Session-Id": session}, json=body)
        assert refused.status_code == 404
    assert activity() == before
