"""The shipped systemd unit agrees with the service: signals, paths, options that exist."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "memory-system.service"


def _service() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    section = None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_signals_and_restart_policy() -> None:
    service = _service()
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["KillSignal"] == ["SIGTERM"] and service["Restart"] == ["on-failure"]
    from memory_system.core.settings import Settings

    default = Settings(db_path=Path("x"))
    assert int(service["TimeoutStopSec"][0]) > default.drain_timeout_s + default.shutdown_delay_s


def test_paths_and_options_match_the_service(cli: Any) -> None:
    service = _service()
    env = dict(e.split("=", 1) for e in service["Environment"])
    assert env["MEMORY_SYSTEM_DB"] == "/var/lib/memory-system/memory.db"
    assert env["MEMORY_SYSTEM_CONFIG"] == "/etc/memory-system/config.json"
    args = shlex.split(service["ExecStart"][0])
    assert args[1] == "serve" and "--dev" not in args
    assert args[args.index("--log-file") + 1] == "/var/log/memory-system/app.log"
    help_text = cli("serve", "--help", check=True).stdout
    assert all(a in help_text for a in args if a.startswith("--"))
