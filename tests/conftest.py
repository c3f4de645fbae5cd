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
