"""Shared fixtures: real SQLite files in a tmp dir, the CLI run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def migrated_db(db_file: Path) -> Path:
    from memory_system.ops import schema

    schema.migrate(db_file)
    return db_file


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    """Run ``memory-system`` as a subprocess, the way an operator would."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "HOME": str(tmp_path / "home"), "COLUMNS": "200", **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "memory_system", *args],
            capture_output=True, text=True, input=input, env=full_env, timeout=240,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"memory-system {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    yield run


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start the real app under uvicorn in a thread on a free loopback port; yields a factory.

    ``start(**settings_overrides)`` returns the base URL; the server and runtime are shut
    down at teardown. For lifecycle behaviour (signals), tests run ``memory-system serve``
    as a subprocess instead.
    """
    import threading
    import time

    import httpx
    import uvicorn

    from memory_system.api.app import create_app
    from memory_system.ops import schema
    from memory_system.runtime import Runtime
    from memory_system.settings import Settings

    started: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def start(**overrides: object) -> str:
        settings = Settings(db_path=tmp_path / f"server{len(started)}.db", dev=True,
                            config_path=tmp_path / "no-config.json")
        for key, value in overrides.items():
            setattr(settings, key, value)
        schema.migrate(settings.db_path)
        runtime = Runtime(settings)
        port = free_port()
        config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(url + "/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        started.append((server, thread, runtime))
        return url

    yield start
    for server, thread, runtime in started:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()


@pytest.fixture
def graph_rows() -> Callable[[Path], tuple[list[tuple[object, ...]], ...]]:
    """Every Phase 1 row of a database file, to prove that a refused call changed nothing."""
    from memory_system.store.connection import open_connection

    def rows(path: Path) -> tuple[list[tuple[object, ...]], ...]:
        conn = open_connection(path, create=False)
        try:
            return tuple(
                [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
                for table in ("entities", "observations", "relations")
            )
        finally:
            conn.close()

    return rows
