"""docs/flags.md: every flag in its table, and the three rollback methods run as written
(curl against a live server, the CLI with the service down, the config file reloaded)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.service import FlagService
from memory_system.ops import schema
from memory_system.store.connection import Database

DOC = Path(__file__).resolve().parents[2] / "docs" / "flags.md"
TOKEN = "runbook-admin-token-0123456789"


def _blocks() -> list[str]:
    section = DOC.read_text().split("## Rolling a flag back", 1)[1]
    return [textwrap.dedent(b) for b in re.findall(r"```bash\n(.+?)\n\s*```", section, re.DOTALL)]


def _bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    proc = subprocess.run(
        ["bash", "-e", "-c", script], check=False, capture_output=True, text=True, env=full_env, timeout=120
    )
    assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_the_table_names_every_flag() -> None:
    table = DOC.read_text().split("## What each flag switches", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert rows == set(FLAG_NAMES)


def test_the_doc_has_the_three_methods() -> None:
    api, cli, config = _blocks()[:3]
    assert "curl" in api and "memory-system flags rollback" in cli and '"featureFlags"' in config


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_method_1_admin_api_with_curl(live_server: Callable[..., str]) -> None:
    url = live_server(admin_token=TOKEN)
    proc = _bash(_blocks()[0].replace("http://127.0.0.1:8080", url), MEMORY_SYSTEM_ADMIN_TOKEN=TOKEN)
    docs, at, decoder = [], 0, json.JSONDecoder()
    while at < len(proc.stdout.rstrip()):  # curl prints the three bodies back to back
        doc, at = decoder.raw_decode(proc.stdout, at)
        docs.append(doc)
    assert len(docs) == 3
    shown = docs[-1]
    assert {name: f["effective"] for name, f in shown["flags"].items()} == dict.fromkeys(FLAG_NAMES, 0.0)
    events = httpx.get(
        url + "/admin/feature-flags/events", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).json()["events"]
    assert ("USE_ENHANCED_INJECTION", "alice") in {(e["flag"], e["actor"]) for e in events}


def test_method_2_cli_with_the_service_down(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    schema.migrate(db)
    _bash(_blocks()[1], MEMORY_SYSTEM_DB=str(db), MEMORY_SYSTEM_CONFIG=str(tmp_path / "none.json"))
    with Database(db) as database:
        flags = FlagService(database, {}, None)
        assert flags.values() == dict.fromkeys(FLAG_NAMES, 0.0)
        assert {e["actor"] for e in flags.events()} == {"alice"}


def test_method_3_config_file_reload(migrated_db: Path, tmp_path: Path) -> None:
    block = _blocks()[2]
    content = re.search(r"<<'JSON'\n(.+?)\nJSON", block, re.DOTALL)
    assert content is not None and "systemctl reload" in block
    config = tmp_path / "config.json"
    with Database(migrated_db) as database:
        flags = FlagService(database, {}, config)
        assert flags.value("USE_ENHANCED_INJECTION") == 1.0
        config.write_text(content.group(1))
        flags.reload_config()  # what SIGHUP does in the service
        assert flags.value("USE_ENHANCED_INJECTION") == 0.0


def test_the_openfeature_example_runs_and_agrees_with_the_service(migrated_db: Path) -> None:
    from openfeature import api

    section = DOC.read_text().split("## Evaluating the flags from another service (OpenFeature)", 1)[1]
    (example,) = re.findall(r"```python\n(.+?)\n```", section.split("\n## ", 1)[0], re.DOTALL)
    assert len(example.splitlines()) == 6
    with Database(migrated_db) as database:
        flags = FlagService(database, {}, None)
        flags.set("USE_ENHANCED_INJECTION", 0.5, actor="alice", source="cli")
        sessions = [f"session-{i}" for i in range(40)]
        try:
            answers = []
            for session_id in sessions:
                namespace: dict[str, object] = {"session_id": session_id}
                exec(example.replace("/var/lib/memory-system/memory.db", str(migrated_db)), namespace)
                answers.append(namespace["on"])
        finally:
            api.shutdown()
        assert answers == [flags.enabled("USE_ENHANCED_INJECTION", s) for s in sessions]
        assert set(answers) == {True, False}
