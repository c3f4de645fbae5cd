"""Bad input, as an attacker or a careless client sends it: always a 4xx, never a 5xx, and
nothing changed.

Two parts. A property test over every route of the API: hypothesis draws bodies, path and
query values from the values that broke the service before (lone surrogates, integers of
2**63 and more, times that overflow when moved to UTC, values nested hundreds of levels deep,
empty strings, booleans where numbers go, NaN) mixed with ordinary ones, keyed by each
request model's own field names so that they reach the validators, and asserts no answer is
a 5xx. Then a battery of the examples the hardening issue found, each refused with a 4xx
naming its field; after it ``db check`` passes and every row written before it is
byte-identical. The app is the real one on a real SQLite file, driven in-process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_system.api.app import ROUTERS, create_app
from memory_system.core.settings import Settings
from memory_system.ops import schema
from memory_system.runtime import Runtime
from memory_system.store.connection import Database

ADMIN_TOKEN = "admin-token-for-bad-input-0123456789"
AGENT = {"X-Agent-Id": "fuzzer", "X-Namespace": "fuzz"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
APPROVER_TOKEN = "msa_approver-token-for-bad-input-0123456789"  # for POST /admin/approvals/{id}


def _nest(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"k": value}
    return value


# What broke the service before, and its neighbours.
HOSTILE: list[Any] = [
    "\ud800",
    "ok\udfffok",
    "",
    "   ",
    "line\nbreak",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01",
    "²",  # a digit to str.isdigit, not to int()
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**100,
    -1,
    0,
    True,
    "0.5",
    math.nan,
    math.inf,
    None,
    [],
    {},
    _nest(40),
    _nest(300),
]
scalars = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
path_values = st.one_of(
    st.sampled_from(["1", str(2**63), str(2**64), "-1", "0", "²", "batch", "%ED%A0%80", "a%0Ab", "x" * 300]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(min_size=1, max_size=12).map(lambda t: quote(t, safe="")),
)
query_values = st.one_of(
    st.sampled_from(["", str(2**63), "-1", "0001-01-01T00:00:00+05:00", "²", "true", "nan", "x" * 300]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=12),
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, convertors removed: /v1/memories/{memory_id}
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def _operations() -> list[Operation]:
    found = []
    for module in ROUTERS:
        for route in module.router.routes:
            if not isinstance(route, APIRoute):
                continue
            template = route.path
            for param in route.dependant.path_params:
                template = template.replace(f"{{{param.name}:int}}", f"{{{param.name}}}")
                template = template.replace(f"{{{param.name}:path}}", f"{{{param.name}}}")
            for method in sorted(route.methods):
                found.append(
                    Operation(
                        method,
                        template,
                        tuple(p.name for p in route.dependant.path_params),
                        tuple(q.alias for q in route.dependant.query_params),
                    )
                )
    return found


OPERATIONS = _operations()
SESSION = "{session}"  # replaced by the seeded session's id
STAMP = "2024-05-01T12:00:00Z"
LATER = "2099-01-01T00:00:00Z"
MEMORY = {
    "content": "the build uses tabs",
    "kind": "fact",
    "tier": "long_term",
    "importance": 0.5,
    "metadata": {"source": "chat", "tags": ["a", 1]},
    "user_id": "u1",
    "occurred_at": STAMP,
    "expires_at": LATER,
    "visibility": "private",
}
FILTERS = {
    "kind": "fact",
    "tier": "long_term",
    "user_id": "u1",
    "occurred_after": STAMP,
    "occurred_before": LATER,
}
# A request each route accepts (path values, query, body). The property test changes one
# thing in it at a time, so that each hostile value gets past every other check to its own.
BASES: dict[str, tuple[dict[str, str], dict[str, str], Any]] = {
    "GET /health/live": ({}, {}, None),
    "GET /health/ready": ({}, {}, None),
    "GET /health/deep": ({}, {}, None),
    "GET /metrics": ({}, {}, None),
    "POST /v1/entities": (
        {},
        {},
        {"entities": [{"name": "carol", "entityType": "person", "observations": ["x"]}]},
    ),
    "GET /v1/entities": ({}, {"q": "alice", "limit": "5", "offset": "0"}, None),
    "GET /v1/entities/{name}": ({"name": "alice"}, {}, None),
    "DELETE /v1/entities": ({}, {}, {"entityNames": ["carol"]}),
    "DELETE /v1/entities/{name}": ({"name": "bob"}, {}, None),
    "POST /v1/relations": ({}, {}, {"relations": [{"from": "alice", "to": "bob", "relationType": "knows"}]}),
    "DELETE /v1/relations": (
        {},
        {},
        {"relations": [{"from": "alice", "to": "bob", "relationType": "knows"}]},
    ),
    "POST /v1/observations": ({}, {}, {"observations": [{"entityName": "alice", "contents": ["likes tea"]}]}),
    "DELETE /v1/observations": (
        {},
        {},
        {"deletions": [{"entityName": "alice", "observations": ["likes tea"]}]},
    ),
    "GET /v1/graph": ({}, {}, None),
    "POST /v1/graph/search": ({}, {}, {"query": "alice"}),
    "POST /v1/graph/open": ({}, {}, {"names": ["alice"]}),
    "POST /v1/sessions": ({}, {}, None),
    "GET /v1/sessions/{session_id}": ({"session_id": SESSION}, {}, None),
    "POST /v1/sessions/{session_id}/end": ({"session_id": SESSION}, {}, None),
    "GET /v1/sessions/{session_id}/state": ({"session_id": SESSION}, {}, None),
    "PUT /v1/sessions/{session_id}/state": (
        {"session_id": SESSION},
        {},
        {"state": {"step": 1}, "version": 0},
    ),
    "POST /v1/sessions/{session_id}/handoff": ({"session_id": SESSION}, {}, {"to_agent_id": "bob"}),
    "GET /admin/alerts": ({}, {}, None),
    "GET /admin/alerts/history": ({}, {"limit": "5", "since": "2024-01-01T00:00:00Z"}, None),
    "GET /admin/rollouts": ({}, {"flag": "USE_HIERARCHICAL_TIERS"}, None),
    "POST /admin/rollouts": ({}, {}, {"flag": "USE_ENHANCED_INJECTION", "steps": [0.1, 1], "hold": "1h"}),
    "POST /admin/rollouts/{flag}/pause": ({"flag": "USE_HIERARCHICAL_TIERS"}, {}, {"reason": "r"}),
    "POST /admin/rollouts/{flag}/resume": ({"flag": "USE_CROSS_AGENT_SHARING"}, {}, None),
    "POST /admin/rollouts/{flag}/abort": ({"flag": "USE_HIERARCHICAL_TIERS"}, {}, {"reason": "r"}),
    "GET /admin/overview": ({}, {}, None),
    "GET /admin/shadow": ({}, {}, None),
    "GET /admin/incidents": ({}, {"status": "open", "limit": "5"}, None),
    "GET /admin/incidents/{incident_id}": ({"incident_id": "1"}, {}, None),
    "GET /admin/approvals": ({}, {"all": "true"}, None),
    "POST /admin/approvals/{request_id}": ({"request_id": "1"}, {}, None),
    "GET /status": ({}, {}, None),
    "GET /status.json": ({}, {}, None),
    "GET /dashboard": ({}, {}, None),
    "GET /dashboard/{file_path}": ({"file_path": "ops.html"}, {}, None),
    "GET /admin/feature-flags": ({}, {}, None),
    "POST /admin/feature-flags": ({}, {}, {"USE_ENHANCED_INJECTION": True}),
    "GET /admin/feature-flags/events": ({}, {"limit": "5", "flag": "USE_ENHANCED_INJECTION"}, None),
    "GET /admin/feature-flags/stats": ({}, {"window_minutes": "5"}, None),
    "POST /v1/memories": ({}, {}, MEMORY),
    "POST /v1/memories/batch": ({}, {}, {"items": [MEMORY, {**MEMORY, "content": "another one"}]}),
    "GET /v1/memories": (
        {},
        {
            "kind": "fact",
            "tier": "long_term",
            "user_id": "u1",
            "created_after": STAMP,
            "limit": "5",
            "cursor": "9",
        },
        None,
    ),
    "GET /v1/memories/{memory_id}": ({"memory_id": "1"}, {}, None),
    "PATCH /v1/memories/{memory_id}": (
        {"memory_id": "1"},
        {},
        {k: v for k, v in MEMORY.items() if k != "tier"},
    ),
    "DELETE /v1/memories/{memory_id}": ({"memory_id": "1"}, {}, None),
    "POST /v1/memories/search": (
        {},
        {},
        {"query": "tabs", "k": 5, "filters": FILTERS, "sources": ["fulltext"]},
    ),
    "POST /v1/memories/{memory_id}/shares": (
        {"memory_id": "1"},
        {},
        {"agent_ids": ["bob"], "expires_at": LATER},
    ),
    "DELETE /v1/memories/{memory_id}/shares": ({"memory_id": "1"}, {}, {"agent_ids": ["bob"]}),
    "GET /v1/memories/{memory_id}/shares": ({"memory_id": "1"}, {}, None),
    "GET /v1/shares/events": ({}, {"memory_id": "1", "before_id": "9", "limit": "5"}, None),
    "GET /v1/preferences": ({}, {"user_id": "u1"}, None),
    "GET /v1/preferences/{key}": ({"key": "style"}, {"user_id": "u1"}, None),
    "PUT /v1/preferences/{key}": (
        {"key": "style"},
        {"user_id": "u1"},
        {"value": {"indent": "tabs", "width": 4}},
    ),
    "DELETE /v1/preferences/{key}": ({"key": "style"}, {"user_id": "u1"}, None),
    "GET /v1/preferences/{key}/history": (
        {"key": "style"},
        {"user_id": "u1", "before_id": "9", "limit": "5"},
        None,
    ),
    "POST /v1/code-patterns": (
        {},
        {},
        {"language": "python", "name": "retry", "description": "with backoff", "example": "for i in ..."},
    ),
    "GET /v1/code-patterns": ({}, {"language": "python", "limit": "5"}, None),
    "GET /v1/code-patterns/search": ({}, {"q": "retry", "language": "python", "limit": "5"}, None),
    "GET /v1/code-patterns/{pattern_id}": ({"pattern_id": "1"}, {}, None),
    "DELETE /v1/code-patterns/{pattern_id}": ({"pattern_id": "1"}, {}, None),
    "GET /v1/code-patterns/{pattern_id}/history": (
        {"pattern_id": "1"},
        {"before_id": "9", "limit": "5"},
        None,
    ),
    "GET /v1/typed-stores/events": ({}, {"store": "preference", "agent_id": "fuzzer", "limit": "5"}, None),
    "POST /v1/inject": (
        {},
        {},
        {
            "query": "how do we indent",
            "session_id": SESSION,
            "token_budget": 500,
            "format": "json",
            "user_id": "u1",
        },
    ),
}


def _served(db: Path, tmp_path: Path) -> tuple[Runtime, TestClient]:
    runtime = Runtime(
        Settings(
            db_path=db,
            dev=True,
            config_path=tmp_path / "none.json",
            admin_token=ADMIN_TOKEN,
            embedder="none",
        )
    )
    return runtime, TestClient(create_app(runtime), raise_server_exceptions=False)


def _seed(client: TestClient) -> str:
    """Something for every route to find; returns the session's id."""
    client.post("/v1/memories", headers=AGENT, json=MEMORY)
    client.post(
        "/v1/entities",
        headers=AGENT,
        json={"entities": [{"name": n, "entityType": "person"} for n in ("alice", "bob")]},
    )
    client.put("/v1/preferences/style?user_id=u1", headers=AGENT, json={"value": "tabs"})
    client.post("/v1/code-patterns", headers=AGENT, json=BASES["POST /v1/code-patterns"][2])
    client.post("/v1/memories/1/shares", headers=AGENT, json={"agent_ids": ["bob"]})
    # a running rollout (tiers) and a paused one (sharing), their flags back on by hand
    for flag in ("USE_HIERARCHICAL_TIERS", "USE_CROSS_AGENT_SHARING"):
        client.post("/admin/rollouts", headers=ADMIN, json={"flag": flag, "steps": [0.1, 1]})
    client.post("/admin/rollouts/USE_CROSS_AGENT_SHARING/pause", headers=ADMIN)
    back_on = {"USE_HIERARCHICAL_TIERS": 1, "USE_CROSS_AGENT_SHARING": 1}
    client.post("/admin/feature-flags", headers=ADMIN, json=back_on)
    from memory_system.ops.incidents import open_incident  # for /admin/incidents/{id}

    runtime = client.app.state.runtime
    open_incident(
        runtime.db, incident_type="drill", severity="SEV3", title="t", reason="r", opened_by="fuzzer"
    )
    from memory_system.auth.agent_tokens import hash_token  # for /admin/approvals/{id}
    from memory_system.auth.approvers import ApproverService
    from memory_system.ops.approvals import ROLLBACK_C, ApprovalService
    from memory_system.store import approvers as approver_store

    with runtime.db.write() as conn:
        approver_store.insert(conn, hash_token(APPROVER_TOKEN), "fuzz manager", "manager")
    ApprovalService(runtime.db, ApproverService(runtime.db)).request(
        action=ROLLBACK_C, reason="fuzz", requested_by="fuzzer"
    )
    session_id: str = client.post("/v1/sessions", headers=AGENT).json()["session_id"]
    return session_id


@dataclass
class Served:
    client: TestClient
    session_id: str


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One app for the whole property test: what one example writes, the next may trip over."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    db = tmp_path / "fuzz.db"
    schema.migrate(db)
    runtime, client = _served(db, tmp_path)
    with client:
        yield Served(client, _seed(client))
    runtime.close()


def _fill(value: Any, session_id: str) -> Any:
    if value == SESSION:
        return session_id
    if isinstance(value, dict):
        return {k: _fill(v, session_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fill(v, session_id) for v in value)
    return value


def _send(client: TestClient, op: Operation, path: dict[str, str], query: dict[str, str], body: Any) -> Any:
    url = op.path.format(**{name: path.get(name, "1") for name in op.path_params})
    headers = {**(ADMIN if op.path.startswith("/admin") else AGENT)}
    if op.path.startswith("/admin/approvals/"):
        headers["X-Approver-Token"] = APPROVER_TOKEN
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if op.has_body and body is not None:
        # ensure_ascii: a lone surrogate travels as the \\ud800 escape a JSON client would send
        kwargs["content"] = json.dumps(body, allow_nan=True).encode()
        headers["Content-Type"] = "application/json"
    return client.request(op.method, url, **kwargs)


def _slots(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value one could put something else: each key's value, each item."""
    found = [at]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _slots(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _slots(child, (*at, index))
    return found


def _put(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    if not at:
        return new
    head, rest = at[0], at[1:]
    if isinstance(value, dict):
        return {**value, head: _put(value[head], rest, new)}
    return [_put(v, rest, new) if i == head else v for i, v in enumerate(value)]


hostile = st.one_of(st.sampled_from(HOSTILE), scalars, json_values)


@st.composite
def requests(draw: st.DrawFn, op: Operation, session_id: str) -> tuple[dict[str, str], dict[str, str], Any]:
    """The route's base request with one thing changed: a body value, a key, a path or query value."""
    path, query, body = _fill(BASES[str(op)], session_id)
    where = draw(st.sampled_from(["body", "key", "path", "query", "whole"]))
    if where == "body" and body is not None:
        slot = draw(st.sampled_from(_slots(body)[1:] or [()]))
        body = _put(body, slot, draw(hostile))
    elif where == "key" and isinstance(body, dict):
        body = {**body, draw(st.sampled_from(["\ud800", "", "x" * 300, "content", "extra"])): draw(hostile)}
    elif where == "path" and op.path_params:
        path = {**path, draw(st.sampled_from(op.path_params)): draw(path_values)}
    elif where == "query" and op.query_params:
        query = {**query, draw(st.sampled_from(op.query_params)): draw(query_values)}
    elif where == "whole" and op.has_body:
        body = draw(json_values)
    return path, query, body


def test_every_route_has_a_base_request() -> None:
    assert sorted(BASES) == sorted(str(op) for op in OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_each_base_request_is_accepted(op: Operation, tmp_path: Path) -> None:
    """The bases are real requests: each reaches its service (else the fuzzing tests nothing)."""
    db = tmp_path / "base.db"
    schema.migrate(db)
    runtime, client = _served(db, tmp_path)
    with client:
        session_id = _seed(client)
        path, query, body = _fill(BASES[str(op)], session_id)
        response = _send(client, op, path, query, body)
    runtime.close()
    assert response.status_code < 300, response.text[:500]


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_no_request_answers_a_5xx(op: Operation, fuzzed: Served) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI is not a lottery
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(requests(op, fuzzed.session_id))
    def check(drawn: tuple[dict[str, str], dict[str, str], Any]) -> None:
        path, query, body = drawn
        response = _send(fuzzed.client, op, path, query, body)
        assert response.status_code < 500, (str(op), drawn, response.status_code, response.text[:500])
        if response.status_code >= 400:
            payload = response.json()
            assert payload["error"] and payload["request_id"], payload

    check()


def test_every_route_of_the_app_is_fuzzed(fuzzed: Served) -> None:
    """A route mounted some other way than through ROUTERS would escape the property test."""
    documented = {
        (method.upper(), path)
        for path, item in fuzzed.client.app.openapi()["paths"].items()
        for method in item
    }
    assert documented <= {(op.method, op.path) for op in OPERATIONS}


# --- the battery: the hardening issue's examples, and nothing changed after them -------------

SURROGATE = '"x\\ud800y"'  # raw JSON text: the escape, as a client sends it


@dataclass(frozen=True)
class Bad:
    method: str
    url: str
    body: str | None = None  # raw JSON text
    field: str | None = None  # the field the refusal must name (in its body text)
    status: int = 422
    headers: tuple[tuple[str, str], ...] = ()


def _battery(memory_id: int, session_id: str) -> list[Bad]:
    deep_meta = '{"content": "deep", "metadata": ' + '{"k": ' * 250 + "1" + "}" * 250 + "}"
    deeper = '{"content": "deeper", "metadata": ' + '{"k": ' * 5000 + "1" + "}" * 5000 + "}"
    return [
        # 1. nested values
        Bad("POST", "/v1/memories", deep_meta, "metadata"),
        Bad("POST", "/v1/memories", deeper, "body"),
        Bad("POST", "/v1/memories/batch", '{"items": [' + deep_meta + "]}", "metadata"),
        Bad(
            "PUT",
            f"/v1/sessions/{session_id}/state",
            '{"state": ' + "[" * 300 + "]" * 300 + ', "version": 1}',
        ),
        Bad("PUT", "/v1/preferences/style?user_id=u1", '{"value": ' + "[" * 100 + "]" * 100 + "}", "value"),
        # 2. values Python or SQLite cannot hold
        Bad("POST", "/v1/memories", '{"content": ' + SURROGATE + "}", "content"),
        Bad("POST", "/v1/memories", '{"content": "ok", "metadata": {' + SURROGATE + ": 1}}", "metadata"),
        Bad("PATCH", f"/v1/memories/{memory_id}", '{"content": ' + SURROGATE + "}", "content"),
        Bad("POST", "/v1/entities", '{"entities": [{"name": ' + SURROGATE + ', "entityType": "p"}]}', "name"),
        Bad("PUT", "/v1/preferences/style?user_id=u1", '{"value": ' + SURROGATE + "}", "value"),
        Bad("POST", "/v1/inject", '{"query": ' + SURROGATE + "}", "query"),
        Bad(
            "POST",
            "/v1/memories",
            '{"content": "t", "occurred_at": "0001-01-01T00:00:00+05:00"}',
            "occurred_at",
        ),
        Bad(
            "POST",
            "/v1/memories",
            '{"content": "t", "expires_at": "9999-12-31T23:59:59-05:00"}',
            "expires_at",
        ),
        Bad("GET", "/v1/memories?created_after=0001-01-01T00:00:00%2B05:00", None, "created_after"),
        Bad(
            "POST",
            f"/v1/memories/{memory_id}/shares",
            '{"agent_ids": ["bob"], "expires_at": "9999-12-31T23:59:59-05:00"}',
            "expires_at",
        ),
        Bad("GET", f"/v1/memories/{2**63}", None, "memory_id"),
        Bad("DELETE", f"/v1/memories/{2**64}", None, "memory_id"),
        Bad("GET", f"/v1/memories?cursor={2**63}", None, "cursor"),
        Bad("GET", f"/v1/entities?offset={2**63}", None, "offset"),
        Bad("GET", f"/v1/code-patterns/{2**63}", None, "pattern_id"),
        Bad(
            "PUT",
            f"/v1/sessions/{session_id}/state",
            '{"state": {}, "version": ' + str(2**63) + "}",
            "version",
        ),
        Bad(
            "PUT",
            f"/v1/sessions/{session_id}/state",
            '{"state": {}}',
            "If-Match",
            headers=(("If-Match", '"²"'),),
        ),
        Bad("POST", "/v1/memories", '{"content": "big", "metadata": {"n": ' + str(2**63) + "}}", "metadata"),
        # 8. lax values
        Bad("POST", "/v1/memories", '{"content": "t", "importance": true}', "importance"),
        Bad("POST", "/v1/memories", '{"content": "t", "importance": "0.5"}', "importance"),
        Bad("PATCH", f"/v1/memories/{memory_id}", '{"importance": "0.5"}', "importance"),
        Bad("PATCH", f"/v1/memories/{memory_id}", '{"importance": true}', "importance"),
        Bad("POST", "/v1/memories", '{"content": "t", "occurred_at": ""}', "occurred_at"),
        Bad("POST", f"/v1/sessions/{session_id}/handoff", '{"to_agent_id": "bob\\nmallory"}', "to_agent_id"),
        Bad("POST", "/v1/memories", '{"content": "t", "importance": NaN}', "importance"),
        # 9. the route table
        Bad("PATCH", "/v1/memories/batch", "{}", None, 405),
    ]


def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in rowid order: byte-identical means these compare equal."""
    with Database(db) as database:
        conn = database.reader()
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE '%fts%' ORDER BY name"
            )
        ]
        return {t: [tuple(r) for r in conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid')] for t in tables}


def test_the_issues_examples_are_refused_by_field_and_change_nothing(tmp_path: Path, cli: Any) -> None:
    db = tmp_path / "battery.db"
    schema.migrate(db)
    runtime, client = _served(db, tmp_path)
    with client:
        memory_id = client.post(
            "/v1/memories", headers=AGENT, json={"content": "written before", "metadata": {"a": [1]}}
        ).json()["id"]
        session_id = client.post("/v1/sessions", headers=AGENT).json()["session_id"]
        assert (
            client.put(
                f"/v1/sessions/{session_id}/state", headers=AGENT, json={"state": {"s": 1}, "version": 0}
            )
        ).status_code == 200
        client.put("/v1/preferences/style?user_id=u1", headers=AGENT, json={"value": "tabs"})
        client.post(
            "/v1/entities", headers=AGENT, json={"entities": [{"name": "alice", "entityType": "person"}]}
        )
        before = _dump(db)
        for bad in _battery(memory_id, session_id):
            extra = {name: value.encode("latin-1") for name, value in bad.headers}  # bytes on the wire
            headers: dict[str, Any] = {**AGENT, "Content-Type": "application/json", **extra}
            content = bad.body.encode() if bad.body is not None else None
            response = client.request(bad.method, bad.url, content=content, headers=headers)
            assert response.status_code == bad.status, (bad, response.text[:300])
            if bad.field:
                assert bad.field in response.text, (bad, response.text[:300])
            if bad.status == 405:
                assert "POST" in response.headers["allow"], response.headers
        # the namespace still answers for every agent: a refused write left nothing to trip over
        assert client.get("/v1/memories", headers=AGENT).status_code == 200
        assert (
            client.get("/v1/memories", headers={"X-Agent-Id": "other", "X-Namespace": "fuzz"}).status_code
            == 200
        )
    runtime.close()
    assert _dump(db) == before
    checked = cli("db", "check", "--db", str(db))
    assert checked.returncode == 0, checked.stdout + checked.stderr
