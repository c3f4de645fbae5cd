"""Identity against a real ``memory-system serve`` subprocess: admin token, agent tokens, --dev."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from memory_system.ops import schema

# Generous timeouts: the test machine is shared and loaded; these are not speed checks.
http_get = partial(httpx.get, timeout=30)
http_post = partial(httpx.post, timeout=30)
http_request = partial(httpx.request, timeout=30)

ADMIN = "admin-token-for-tests-0123456789"


def _issue(cli: Any, db: Any, agent: str, namespace: str) -> str:
    out = cli("tokens", "create", "--agent", agent, "--namespace", namespace, "--db", str(db), check=True)
    return str(out.stdout.strip())


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_endpoints_without_a_configured_token_say_how_to_configure_one(serve_process: Any) -> None:
    served = serve_process()
    response = http_get(served.url + "/admin/feature-flags", headers=_auth("anything-at-all-123"))
    assert response.status_code == 403
    assert "MEMORY_SYSTEM_ADMIN_TOKEN" in response.json()["detail"]
    assert "adminToken" in response.json()["detail"]


def test_admin_calls_without_with_a_wrong_and_with_the_right_token(serve_process: Any) -> None:
    served = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    url = served.url + "/admin/feature-flags"
    missing = http_get(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert http_get(url, headers=_auth(ADMIN + "x")).status_code == 401
    assert http_get(url, headers=_auth(ADMIN[:-1])).status_code == 401
    assert http_get(url, headers={"Authorization": ADMIN}).status_code == 401  # no scheme
    assert http_get(url, headers=_auth(ADMIN)).status_code == 200
    # refused writes changed nothing
    assert (
        http_post(
            url, json={"USE_ENHANCED_INJECTION": False}, headers=_auth("wrong-token-0123456789")
        ).status_code
        == 401
    )
    flags = http_get(url, headers=_auth(ADMIN)).json()["flags"]
    assert flags["USE_ENHANCED_INJECTION"]["sources"]["database"] is None
    assert ADMIN not in served.log_file.read_text()


def test_admin_token_from_the_config_file(serve_process: Any) -> None:
    served = serve_process(config={"adminToken": ADMIN})
    assert http_get(served.url + "/admin/feature-flags", headers=_auth(ADMIN)).status_code == 200


def test_an_agent_token_cannot_read_or_write_as_another_agent(
    serve_process: Any, cli: Any, tmp_path: Any
) -> None:
    db = tmp_path / "auth" / "memory.db"
    schema.migrate(db)
    alice = _issue(cli, db, "alice", "p1")
    bob = _issue(cli, db, "bob", "p1")
    carol = _issue(cli, db, "carol", "p2")
    served = serve_process(db=db)
    url = served.url

    assert http_post(url + "/v1/sessions").status_code == 401
    assert http_post(url + "/v1/sessions", headers=_auth("mst_not-a-real-token")).status_code == 401

    session = http_post(url + "/v1/sessions", headers=_auth(alice))
    assert session.status_code == 201
    assert session.json()["agent_id"] == "alice" and session.json()["namespace"] == "p1"
    sid = session.json()["session_id"]

    # bob (same namespace) cannot see or end alice's session
    assert http_get(f"{url}/v1/sessions/{sid}", headers=_auth(bob)).status_code == 404
    assert http_post(f"{url}/v1/sessions/{sid}/end", headers=_auth(bob)).status_code == 404
    assert http_get(f"{url}/v1/sessions/{sid}", headers=_auth(alice)).json()["ended_at"] is None

    # claiming another identity next to a token is refused, whatever the route
    for headers in ({"X-Agent-Id": "alice"}, {"X-Namespace": "p2"}):
        refused = http_post(url + "/v1/sessions", headers={**_auth(bob), **headers})
        assert refused.status_code == 403, refused.text
    refused = http_post(url + "/v1/sessions", headers=_auth(bob), json={"agent_id": "alice"})
    assert refused.status_code == 403 and "another agent" in refused.json()["detail"]

    # entities: namespace p1 is invisible and unwritable to carol's p2 token
    created = http_post(
        url + "/v1/entities",
        headers=_auth(alice),
        json={"entities": [{"name": "Rome", "entityType": "city", "observations": ["old"]}]},
    )
    assert created.status_code == 201, created.text
    assert http_get(url + "/v1/entities/Rome", headers=_auth(carol)).status_code == 404
    assert http_get(url + "/v1/graph", headers=_auth(carol)).json()["entities"] == []
    assert (
        http_get(url + "/v1/entities/Rome", headers={**_auth(carol), "X-Namespace": "p1"}).status_code == 403
    )
    sneaky = http_post(
        url + "/v1/entities",
        headers=_auth(carol),
        json={"namespace": "p1", "entities": [{"name": "Paris", "entityType": "city"}]},
    )
    assert sneaky.status_code == 403
    names = [e["name"] for e in http_get(url + "/v1/graph", headers=_auth(alice)).json()["entities"]]
    assert names == ["Rome"]
    assert http_get(url + "/v1/entities/Rome", headers=_auth(bob)).status_code == 200  # same project

    # a revoked token is refused from the next request on, with the service running
    token_id = next(
        t["id"]
        for t in __import__("json").loads(cli("tokens", "list", "--json", "--db", str(db), check=True).stdout)
        if t["agent_id"] == "bob"
    )
    cli("tokens", "revoke", token_id, "--db", str(db), check=True)
    assert http_post(url + "/v1/sessions", headers=_auth(bob)).status_code == 401
    log = served.log_file.read_text()
    assert alice not in log and bob not in log and carol not in log


def test_dev_mode_uses_headers_and_defaults(serve_process: Any) -> None:
    served = serve_process(dev=True)
    default = http_post(served.url + "/v1/sessions").json()
    assert (default["agent_id"], default["namespace"]) == ("dev", "default")
    named = http_post(served.url + "/v1/sessions", headers={"X-Agent-Id": "a1", "X-Namespace": "p9"}).json()
    assert (named["agent_id"], named["namespace"]) == ("a1", "p9")
    other = http_get(
        f"{served.url}/v1/sessions/{named['session_id']}", headers={"X-Agent-Id": "a2", "X-Namespace": "p9"}
    )
    assert other.status_code == 404


def test_dev_mode_refuses_a_non_loopback_address(cli: Any, tmp_path: Any) -> None:
    (tmp_path / "none.json").write_text("{}")
    proc = cli(
        "serve",
        "--dev",
        "--host",
        "0.0.0.0",
        "--port",
        "1",
        "--db",
        str(tmp_path / "x" / "m.db"),
        "--config",
        str(tmp_path / "none.json"),
    )
    assert proc.returncode == 1
    assert "loopback" in proc.stderr
    assert not (tmp_path / "x" / "m.db").exists()  # refused before touching anything
