"""Option B end to end: the current release on a database with data, ``rollback b`` to the
older release built from git history, ready with ``schema: ahead`` and the data intact, and
forward again; each time a real service subprocess, stopped by its pid with a drain."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.ops import releases, service_control
from tests.conftest import free_port

ADMIN = "e2e-admin-token-0123456789abcdef"


@pytest.fixture
def running_current(built_releases: Any, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The current release started from ``<releases>/current``, as the systemd unit does."""
    directory = built_releases.directory
    releases.use(directory, built_releases.current.name)
    db = tmp_path / "data" / "memory.db"
    db.parent.mkdir()
    config = tmp_path / "config.json"
    config.write_text("{}")
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("USE_", "MEMORY_SYSTEM_", "PYTHON"))}
    env = {
        **clean,
        "HOME": str(tmp_path / "home"),
        "MEMORY_SYSTEM_EMBEDDER": "none",
        "MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN,
    }
    args = [str(directory / "current" / "bin" / "memory-system"), "serve", "--dev", "--host", "127.0.0.1"]
    args += [
        "--port",
        str(port),
        "--db",
        str(db),
        "--config",
        str(config),
        "--log-file",
        str(tmp_path / "app.log"),
    ]
    with open(tmp_path / "console.log", "ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        service_control.wait_ready(url, 60, proc, tmp_path / "console.log")
        yield db, url
    finally:
        service_control.stop_service(db, timeout_s=20)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


MECHANICS = [
    "find the target release",
    "check it runs on this schema",
    "read how the service was started",
    "switch current",
    "restart",
    "wait for ready",
]


def _rollback(cli: Callable[..., Any], to: str, db: Path, directory: Path) -> dict[str, Any]:
    """The steps up to ready must pass here; verify B's verdict is asserted at the end, so a
    failed check still lets the roll forward run (and the service is never left behind)."""
    done = cli("rollback", "b", "--to", to, "--db", str(db), "--dir", str(directory), "--yes", "--json")
    result: dict[str, Any] = json.loads(done.stdout)
    steps = result["steps"]
    assert [s["name"] for s in steps[: len(MECHANICS)]] == MECHANICS, json.dumps(result, indent=2)
    assert all(s["ok"] for s in steps[: len(MECHANICS)]), json.dumps(steps, indent=2)
    assert (done.returncode == 0) == result["ok"]
    return result


def _failed_checks(result: dict[str, Any]) -> list[str]:
    return [f"{c['name']}: {c['detail']}" for c in result["checks"] if not c["ok"]]


@pytest.mark.timeout(600)
def test_rollback_b_to_the_older_release_and_forward_again(
    built_releases: Any, running_current: tuple[Path, str], cli: Callable[..., Any]
) -> None:
    db, url = running_current
    directory, old, current = built_releases.directory, built_releases.old, built_releases.current
    assert old.expected_schema <= current.expected_schema
    entity = {"entities": [{"name": "Rome", "entityType": "city", "observations": ["capital"]}]}
    assert httpx.post(url + "/v1/entities", json=entity).status_code == 201
    memory = httpx.post(url + "/v1/memories", json={"content": "staging runs Postgres 16", "kind": "fact"})
    assert memory.status_code == 201, memory.text
    memory_id = memory.json()["id"]

    back = _rollback(cli, old.version, db, directory)
    assert back["target"] == old.name and back["downtime_s"] > 0
    ready = httpx.get(url + "/health/ready").json()
    assert ready["status"] == "ready" and ready["version"] == old.version
    assert ready["schema"] == ("ahead" if old.expected_schema < current.expected_schema else "current")
    assert (directory / "current").resolve().name == old.name
    _data_intact(url, memory_id)

    forward = _rollback(cli, current.version, db, directory)
    assert forward["target"] == current.name
    ready = httpx.get(url + "/health/ready").json()
    assert ready["version"] == current.version and ready["schema"] == "current"
    _data_intact(url, memory_id)
    assert back["ok"] and forward["ok"], {"back": _failed_checks(back), "forward": _failed_checks(forward)}
    assert [s["name"] for s in forward["steps"]][-2:] == ["verify B", "downtime"]


def _data_intact(url: str, memory_id: str) -> None:
    names = [e["name"] for e in httpx.get(url + "/v1/graph").json()["entities"]]
    assert "Rome" in names
    got = httpx.get(f"{url}/v1/memories/{memory_id}")
    assert got.status_code == 200 and got.json()["content"] == "staging runs Postgres 16"
