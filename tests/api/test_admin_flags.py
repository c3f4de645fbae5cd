"""The admin feature-flag API on a real server: auth, each source, all-or-nothing, 1 s propagation."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.store.connection import Database

INJ, SHARE, TIERS = "USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING", "USE_HIERARCHICAL_TIERS"
TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
FLAGS = "/admin/feature-flags"


@pytest.fixture
def server(live_server: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TIERS, "0.5")  # the env source, read when the service builds its flags
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"featureFlags": {SHARE: 0.2}}))
    return live_server(admin_token=TOKEN, config_path=config, db_path=tmp_path / "server.db")


def _get(url: str, path: str = FLAGS, **params: Any) -> Any:
    resp = httpx.get(url + path, headers=ADMIN, params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _post(url: str, body: object, actor: str | None = None) -> httpx.Response:
    headers = {**ADMIN, **({"X-Actor": actor} if actor else {})}
    return httpx.post(
        url + FLAGS, headers=headers, content=body if isinstance(body, str) else json.dumps(body), timeout=10
    )


def test_admin_endpoints_need_the_admin_token(live_server: Callable[..., str], server: str) -> None:
    unconfigured = live_server()
    for path in (FLAGS, f"{FLAGS}/events", f"{FLAGS}/stats"):
        resp = httpx.get(unconfigured + path, headers=ADMIN, timeout=10)
        assert resp.status_code == 403 and "MEMORY_SYSTEM_ADMIN_TOKEN" in resp.text
        assert httpx.get(server + path, timeout=10).status_code == 401
        assert (
            httpx.get(server + path, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
        )
        assert httpx.get(server + path, headers=ADMIN, timeout=10).status_code == 200
    resp = httpx.post(
        server + FLAGS, json={INJ: False}, headers={"Authorization": "Bearer wrong"}, timeout=10
    )
    assert resp.status_code == 401
    assert _get(server)["flags"][INJ]["effective"] == 1.0


def test_every_source_shows_and_the_most_restrictive_wins(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    flags = _get(server)["flags"]
    assert flags[TIERS]["sources"] == {"env": 0.5, "config_file": None, "database": None}
    assert flags[SHARE]["sources"] == {"env": None, "config_file": 0.2, "database": None}
    assert (flags[TIERS]["effective"], flags[SHARE]["effective"], flags[INJ]["effective"]) == (0.5, 0.2, 1.0)

    with caplog.at_level(logging.INFO, logger="memory_system.flags"):
        resp = _post(server, {INJ: False, SHARE: "true", TIERS: 0.01}, actor="bob")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {c["flag"]: (c["old_value"], c["new_value"]) for c in body["changes"]} == {
        INJ: (None, 0.0),
        SHARE: (None, 1.0),
        TIERS: (None, 0.01),
    }
    assert {k: v["effective"] for k, v in body["flags"].items()} == {INJ: 0.0, SHARE: 0.2, TIERS: 0.01}
    lines = [r for r in caplog.records if r.getMessage() == "feature_flag_changed"]
    assert sorted((r.flag, r.source, r.actor) for r in lines) == [  # type: ignore[attr-defined]
        (SHARE, "api", "bob"),
        (INJ, "api", "bob"),
        (TIERS, "api", "bob"),
    ]

    events = _get(server, f"{FLAGS}/events")["events"]
    assert {(e["flag"], e["new_value"], e["source"], e["actor"]) for e in events} == {
        (INJ, 0.0, "api", "bob"),
        (SHARE, 1.0, "api", "bob"),
        (TIERS, 0.01, "api", "bob"),
    }
    assert [e["flag"] for e in _get(server, f"{FLAGS}/events", flag=INJ, limit=5)["events"]] == [INJ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({INJ: False, "USE_TURBO": True}, "USE_TURBO"),
        ({INJ: False, SHARE: "maybe"}, SHARE),
        ({INJ: False, TIERS: 2}, TIERS),
        ({}, None),
        ([INJ], None),
        ('{"USE_ENHANCED_INJECTION": fal', None),
    ],
)
def test_bad_input_is_refused_naming_it_and_changes_nothing(
    server: str, body: object, field: str | None
) -> None:
    before = _get(server)["flags"]
    resp = _post(server, body)
    assert resp.status_code == 422, resp.text
    if field:
        assert resp.json()["detail"]["field"] == field
        assert field in resp.json()["detail"]["message"]
    assert _get(server)["flags"] == before
    assert _get(server, f"{FLAGS}/events")["events"] == []


def test_a_cli_change_reaches_the_running_server_within_one_second(
    server: str, tmp_path: Path, cli: Any
) -> None:
    assert _get(server)["flags"][INJ]["effective"] == 1.0
    cli("flags", "set", INJ, "false", "--db", str(tmp_path / "server.db"), "--actor", "oncall", check=True)
    deadline = time.monotonic() + 1.0
    while _get(server)["flags"][INJ]["effective"] != 0.0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _get(server)["flags"][INJ]["effective"] == 0.0, (
        "the CLI change did not reach the server within 1 s"
    )
    assert _get(server, f"{FLAGS}/events")["events"][0]["actor"] == "oncall"


def test_stats_drop_to_zero_when_a_flag_goes_false(server: str, tmp_path: Path) -> None:
    db = Database(tmp_path / "server.db")
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO sessions (id, agent_id) VALUES (?, 'a')", [(f"s{i}",) for i in range(500)]
        )
    db.close()
    stats = _get(server, f"{FLAGS}/stats")
    assert stats["active_sessions"] == 500
    assert stats["flags"][INJ]["enabled_sessions"] == 500
    assert 0 < stats["flags"][TIERS]["enabled_sessions"] < 500  # env says 50%
    assert _post(server, {INJ: "false"}).status_code == 200
    after = _get(server, f"{FLAGS}/stats", window_minutes=60)["flags"][INJ]
    assert (after["enabled_sessions"], after["percent_enabled"]) == (0, 0.0)
    assert after["seconds_since_last_change"] is not None
    bad = httpx.get(server + f"{FLAGS}/stats", headers=ADMIN, params={"window_minutes": -1}, timeout=10)
    assert bad.status_code == 422
